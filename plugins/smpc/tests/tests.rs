//! SMPC tests: every protocol passes the same conformance suite; encrypted inference matches
//! plaintext on real data.

mod classwise;
mod conformance;
mod costs;
mod inference;
mod neighbours;
mod norm;
mod range;
mod shamir;
mod verify;
