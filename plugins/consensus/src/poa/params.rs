//! Parameters of the PoA engine and the behaviours an authority can follow.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::sim::{SECOND, Time};

/// PoA parameters (`[consensus.poa]` style: kebab-case, unknown keys refused).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct Params {
    /// Step (slot) duration in microseconds; the authority of step `s = ⌊t / step-us⌋` is
    /// `s mod n`. Default 1 s: well above the simulator's default 5–15 ms delays, so Aura's
    /// synchrony assumption (delivery within a step) holds. Deployed Aura chains use 4–5 s.
    #[serde(rename = "step-us")]
    pub step_us: Time,
    /// Rolling-finality threshold: a block is final once the chain from it to the best head
    /// carries seals of more than `finality · n` distinct authorities. Default 2/3 (the
    /// `two_thirds_majority_transition` rule); 1/2 is the deployed Aura rule (`> n/2`). Must lie
    /// in `[0.5, 1)`.
    pub finality: f64,
    /// At most this many batches per block (a block gas limit). Default 64.
    pub max_batches_per_block: usize,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            step_us: SECOND,
            finality: 2.0 / 3.0,
            max_batches_per_block: 64,
        }
    }
}

impl Params {
    /// Checks the parameters; the message names the field and the problem.
    pub fn check(&self) -> Result<(), String> {
        if self.step_us == 0 {
            return Err("poa: step-us must be at least 1 microsecond, got 0".into());
        }
        if !(0.5..1.0).contains(&self.finality) {
            return Err(format!(
                "poa: finality {} is not a fraction in [0.5, 1)",
                self.finality
            ));
        }
        if self.max_batches_per_block == 0 {
            return Err("poa: max-batches-per-block must be at least 1, got 0".into());
        }
        Ok(())
    }

    /// Distinct authors needed on the chain from a block to the head for the block to be
    /// final among `n` authorities: the least integer above `finality · n` (at most `n`).
    ///
    /// A tolerance of 1e-9 absorbs binary rounding, so that `2/3 · 6` counts as exactly 4
    /// (needing 5), not 3.999….
    pub fn signers_needed(&self, n: usize) -> usize {
        let exact = self.finality * n as f64;
        let floor = (exact + 1e-9).floor().max(0.0) as usize;
        (floor + 1).min(n.max(1))
    }

    /// The step that time `t` falls in.
    pub fn step_at(&self, t: Time) -> u64 {
        t / self.step_us.max(1)
    }
}

/// How an authority behaves.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Behaviour {
    /// Follows the protocol.
    #[default]
    Honest,
    /// Follows the protocol but, when it seals, leaves out the batches with these ids, or
    /// every batch when `ids` is absent (its blocks are then empty).
    Censor {
        /// The censored batch ids; `None`: all batches.
        #[serde(default)]
        ids: Option<BTreeSet<u64>>,
    },
    /// Seals two different blocks in each of its steps (same parent, different extra data
    /// and contents) and sends one to each half of the other nodes.
    Equivocate,
    /// Never seals (its steps stay empty); it still follows and finalizes the chain.
    Silent,
    /// Seals each batch with content other than the client's (a wrong accepted set or model
    /// hash: the batch's digest altered under its id), and builds on such blocks without
    /// checking them (wrong-content authorities collude). Honest authorities refuse a block
    /// carrying a batch that differs from the one the client handed them.
    WrongContent,
}

impl Behaviour {
    /// True when a batch with this id must be left out of its blocks.
    pub fn censors(&self, id: u64) -> bool {
        match self {
            Self::Censor { ids: None } => true,
            Self::Censor { ids: Some(ids) } => ids.contains(&id),
            _ => false,
        }
    }
}
