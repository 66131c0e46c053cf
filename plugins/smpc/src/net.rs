//! The metered network: the one place where data crosses parties.
//!
//! Parties run in lockstep in one process. A protocol step computes every party's outgoing
//! messages, then calls [`Meter::exchange`] once: that is one communication round, whatever the
//! number of messages in it. Bytes are payload bytes summed over directed links (ring elements
//! 8 bytes, bits packed); the dealer's input-independent material is metered separately as
//! offline traffic, and inputs entering the protocol as setup traffic.

use std::time::Duration;

use securefl_api::CostRecord;

/// Which part of a protocol a message belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Inputs entering the protocol (a hospital sharing its model, validators sharing data).
    Setup,
    /// Everything that depends on the inputs, including the final reveal.
    Online,
}

/// One message of a round: `bytes` from party `from` to party `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Msg {
    /// Sender (a party index, or [`EXTERNAL`] for an input owner).
    pub from: usize,
    /// Receiver.
    pub to: usize,
    /// Payload bytes.
    pub bytes: u64,
}

/// The sender index of an external input owner (a hospital or the validation-set owner).
pub const EXTERNAL: usize = usize::MAX;

/// Counts rounds, messages and bytes per phase and per party.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meter {
    sent: Vec<u64>,
    bytes: u64,
    setup_bytes: u64,
    offline_bytes: u64,
    messages: u64,
    rounds: u64,
    setup_rounds: u64,
    /// Truncations whose result was off by more than one unit (checked in the simulator).
    pub trunc_failures: u64,
    /// Compute time attributed to the protocol.
    pub compute: Duration,
}

/// Payload bytes of `n` ring elements.
pub fn ring_bytes(n: usize) -> u64 {
    8 * n as u64
}

/// Payload bytes of `n` packed bits.
pub fn bit_bytes(n: usize) -> u64 {
    (n as u64).div_ceil(8)
}

impl Meter {
    /// A meter for `parties` compute parties.
    pub fn new(parties: usize) -> Self {
        Self {
            sent: vec![0; parties],
            ..Self::default()
        }
    }

    /// One communication round carrying `msgs` (no round is counted for an empty list).
    pub fn exchange(&mut self, phase: Phase, msgs: &[Msg]) {
        let msgs: Vec<&Msg> = msgs.iter().filter(|m| m.bytes > 0).collect();
        if msgs.is_empty() {
            return;
        }
        for m in &msgs {
            if m.from != EXTERNAL {
                self.sent[m.from] += m.bytes;
            }
            match phase {
                Phase::Setup => self.setup_bytes += m.bytes,
                Phase::Online => self.bytes += m.bytes,
            }
        }
        self.messages += msgs.len() as u64;
        match phase {
            Phase::Setup => self.setup_rounds += 1,
            Phase::Online => self.rounds += 1,
        }
    }

    /// Dealer material sent ahead of time to party `to` (offline: no round on the critical path).
    pub fn dealer(&mut self, _to: usize, bytes: u64) {
        if bytes > 0 {
            self.offline_bytes += bytes;
            self.messages += 1;
        }
    }

    /// Online rounds so far.
    pub fn rounds(&self) -> u64 {
        self.rounds
    }

    /// Online bytes so far.
    pub fn online_bytes(&self) -> u64 {
        self.bytes
    }

    /// Offline (dealer) bytes so far.
    pub fn offline_bytes(&self) -> u64 {
        self.offline_bytes
    }

    /// Setup (input) bytes so far.
    pub fn setup_bytes(&self) -> u64 {
        self.setup_bytes
    }

    /// Messages so far.
    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// The shared cost record: `bytes` counts setup and online traffic, `rounds` both phases'
    /// rounds, `offline_bytes` the dealer's material.
    pub fn cost(&self) -> CostRecord {
        CostRecord {
            bytes: self.bytes + self.setup_bytes,
            offline_bytes: self.offline_bytes,
            messages: self.messages,
            rounds: self.rounds + self.setup_rounds,
            max_party_bytes: self.sent.iter().copied().max().unwrap_or(0),
            compute: self.compute,
        }
    }

    /// The cost accrued since `before` (a snapshot taken with `clone`).
    pub fn since(&self, before: &Meter) -> CostRecord {
        let (a, b) = (self.cost(), before.cost());
        let max_party = self
            .sent
            .iter()
            .zip(&before.sent)
            .map(|(x, y)| x - y)
            .max()
            .unwrap_or(0);
        CostRecord {
            bytes: a.bytes - b.bytes,
            offline_bytes: a.offline_bytes - b.offline_bytes,
            messages: a.messages - b.messages,
            rounds: a.rounds - b.rounds,
            max_party_bytes: max_party,
            compute: a.compute.saturating_sub(b.compute),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_exchange_is_one_round() {
        let mut m = Meter::new(2);
        m.exchange(
            Phase::Online,
            &[
                Msg {
                    from: 0,
                    to: 1,
                    bytes: 16,
                },
                Msg {
                    from: 1,
                    to: 0,
                    bytes: 8,
                },
            ],
        );
        m.exchange(Phase::Online, &[]);
        m.dealer(1, 40);
        let c = m.cost();
        assert_eq!(
            (
                c.bytes,
                c.offline_bytes,
                c.messages,
                c.rounds,
                c.max_party_bytes
            ),
            (24, 40, 3, 1, 16)
        );
        assert_eq!(bit_bytes(9), 2);
    }
}
