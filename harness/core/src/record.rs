//! Step 6 of a round: the records go through consensus in two blocks, and the accepted set
//! comes from finalized state only.
//!
//! 1. The verdict block: every hospital's model commitment and every validator's signed verdict
//!    on every hospital. Once it is final, a hospital's model is included when a strict
//!    majority of validators did not reject it ([`ledger::finalized_verdicts`]).
//! 2. The global model. A defense over shares defers it ([`NextModel::SecureFedAvg`]): the
//!    secure FedAvg of the finalized set's verified shares is opened here, once, after the
//!    verdict block is final, and billed to the round (with fewer than `min_accepted` included
//!    models the global model is kept; a share the defense excluded, because its encoding
//!    failed the public range check, is never averaged, whatever the votes). So no aggregate is opened before the ledger agrees, and
//!    never two aggregates of one round's shares, whose difference would reveal the models in
//!    one set and not the other. A plaintext defense's own model is used when the finalized
//!    set is its own; otherwise (lying validators swayed the majority) the FedAvg of the
//!    finalized set, in the clear, as the defense read the updates in the clear anyway.
//! 3. The aggregation block: the averaged hospitals with their weights (none when the global
//!    model is kept) and the new global model's hash. The model becomes the global model only
//!    when this block is final.

use securefl_api::{
    Aggregate, ClientUpdate, CommitReport, ConsensusCtx, CostRecord, NextModel, ShareId, SmpcCtx,
    Transaction, Verdict, derive_seed,
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
    /// What opening the deferred secure aggregate cost (zero when the defense aggregated).
    pub aggregation: CostRecord,
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
    let txs = ledger::verdict_transactions(
        r,
        rec.submitted,
        &rec.agg.verdicts,
        &rec.agg.votes,
        v,
        &lying,
    );
    let first = commit(exp, r, "verdicts", &txs)?;
    let mut out = Recorded {
        model: None,
        report: first.clone(),
        agreement_us: None,
        aggregation: CostRecord::default(),
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
    let (model, cost, averaged) = model_of(exp, r, global, rec, &included)?;
    out.aggregation = cost;
    let weights: Vec<(usize, u64)> = averaged
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

/// The model of the finalized set `included`, what opening it cost, and the hospitals it
/// averages (empty when the global model is kept) (see the module docs).
fn model_of(
    exp: &mut Experiment,
    r: usize,
    global: &[f32],
    rec: &RoundRecords<'_>,
    included: &[usize],
) -> Result<(Vec<f32>, CostRecord, Vec<usize>), RunError> {
    let weights_of = |set: &[usize]| -> Vec<f64> {
        set.iter().map(|&h| rec.updates[h].samples as f64).collect()
    };
    let own = match &rec.agg.next {
        NextModel::SecureFedAvg { min_accepted } => {
            let set = included.to_vec();
            if set.len() < *min_accepted {
                return Ok((global.to_vec(), CostRecord::default(), Vec::new()));
            }
            let (model, cost) = secure_fedavg(exp, r, rec.shares, &set, &weights_of(&set))?;
            return Ok((model, cost, set));
        }
        NextModel::Model(own) => own,
    };
    let weights = weights_of(included);
    let defense_set: Vec<usize> = (0..rec.updates.len())
        .filter(|&h| rec.agg.verdicts[h].verdict != Verdict::Rejected)
        .collect();
    let model = if defense_set == included {
        own.clone()
    } else if included.is_empty() {
        global.to_vec()
    } else if rec.shares.is_empty() {
        fedavg(included.iter().map(|&h| &rec.submitted[h][..]), &weights)
    } else {
        return Err(RunError::plugin(
            "defense",
            securefl_api::PluginError::Failed(format!(
                "round {r}: a defense over shares must defer its aggregate to the engine \
                 (NextModel::SecureFedAvg): a second opening of the round's shares would leak"
            )),
        ));
    };
    Ok((model, CostRecord::default(), included.to_vec()))
}

/// Opens the secure FedAvg of the `included` hospitals' verified shares, the round's one
/// aggregate.
fn secure_fedavg(
    exp: &mut Experiment,
    r: usize,
    shares: &[ShareId],
    included: &[usize],
    weights: &[f64],
) -> Result<(Vec<f32>, CostRecord), RunError> {
    let ids: Vec<ShareId> = included.iter().map(|&h| shares[h]).collect();
    let ctx = SmpcCtx {
        round: r,
        validators: exp.cfg.federation.hospitals,
        seed: derive_seed(
            exp.cfg.seed,
            &["round", &r.to_string(), "smpc", "aggregate"],
        ),
    };
    let avg = exp
        .plugins
        .smpc
        .aggregate(&ctx, &ids, weights)
        .map_err(|e| RunError::plugin("smpc", e))?;
    check_model(r, exp.spec.param_count(), &avg.value)?;
    Ok((avg.value, avg.cost))
}

/// The engine's check of an opened aggregate: its length and finiteness.
pub(crate) fn check_model(r: usize, len: usize, model: &[f32]) -> Result<(), RunError> {
    let fail = |m: String| {
        RunError::plugin(
            "defense",
            securefl_api::PluginError::Failed(format!("round {r}: {m}")),
        )
    };
    if model.len() != len {
        return Err(fail(format!(
            "the aggregate has {} weights for a {len}-weight model",
            model.len()
        )));
    }
    if let Some(i) = model.iter().position(|v| !v.is_finite()) {
        return Err(fail(format!(
            "the aggregate is not finite (weight {i}); local training diverged: lower the learning rate"
        )));
    }
    Ok(())
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
