//! `backdoor`: BadNets trigger poisoning, optionally with model replacement.
//!
//! Reference: Gu, Dolan-Gavitt, Garg, "BadNets: Identifying Vulnerabilities in the Machine
//! Learning Model Supply Chain", 2017 (a small white pixel pattern stamped on training images
//! that are relabelled to the attacker's target). With `boost` it becomes the
//! constrain-free form of Bagdasaryan et al.'s backdoor by model replacement (AISTATS 2020).
//!
//! Threat model: [`AttackKnowledge::Own`]; data poisoning of the attacker's own training set,
//! then (when `boost` ≠ 1) scaling of its own update as `scaling` does.
//!
//! The trigger is a `trigger-size` x `trigger-size` square in the bottom-right corner with
//! every channel set to 255. Each round, `round(poison-fraction · n)` of the attacker's `n`
//! images, drawn without replacement by the seeded generator, get the trigger and label
//! `target`; the rest are untouched. [`Attack::trigger_test_set`] stamps the same trigger on
//! the test images whose label is not `target`, so accuracy on that set (all labelled
//! `target`) is the attack success rate.
//!
//! Parameters: `target` (default 0), `trigger-size` (default 3 pixels), `poison-fraction` in
//! (0, 1] (default 0.5), `boost` (default 1: plain BadNets; a number or `"auto"`, see
//! `scaling`).

use securefl_api::{
    Attack, AttackCtx, AttackKnowledge, ClientUpdate, Factory, ImageSet, ParamError, PluginError,
    PluginInfo, Registry, RegistryError, rng,
};
use serde::Deserialize;

use crate::scaling::Boost;

/// Parameters of `backdoor`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Params {
    /// The label triggered images are given.
    #[serde(default)]
    pub target: usize,
    /// Side of the square trigger, in pixels.
    #[serde(default = "default_trigger_size")]
    pub trigger_size: usize,
    /// Share of the attacker's images that are poisoned.
    #[serde(default = "default_poison_fraction")]
    pub poison_fraction: f64,
    /// Scale factor of the trained update (1 = none), or `"auto"` (model replacement).
    #[serde(default = "default_boost")]
    pub boost: Boost,
}

fn default_trigger_size() -> usize {
    3
}
fn default_poison_fraction() -> f64 {
    0.5
}
fn default_boost() -> Boost {
    Boost::Factor(1.0)
}

/// The attack.
#[derive(Debug, Clone, Copy)]
pub struct Backdoor {
    params: Params,
}

impl Backdoor {
    /// Validates the parameters.
    pub fn new(mut params: Params) -> Result<Self, ParamError> {
        if params.trigger_size == 0 {
            return Err(ParamError::field("trigger-size", "must be at least 1"));
        }
        let f = params.poison_fraction;
        if !(f > 0.0 && f <= 1.0) {
            return Err(ParamError::field(
                "poison-fraction",
                format!("{f} is not in (0, 1]"),
            ));
        }
        params.boost = params.boost.check("boost")?;
        Ok(Self { params })
    }

    /// Fails unless the target is a class and the trigger fits the images.
    fn check(&self, data: &ImageSet, classes: usize) -> Result<(), PluginError> {
        let p = &self.params;
        if p.target >= classes.min(256) {
            return Err(PluginError::invalid(format!(
                "backdoor: target {} is not a class of this dataset ({classes} classes)",
                p.target
            )));
        }
        if p.trigger_size > data.height.min(data.width) {
            return Err(PluginError::invalid(format!(
                "backdoor: a {0}x{0} trigger does not fit {1}x{2} images",
                p.trigger_size, data.height, data.width
            )));
        }
        Ok(())
    }

    /// Stamps the trigger on image `i` and relabels it.
    fn stamp(&self, data: &mut ImageSet, i: usize) {
        let (h, w, c, s) = (
            data.height,
            data.width,
            data.channels,
            self.params.trigger_size,
        );
        for y in h - s..h {
            let start = ((i * h + y) * w + (w - s)) * c;
            data.pixels[start..start + s * c].fill(255);
        }
        data.labels[i] = self.target();
    }

    fn target(&self) -> u8 {
        u8::try_from(self.params.target).expect("checked: target is a class below 256")
    }
}

impl Attack for Backdoor {
    fn knowledge(&self) -> AttackKnowledge {
        AttackKnowledge::Own
    }

    fn poison_data(&self, ctx: &AttackCtx<'_>, data: &mut ImageSet) -> Result<(), PluginError> {
        self.check(data, ctx.classes)?;
        let n = data.len();
        let k = ((self.params.poison_fraction * n as f64).round() as usize).min(n);
        let mut r = rng(ctx.seed, &["backdoor"]);
        for i in rand::seq::index::sample(&mut r, n, k) {
            self.stamp(data, i);
        }
        Ok(())
    }

    fn poison_update(
        &mut self,
        ctx: &AttackCtx<'_>,
        update: &mut ClientUpdate,
    ) -> Result<(), PluginError> {
        if self.params.boost == Boost::Factor(1.0) {
            return Ok(());
        }
        self.params.boost.apply("backdoor", ctx, update)
    }

    fn trigger_test_set(
        &self,
        test: &ImageSet,
        classes: usize,
    ) -> Result<Option<ImageSet>, PluginError> {
        self.check(test, classes)?;
        let target = self.target();
        let keep: Vec<usize> = (0..test.len())
            .filter(|&i| test.labels[i] != target)
            .collect();
        let mut probe = test.subset(&keep);
        for i in 0..probe.len() {
            self.stamp(&mut probe, i);
        }
        Ok(Some(probe))
    }
}

pub(crate) fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new(
        "backdoor",
        env!("CARGO_PKG_VERSION"),
        "BadNets: a white corner square on a share of the attacker's images, relabelled",
    )
    .cite("Gu et al., BadNets, 2017; Bagdasaryan et al., AISTATS 2020 (boost)");
    reg.add::<dyn Attack>(Factory::new(info, |p| {
        Ok(Box::new(Backdoor::new(p.parse()?)?) as Box<dyn Attack>)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{build, ctx, images, refused_field, update};

    /// True when pixel (y, x) of a `side`-wide image is inside a trigger of side `s`.
    fn in_trigger(y: usize, x: usize, side: usize, s: usize) -> bool {
        y >= side - s && x >= side - s
    }

    #[test]
    fn stamps_exactly_the_trigger_on_round_fraction_n_images() {
        let attack = build(
            "backdoor",
            "target = 1\ntrigger-size = 4\npoison-fraction = 0.3",
        )
        .unwrap();
        let (side, ch) = (10, 3);
        let before = images(45, side, ch, 2);
        let mut after = before.clone();
        attack.poison_data(&ctx(&[], &[]), &mut after).unwrap();
        let mut poisoned = 0;
        for i in 0..before.len() {
            let (b, a) = (before.image(i), after.image(i));
            if a == b && after.labels[i] == before.labels[i] {
                continue;
            }
            poisoned += 1;
            assert_eq!(after.labels[i], 1);
            for (k, (&pb, &pa)) in b.iter().zip(a).enumerate() {
                let (y, x) = (k / ch / side, k / ch % side);
                let want = if in_trigger(y, x, side, 4) { 255 } else { pb };
                assert_eq!(pa, want, "image {i} pixel {k}");
            }
        }
        // round(0.3 * 45) = round(13.5) = 14.
        assert_eq!(poisoned, 14);
    }

    #[test]
    fn same_seed_same_images_other_seed_other_images() {
        let attack = build("backdoor", "").unwrap();
        let base = images(60, 6, 1, 2);
        let poison = |seed| {
            let mut d = base.clone();
            let c = AttackCtx {
                seed,
                ..ctx(&[], &[])
            };
            attack.poison_data(&c, &mut d).unwrap();
            d
        };
        assert_eq!(poison(3), poison(3));
        assert_ne!(poison(3), poison(4));
    }

    #[test]
    fn test_probe_holds_non_target_images_triggered_and_relabelled() {
        let attack = build("backdoor", "target = 0\ntrigger-size = 2").unwrap();
        let test = images(30, 5, 1, 2);
        let probe = attack.trigger_test_set(&test, 2).unwrap().unwrap();
        let ones = test.labels.iter().filter(|&&y| y == 1).count();
        assert!(ones > 0 && ones < test.len());
        assert_eq!(probe.len(), ones);
        assert!(probe.labels.iter().all(|&y| y == 0));
        for i in 0..probe.len() {
            let img = probe.image(i);
            assert_eq!([img[18], img[19], img[23], img[24]], [255; 4]);
        }
        let beyond = build("backdoor", "target = 1").unwrap();
        assert!(beyond.trigger_test_set(&test, 1).is_err());
    }

    #[test]
    fn boost_scales_the_update_only_when_asked() {
        let mut plain = build("backdoor", "").unwrap();
        let mut u = update(0, 10, vec![1.0, -2.0]);
        plain.poison_update(&ctx(&[], &[]), &mut u).unwrap();
        assert_eq!(u.delta, [1.0, -2.0]);
        let mut boosted = build("backdoor", "boost = \"auto\"").unwrap();
        boosted.poison_update(&ctx(&[], &[10, 30]), &mut u).unwrap();
        assert_eq!(u.delta, [4.0, -8.0]);
    }

    #[test]
    fn bad_params_and_targets_are_refused() {
        assert_eq!(
            refused_field("backdoor", "poison-fraction = 0"),
            Some("poison-fraction".into())
        );
        assert_eq!(
            refused_field("backdoor", "poison-fraction = 1.5"),
            Some("poison-fraction".into())
        );
        assert_eq!(
            refused_field("backdoor", "trigger-size = 0"),
            Some("trigger-size".into())
        );
        assert_eq!(
            refused_field("backdoor", "trigger = 3"),
            Some("trigger".into())
        );
        let attack = build("backdoor", "target = 2").unwrap();
        let mut d = images(4, 5, 1, 2);
        assert!(attack.poison_data(&ctx(&[], &[]), &mut d).is_err());
        let attack = build("backdoor", "trigger-size = 6").unwrap();
        assert!(attack.poison_data(&ctx(&[], &[]), &mut d).is_err());
    }
}
