//! Consensus plugins for securefl: `pbft` (Castro & Liskov, TOCS 2002) and `poa` (Aura with
//! rolling finality), both pure state machines run on the deterministic discrete-event network
//! simulator in [`sim`].

pub mod mutant;
pub mod pbft;
pub mod plugin;
pub mod poa;
mod register;
pub mod sim;

pub use register::register;
