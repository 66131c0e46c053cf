//! The metered network: the one place where data crosses parties.
//!
//! Parties run in lockstep in one process. A protocol step computes every party's outgoing
//! messages, then calls [`Meter::exchange`] once: that is one communication round, whatever the
//! number of messages in it. Bytes are payload bytes summed over directed links (ring elements
//! 8 bytes, bits packed); the dealer's input-independent material is metered separately as
//! offline traffic, and inputs entering the protocol as setup traffic.
//!
//! A *parallel section* meters independent parts of identical shape (the same image-by-image
//! step on different images) as one computation: a deployment sends round `r` of every part
//! in one message, so rounds and messages count once while bytes add up. The meter checks
//! that every part repeats the first part's sequence of rounds exactly.

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
    /// Comparison inputs outside the exact range `|x| < 2^(l-1)` (checked in the simulator).
    pub range_failures: u64,
    /// Compute time attributed to the protocol.
    pub compute: Duration,
    parallel: Option<Parallel>,
}

/// One metered event of a part, for comparing a parallel section's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    /// A round with its phase and directed links.
    Round(Phase, Vec<(usize, usize)>),
    /// A dealer message.
    Dealer,
}

/// The state of a parallel section: the first part's events and the position in the current.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Parallel {
    /// Parts started so far (the first part's events are the shape).
    parts: usize,
    shape: Vec<Event>,
    at: usize,
}

impl Parallel {
    /// Fails unless the current part (after the first) repeated all of the first's events.
    fn complete(&self) -> Result<(), String> {
        if self.parts > 1 && self.at != self.shape.len() {
            return Err(format!(
                "part {} of a parallel section stopped early",
                self.parts
            ));
        }
        Ok(())
    }

    /// Fails unless `event` is the first part's next event (for parts after the first).
    fn matches(&self, event: &Event) -> Result<(), String> {
        if self.shape.get(self.at) != Some(event) {
            return Err(format!(
                "part {} of a parallel section departs from the first part's rounds at event {}",
                self.parts, self.at
            ));
        }
        Ok(())
    }
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
        let links = msgs.iter().map(|m| (m.from, m.to)).collect();
        let counted = self.record(Event::Round(phase, links));
        for m in &msgs {
            if m.from != EXTERNAL {
                self.sent[m.from] += m.bytes;
            }
            match phase {
                Phase::Setup => self.setup_bytes += m.bytes,
                Phase::Online => self.bytes += m.bytes,
            }
        }
        if !counted {
            return;
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
            if self.record(Event::Dealer) {
                self.messages += 1;
            }
        }
    }

    /// Starts a parallel section (see the module docs); sections do not nest.
    pub fn begin_parallel(&mut self) {
        assert!(self.parallel.is_none(), "parallel sections do not nest");
        self.parallel = Some(Parallel::default());
    }

    /// Starts the next part of the current parallel section.
    pub fn next_part(&mut self) {
        let par = self.parallel.as_mut().expect("inside a parallel section");
        par.complete().unwrap_or_else(|e| panic!("{e}"));
        par.parts += 1;
        par.at = 0;
    }

    /// Ends the current parallel section.
    pub fn end_parallel(&mut self) {
        let par = self.parallel.take().expect("inside a parallel section");
        par.complete().unwrap_or_else(|e| panic!("{e}"));
    }

    /// Records an event; true when its rounds and messages count (outside a parallel section,
    /// or in its first part).
    fn record(&mut self, event: Event) -> bool {
        let Some(par) = self.parallel.as_mut() else {
            return true;
        };
        if par.parts <= 1 {
            par.shape.push(event);
            return true;
        }
        par.matches(&event).unwrap_or_else(|e| panic!("{e}"));
        par.at += 1;
        false
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
            party_bytes: self.sent.clone(),
            compute: self.compute,
            trunc_failures: self.trunc_failures,
            range_failures: self.range_failures,
            opened: Vec::new(),
        }
    }

    /// The cost accrued since `before` (a snapshot taken with `clone`).
    pub fn since(&self, before: &Meter) -> CostRecord {
        let (a, b) = (self.cost(), before.cost());
        let party_bytes = self
            .sent
            .iter()
            .zip(&before.sent)
            .map(|(x, y)| x - y)
            .collect();
        CostRecord {
            bytes: a.bytes - b.bytes,
            offline_bytes: a.offline_bytes - b.offline_bytes,
            messages: a.messages - b.messages,
            rounds: a.rounds - b.rounds,
            party_bytes,
            compute: a.compute.saturating_sub(b.compute),
            trunc_failures: self.trunc_failures - before.trunc_failures,
            range_failures: self.range_failures - before.range_failures,
            opened: Vec::new(),
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
                c.max_party_bytes()
            ),
            (24, 40, 3, 1, 16)
        );
        assert_eq!(bit_bytes(9), 2);
    }

    fn round(m: &mut Meter, bytes: u64) {
        m.exchange(
            Phase::Online,
            &[Msg {
                from: 0,
                to: 1,
                bytes,
            }],
        );
    }

    #[test]
    fn a_parallel_section_counts_rounds_once_and_bytes_per_part() {
        let mut m = Meter::new(2);
        m.begin_parallel();
        for part in 0..3 {
            m.next_part();
            round(&mut m, 10 + part);
            m.dealer(1, 4);
            round(&mut m, 1);
        }
        m.end_parallel();
        let c = m.cost();
        assert_eq!(
            (c.rounds, c.messages, c.bytes, c.offline_bytes),
            (2, 3, 33 + 3, 12)
        );
    }

    #[test]
    fn parallel_parts_must_repeat_the_first_parts_rounds() {
        let mut m = Meter::new(2);
        m.begin_parallel();
        m.next_part();
        round(&mut m, 8);
        m.next_part();
        let par = m.parallel.as_ref().expect("in a section");
        let err = par.matches(&Event::Dealer).unwrap_err();
        assert!(err.contains("departs from the first part"), "{err}");
        assert!(
            par.matches(&Event::Round(Phase::Online, vec![(0, 1)]))
                .is_ok()
        );
    }

    #[test]
    fn parallel_parts_must_not_stop_early() {
        let mut m = Meter::new(2);
        m.begin_parallel();
        m.next_part();
        round(&mut m, 8);
        m.next_part();
        let err = m
            .parallel
            .as_ref()
            .expect("in a section")
            .complete()
            .unwrap_err();
        assert!(err.contains("stopped early"), "{err}");
        round(&mut m, 8);
        m.end_parallel();
    }
}
