//! One federated round (steps 1–7 of [`crate::engine`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use securefl_api::{
    Aggregate, AttackCtx, AttackKnowledge, ClientUpdate, CostRecord, DefenseCtx, ImageSet,
    NextModel, Setting, ShareId, SmpcCtx, TrainCtx, TrainOutcome, Verdict, derive_seed,
};

use crate::RunError;
use crate::engine::Experiment;
use crate::metrics::Metrics;
use crate::observer::Observer;
use crate::record::{self, RoundRecords};
use crate::records::{ClientRow, PhaseTimes, RoundRow};

/// A round row with no updates (round 0, or before the phases fill it in).
pub(crate) fn empty_row(round: usize, test: Metrics) -> RoundRow {
    RoundRow {
        round,
        test,
        accepted: 0,
        rejected: 0,
        smpc: CostRecord::default(),
        aggregation: CostRecord::default(),
        finalized: true,
        consensus_latency_us: 0,
        consensus: CostRecord::default(),
        view_changes: 0,
        forks: 0,
        reorg_depth: 0,
        conflicts: 0,
        wrong_content: 0,
        agreement_us: None,
        consensus_by_type: Vec::new(),
        times: PhaseTimes::default(),
        backdoor_asr: None,
        plaintext_updates: false,
    }
}

/// Runs round `r`; `global` becomes the next global model once its block is final.
pub(crate) fn run(
    exp: &mut Experiment,
    r: usize,
    global: &mut Vec<f32>,
    observer: &mut dyn Observer,
) -> Result<(RoundRow, Vec<ClientRow>), RunError> {
    let t0 = Instant::now();
    let mut times = PhaseTimes::default();
    let colluders: Vec<usize> = exp.malicious.iter().copied().collect();
    let smpc_ctx = SmpcCtx {
        round: r,
        validators: exp.cfg.federation.hospitals,
        seed: seed(exp, r, "smpc"),
    };
    exp.plugins.smpc.begin_round(&smpc_ctx);

    let trained = train_all(exp, r, global, &colluders, observer)?;
    times.train = t0.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut updates = to_updates(exp, global, &trained);
    poison_updates(exp, r, global, &colluders, &mut updates)?;
    let grid = shared_grid(exp);
    let submitted: Vec<Vec<f32>> = updates
        .iter()
        .map(|u| on_grid(add(global, &u.delta), grid))
        .collect();
    let norms: Vec<f64> = updates.iter().map(ClientUpdate::norm).collect();
    pre_aggregate(exp, r, global, &mut updates)?;
    times.attack = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let (agg, shares) = defend(exp, r, global, &smpc_ctx, &updates)?;
    times.defense = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let records = RoundRecords {
        submitted: &submitted,
        updates: &updates,
        agg: &agg,
        shares: &shares,
    };
    let recorded = record::record(exp, r, global, &records, observer)?;
    times.consensus = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let commit = recorded.report;
    let agreement_us = recorded.agreement_us;
    let deferred = recorded.aggregation;
    if let Some(model) = recorded.model {
        *global = model;
    }
    let test = exp.evaluate(global)?;
    let backdoor_asr = exp.backdoor_asr(global)?;
    times.eval = t.elapsed().as_secs_f64();
    times.total = t0.elapsed().as_secs_f64();

    let clients = client_rows(exp, r, &updates, &norms, &agg, &trained);
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
    // The round-level checks, then each verification, then the aggregate: the order of the
    // `smpc_opened` column.
    row.smpc = agg.cost;
    for v in &agg.verdicts {
        row.smpc += v.cost.clone();
    }
    row.smpc += deferred.clone();
    row.aggregation = deferred;
    row.finalized = commit.finalized;
    row.consensus_latency_us = commit.latency_us;
    row.consensus = commit.cost;
    row.view_changes = commit.view_changes;
    row.forks = commit.forks;
    row.reorg_depth = commit.reorg_depth;
    row.conflicts = commit.conflicts;
    row.wrong_content = commit.wrong_content;
    row.agreement_us = agreement_us;
    row.consensus_by_type = commit.by_type;
    row.times = times;
    row.backdoor_asr = backdoor_asr;
    row.plaintext_updates =
        exp.plugins.defense.caps().needs_plaintext || !exp.plugins.pre_aggregators.is_empty();
    Ok((row, clients))
}

/// The fixed-point grid the models are shared on, when the defense shares them.
fn shared_grid(exp: &Experiment) -> Option<u32> {
    (!exp.plugins.defense.caps().needs_plaintext)
        .then(|| exp.plugins.smpc.grid())
        .flatten()
}

/// `model` rounded to the grid of `grid` fractional bits (unchanged without one), so that the
/// model committed to the ledger is exactly the model whose shares are verified and aggregated.
/// Exact for weights below `2^(24 − f)` in magnitude (128 at `f = 16`), far above any weight
/// bound a range check accepts; non-finite values stay as they are (the encoding puts them out
/// of every range).
pub(crate) fn on_grid(mut model: Vec<f32>, grid: Option<u32>) -> Vec<f32> {
    if let Some(f) = grid {
        let scale = 2f64.powi(f as i32);
        for v in model.iter_mut().filter(|v| v.is_finite()) {
            *v = ((f64::from(*v) * scale).round() / scale) as f32;
        }
    }
    model
}

/// Local models minus the global model, one update per hospital.
fn to_updates(
    exp: &Experiment,
    global: &[f32],
    trained: &[(TrainOutcome, f64)],
) -> Vec<ClientUpdate> {
    trained
        .iter()
        .enumerate()
        .map(|(h, (out, _))| ClientUpdate {
            hospital: h,
            samples: exp.shards[h].len(),
            delta: out.weights.iter().zip(global).map(|(w, g)| w - g).collect(),
            train_loss: out.train_loss,
        })
        .collect()
}

/// Steps 4–5: share the models, then verify and aggregate them.
fn defend(
    exp: &mut Experiment,
    r: usize,
    global: &[f32],
    smpc_ctx: &SmpcCtx,
    updates: &[ClientUpdate],
) -> Result<(Aggregate, Vec<ShareId>), RunError> {
    // A plaintext defense reads the updates themselves: nothing is shared for it.
    let models: Vec<Vec<f32>> = if exp.plugins.defense.caps().needs_plaintext {
        Vec::new()
    } else {
        let grid = shared_grid(exp);
        updates
            .iter()
            .map(|u| on_grid(add(global, &u.delta), grid))
            .collect()
    };
    let refs: Vec<&[f32]> = models.iter().map(Vec::as_slice).collect();
    let shared = exp
        .plugins
        .smpc
        .share_models(smpc_ctx, &exp.spec, &refs)
        .map_err(|e| RunError::plugin("smpc", e))?;
    let seed = seed(exp, r, "defense");
    let (setting, train) = (setting(exp), train_ctx(exp, seed));
    let reported = crate::reported::reported(exp, r, global, updates)
        .map_err(|e| RunError::plugin("backend", e))?;
    let mut ctx = DefenseCtx {
        round: r,
        global,
        spec: exp.spec,
        seed,
        setting,
        smpc: exp.plugins.smpc.as_mut(),
        shares: &shared.value,
        validation_share: exp.validation_share,
        backend: exp.plugins.backend.as_ref(),
        train,
        validation: &exp.dataset.val,
        class_counts: &reported,
        hospital_validation: &exp.hospital_validation,
    };
    let mut agg = exp
        .plugins
        .defense
        .aggregate(&mut ctx, updates)
        .map_err(|e| RunError::plugin("defense", e))?;
    agg.cost += shared.cost;
    let validators = exp.cfg.federation.validators();
    check_aggregate(r, global, &agg, updates.len(), validators)?;
    Ok((agg, shared.value))
}

/// The rows of `clients.csv` for this round.
fn client_rows(
    exp: &Experiment,
    r: usize,
    updates: &[ClientUpdate],
    norms: &[f64],
    agg: &Aggregate,
    trained: &[(TrainOutcome, f64)],
) -> Vec<ClientRow> {
    updates
        .iter()
        .zip(norms)
        .zip(&agg.verdicts)
        .zip(trained)
        .map(|(((u, &norm), v), (_, train_s))| ClientRow {
            round: r,
            hospital: u.hospital,
            malicious: attacking(exp, u.hospital, r),
            samples: u.samples,
            train_loss: u.train_loss,
            update_norm: norm,
            verdict: v.verdict,
            verify_score: v.score,
            train_s: *train_s,
            verify: v.cost.clone(),
        })
        .collect()
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

/// The hospitals' training settings with the given seed.
fn train_ctx(exp: &Experiment, seed: u64) -> TrainCtx {
    TrainCtx {
        spec: exp.spec,
        epochs: exp.cfg.train.local_epochs,
        batch_size: exp.cfg.train.batch_size,
        optimizer: exp.cfg.train.optimizer,
        seed,
    }
}

/// True when hospital `h` attacks in round `r`.
fn attacking(exp: &Experiment, h: usize, r: usize) -> bool {
    exp.malicious.contains(&h) && r >= exp.cfg.adversary.from_round
}

fn add(a: &[f32], b: &[f32]) -> Vec<f32> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

/// The attack context of hospital `h` for the hook `hook` (`data` or `update`).
fn attack_ctx<'a>(
    exp: &Experiment,
    r: usize,
    h: usize,
    hook: &str,
    global: &'a [f32],
    (colluders, samples): (&'a [usize], &'a [usize]),
    benign: &'a [ClientUpdate],
) -> AttackCtx<'a> {
    AttackCtx {
        round: r,
        hospital: h,
        hospitals: exp.cfg.federation.hospitals,
        malicious: exp.malicious.len(),
        colluders,
        global,
        samples,
        spec: exp.spec,
        classes: exp.spec.classes,
        seed: derive_seed(
            exp.cfg.seed,
            &["round", &r.to_string(), "attack", hook, &h.to_string()],
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
    colluders: &[usize],
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
        ctx: train_ctx(exp, 0),
        attackers: (0..n).map(|h| attacking(exp, h, r)).collect(),
        attack_ctx: attack_ctx(exp, r, 0, "data", global, (colluders, &exp.samples), &[]),
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
    let (round, hospital) = (job.round.to_string(), h.to_string());
    let mut data: ImageSet = job.train.subset(&job.shards[h]);
    if job.attackers[h] {
        let seed = derive_seed(
            job.exp_seed,
            &["round", &round, "attack", "data", &hospital],
        );
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
        seed: derive_seed(job.exp_seed, &["round", &round, "train", &hospital]),
        ..job.ctx
    };
    let out = job
        .backend
        .train(&ctx, job.global, &data)
        .map_err(|e| RunError::plugin("backend", e))?;
    Ok((out, t.elapsed().as_secs_f64()))
}

/// Step 2: attackers alter their updates, in hospital order; omniscient ones see the benign
/// updates as trained.
fn poison_updates(
    exp: &mut Experiment,
    r: usize,
    global: &[f32],
    colluders: &[usize],
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
    let samples = exp.samples.clone();
    for h in attackers {
        let ctx = attack_ctx(exp, r, h, "update", global, (colluders, &samples), &benign);
        exp.plugins
            .attack
            .poison_update(&ctx, &mut updates[h])
            .map_err(|e| RunError::plugin("attack", e))?;
    }
    Ok(())
}

/// Step 3: pre-aggregators, in config order, in the clear.
fn pre_aggregate(
    exp: &mut Experiment,
    r: usize,
    global: &[f32],
    updates: &mut [ClientUpdate],
) -> Result<(), RunError> {
    let setting = setting(exp);
    let seed = seed(exp, r, "pre-aggregate");
    let train = train_ctx(exp, seed);
    for pre in &mut exp.plugins.pre_aggregators {
        let ctx = DefenseCtx {
            round: r,
            global,
            spec: exp.spec,
            seed,
            setting,
            smpc: exp.plugins.smpc.as_mut(),
            shares: &[],
            validation_share: exp.validation_share,
            backend: exp.plugins.backend.as_ref(),
            train,
            validation: &exp.dataset.val,
            class_counts: &[],
            hospital_validation: &[],
        };
        pre.apply(&ctx, updates)
            .map_err(|e| RunError::plugin("pre-aggregator", e))?;
    }
    Ok(())
}

/// The defense's contract, checked: one verdict per update, a finite model of the right length.
fn check_aggregate(
    r: usize,
    global: &[f32],
    agg: &Aggregate,
    updates: usize,
    validators: usize,
) -> Result<(), RunError> {
    if agg.verdicts.len() != updates {
        return Err(RunError::plugin(
            "defense",
            securefl_api::PluginError::Failed(format!(
                "round {r}: returned {} verdicts for {updates} updates",
                agg.verdicts.len()
            )),
        ));
    }
    let rows = agg.votes.len();
    let short = agg.votes.iter().find(|row| row.len() != updates);
    if !(rows == 0 || rows == validators) || short.is_some() {
        return Err(RunError::plugin(
            "defense",
            securefl_api::PluginError::Failed(format!(
                "round {r}: votes must be one row of {updates} verdicts per validator ({validators}), \
                 got {rows} rows"
            )),
        ));
    }
    if let NextModel::Model(model) = &agg.next {
        record::check_model(r, global.len(), model)?;
    }
    Ok(())
}
