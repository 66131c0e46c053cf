//! The cost record shared by SMPC protocols and consensus engines.

use std::ops::AddAssign;
use std::time::Duration;

/// Communication and compute cost of one protocol execution.
///
/// SMPC protocols and consensus engines fill the same record, so every protocol reports the same
/// columns (MP-SPDZ's "data sent, rounds, time").
/// Bytes are payload bytes summed over all directed links; headers are not counted.
/// A round is one layer of simultaneous messages on the critical path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CostRecord {
    /// Payload bytes sent in the online phase, summed over all parties.
    pub bytes: u64,
    /// Bytes of input-independent material (dealer triples, masks) sent before the online phase.
    pub offline_bytes: u64,
    /// Messages sent, summed over all parties.
    pub messages: u64,
    /// Communication rounds on the critical path.
    pub rounds: u64,
    /// Bytes sent by each compute party (online and setup), indexed by party; empty when the
    /// protocol has no parties (plaintext baselines). Adding records adds them party by party.
    pub party_bytes: Vec<u64>,
    /// Compute time spent inside the protocol (a timing column; never compared for determinism).
    pub compute: Duration,
}

impl CostRecord {
    /// Bytes sent by the busiest party (0 without parties).
    pub fn max_party_bytes(&self) -> u64 {
        self.party_bytes.iter().copied().max().unwrap_or(0)
    }

    /// The per-party bytes as one table cell, `p0;p1;...` (empty without parties).
    pub fn party_bytes_cell(&self) -> String {
        let cells: Vec<String> = self.party_bytes.iter().map(u64::to_string).collect();
        cells.join(";")
    }
}

impl AddAssign for CostRecord {
    fn add_assign(&mut self, rhs: Self) {
        self.bytes += rhs.bytes;
        self.offline_bytes += rhs.offline_bytes;
        self.messages += rhs.messages;
        self.rounds += rhs.rounds;
        if self.party_bytes.len() < rhs.party_bytes.len() {
            self.party_bytes.resize(rhs.party_bytes.len(), 0);
        }
        for (mine, theirs) in self.party_bytes.iter_mut().zip(&rhs.party_bytes) {
            *mine += theirs;
        }
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
            party_bytes: vec![6, 1],
            ..Default::default()
        };
        a += CostRecord {
            bytes: 5,
            offline_bytes: 7,
            messages: 1,
            rounds: 3,
            party_bytes: vec![1, 4, 2],
            ..Default::default()
        };
        assert_eq!(
            (
                a.bytes,
                a.offline_bytes,
                a.messages,
                a.rounds,
                a.max_party_bytes()
            ),
            (15, 7, 3, 4, 7)
        );
        assert_eq!(a.party_bytes_cell(), "7;5;2");
    }
}
