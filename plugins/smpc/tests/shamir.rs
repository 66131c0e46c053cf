//! Shamir secure-aggregation tests (being written).
