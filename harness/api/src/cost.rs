//! The cost record shared by SMPC protocols and consensus engines.

use std::ops::AddAssign;
use std::time::Duration;

/// Communication and compute cost of one protocol execution.
///
/// SMPC protocols and consensus engines fill the same record, so every protocol reports the same
/// columns (MP-SPDZ's "data sent, rounds, time").
/// Bytes are payload bytes summed over all directed links; headers are not counted.
/// A round is one layer of simultaneous messages on the critical path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CostRecord {
    /// Payload bytes sent in the online phase, summed over all parties.
    pub bytes: u64,
    /// Bytes of input-independent material (dealer triples, masks) sent before the online phase.
    pub offline_bytes: u64,
    /// Messages sent, summed over all parties.
    pub messages: u64,
    /// Communication rounds on the critical path.
    pub rounds: u64,
    /// Bytes sent by the busiest party. Adding records sums their busiest parties' bytes: an
    /// upper bound on any one party's total, exact when the same party is busiest throughout.
    pub max_party_bytes: u64,
    /// Compute time spent inside the protocol (a timing column; never compared for determinism).
    pub compute: Duration,
}

impl AddAssign for CostRecord {
    fn add_assign(&mut self, rhs: Self) {
        self.bytes += rhs.bytes;
        self.offline_bytes += rhs.offline_bytes;
        self.messages += rhs.messages;
        self.rounds += rhs.rounds;
        self.max_party_bytes += rhs.max_party_bytes;
        self.compute += rhs.compute;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_sums_every_counter() {
        let mut a = CostRecord {
            bytes: 10,
            messages: 2,
            rounds: 1,
            max_party_bytes: 6,
            ..Default::default()
        };
        a += CostRecord {
            bytes: 5,
            offline_bytes: 7,
            messages: 1,
            rounds: 3,
            max_party_bytes: 4,
            ..Default::default()
        };
        assert_eq!(
            (
                a.bytes,
                a.offline_bytes,
                a.messages,
                a.rounds,
                a.max_party_bytes
            ),
            (15, 7, 3, 4, 10)
        );
    }
}
