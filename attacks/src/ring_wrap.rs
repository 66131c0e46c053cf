//! `ring-wrap`: a model whose fixed-point encoding fools the norm bound of `smpc-verify` by
//! wrapping its squared distance around the ring Z_2^64, while its encrypted inference equals an
//! honest model's, and whose secure average breaks the global model.
//!
//! The SMPC engine encodes a weight `x` as `round(x · 2^f)` and computes the norm bound's squared
//! distance `Σ (m_j − g_j)²` mod 2^64 before truncating. A coordinate whose encoded difference is
//! `D = 2^32 − e` adds `D² ≡ e² − 2^33·e` (mod 2^64): a real difference of about 2^(32−f) (65,536
//! at `f = 16`) *subtracts* about `2e` real units from the distance. The attack:
//! 1. starts from its honestly trained model and kills one channel `k` of the first convolution
//!    (kernel 0, bias −1): `relu(−1) = 0` for every image, so no validation image can see what
//!    the channel's outgoing weights (`conv2.weight[:, k]`) are;
//! 2. sets one outgoing weight to the wrap value `g + 2^(32−f) − e/2^f` and the other outgoing
//!    weights to `g + a` with `a` solved so that the encoded squared distance wraps to 1.5 ×
//!    `target` (default 0.5) times the attacker's own honest squared distance, within
//!    `[target, 2·target]` (a fine-tuned last coordinate absorbs the rounding). The channel is chosen as the one with the smallest outgoing weights in the
//!    global model, so killing it costs the least accuracy.
//!
//! The submitted model therefore scores like an honest one (minus one channel) and its distance
//! looks like 0.75 of an honest one's, so it passes the rule, the floor and the norm bound. In the
//! secure average the dead channel is alive again (its kernel is averaged with the honest
//! ones'), and its outgoing weight carries `fraction · 2^(32−f)` (about 20,000 with 3 of 10
//! equal hospitals): the global model's logits explode. It is the measurement of the encoding
//! gap that an in-MPC range check on every shared coordinate closes.
//!
//! Threat model: [`AttackKnowledge::Own`]. The attacker knows the public global model, the
//! engine's public fixed-point encoding (`frac-bits`, default 16) and that the gate computes the
//! distance as above; it sees no other update. It needs the paper CNN's layout (`conv1`,
//! `conv2`). Reference: the encoding attacks on unchecked MPC inputs that ELSA (Rathee et al.,
//! IEEE S&P 2023), EIFFeL (Roy Chowdhury et al., CCS 2022) and RoFL (Lycklama et al., IEEE S&P
//! 2023) close with input validation.

use securefl_api::{
    Attack, AttackCtx, AttackKnowledge, ClientUpdate, Factory, ModelSpec, ParamError, ParamTensor,
    PluginError, PluginInfo, Registry, RegistryError,
};
use serde::Deserialize;

use crate::common::positive;

/// Parameters of `ring-wrap`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Params {
    /// Fractional bits of the gate's encoding.
    #[serde(default = "default_frac_bits")]
    pub frac_bits: u32,
    /// The encoded squared distance to aim at, relative to the attacker's honest one.
    #[serde(default = "default_target")]
    pub target: f64,
}

fn default_frac_bits() -> u32 {
    16
}

fn default_target() -> f64 {
    0.5
}

/// The attack.
#[derive(Debug, Clone, Copy)]
pub struct RingWrap {
    params: Params,
}

impl RingWrap {
    /// Validates the parameters.
    pub fn new(params: Params) -> Result<Self, ParamError> {
        if !(8..=24).contains(&params.frac_bits) {
            return Err(ParamError::field(
                "frac-bits",
                format!("{} is outside 8..=24", params.frac_bits),
            ));
        }
        positive("target", params.target)?;
        Ok(Self { params })
    }
}

impl Attack for RingWrap {
    fn knowledge(&self) -> AttackKnowledge {
        AttackKnowledge::Own
    }

    fn poison_update(
        &mut self,
        ctx: &AttackCtx<'_>,
        update: &mut ClientUpdate,
    ) -> Result<(), PluginError> {
        let f = self.params.frac_bits;
        let honest = encoded_sq_distance(ctx.global, &update.delta, f);
        let target = (honest as f64 * self.params.target) as u128;
        let model = craft(&ctx.spec, ctx.global, &update.delta, f, target)?;
        update.delta = model.iter().zip(ctx.global).map(|(m, g)| m - g).collect();
        Ok(())
    }
}

/// `round(x · 2^f)`, as the engine encodes.
pub fn encode(x: f32, f: u32) -> i64 {
    (f64::from(x) * (1u64 << f) as f64).round() as i64
}

/// The model the engine forms from a global model and a delta (`g + d` in f32).
fn submitted(g: f32, d: f32) -> f32 {
    g + d
}

/// `Σ (enc(g + d) − enc(g))²`, exact (no wrap), for an honest delta.
fn encoded_sq_distance(global: &[f32], delta: &[f32], f: u32) -> u128 {
    global
        .iter()
        .zip(delta)
        .map(|(&g, &d)| {
            let diff = encode(submitted(g, d), f) - encode(g, f);
            (i128::from(diff) * i128::from(diff)) as u128
        })
        .sum()
}

/// The gate's squared distance of `model` to `global`: `Σ D²` mod 2^64, as the engine computes
/// it before truncation.
pub fn wrapped_sq_distance(global: &[f32], model: &[f32], f: u32) -> u64 {
    global.iter().zip(model).fold(0u64, |acc, (&g, &m)| {
        let diff = encode(m, f).wrapping_sub(encode(g, f)) as u64;
        acc.wrapping_add(diff.wrapping_mul(diff))
    })
}

/// The tensor `name` of the layout, or an error naming the attack's need.
fn tensor<'a>(layout: &'a [ParamTensor], name: &str) -> Result<&'a ParamTensor, PluginError> {
    layout
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| PluginError::invalid(format!("ring-wrap: the model has no {name}")))
}

/// Where the attack writes: the killed channel's kernel and bias, and its outgoing weights.
struct Site {
    kernel: Vec<usize>,
    bias: usize,
    outgoing: Vec<usize>,
}

impl Site {
    /// The first-convolution channel whose outgoing weights in `global` are smallest.
    fn choose(spec: &ModelSpec, global: &[f32]) -> Result<Self, PluginError> {
        let layout = spec.param_layout();
        let (w1, b1, w2) = (
            tensor(&layout, "conv1.weight")?,
            tensor(&layout, "conv1.bias")?,
            tensor(&layout, "conv2.weight")?,
        );
        let (c1, per_kernel) = (w1.shape[0], w1.len() / w1.shape[0]);
        let (c2, k2) = (w2.shape[0], w2.shape[2] * w2.shape[3]);
        let outgoing = |k: usize| -> Vec<usize> {
            (0..c2)
                .flat_map(|o| (0..k2).map(move |t| w2.offset + (o * c1 + k) * k2 + t))
                .collect()
        };
        let weight = |k: usize| -> f64 {
            outgoing(k)
                .iter()
                .map(|&i| f64::from(global[i].abs()))
                .sum()
        };
        let k = (0..c1)
            .min_by(|&a, &b| weight(a).total_cmp(&weight(b)))
            .ok_or_else(|| PluginError::invalid("ring-wrap: conv1 has no channel"))?;
        Ok(Self {
            kernel: (w1.offset + k * per_kernel..w1.offset + (k + 1) * per_kernel).collect(),
            bias: b1.offset + k,
            outgoing: outgoing(k),
        })
    }
}

/// The crafted model: honest model `global + delta` with a dead channel whose outgoing weights
/// make the wrapped squared distance land in `[target, 2·target]` (ring units at scale `2^2f`).
pub fn craft(
    spec: &ModelSpec,
    global: &[f32],
    delta: &[f32],
    f: u32,
    target: u128,
) -> Result<Vec<f32>, PluginError> {
    if global.len() != spec.param_count() || delta.len() != global.len() {
        return Err(PluginError::invalid(format!(
            "ring-wrap: global model has {} and update {} values, {} needs {}",
            global.len(),
            delta.len(),
            spec.arch.name(),
            spec.param_count()
        )));
    }
    let site = Site::choose(spec, global)?;
    let mut model: Vec<f32> = global.iter().zip(delta).map(|(&g, &d)| g + d).collect();
    site.kernel.iter().for_each(|&i| model[i] = 0.0);
    model[site.bias] = -1.0;
    let (wrap, mass) = site
        .outgoing
        .split_first()
        .ok_or_else(|| PluginError::invalid("ring-wrap: conv2 reads no channel"))?;
    mass.iter().for_each(|&i| model[i] = global[i]);
    let base = exact_sq(global, &model, f, &[*wrap]);
    // Aim at the middle of the accepted window [target, 2·target].
    let aim = target + target / 2;
    let e = place_wrap(&mut model, global, *wrap, f, base + aim)?;
    // D_wrap² ≡ e² − 2^33·e (mod 2^64): the other outgoing weights add the rest.
    let need = (e << 33) - e * e + aim - base;
    spread(&mut model, global, mass, f, need);
    let got = wrapped_sq_distance(global, &roundtrip(global, &model), f);
    if u128::from(got) < target || u128::from(got) > 2 * target.max(1) {
        return Err(PluginError::invalid(format!(
            "ring-wrap: the wrapped distance {got} missed the target {target}"
        )));
    }
    Ok(model)
}

/// `global + (model − global)` in f32: what the engine will share.
fn roundtrip(global: &[f32], model: &[f32]) -> Vec<f32> {
    global
        .iter()
        .zip(model)
        .map(|(&g, &m)| submitted(g, m - g))
        .collect()
}

/// `Σ D²` without wrapping over all coordinates but `skip`, after the engine's round trip.
fn exact_sq(global: &[f32], model: &[f32], f: u32, skip: &[usize]) -> u128 {
    global
        .iter()
        .zip(roundtrip(global, model))
        .enumerate()
        .filter(|(i, _)| !skip.contains(i))
        .map(|(_, (&g, m))| {
            let d = i128::from(encode(m, f) - encode(g, f));
            (d * d) as u128
        })
        .sum()
}

/// Sets the wrap coordinate just below `g + 2^(32−f)` so that `e = 2^32 − D` is large enough
/// for `2^33·e − e² ≥ floor`; returns `e`.
fn place_wrap(
    model: &mut [f32],
    global: &[f32],
    wrap: usize,
    f: u32,
    floor: u128,
) -> Result<u128, PluginError> {
    let g = global[wrap];
    let top = 1i64 << 32;
    let mut x = (f64::from(g) + (top as f64) / (1u64 << f) as f64) as f32;
    for _ in 0..1 << 22 {
        let d = encode(submitted(g, x - g), f) - encode(g, f);
        if (1..=top).contains(&d) {
            let e = (top - d) as u128;
            if (e << 33).saturating_sub(e * e) >= floor {
                model[wrap] = x;
                return Ok(e);
            }
        }
        x = f32::from_bits(x.to_bits() - 1);
    }
    Err(PluginError::invalid(
        "ring-wrap: no wrap value found for the target",
    ))
}

/// Adds `need` (ring units at scale `2^2f`) of squared distance over the coordinates `mass`:
/// an equal offset on all but the last, which is solved exactly, then corrected after the f32
/// round trip.
fn spread(model: &mut [f32], global: &[f32], mass: &[usize], f: u32, need: u128) {
    let set = |model: &mut [f32], i: usize, d: i64| {
        model[i] = ((encode(global[i], f) + d) as f64 / (1u64 << f) as f64) as f32;
    };
    let Some((&last, rest)) = mass.split_last() else {
        return;
    };
    let a = ((need as f64 / mass.len() as f64).sqrt()).floor() as i64;
    rest.iter().for_each(|&i| set(model, i, a));
    for _ in 0..4 {
        let others: u128 = rest
            .iter()
            .map(|&i| {
                let m = submitted(global[i], model[i] - global[i]);
                let d = i128::from(encode(m, f) - encode(global[i], f));
                (d * d) as u128
            })
            .sum();
        let left = need.saturating_sub(others);
        set(model, last, (left as f64).sqrt().round() as i64);
    }
}

pub(crate) fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new(
        "ring-wrap",
        env!("CARGO_PKG_VERSION"),
        "wraps its encoded squared distance around the ring; a dead channel hides the wrap from inference",
    )
    .cite("encoding attacks on unchecked MPC inputs, closed by ELSA (S&P 2023), EIFFeL (CCS 2022), RoFL (S&P 2023)");
    reg.add::<dyn Attack>(Factory::new(info, |p| {
        Ok(Box::new(RingWrap::new(p.parse()?)?) as Box<dyn Attack>)
    }))
}

#[cfg(test)]
mod tests {
    use securefl_api::reference::forward_one;
    use securefl_api::{Arch, ModelSpec, rng};

    use super::*;
    use crate::testutil::{build, ctx, images, refused_field, update};

    fn spec(in_channels: usize) -> ModelSpec {
        ModelSpec {
            arch: Arch::PaperCnn,
            in_channels,
            classes: 2,
        }
    }

    /// A global model and a small honest delta of the paper CNN.
    fn honest(spec: &ModelSpec) -> (Vec<f32>, Vec<f32>) {
        let global = spec.init_weights(&mut rng(3, &["global"]));
        let delta = spec
            .init_weights(&mut rng(4, &["delta"]))
            .iter()
            .map(|v| v * 0.05)
            .collect();
        (global, delta)
    }

    #[test]
    fn the_wrapped_distance_is_small_while_the_real_one_is_huge() {
        for channels in [1, 3] {
            let spec = spec(channels);
            let (global, delta) = honest(&spec);
            let honest_sq = encoded_sq_distance(&global, &delta, 16);
            let model = craft(&spec, &global, &delta, 16, honest_sq / 2).unwrap();
            let sent = roundtrip(&global, &model);
            let wrapped = u128::from(wrapped_sq_distance(&global, &sent, 16));
            assert!((honest_sq / 2..=honest_sq).contains(&wrapped), "{wrapped}");
            let real: f64 = global
                .iter()
                .zip(&sent)
                .map(|(g, m)| f64::from(m - g).powi(2))
                .sum();
            assert!(real > 4.0e9, "{real}");
            assert!(sent.iter().any(|v| v.abs() > 32768.0));
        }
    }

    #[test]
    fn inference_cannot_see_the_wrap() {
        let spec = spec(1);
        let (global, delta) = honest(&spec);
        let model = craft(&spec, &global, &delta, 16, 1 << 30).unwrap();
        let site = Site::choose(&spec, &global).unwrap();
        let mut quiet = model.clone();
        site.outgoing.iter().for_each(|&i| quiet[i] = 0.0);
        let set = images(4, 28, 1, 2);
        for i in 0..set.len() {
            assert_eq!(
                forward_one(&spec, &model, &set, i),
                forward_one(&spec, &quiet, &set, i)
            );
        }
    }

    #[test]
    fn poison_update_submits_the_crafted_model() {
        let spec = spec(1);
        let (global, delta) = honest(&spec);
        let mut c = ctx(&[], &[]);
        c.global = &global;
        let mut u = update(0, 10, delta.clone());
        let mut attack = build("ring-wrap", "").unwrap();
        attack.poison_update(&c, &mut u).unwrap();
        let sent = roundtrip(
            &global,
            &global
                .iter()
                .zip(&u.delta)
                .map(|(g, d)| g + d)
                .collect::<Vec<_>>(),
        );
        let honest_sq = encoded_sq_distance(&global, &delta, 16);
        let wrapped = u128::from(wrapped_sq_distance(&global, &sent, 16));
        assert!((honest_sq / 2..=honest_sq).contains(&wrapped));
    }

    #[test]
    fn bad_params_are_refused_with_the_field() {
        assert_eq!(
            refused_field("ring-wrap", "frac-bits = 40"),
            Some("frac-bits".into())
        );
        assert_eq!(
            refused_field("ring-wrap", "target = 0"),
            Some("target".into())
        );
        assert_eq!(
            refused_field("ring-wrap", "scale = 1"),
            Some("scale".into())
        );
    }
}
