//! One federated round (steps 1–7 of [`crate::engine`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use securefl_api::{
    AttackCtx, AttackKnowledge, ClientUpdate, ConsensusCtx, CostRecord, DefenseCtx, ImageSet,
    Setting, SmpcCtx, TrainCtx, TrainOutcome, Verdict, derive_seed,
};

use crate::RunError;
use crate::engine::Experiment;
use crate::ledger;
use crate::metrics::Metrics;
use crate::observer::Observer;
use crate::records::{ClientRow, PhaseTimes, RoundRow};

/// A round row with no updates (round 0, or before the phases fill it in).
pub(crate) fn empty_row(round: usize, test: Metrics) -> RoundRow {
    RoundRow {
        round,
        test,
        accepted: 0,
        rejected: 0,
        smpc: CostRecord::default(),
        finalized: true,
        consensus_latency_us: 0,
        consensus: CostRecord::default(),
        times: PhaseTimes::default(),
    }
}

/// Runs round `r`, replacing `global` with the next global model.
pub(crate) fn run(
    exp: &mut Experiment,
    r: usize,
    global: &mut Vec<f32>,
    observer: &mut dyn Observer,
) -> Result<(RoundRow, Vec<ClientRow>), RunError> {
    let t0 = Instant::now();
    let mut times = PhaseTimes::default();
    let smpc_ctx = SmpcCtx {
        round: r,
        validators: exp.cfg.federation.hospitals,
        seed: seed(exp, r, "smpc"),
    };
    exp.plugins.smpc.begin_round(&smpc_ctx);

    let trained = train_all(exp, r, global, observer)?;
    times.train = t0.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut updates: Vec<ClientUpdate> = trained
        .iter()
        .enumerate()
        .map(|(h, (out, _))| ClientUpdate {
            hospital: h,
            samples: exp.shards[h].len(),
            delta: out
                .weights
                .iter()
                .zip(global.iter())
                .map(|(w, g)| w - g)
                .collect(),
            train_loss: out.train_loss,
        })
        .collect();
    poison_updates(exp, r, global, &mut updates)?;
    pre_aggregate(exp, r, global, &mut updates)?;
    times.attack = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let models: Vec<Vec<f32>> = updates.iter().map(|u| add(global, &u.delta)).collect();
    let refs: Vec<&[f32]> = models.iter().map(Vec::as_slice).collect();
    let shared = exp
        .plugins
        .smpc
        .share_models(&smpc_ctx, &exp.spec, &refs)
        .map_err(|e| RunError::plugin("smpc", e))?;
    let mut agg = {
        let mut ctx = DefenseCtx {
            round: r,
            global,
            spec: exp.spec,
            seed: seed(exp, r, "defense"),
            setting: setting(exp),
            smpc: exp.plugins.smpc.as_mut(),
            shares: &shared.value,
            backend: exp.plugins.backend.as_ref(),
            validation: &exp.dataset.val,
        };
        exp.plugins
            .defense
            .aggregate(&mut ctx, &updates)
            .map_err(|e| RunError::plugin("defense", e))?
    };
    agg.cost += shared.cost;
    check_aggregate(
        exp,
        r,
        global,
        &agg.delta,
        agg.verdicts.len(),
        updates.len(),
    )?;
    let next = add(global, &agg.delta);
    times.defense = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let txs = ledger::round_transactions(r, &models, &agg.verdicts, &next);
    let cctx = ConsensusCtx {
        round: r,
        validators: exp.cfg.federation.hospitals,
        seed: seed(exp, r, "consensus"),
    };
    let commit = exp
        .plugins
        .consensus
        .commit(&cctx, &txs)
        .map_err(|e| RunError::plugin("consensus", e))?;
    times.consensus = t.elapsed().as_secs_f64();

    let t = Instant::now();
    *global = next;
    let test = exp.evaluate(global)?;
    times.eval = t.elapsed().as_secs_f64();
    times.total = t0.elapsed().as_secs_f64();

    let clients = updates
        .iter()
        .zip(&agg.verdicts)
        .zip(&trained)
        .map(|((u, v), (_, train_s))| ClientRow {
            round: r,
            hospital: u.hospital,
            malicious: attacking(exp, u.hospital, r),
            samples: u.samples,
            train_loss: u.train_loss,
            update_norm: u.norm(),
            verdict: v.verdict,
            verify_score: v.score,
            train_s: *train_s,
        })
        .collect();
    let mut row = empty_row(r, test);
    row.accepted = agg
        .verdicts
        .iter()
        .filter(|v| v.verdict == Verdict::Accepted)
        .count();
    row.rejected = agg
        .verdicts
        .iter()
        .filter(|v| v.verdict == Verdict::Rejected)
        .count();
    row.smpc = agg.cost;
    row.finalized = commit.finalized;
    row.consensus_latency_us = commit.latency_us;
    row.consensus = commit.cost;
    row.times = times;
    Ok((row, clients))
}

fn seed(exp: &Experiment, r: usize, what: &str) -> u64 {
    derive_seed(exp.cfg.seed, &["round", &r.to_string(), what])
}

fn setting(exp: &Experiment) -> Setting {
    Setting {
        hospitals: exp.cfg.federation.hospitals,
        malicious: exp.malicious.len(),
    }
}

/// True when hospital `h` attacks in round `r`.
fn attacking(exp: &Experiment, h: usize, r: usize) -> bool {
    exp.malicious.contains(&h) && r >= exp.cfg.adversary.from_round
}

fn add(a: &[f32], b: &[f32]) -> Vec<f32> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

fn attack_ctx<'a>(
    exp: &Experiment,
    r: usize,
    h: usize,
    global: &'a [f32],
    benign: &'a [ClientUpdate],
) -> AttackCtx<'a> {
    AttackCtx {
        round: r,
        hospital: h,
        hospitals: exp.cfg.federation.hospitals,
        malicious: exp.malicious.len(),
        global,
        spec: exp.spec,
        classes: exp.spec.classes,
        seed: derive_seed(
            exp.cfg.seed,
            &["round", &r.to_string(), "attack", &h.to_string()],
        ),
        benign,
    }
}

/// What local training reads; all of it can be shared between worker threads.
struct TrainJob<'a> {
    exp_seed: u64,
    round: usize,
    global: &'a [f32],
    backend: &'a dyn securefl_api::CnnBackend,
    attack: &'a dyn securefl_api::Attack,
    train: &'a ImageSet,
    shards: &'a [Vec<usize>],
    ctx: TrainCtx,
    attackers: Vec<bool>,
    attack_ctx: AttackCtx<'a>,
}

/// Step 1: local training of every hospital, `exp.jobs` at a time; results in hospital order.
fn train_all(
    exp: &Experiment,
    r: usize,
    global: &[f32],
    observer: &mut dyn Observer,
) -> Result<Vec<(TrainOutcome, f64)>, RunError> {
    let n = exp.cfg.federation.hospitals;
    let job = TrainJob {
        exp_seed: exp.cfg.seed,
        round: r,
        global,
        backend: exp.plugins.backend.as_ref(),
        attack: exp.plugins.attack.as_ref(),
        train: &exp.dataset.train,
        shards: &exp.shards,
        ctx: TrainCtx {
            spec: exp.spec,
            epochs: exp.cfg.train.local_epochs,
            batch_size: exp.cfg.train.batch_size,
            optimizer: exp.cfg.train.optimizer,
            seed: 0,
        },
        attackers: (0..n).map(|h| attacking(exp, h, r)).collect(),
        attack_ctx: attack_ctx(exp, r, 0, global, &[]),
    };
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<Result<(TrainOutcome, f64), RunError>>> =
        (0..n).map(|_| None).collect();
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel();
        for _ in 0..exp.jobs.min(n) {
            let (tx, next, job) = (tx.clone(), &next, &job);
            s.spawn(move || {
                loop {
                    let h = next.fetch_add(1, Ordering::Relaxed);
                    if h >= n || tx.send((h, train_one(job, h))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (h, res) in rx {
            observer.hospital_trained(r, h);
            results[h] = Some(res);
        }
    });
    results
        .into_iter()
        .map(|r| r.expect("every hospital is trained once"))
        .collect()
}

/// One hospital's local training, with data poisoning when it attacks.
fn train_one(job: &TrainJob<'_>, h: usize) -> Result<(TrainOutcome, f64), RunError> {
    let t = Instant::now();
    let round = job.round.to_string();
    let mut data: ImageSet = job.train.subset(&job.shards[h]);
    if job.attackers[h] {
        let seed = derive_seed(job.exp_seed, &["round", &round, "attack", &h.to_string()]);
        let ctx = AttackCtx {
            hospital: h,
            seed,
            ..job.attack_ctx
        };
        job.attack
            .poison_data(&ctx, &mut data)
            .map_err(|e| RunError::plugin("attack", e))?;
    }
    let ctx = TrainCtx {
        seed: derive_seed(job.exp_seed, &["round", &round, "train", &h.to_string()]),
        ..job.ctx
    };
    let out = job
        .backend
        .train(&ctx, job.global, &data)
        .map_err(|e| RunError::plugin("backend", e))?;
    Ok((out, t.elapsed().as_secs_f64()))
}

/// Step 2: attackers alter their updates; omniscient ones see the benign updates.
fn poison_updates(
    exp: &Experiment,
    r: usize,
    global: &[f32],
    updates: &mut [ClientUpdate],
) -> Result<(), RunError> {
    let attackers: Vec<usize> = (0..updates.len())
        .filter(|&h| attacking(exp, h, r))
        .collect();
    if attackers.is_empty() {
        return Ok(());
    }
    let benign: Vec<ClientUpdate> = match exp.plugins.attack.knowledge() {
        AttackKnowledge::Omniscient => updates
            .iter()
            .filter(|u| !attacking(exp, u.hospital, r))
            .cloned()
            .collect(),
        AttackKnowledge::Own => Vec::new(),
    };
    for h in attackers {
        let ctx = attack_ctx(exp, r, h, global, &benign);
        exp.plugins
            .attack
            .poison_update(&ctx, &mut updates[h])
            .map_err(|e| RunError::plugin("attack", e))?;
    }
    Ok(())
}

/// Step 3: pre-aggregators, in config order.
fn pre_aggregate(
    exp: &mut Experiment,
    r: usize,
    global: &[f32],
    updates: &mut [ClientUpdate],
) -> Result<(), RunError> {
    let setting = setting(exp);
    let seed = seed(exp, r, "pre-aggregate");
    for pre in &mut exp.plugins.pre_aggregators {
        let ctx = DefenseCtx {
            round: r,
            global,
            spec: exp.spec,
            seed,
            setting,
            smpc: exp.plugins.smpc.as_mut(),
            shares: &[],
            backend: exp.plugins.backend.as_ref(),
            validation: &exp.dataset.val,
        };
        pre.apply(&ctx, updates)
            .map_err(|e| RunError::plugin("pre-aggregator", e))?;
    }
    Ok(())
}

/// The defense's contract, checked: one verdict per update, a finite delta of the right length.
fn check_aggregate(
    exp: &Experiment,
    r: usize,
    global: &[f32],
    delta: &[f32],
    verdicts: usize,
    updates: usize,
) -> Result<(), RunError> {
    let fail = |m: String| {
        RunError::plugin(
            "defense",
            securefl_api::PluginError::Failed(format!("round {r}: {m}")),
        )
    };
    if delta.len() != global.len() || verdicts != updates {
        return Err(fail(format!(
            "returned {} weights and {verdicts} verdicts for a {}-weight model and {updates} updates",
            delta.len(),
            global.len()
        )));
    }
    if let Some(i) = delta.iter().position(|v| !v.is_finite()) {
        return Err(fail(format!(
            "the aggregate is not finite (weight {i}); local training diverged: lower the learning rate"
        )));
    }
    let _ = exp;
    Ok(())
}
