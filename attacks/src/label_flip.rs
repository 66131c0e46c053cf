//! `label-flip`: data poisoning by mislabelling the attacker's training images.
//!
//! Reference: Tolpegin, Truex, Gursoy, Liu, "Data Poisoning Attacks Against Federated Learning
//! Systems", ESORICS 2020 (their attack relabels one source class as one target class).
//!
//! Threat model: [`AttackKnowledge::Own`]; the attacker only rewrites the labels of its own
//! training images before it trains honestly on them. Pixels never change, and the update is
//! submitted as trained.
//!
//! Modes (`mode`):
//! - `targeted` (default, the paper's attack): images labelled `source` (default 1) are
//!   relabelled `target` (default 0); all others keep their label. On PneumoniaMNIST the
//!   defaults label pneumonia as normal, i.e. teach missed diagnoses.
//! - `all-to-one`: every label becomes `target` (default 0).
//! - `rotate`: label `y` becomes `(y + 1) mod C` for `C` classes, so every label is wrong
//!   (for two classes the same as the `C - 1 - y` flip other benchmarks use).
//!
//! `source` is accepted only with `targeted`, `target` not with `rotate`. A class the dataset
//! does not have is refused when the attack runs.

use securefl_api::{
    Attack, AttackCtx, AttackKnowledge, Factory, ImageSet, ParamError, PluginError, PluginInfo,
    Registry, RegistryError,
};
use serde::Deserialize;

/// Which labels are flipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// `source` becomes `target`.
    #[default]
    Targeted,
    /// Every label becomes `target`.
    AllToOne,
    /// `y` becomes `(y + 1) mod classes`.
    Rotate,
}

/// Parameters of `label-flip`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Params {
    /// Which labels are flipped.
    #[serde(default)]
    pub mode: Mode,
    /// The relabelled class (`targeted` only; default 1).
    pub source: Option<usize>,
    /// The new label (`targeted` and `all-to-one`; default 0).
    pub target: Option<usize>,
}

/// A validated flip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flip {
    Targeted { source: usize, target: usize },
    AllToOne { target: usize },
    Rotate,
}

/// The attack.
#[derive(Debug, Clone, Copy)]
pub struct LabelFlip {
    flip: Flip,
}

impl LabelFlip {
    /// Validates the parameters.
    pub fn new(p: Params) -> Result<Self, ParamError> {
        let unused =
            |field: &str| ParamError::field(field, format!("is not used by mode {:?}", p.mode));
        let flip = match p.mode {
            Mode::Targeted => {
                let (source, target) = (p.source.unwrap_or(1), p.target.unwrap_or(0));
                if source == target {
                    return Err(ParamError::field(
                        "target",
                        format!("equals source ({source}): nothing would be flipped"),
                    ));
                }
                Flip::Targeted { source, target }
            }
            Mode::AllToOne if p.source.is_some() => return Err(unused("source")),
            Mode::AllToOne => Flip::AllToOne {
                target: p.target.unwrap_or(0),
            },
            Mode::Rotate if p.source.is_some() => return Err(unused("source")),
            Mode::Rotate if p.target.is_some() => return Err(unused("target")),
            Mode::Rotate => Flip::Rotate,
        };
        Ok(Self { flip })
    }

    /// Fails unless every configured class exists among `classes`.
    fn check(&self, classes: usize) -> Result<(), PluginError> {
        let named: &[(&str, usize)] = match self.flip {
            Flip::Targeted { source, target } => &[("source", source), ("target", target)],
            Flip::AllToOne { target } => &[("target", target)],
            Flip::Rotate if classes < 2 => {
                return Err(PluginError::invalid(format!(
                    "label-flip: rotate needs at least two classes, the dataset has {classes}"
                )));
            }
            Flip::Rotate => &[],
        };
        match named.iter().find(|(_, c)| *c >= classes.min(256)) {
            Some((field, c)) => Err(PluginError::invalid(format!(
                "label-flip: {field} {c} is not a class of this dataset ({classes} classes)"
            ))),
            None => Ok(()),
        }
    }

    /// The poisoned label of an image labelled `y`.
    fn relabel(&self, y: u8, classes: usize) -> u8 {
        let y_ = usize::from(y);
        let new = match self.flip {
            Flip::Targeted { source, target } if y_ == source => target,
            Flip::Targeted { .. } => y_,
            Flip::AllToOne { target } => target,
            Flip::Rotate => (y_ + 1) % classes.min(256),
        };
        u8::try_from(new).expect("checked: classes are below 256")
    }
}

impl Attack for LabelFlip {
    fn knowledge(&self) -> AttackKnowledge {
        AttackKnowledge::Own
    }

    fn poison_data(&self, ctx: &AttackCtx<'_>, data: &mut ImageSet) -> Result<(), PluginError> {
        self.check(ctx.classes)?;
        for y in &mut data.labels {
            *y = self.relabel(*y, ctx.classes);
        }
        Ok(())
    }
}

pub(crate) fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new(
        "label-flip",
        env!("CARGO_PKG_VERSION"),
        "data poisoning: relabels the attacker's images (targeted, all-to-one or rotate)",
    )
    .cite(
        "Tolpegin et al., Data Poisoning Attacks Against Federated Learning Systems, ESORICS 2020",
    );
    reg.add::<dyn Attack>(Factory::new(info, |p| {
        Ok(Box::new(LabelFlip::new(p.parse()?)?) as Box<dyn Attack>)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{build, ctx, images, refused_field};

    fn run(params: &str, classes: usize) -> Result<(ImageSet, ImageSet), PluginError> {
        let attack = build("label-flip", params).unwrap();
        let before = images(200, 4, 1, classes as u8);
        let mut after = before.clone();
        let c = AttackCtx {
            classes,
            ..ctx(&[], &[])
        };
        attack.poison_data(&c, &mut after)?;
        assert_eq!(before.pixels, after.pixels, "pixels must not change");
        Ok((before, after))
    }

    #[test]
    fn targeted_flips_exactly_the_source_class() {
        let (before, after) = run("source = 2\ntarget = 4", 5).unwrap();
        let mut flipped = 0;
        for (&b, &a) in before.labels.iter().zip(&after.labels) {
            if b == 2 {
                assert_eq!(a, 4);
                flipped += 1;
            } else {
                assert_eq!(a, b);
            }
        }
        assert!(flipped > 0, "the fixture has images of the source class");
    }

    #[test]
    fn defaults_flip_one_to_zero() {
        let (before, after) = run("", 2).unwrap();
        assert!(after.labels.iter().all(|&y| y == 0));
        assert!(before.labels.contains(&1));
    }

    #[test]
    fn all_to_one_and_rotate() {
        let (_, after) = run("mode = \"all-to-one\"\ntarget = 3", 5).unwrap();
        assert!(after.labels.iter().all(|&y| y == 3));
        let (before, after) = run("mode = \"rotate\"", 5).unwrap();
        for (&b, &a) in before.labels.iter().zip(&after.labels) {
            assert_eq!(usize::from(a), (usize::from(b) + 1) % 5);
        }
    }

    #[test]
    fn classes_outside_the_dataset_are_refused_at_poison_time() {
        let err = run("source = 1\ntarget = 2", 2).unwrap_err();
        assert!(err.to_string().contains("target 2"), "{err}");
        let err = run("source = 9\ntarget = 0", 3).unwrap_err();
        assert!(err.to_string().contains("source 9"), "{err}");
    }

    #[test]
    fn bad_params_are_refused_with_the_field() {
        assert_eq!(
            refused_field("label-flip", "sauce = 1"),
            Some("sauce".into())
        );
        assert_eq!(
            refused_field("label-flip", "source = 1\ntarget = 1"),
            Some("target".into())
        );
        assert_eq!(
            refused_field("label-flip", "mode = \"all-to-one\"\nsource = 1"),
            Some("source".into())
        );
        assert_eq!(
            refused_field("label-flip", "mode = \"rotate\"\ntarget = 1"),
            Some("target".into())
        );
        assert_eq!(
            refused_field("label-flip", "mode = \"flip\""),
            Some("mode".into())
        );
        assert!(build("label-flip", "mode = \"all-to-one\"\ntarget = 1").is_ok());
    }
}
