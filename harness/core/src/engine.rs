//! The experiment: data loading, partitioning, and the federated rounds.
//!
//! A round, in order (ARCHITECTURE.md has the full data flow):
//! 1. every hospital trains from the global model on its partition (in parallel; a malicious
//!    hospital's data may be poisoned first);
//! 2. malicious hospitals poison their updates (omniscient attacks see the benign ones);
//! 3. pre-aggregators transform the updates;
//! 4. the submitted models are committed (blake2b) and secret-shared;
//! 5. the defense verifies and aggregates the shares into the next global model;
//! 6. the round's transactions go through consensus;
//! 7. the new global model is evaluated on the official test split.

use std::collections::BTreeSet;
use std::time::Instant;

use securefl_api::{
    DataCtx, DataId, Dataset, ImageSet, ModelSpec, PartitionCtx, PluginError, SmpcCtx, derive_seed,
};

use crate::config::Config;
use crate::ledger::{Chain, Keyring};
use crate::metrics::{self, Metrics};
use crate::observer::{Observer, RunStart};
use crate::plugins::Plugins;
use crate::records::{ClientRow, RoundRow};
use crate::{RunError, adversary, own_validation, round};

/// A prepared experiment: plugins built, data loaded and partitioned.
pub struct Experiment {
    pub(crate) cfg: Config,
    pub(crate) plugins: Plugins,
    pub(crate) dataset: Dataset,
    pub(crate) shards: Vec<Vec<usize>>,
    /// Training images per hospital (the shard sizes, the FedAvg weights).
    pub(crate) samples: Vec<usize>,
    /// Each hospital's training class histogram.
    pub(crate) class_counts: Vec<Vec<u64>>,
    pub(crate) malicious: BTreeSet<usize>,
    pub(crate) spec: ModelSpec,
    pub(crate) jobs: usize,
    pub(crate) validation_share: Option<DataId>,
    /// Each hospital's own validation split, shared, when the defense validates per hospital.
    pub(crate) hospital_validation: Vec<DataId>,
    /// The backdoor's probe set (triggered test images labelled with the target), if any.
    pub(crate) trigger_set: Option<ImageSet>,
    /// The ledger being written.
    pub(crate) chain: Chain,
    /// Simulated time of the ledger so far (the sum of consensus latencies), µs.
    pub(crate) ledger_time_us: u64,
}

/// The ledger's keys (`[ledger]`): from the key directory, from the seed, or fresh.
fn keyring(cfg: &Config) -> Result<Keyring, RunError> {
    let (hospitals, validators) = (cfg.federation.hospitals, cfg.federation.validators());
    if cfg.ledger.seeded_keys {
        let seed = derive_seed(cfg.seed, &["ledger"]);
        return Ok(Keyring::derive(seed, hospitals, validators));
    }
    match cfg.key_dir() {
        Some(dir) => Keyring::load_or_create(&dir, hospitals, validators).map_err(|e| {
            RunError::Config(crate::ConfigError {
                path: cfg.path.clone(),
                line: crate::config::line_of_key_after(&cfg.source, "keys", 1),
                message: format!("[ledger] `keys`: {e}"),
            })
        }),
        None => Ok(Keyring::generate(hospitals, validators)),
    }
}

/// What a finished run returns.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    /// One row per round, round 0 (the initial model) first.
    pub rounds: Vec<RoundRow>,
    /// One row per round and hospital.
    pub clients: Vec<ClientRow>,
    /// The final global model (flat weights).
    pub global: Vec<f32>,
}

impl Experiment {
    /// Loads the dataset, partitions it and chooses the malicious hospitals.
    ///
    /// A dataset or partition that cannot be used is a config error pointing at its section.
    pub fn prepare(
        cfg: Config,
        plugins: Plugins,
        data: &DataCtx,
        jobs: usize,
    ) -> Result<Self, RunError> {
        let malicious = adversary::choose(&cfg);
        let keys = keyring(&cfg)?;
        let quorum = plugins.consensus.seal_quorum(cfg.federation.validators());
        let dataset = plugins
            .dataset
            .load(data)
            .map_err(|e| cfg.error(&cfg.dataset, "dataset", None, &e.to_string()))?;
        let spec = ModelSpec {
            arch: cfg.model.arch,
            in_channels: dataset.train.channels,
            classes: dataset.classes(),
        };
        let pctx = PartitionCtx {
            hospitals: cfg.federation.hospitals,
            classes: dataset.classes(),
            seed: derive_seed(cfg.seed, &["partition"]),
            min_samples: cfg.federation.min_samples,
        };
        let shards = plugins
            .partitioner
            .split(&pctx, &dataset.train.labels)
            .map_err(|e| cfg.error(&cfg.partition, "partition", None, &e.to_string()))?;
        check_shards(&shards, &pctx, dataset.train.len())?;
        let class_counts = shards
            .iter()
            .map(|s| class_histogram(&dataset.train.labels, s, spec.classes))
            .collect();
        let trigger_set = plugins
            .attack
            .trigger_test_set(&dataset.test, dataset.classes())
            .map_err(|e| cfg.error(&cfg.attack, "attack", None, &e.to_string()))?;
        Ok(Self {
            cfg,
            plugins,
            dataset,
            samples: shards.iter().map(Vec::len).collect(),
            class_counts,
            shards,
            malicious,
            spec,
            jobs: jobs.max(1),
            validation_share: None,
            hospital_validation: Vec::new(),
            trigger_set,
            chain: Chain::new(keys, quorum),
            ledger_time_us: 0,
        })
    }

    /// The loaded dataset.
    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    /// The model architecture, instantiated for the dataset.
    pub fn spec(&self) -> ModelSpec {
        self.spec
    }

    /// The ledger written so far.
    pub fn ledger(&self) -> &Chain {
        &self.chain
    }

    /// The malicious hospitals.
    pub fn malicious(&self) -> &BTreeSet<usize> {
        &self.malicious
    }

    /// The plugins.
    pub fn plugins(&self) -> &Plugins {
        &self.plugins
    }

    /// Runs every round, reporting to `observer`.
    pub fn run(&mut self, observer: &mut dyn Observer) -> Result<RunResult, RunError> {
        let mut global = self
            .spec
            .init_weights(&mut securefl_api::rng(self.cfg.seed, &["init"]));
        observer.started(&RunStart {
            name: self.cfg.name.clone(),
            hospitals: self.cfg.federation.hospitals,
            rounds: self.cfg.federation.rounds,
        });
        self.share_validation()?;
        let mut result = RunResult {
            rounds: Vec::new(),
            clients: Vec::new(),
            global: Vec::new(),
        };
        let start = Instant::now();
        let initial = self.round_zero(&global, start)?;
        let genesis = self.chain.genesis(&global);
        observer.block_finalized(&genesis, &global)?;
        observer.round_finished(&initial, &[])?;
        result.rounds.push(initial);
        for r in 1..=self.cfg.federation.rounds {
            let (row, clients) = round::run(self, r, &mut global, observer)?;
            observer.round_finished(&row, &clients)?;
            result.rounds.push(row);
            result.clients.extend(clients);
        }
        result.global = global;
        Ok(result)
    }

    /// Shares the validation split with the SMPC parties when the protocol can use it.
    fn share_validation(&mut self) -> Result<(), RunError> {
        if !self.plugins.smpc.caps().inference {
            return Ok(());
        }
        let seed = derive_seed(self.cfg.seed, &["smpc", "validation"]);
        let ctx = SmpcCtx {
            round: 0,
            validators: self.cfg.federation.hospitals,
            seed,
        };
        let shared = self
            .plugins
            .smpc
            .share_dataset(&ctx, &self.dataset.val, self.spec.classes)
            .map_err(|e| RunError::plugin("smpc", e))?;
        self.validation_share = Some(shared.value);
        if self.plugins.defense.validates_per_hospital() {
            self.share_own_validation(&ctx)?;
        }
        Ok(())
    }

    /// Deals the validation split to the hospitals in their training class mix
    /// (`own_validation`) and shares each hospital's part.
    fn share_own_validation(&mut self, ctx: &SmpcCtx) -> Result<(), RunError> {
        let seed = derive_seed(self.cfg.seed, &["own-validation"]);
        let parts = own_validation::deal(&self.dataset.val.labels, &self.class_counts, seed);
        for (h, part) in parts.iter().enumerate() {
            if part.is_empty() {
                let msg = format!(
                    "hospital {h}'s own validation split is empty (its {} training images leave it \
                     no share of the {} validation images); validate centrally, or raise \
                     `federation.min-samples`",
                    self.samples[h],
                    self.dataset.val.len()
                );
                return Err(RunError::plugin("defense", PluginError::invalid(msg)));
            }
            let set = self.dataset.val.subset(part);
            let shared = self
                .plugins
                .smpc
                .share_dataset(ctx, &set, self.spec.classes)
                .map_err(|e| RunError::plugin("smpc", e))?;
            self.hospital_validation.push(shared.value);
        }
        Ok(())
    }

    /// Row 0: the initial model on the test split.
    fn round_zero(&self, global: &[f32], start: Instant) -> Result<RoundRow, RunError> {
        let test = self.evaluate(global)?;
        let mut row = round::empty_row(0, test);
        row.backdoor_asr = self.backdoor_asr(global)?;
        row.times.eval = start.elapsed().as_secs_f64();
        row.times.total = row.times.eval;
        Ok(row)
    }

    /// Test-split metrics of `weights`; the backend must give finite logits for every image.
    pub(crate) fn evaluate(&self, weights: &[f32]) -> Result<Metrics, RunError> {
        self.metrics_on(weights, &self.dataset.test)
    }

    /// The backdoor's success rate against `weights`: the share of triggered test images
    /// classified as the target (`None` when the attack plants no trigger).
    pub(crate) fn backdoor_asr(&self, weights: &[f32]) -> Result<Option<f64>, RunError> {
        match &self.trigger_set {
            Some(set) if !set.is_empty() => Ok(Some(self.metrics_on(weights, set)?.accuracy)),
            _ => Ok(None),
        }
    }

    /// Metrics of `weights` on `test`; the backend must give finite logits for every image.
    fn metrics_on(&self, weights: &[f32], test: &ImageSet) -> Result<Metrics, RunError> {
        let classes = self.spec.classes;
        let logits = self
            .plugins
            .backend
            .predict(&self.spec, weights, test)
            .map_err(|e| RunError::plugin("backend", e))?;
        let fail = |m: String| RunError::plugin("backend", PluginError::Failed(m));
        if logits.len() != test.len() * classes {
            return Err(fail(format!(
                "predict returned {} logits for {} images x {classes} classes",
                logits.len(),
                test.len()
            )));
        }
        if logits.iter().any(|v| !v.is_finite()) {
            return Err(fail(
                "the global model gives non-finite logits on the test split (it has diverged)"
                    .into(),
            ));
        }
        Ok(metrics::evaluate(&logits, &test.labels, classes))
    }
}

/// The partitioner's contract, checked: disjoint, in range, enough images each.
/// The class histogram of the images `shard` of `labels`.
fn class_histogram(labels: &[u8], shard: &[usize], classes: usize) -> Vec<u64> {
    let mut counts = vec![0; classes];
    for &i in shard {
        counts[usize::from(labels[i])] += 1;
    }
    counts
}

fn check_shards(shards: &[Vec<usize>], ctx: &PartitionCtx, n: usize) -> Result<(), RunError> {
    let bad = |m: String| RunError::plugin("partition", PluginError::Failed(m));
    if shards.len() != ctx.hospitals {
        return Err(bad(format!(
            "returned {} shards for {} hospitals",
            shards.len(),
            ctx.hospitals
        )));
    }
    let mut seen = vec![false; n];
    for (h, shard) in shards.iter().enumerate() {
        if shard.len() < ctx.min_samples {
            return Err(bad(format!(
                "hospital {h} got {} images, fewer than min-samples = {}",
                shard.len(),
                ctx.min_samples
            )));
        }
        for &i in shard {
            if i >= n || std::mem::replace(&mut seen[i], true) {
                return Err(bad(format!("image {i} is out of range or given twice")));
            }
        }
    }
    Ok(())
}
