//! Step 6 of a round: the records go through consensus in two blocks, and the accepted set
//! comes from finalized state only.
//!
//! 1. The verdict block: every hospital's model commitment and every validator's signed verdict
//!    on every hospital. Once it is final, a hospital's model is included when a strict
//!    majority of validators did not reject it ([`ledger::finalized_verdicts`]).
//! 2. The global model is the defense's aggregate when the finalized set is the defense's own;
//!    otherwise (lying validators swayed the majority) it is the FedAvg of the finalized set,
//!    over the verified shares when the defense used SMPC, in the clear when the defense read
//!    plaintext updates anyway.
//! 3. The aggregation block: the included hospitals with their weights and the new global
//!    model's hash. The model becomes the global model only when this block is final.

use securefl_api::{
    Aggregate, ClientUpdate, CommitReport, ConsensusCtx, ShareId, SmpcCtx, Transaction, Verdict,
    derive_seed,
};

use crate::RunError;
use crate::engine::Experiment;
use crate::ledger;
use crate::observer::Observer;

/// What recording a round gave.
pub(crate) struct Recorded {
    /// The next global model, when both blocks are final.
    pub model: Option<Vec<f32>>,
    /// Both commits together (latency, messages, bytes, view changes, forks).
    pub report: CommitReport,
    /// Simulated time until the verdict block was final: when honest validators agree on the
    /// accepted set.
    pub agreement_us: Option<u64>,
}

/// The round's inputs to recording.
pub(crate) struct RoundRecords<'a> {
    pub submitted: &'a [Vec<f32>],
    pub updates: &'a [ClientUpdate],
    pub agg: &'a Aggregate,
    /// The shares the defense verified (empty for a plaintext defense).
    pub shares: &'a [ShareId],
}

/// Records round `r` (see the module docs).
pub(crate) fn record(
    exp: &mut Experiment,
    r: usize,
    global: &[f32],
    rec: &RoundRecords<'_>,
    observer: &mut dyn Observer,
) -> Result<Recorded, RunError> {
    let (n, v) = (
        exp.cfg.federation.hospitals,
        exp.cfg.federation.validators(),
    );
    let lying = exp.cfg.adversary.lying_validators.clone();
    let txs = ledger::verdict_transactions(r, rec.submitted, &rec.agg.verdicts, v, &lying);
    let first = commit(exp, r, "verdicts", &txs)?;
    let mut out = Recorded {
        model: None,
        report: first.clone(),
        agreement_us: None,
    };
    if !first.finalized {
        return Ok(out);
    }
    seal(exp, r, &txs, &first, global, observer)?;
    out.agreement_us = Some(first.latency_us);
    let verdicts = ledger::finalized_verdicts(&txs, n, v);
    let included: Vec<usize> = (0..n)
        .filter(|&h| verdicts[h] != Verdict::Rejected)
        .collect();
    let model = model_of(exp, r, global, rec, &included)?;
    let weights: Vec<(usize, u64)> = included
        .iter()
        .map(|&h| (h, rec.updates[h].samples as u64))
        .collect();
    let txs = ledger::aggregation_transactions(r, &weights, &model);
    let second = commit(exp, r, "aggregation", &txs)?;
    out.report.absorb(&second);
    if second.finalized {
        seal(exp, r, &txs, &second, &model, observer)?;
        out.model = Some(model);
    }
    Ok(out)
}

fn commit(
    exp: &mut Experiment,
    r: usize,
    block: &str,
    txs: &[Transaction],
) -> Result<CommitReport, RunError> {
    let ctx = ConsensusCtx {
        round: r,
        validators: exp.cfg.federation.validators(),
        seed: derive_seed(exp.cfg.seed, &["round", &r.to_string(), "consensus", block]),
    };
    exp.plugins
        .consensus
        .commit(&ctx, txs)
        .map_err(|e| RunError::plugin("consensus", e))
}

/// Seals a final block into the ledger and hands it to the observers with `global`, the
/// global model as of the block.
fn seal(
    exp: &mut Experiment,
    r: usize,
    txs: &[Transaction],
    report: &CommitReport,
    global: &[f32],
    observer: &mut dyn Observer,
) -> Result<(), RunError> {
    exp.ledger_time_us += report.latency_us;
    let all: Vec<usize> = (0..exp.cfg.federation.validators()).collect();
    let sealers = report.sealers.as_deref().unwrap_or(&all);
    let block = exp
        .chain
        .seal(r as u32, txs, 0, sealers, exp.ledger_time_us);
    observer.block_finalized(&block, global)
}

/// The model of the finalized set `included` (see the module docs).
fn model_of(
    exp: &mut Experiment,
    r: usize,
    global: &[f32],
    rec: &RoundRecords<'_>,
    included: &[usize],
) -> Result<Vec<f32>, RunError> {
    let own: Vec<usize> = (0..rec.updates.len())
        .filter(|&h| rec.agg.verdicts[h].verdict != Verdict::Rejected)
        .collect();
    if own == included {
        return Ok(rec.agg.model.clone());
    }
    if included.is_empty() {
        return Ok(global.to_vec());
    }
    let weights: Vec<f64> = included
        .iter()
        .map(|&h| rec.updates[h].samples as f64)
        .collect();
    if rec.shares.is_empty() {
        return Ok(fedavg(
            included.iter().map(|&h| &rec.submitted[h][..]),
            &weights,
        ));
    }
    let ids: Vec<ShareId> = included.iter().map(|&h| rec.shares[h]).collect();
    let ctx = SmpcCtx {
        round: r,
        validators: exp.cfg.federation.hospitals,
        seed: derive_seed(
            exp.cfg.seed,
            &["round", &r.to_string(), "smpc", "finalized"],
        ),
    };
    let avg = exp
        .plugins
        .smpc
        .aggregate(&ctx, &ids, &weights)
        .map_err(|e| RunError::plugin("smpc", e))?;
    Ok(avg.value)
}

/// The weighted average of `models`.
fn fedavg<'a>(models: impl Iterator<Item = &'a [f32]>, weights: &[f64]) -> Vec<f32> {
    let total: f64 = weights.iter().sum();
    let mut acc: Vec<f64> = Vec::new();
    for (m, w) in models.zip(weights) {
        acc.resize(m.len(), 0.0);
        for (a, x) in acc.iter_mut().zip(m) {
            *a += f64::from(*x) * w / total;
        }
    }
    acc.into_iter().map(|v| v as f32).collect()
}
