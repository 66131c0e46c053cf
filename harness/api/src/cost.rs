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
    /// Truncations whose result was off by more than one unit (a simulator-side diagnostic: no
    /// party can compute it).
    pub trunc_failures: u64,
    /// Comparison inputs outside the comparison's exact range (a simulator-side diagnostic).
    pub range_failures: u64,
    /// Every value opened to the parties, as `(what, count)` in the order first opened; adding
    /// records adds the counts of equal names.
    pub opened: Vec<(String, u64)>,
}

impl CostRecord {
    /// Bytes sent by the busiest party (0 without parties).
    pub fn max_party_bytes(&self) -> u64 {
        self.party_bytes.iter().copied().max().unwrap_or(0)
    }

    /// Records that `count` values of kind `what` were opened (nothing for a count of 0).
    pub fn open(&mut self, what: &str, count: u64) {
        if count == 0 {
            return;
        }
        match self.opened.iter_mut().find(|(w, _)| w == what) {
            Some((_, c)) => *c += count,
            None => self.opened.push((what.to_owned(), count)),
        }
    }

    /// The openings as one table cell, `what:count;...` (empty when nothing was opened).
    pub fn opened_cell(&self) -> String {
        let cells: Vec<String> = self
            .opened
            .iter()
            .map(|(w, c)| format!("{w}:{c}"))
            .collect();
        cells.join(";")
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
        self.trunc_failures += rhs.trunc_failures;
        self.range_failures += rhs.range_failures;
        for (what, count) in &rhs.opened {
            self.open(what, *count);
        }
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
            trunc_failures: 1,
            opened: vec![("pass".into(), 3)],
            ..Default::default()
        };
        a += CostRecord {
            bytes: 5,
            offline_bytes: 7,
            messages: 1,
            rounds: 3,
            party_bytes: vec![1, 4, 2],
            range_failures: 2,
            opened: vec![("aggregate".into(), 10), ("pass".into(), 1)],
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
        assert_eq!((a.trunc_failures, a.range_failures), (1, 2));
        assert_eq!(a.opened_cell(), "pass:4;aggregate:10");
        assert_eq!(CostRecord::default().opened_cell(), "");
    }
}
