//! Seeded synthetic images for the conformance suite: noise, and an easy two-class task.

use rand::{Rng as _, SeedableRng};

use crate::model::IMAGE_SIDE;
use crate::{ImageSet, Rng};

/// `n` images of uniform noise with uniform labels below `classes`, drawn from `seed`.
pub fn random_images(n: usize, channels: usize, classes: u8, seed: u64) -> ImageSet {
    let mut rng = Rng::seed_from_u64(seed);
    let side = IMAGE_SIDE;
    ImageSet {
        height: side,
        width: side,
        channels,
        pixels: (0..n * side * side * channels)
            .map(|_| rng.r#gen())
            .collect(),
        labels: (0..n).map(|_| rng.gen_range(0..classes)).collect(),
    }
}

/// `n` grey images whose class is their brightness: class 1 is brightened, class 0 darkened,
/// so that any working CNN learns it in a few epochs.
pub fn learnable_images(n: usize, seed: u64) -> ImageSet {
    let mut data = random_images(n, 1, 2, seed);
    let len = data.image_len();
    for (i, image) in data.pixels.chunks_mut(len).enumerate() {
        let bright = data.labels[i] == 1;
        for p in image {
            *p = if bright { p.saturating_add(90) } else { *p / 3 };
        }
    }
    data
}

/// The same images with every label replaced by `label` (to build out-of-range inputs).
pub(crate) fn relabelled(images: &ImageSet, label: u8) -> ImageSet {
    ImageSet {
        labels: vec![label; images.len()],
        ..images.clone()
    }
}
