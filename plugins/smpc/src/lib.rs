//! SMPC protocols for securefl: a fixed-point engine over Z_2^64, a metered lockstep network,
//! encrypted CNN inference and secure aggregation.
//!
//! Protocols implement the low-level [`mpc::Mpc`] interface; [`nn`] builds encrypted inference of
//! any [`securefl_api::ModelSpec`] on top of it, and [`plugin`] adapts a protocol to the
//! harness's [`securefl_api::SmpcProtocol`] plugin trait.

pub mod additive;
pub mod bits;
pub mod linalg;
pub mod mpc;
pub mod net;
pub mod nn;
pub mod prg;
pub mod replicated;
pub mod ring;
pub mod shamir;
