//! `gate-aware`: an adaptive attack on `smpc-verify` that knows the gate and pushes a malicious
//! direction exactly as far as its estimate of the gate lets it.
//!
//! Threat model: the attacker controls the malicious hospitals ([`AttackCtx::colluders`]), knows
//! the gate's rule and public parameters (`relative-median` on balanced accuracy with margin
//! `margin`, the constant floor, the upper-median norm bound with factor `norm-factor`), sees the
//! global model, its own clean data and its own honestly trained update (for `backdoor`: the
//! update trained on its stamped data), and the honest updates of the colluders that acted before
//! it in the round. It does not hold the validation split. With `knowledge = "omniscient"`
//! ([`AttackKnowledge::Omniscient`]) it also sees the round's benign updates. Model poisoning, plus
//! BadNets data poisoning for `direction = "backdoor"`.
//!
//! References and the variant implemented:
//! - Shejwalkar, Houmansadr, "Manipulating the Byzantine", NDSS 2021: the AGR-tailored recipe, a
//!   fixed malicious direction scaled by the largest strength `γ` that still passes (a proxy of)
//!   the target rule. The search here is a plain bisection on `[γ_min, max-strength]`, the
//!   corrected binary search (as re-implemented in the Blades benchmark), not the paper's step
//!   update of `min-max`: if `max-strength` passes it is taken; if `γ_min` fails the honest update
//!   is kept; else `lo = γ_min`, `hi = max-strength`, and while `hi − lo > tolerance` the midpoint
//!   replaces `lo` when it passes and `hi` otherwise. The result is `lo`, which passed; `lo +
//!   tolerance ≥ hi` failed. Where passing is monotone in `γ`, `γ + 2 · tolerance` fails too.
//! - Baruch, Baruch, Goldberg, "A Little Is Enough", NeurIPS 2019 (`direction = "lie"`):
//!   `μ − γ σ` with the benign mean `μ` and per-coordinate sample standard deviation `σ`; `γ`
//!   (the paper's `z`) comes from the search instead of `z_max`.
//! - Bagdasaryan et al., "How To Backdoor Federated Learning", AISTATS 2020
//!   (`direction = "backdoor"`): the scale half of constrain-and-scale. The BadNets-poisoned update
//!   `Δ_bd` (trigger as in `backdoor`) is boosted to `γ Δ_bd` with the largest `γ ≥ 1` that still
//!   passes the estimated gate. The constrain half (training with the anomaly loss) is not done:
//!   an attack hook cannot train.
//! - `direction = "sign-flip"`: `−γ μ`.
//!
//! Estimates, per round (`n` = hospitals, `m` = colluders, each assumed to submit a model of the
//! candidate's distance and score, which is exact when they share one update):
//! - Benign sample `S`. Own mode: the honest (for `backdoor`: poisoned) updates of this round's
//!   colluders seen so far, its own included, so the `k`-th colluder to act uses `k` updates; the
//!   first one, and a lone attacker, only its own. Omniscient: the benign updates. `μ` and `σ` are
//!   taken over `S`. With fewer than two updates `σ = 0`, so `lie` has no direction and the
//!   honest update is submitted.
//! - Benign distances `‖u_j‖` and scores of `g + u_j`, `u_j ∈ S`, spread over `n − m` values (the
//!   sample itself when omniscient). The norm check is `‖Δ‖ ≤ slack · norm-factor · UM`, where
//!   `UM` is the upper median (`⌈n/2⌉`-th largest) of the benign distances and `m` copies of
//!   `‖Δ‖` (colluders raise it; with `m ≥ ⌈n/2⌉` the bound no longer binds and `max-strength`
//!   does); no bound below three submissions, as the gate.
//! - Neighbour rules (omniscient only, when `neighbour-bound` or `neighbour-rank` is set): the
//!   Krum scores of every submission, the colluders' copies of the candidate at distance 0 from
//!   each other, exactly as the gate computes them (`krum`); the candidate's score must be at most
//!   `slack · factor²` times the upper-median score, and with `neighbour-rank` at most `slack`
//!   times at least `m` benign scores, so that the `m` dropped are all benign.
//! - Scores: balanced accuracy on at most `score-images` of the attacker's clean images, drawn
//!   without replacement, seeded from the data hook's seed, and kept by [`Attack::poison_data`]
//!   (for `backdoor` before stamping), with the slow reference forward pass. The score check is
//!   `score ≥ median(benign scores ∪ m copies of score) − margin + score-slack` and the floor
//!   (balanced accuracy ≥ 1/C + 0.01 for the C classes present, or plain accuracy ≥ the majority
//!   share of those images). When no images are held for the hospital (never in the engine, which
//!   calls `poison_data` first) the score check is skipped.
//!
//! Search range: `γ_min = tolerance` for `sign-flip` and `lie`, 1 (no boost) for `backdoor`. If
//! `γ_min` fails the estimated gate, the update is left as trained: the honest update, or for
//! `backdoor` the unboosted poisoned one. In omniscient mode `sign-flip` and `lie` colluders share
//! the one update the first of them crafts in the round.
//!
//! Parameters: `direction` (`"sign-flip"` default, `"lie"`, `"backdoor"`), `knowledge` (`"own"`
//! default, `"omniscient"`), `margin` (0.05), `norm-factor` (2; 0 = the gate has no norm bound),
//! `slack` (0.95, in (0, 1]), `score-slack` (0, in [0, 1]), `tolerance` (1e-3), `max-strength`
//! (10), `score-images` (200), `neighbour-bound` (0 = the gate has none) and `neighbour-rank`
//! (false), both omniscient only; with `backdoor` only: `target`, `trigger-size`,
//! `poison-fraction`, as `backdoor` and with its defaults. Cost: one scoring (`score-images` reference forward passes)
//! per benign estimate and per search step whose candidate passes the norm check, about
//! `log2(max-strength / tolerance)` ≈ 14 steps by default.
//!
//! Deterministic: the output depends only on the inputs, the calls earlier in the round and the
//! seeds; state lives in a `BTreeMap` and plain fields.

mod gate;
mod krum;

use std::collections::BTreeMap;
use std::sync::Mutex;

use securefl_api::{
    Attack, AttackCtx, AttackKnowledge, ClientUpdate, Factory, ImageSet, ParamError, PluginError,
    PluginInfo, Registry, RegistryError, rng,
};
use serde::Deserialize;

use crate::backdoor::{self, Backdoor};
use crate::common::{benign, mean, positive, std_dev};
use crate::scaling::Boost;
use gate::{Gate, Rule, Scorer, spread};
use krum::Neighbours;

/// The malicious direction along which the strength `γ` is searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// `μ − γ σ` (Baruch et al.).
    Lie,
    /// `−γ μ`.
    #[default]
    SignFlip,
    /// `γ Δ_bd`, the BadNets-poisoned update boosted (Bagdasaryan et al.).
    Backdoor,
}

/// What the attacker sees of the round, as the config names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Knowledge {
    /// Its own data and update, and its colluders' updates.
    #[default]
    Own,
    /// The round's benign updates as well.
    Omniscient,
}

/// Parameters of `gate-aware`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Params {
    /// The malicious direction.
    #[serde(default)]
    pub direction: Direction,
    /// What the attacker sees.
    #[serde(default)]
    pub knowledge: Knowledge,
    /// The gate's margin below the round's median score.
    #[serde(default = "default_margin")]
    pub margin: f64,
    /// The gate's norm-bound factor (0: no bound).
    #[serde(default = "default_norm_factor")]
    pub norm_factor: f64,
    /// Safety factor on the estimated norm bound, in (0, 1].
    #[serde(default = "default_slack")]
    pub slack: f64,
    /// Score the candidate keeps above the estimated bar, in [0, 1].
    #[serde(default)]
    pub score_slack: f64,
    /// The search stops when the bracket is at most this wide.
    #[serde(default = "default_tolerance")]
    pub tolerance: f64,
    /// The largest strength tried.
    #[serde(default = "default_max_strength")]
    pub max_strength: f64,
    /// At most this many of the attacker's images score a candidate.
    #[serde(default = "default_score_images")]
    pub score_images: usize,
    /// The gate's neighbour-bound factor (0: off), known to the attacker (omniscient only).
    #[serde(default)]
    pub neighbour_bound: f64,
    /// Whether the gate drops the highest Krum scores by rank (omniscient only).
    #[serde(default)]
    pub neighbour_rank: bool,
    /// `backdoor` only: the label triggered images are given.
    pub target: Option<usize>,
    /// `backdoor` only: side of the square trigger, in pixels.
    pub trigger_size: Option<usize>,
    /// `backdoor` only: share of the attacker's images that are poisoned.
    pub poison_fraction: Option<f64>,
}

fn default_margin() -> f64 {
    0.05
}
fn default_norm_factor() -> f64 {
    2.0
}
fn default_slack() -> f64 {
    0.95
}
fn default_tolerance() -> f64 {
    1e-3
}
fn default_max_strength() -> f64 {
    10.0
}
fn default_score_images() -> usize {
    200
}

/// The crafted update of one call and how it was found.
#[derive(Debug, Clone)]
pub(crate) struct Crafted {
    /// The strength found, `None` when even the smallest failed (the update is kept).
    pub(crate) strength: Option<f64>,
    /// The update to submit.
    pub(crate) delta: Vec<f32>,
    /// The estimated gate the search ran against.
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the tests"))]
    pub(crate) gate: Gate,
    /// The direction the strength scales.
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the tests"))]
    pub(crate) line: Line,
}

/// A candidate update as a function of the strength.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Line {
    /// `base − γ · dir`.
    Shift {
        /// The point at `γ = 0`.
        base: Vec<f64>,
        /// The vector subtracted per unit of `γ`.
        dir: Vec<f64>,
    },
    /// `γ · base`.
    Scale(Vec<f64>),
}

impl Line {
    /// The candidate at strength `gamma`, rounded to `f32`.
    pub(crate) fn at(&self, gamma: f64) -> Vec<f32> {
        match self {
            Self::Shift { base, dir } => base
                .iter()
                .zip(dir)
                .map(|(b, d)| (b - gamma * d) as f32)
                .collect(),
            Self::Scale(base) => base.iter().map(|b| (gamma * b) as f32).collect(),
        }
    }
}

/// Euclidean norm, in `f64`.
fn norm(v: &[f32]) -> f64 {
    v.iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt()
}

/// The bisection described in the module docs: the largest passing strength in
/// `[lo, hi]` to within `tolerance`, or `None` when `lo` fails.
fn bisect(lo: f64, hi: f64, tolerance: f64, mut pass: impl FnMut(f64) -> bool) -> Option<f64> {
    if !pass(lo) {
        return None;
    }
    if pass(hi) {
        return Some(hi);
    }
    let (mut lo, mut hi) = (lo, hi);
    // The bracket halves each step; the cap only guards against non-finite bounds.
    for _ in 0..200 {
        if hi - lo <= tolerance {
            break;
        }
        let mid = lo + (hi - lo) / 2.0;
        if pass(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(lo)
}

/// State of the current round.
#[derive(Debug, Default)]
struct RoundState {
    round: usize,
    /// Own mode: the colluders' trained updates seen this round, by hospital.
    seen: BTreeMap<usize, Vec<f32>>,
    /// Omniscient `sign-flip`/`lie`: the update the first colluder crafted (`None` inside: it
    /// kept its honest update, and so does every colluder).
    shared: Option<Option<Vec<f32>>>,
}

/// The attack.
#[derive(Debug)]
pub struct GateAware {
    params: Params,
    /// The BadNets stamping, for `direction = "backdoor"`.
    backdoor: Option<Backdoor>,
    /// Each attacking hospital's clean scoring images (the latest round's draw).
    held: Mutex<BTreeMap<usize, ImageSet>>,
    state: RoundState,
}

impl GateAware {
    /// Validates the parameters.
    pub fn new(p: Params) -> Result<Self, ParamError> {
        if !(0.0..=1.0).contains(&p.margin) {
            return Err(ParamError::field(
                "margin",
                format!("{} is not in [0, 1]", p.margin),
            ));
        }
        if !(p.norm_factor == 0.0 || p.norm_factor.is_finite() && p.norm_factor >= 1.0) {
            return Err(ParamError::field(
                "norm-factor",
                format!("{} is neither 0 (no bound) nor a factor ≥ 1", p.norm_factor),
            ));
        }
        if !(p.slack > 0.0 && p.slack <= 1.0) {
            return Err(ParamError::field(
                "slack",
                format!("{} is not in (0, 1]", p.slack),
            ));
        }
        if !(0.0..=1.0).contains(&p.score_slack) {
            return Err(ParamError::field(
                "score-slack",
                format!("{} is not in [0, 1]", p.score_slack),
            ));
        }
        positive("tolerance", p.tolerance)?;
        positive("max-strength", p.max_strength)?;
        let min = min_strength(p.direction, p.tolerance);
        if p.max_strength <= min {
            return Err(ParamError::field(
                "max-strength",
                format!(
                    "{} is not above the smallest strength {min}",
                    p.max_strength
                ),
            ));
        }
        if p.score_images == 0 {
            return Err(ParamError::field("score-images", "must be at least 1"));
        }
        if !(p.neighbour_bound == 0.0 || p.neighbour_bound.is_finite() && p.neighbour_bound >= 1.0)
        {
            return Err(ParamError::field(
                "neighbour-bound",
                format!("{} is neither 0 (off) nor a factor ≥ 1", p.neighbour_bound),
            ));
        }
        let neighbours = p.neighbour_bound > 0.0 || p.neighbour_rank;
        if neighbours && p.knowledge != Knowledge::Omniscient {
            return Err(ParamError::field(
                if p.neighbour_rank {
                    "neighbour-rank"
                } else {
                    "neighbour-bound"
                },
                "needs knowledge = \"omniscient\" (no own-data estimate of Krum scores is built)",
            ));
        }
        let backdoor = if p.direction == Direction::Backdoor {
            // `backdoor`'s own defaults, overridden by what is given; no boost: γ is the boost.
            let mut bp: backdoor::Params = securefl_api::Params::empty().parse()?;
            bp.target = p.target.unwrap_or(bp.target);
            bp.trigger_size = p.trigger_size.unwrap_or(bp.trigger_size);
            bp.poison_fraction = p.poison_fraction.unwrap_or(bp.poison_fraction);
            bp.boost = Boost::Factor(1.0);
            Some(Backdoor::new(bp)?)
        } else {
            let given = [
                ("target", p.target.is_some()),
                ("trigger-size", p.trigger_size.is_some()),
                ("poison-fraction", p.poison_fraction.is_some()),
            ];
            if let Some((field, _)) = given.into_iter().find(|(_, set)| *set) {
                return Err(ParamError::field(
                    field,
                    "only applies with direction = \"backdoor\"",
                ));
            }
            None
        };
        Ok(Self {
            params: p,
            backdoor,
            held: Mutex::new(BTreeMap::new()),
            state: RoundState::default(),
        })
    }

    fn omniscient(&self) -> bool {
        self.params.knowledge == Knowledge::Omniscient
    }

    fn rule(&self) -> Rule {
        Rule {
            margin: self.params.margin,
            norm_factor: self.params.norm_factor,
            slack: self.params.slack,
            score_slack: self.params.score_slack,
        }
    }

    /// The hospital's held clean images, if any.
    fn held(&self, hospital: usize) -> Option<ImageSet> {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.get(&hospital).cloned()
    }

    /// The search of one call against the estimated gate (see the module docs).
    pub(crate) fn craft(
        &self,
        ctx: &AttackCtx<'_>,
        update: &ClientUpdate,
        seen: &BTreeMap<usize, Vec<f32>>,
    ) -> Result<Crafted, PluginError> {
        let dim = update.delta.len();
        let rows: Vec<&[f32]> = if self.omniscient() {
            benign("gate-aware", ctx, dim)?
        } else {
            seen.values().map(Vec::as_slice).collect()
        };
        if let Some(r) = rows.iter().find(|r| r.len() != dim) {
            return Err(PluginError::invalid(format!(
                "gate-aware: a colluder's update has {} values, this one {dim}",
                r.len()
            )));
        }
        let mu = mean(&rows);
        let p = &self.params;
        let line = match p.direction {
            Direction::Lie => Line::Shift {
                dir: std_dev(&rows, &mu),
                base: mu,
            },
            Direction::SignFlip => Line::Scale(mu.iter().map(|m| -m).collect()),
            Direction::Backdoor => Line::Scale(update.delta.iter().map(|&v| v.into()).collect()),
        };
        let colluders = ctx.colluders.len().clamp(1, ctx.hospitals.max(1));
        let n_benign = if self.omniscient() {
            rows.len()
        } else {
            ctx.hospitals.saturating_sub(colluders)
        };
        let held = self.held(ctx.hospital);
        let scorer = match &held {
            Some(images) => Some(Scorer::new(ctx.spec, ctx.global, images)?),
            None => None,
        };
        let dists: Vec<f64> = rows.iter().map(|r| norm(r)).collect();
        let scores = scorer.as_ref().map(|s| {
            let sample: Vec<f64> = rows.iter().map(|r| s.eval(r).balanced).collect();
            spread(&sample, n_benign)
        });
        let gate = Gate {
            dist: spread(&dists, n_benign),
            scores,
            colluders,
            rule: self.rule(),
        };
        let krum = (p.neighbour_bound > 0.0 || p.neighbour_rank).then(|| {
            Neighbours::new(
                &rows,
                colluders,
                p.neighbour_bound,
                p.neighbour_rank,
                p.slack,
            )
        });
        let degenerate = matches!(&line, Line::Shift { dir, .. } if dir.iter().all(|&d| d == 0.0));
        let strength = if degenerate {
            None
        } else {
            bisect(
                min_strength(p.direction, p.tolerance),
                p.max_strength,
                p.tolerance,
                |g| {
                    let v = line.at(g);
                    gate.norm_ok(norm(&v))
                        && krum.as_ref().is_none_or(|k| k.ok(&rows, &v))
                        && scorer.as_ref().is_none_or(|s| gate.score_ok(&s.eval(&v)))
                },
            )
        };
        let delta = match strength {
            Some(g) => line.at(g),
            None => update.delta.clone(),
        };
        Ok(Crafted {
            strength,
            delta,
            gate,
            line,
        })
    }
}

/// The smallest strength searched: `tolerance`, or 1 (no boost) for `backdoor`.
fn min_strength(direction: Direction, tolerance: f64) -> f64 {
    match direction {
        Direction::Backdoor => 1.0,
        Direction::Lie | Direction::SignFlip => tolerance,
    }
}

impl Attack for GateAware {
    fn knowledge(&self) -> AttackKnowledge {
        match self.params.knowledge {
            Knowledge::Own => AttackKnowledge::Own,
            Knowledge::Omniscient => AttackKnowledge::Omniscient,
        }
    }

    fn poison_data(&self, ctx: &AttackCtx<'_>, data: &mut ImageSet) -> Result<(), PluginError> {
        let side = securefl_api::model::IMAGE_SIDE;
        if data.height != side || data.width != side || data.channels != ctx.spec.in_channels {
            return Err(PluginError::invalid(format!(
                "gate-aware: cannot score {}x{}x{} images with a {side}x{side}x{} model",
                data.height, data.width, data.channels, ctx.spec.in_channels
            )));
        }
        let n = data.len();
        let k = self.params.score_images.min(n);
        let mut r = rng(ctx.seed, &["gate-aware", "score-images"]);
        let pick = rand::seq::index::sample(&mut r, n, k).into_vec();
        let clean = data.subset(&pick);
        self.held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(ctx.hospital, clean);
        match &self.backdoor {
            Some(b) => b.poison_data(ctx, data),
            None => Ok(()),
        }
    }

    fn poison_update(
        &mut self,
        ctx: &AttackCtx<'_>,
        update: &mut ClientUpdate,
    ) -> Result<(), PluginError> {
        if self.state.round != ctx.round {
            self.state = RoundState {
                round: ctx.round,
                ..RoundState::default()
            };
        }
        let share = self.omniscient() && self.params.direction != Direction::Backdoor;
        if share && let Some(shared) = &self.state.shared {
            if let Some(v) = shared {
                update.delta.clone_from(v);
            }
            return Ok(());
        }
        let mut seen = std::mem::take(&mut self.state.seen);
        if !self.omniscient() {
            seen.insert(ctx.hospital, update.delta.clone());
        }
        let crafted = self.craft(ctx, update, &seen);
        self.state.seen = seen;
        let crafted = crafted?;
        if share {
            self.state.shared = Some(crafted.strength.map(|_| crafted.delta.clone()));
        }
        update.delta = crafted.delta;
        Ok(())
    }

    fn trigger_test_set(
        &self,
        test: &ImageSet,
        classes: usize,
    ) -> Result<Option<ImageSet>, PluginError> {
        match &self.backdoor {
            Some(b) => b.trigger_test_set(test, classes),
            None => Ok(None),
        }
    }
}

pub(crate) fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new(
        "gate-aware",
        env!("CARGO_PKG_VERSION"),
        "largest strength along lie, sign-flip or backdoor that passes an estimate of smpc-verify",
    )
    .cite(
        "Shejwalkar, Houmansadr, Manipulating the Byzantine, NDSS 2021 (AGR-tailored search); \
         Baruch et al., A Little Is Enough, NeurIPS 2019; \
         Bagdasaryan et al., How To Backdoor FL, AISTATS 2020 (constrain-and-scale)",
    );
    reg.add::<dyn Attack>(Factory::new(info, |p| {
        Ok(Box::new(GateAware::new(p.parse()?)?) as Box<dyn Attack>)
    }))
}

#[cfg(test)]
mod tests;
