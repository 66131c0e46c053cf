//! The plaintext rules and pre-aggregators on hand-computed inputs, one file each, and their
//! registration.

mod bulyan;
mod centered_clip;
mod clipping;
mod fltrust;
mod krum;
mod median;
mod multi_krum;
mod registry;
mod trimmed_mean;
