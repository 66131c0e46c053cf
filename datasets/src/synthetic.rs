//! Seeded synthetic images for fast unit tests of other crates.
//!
//! Each class draws stripes of its own period and direction, plus uniform noise, so a small CNN
//! can learn them quickly. The result is marked `synthetic: true`; it is never registered as a
//! plugin and never stands in for missing real data.

use rand::Rng as _;
use rand::seq::SliceRandom;
use securefl_api::{Dataset, ImageSet, PluginError, Provenance, Task};

/// The shape of a synthetic dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticSpec {
    /// Number of classes (1 to 256).
    pub classes: usize,
    /// 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// Image side (square images).
    pub side: usize,
    /// Train, val and test sizes.
    pub splits: [usize; 3],
    /// Half-width of the uniform pixel noise (0 to 255).
    pub noise: u8,
}

impl Default for SyntheticSpec {
    fn default() -> Self {
        Self {
            classes: 2,
            channels: 1,
            side: 28,
            splits: [200, 50, 50],
            noise: 40,
        }
    }
}

/// A seeded synthetic dataset named `name`.
pub fn synthetic_dataset(
    name: &str,
    spec: &SyntheticSpec,
    seed: u64,
) -> Result<Dataset, PluginError> {
    let set = |i: usize, split: &str| synthetic_images(spec, spec.splits[i], seed, split);
    Ok(Dataset {
        name: name.to_owned(),
        class_names: (0..spec.classes).map(|c| format!("class-{c}")).collect(),
        task: if spec.classes == 2 {
            Task::Binary
        } else {
            Task::MultiClass
        },
        train: set(0, "train")?,
        val: set(1, "val")?,
        test: set(2, "test")?,
        provenance: Provenance {
            synthetic: true,
            ..Provenance::default()
        },
    })
}

/// `n` seeded synthetic images; `stream` names the random stream (e.g. the split).
pub fn synthetic_images(
    spec: &SyntheticSpec,
    n: usize,
    seed: u64,
    stream: &str,
) -> Result<ImageSet, PluginError> {
    check(spec)?;
    let mut rng = securefl_api::rng(seed, &["synthetic", stream]);
    let mut labels: Vec<u8> = (0..n).map(|i| (i % spec.classes) as u8).collect();
    labels.shuffle(&mut rng);
    let mut pixels = Vec::with_capacity(n * spec.side * spec.side * spec.channels);
    for &label in &labels {
        for y in 0..spec.side {
            for x in 0..spec.side {
                for c in 0..spec.channels {
                    let base = i32::from(pattern(usize::from(label), y, x, c));
                    let noise = i32::from(spec.noise);
                    let v = base + rng.gen_range(-noise..=noise);
                    pixels.push(v.clamp(0, 255) as u8);
                }
            }
        }
    }
    Ok(ImageSet {
        height: spec.side,
        width: spec.side,
        channels: spec.channels,
        pixels,
        labels,
    })
}

/// The noiseless value of pixel `(y, x, c)` for class `class`.
fn pattern(class: usize, y: usize, x: usize, c: usize) -> u8 {
    let period = 2 + class % 5;
    let along = match (class / 5) % 3 {
        0 => y,
        1 => x,
        _ => x + y,
    };
    let bright = (along / period).is_multiple_of(2);
    let level: u8 = if bright { 200 } else { 40 };
    level.saturating_sub((c * 30) as u8)
}

/// Refuses specs that cannot be generated.
fn check(spec: &SyntheticSpec) -> Result<(), PluginError> {
    if spec.classes == 0 || spec.classes > 256 {
        return Err(PluginError::invalid(format!(
            "synthetic: {} classes is out of range 1..=256",
            spec.classes
        )));
    }
    if !matches!(spec.channels, 1 | 3) || spec.side == 0 {
        return Err(PluginError::invalid(format!(
            "synthetic: channels must be 1 or 3 and side positive (got {} and {})",
            spec.channels, spec.side
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_seeded_and_marked_synthetic() {
        let spec = SyntheticSpec {
            classes: 4,
            channels: 3,
            ..SyntheticSpec::default()
        };
        let a = synthetic_dataset("toy", &spec, 1).unwrap();
        assert_eq!(a, synthetic_dataset("toy", &spec, 1).unwrap());
        assert_ne!(a.train, synthetic_dataset("toy", &spec, 2).unwrap().train);
        assert!(a.provenance.synthetic && a.provenance.md5.is_empty());
        assert_eq!(a.train.len(), 200);
        assert_eq!(a.train.pixels.len(), 200 * 28 * 28 * 3);
        assert_eq!(a.train.class_counts(4), [50; 4]);
        assert_eq!(a.task, Task::MultiClass);
    }

    #[test]
    fn classes_differ_and_bad_specs_are_refused() {
        assert_ne!(
            (0..28).map(|y| pattern(0, y, 0, 0)).collect::<Vec<_>>(),
            (0..28).map(|y| pattern(1, y, 0, 0)).collect::<Vec<_>>()
        );
        let bad = SyntheticSpec {
            classes: 0,
            ..SyntheticSpec::default()
        };
        assert!(synthetic_dataset("x", &bad, 0).is_err());
        let bad = SyntheticSpec {
            channels: 2,
            ..SyntheticSpec::default()
        };
        assert!(synthetic_dataset("x", &bad, 0).is_err());
    }
}
