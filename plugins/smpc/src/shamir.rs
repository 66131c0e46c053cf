//! `shamir`: t-of-n Shamir secure aggregation (being written).
