//! Each hospital's own validation split, for defenses that validate per hospital
//! (`Defense::validates_per_hospital`, cross-hospital validation): the official validation
//! split dealt to the hospitals class by class, each class in proportion to the hospitals'
//! training images of that class. A hospital's split so follows its own case mix (as its own
//! held-out data would), no image is in two splits, and a class no hospital trains on goes to
//! none.

use rand::seq::SliceRandom;

/// The indices of `labels` (the validation split) dealt to hospitals with training class
/// histograms `class_counts`: for each class, its images in a seeded random order, cut by
/// largest remainders (ties to the lower hospital index).
pub(crate) fn deal(labels: &[u8], class_counts: &[Vec<u64>], seed: u64) -> Vec<Vec<usize>> {
    let mut parts = vec![Vec::new(); class_counts.len()];
    let classes = class_counts.first().map_or(0, Vec::len);
    for c in 0..classes {
        let mut idx: Vec<usize> = (0..labels.len())
            .filter(|&i| usize::from(labels[i]) == c)
            .collect();
        idx.shuffle(&mut securefl_api::rng(
            seed,
            &["own-validation", &c.to_string()],
        ));
        let weights: Vec<u64> = class_counts.iter().map(|h| h[c]).collect();
        let mut rest = idx.as_slice();
        for (part, n) in parts.iter_mut().zip(cut(idx.len(), &weights)) {
            let (take, tail) = rest.split_at(n);
            part.extend_from_slice(take);
            rest = tail;
        }
    }
    parts.iter_mut().for_each(|p| p.sort_unstable());
    parts
}

/// `n` cut in proportion to `weights` by largest remainders (all zero when the weights are).
fn cut(n: usize, weights: &[u64]) -> Vec<usize> {
    let total: u64 = weights.iter().sum();
    if total == 0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<(usize, u64)> = weights
        .iter()
        .map(|&w| {
            let scaled = n as u128 * u128::from(w);
            (
                (scaled / u128::from(total)) as usize,
                (scaled % u128::from(total)) as u64,
            )
        })
        .collect();
    let mut out: Vec<usize> = exact.iter().map(|&(q, _)| q).collect();
    let left = n - out.iter().sum::<usize>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(exact[i].1), i));
    order.into_iter().take(left).for_each(|i| out[i] += 1);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_class_is_cut_by_the_training_mix_and_every_image_goes_once() {
        // 10 images of class 0, 5 of class 1.
        let labels: Vec<u8> = [vec![0u8; 10], vec![1u8; 5]].concat();
        let hist = [vec![30, 0], vec![10, 4], vec![0, 1]];
        let parts = deal(&labels, &hist, 7);
        let class_of = |p: &[usize], c: u8| p.iter().filter(|&&i| labels[i] == c).count();
        let got: Vec<(usize, usize)> = parts
            .iter()
            .map(|p| (class_of(p, 0), class_of(p, 1)))
            .collect();
        // Class 0: 7.5 and 2.5 -> the tie goes to the lower index; class 1: 4 and 1.
        assert_eq!(got, [(8, 0), (2, 4), (0, 1)]);
        let mut all: Vec<usize> = parts.concat();
        all.sort_unstable();
        assert_eq!(all, (0..15).collect::<Vec<_>>());
        assert_eq!(deal(&labels, &hist, 7), parts, "seeded");
        assert_ne!(deal(&labels, &hist, 8), parts, "the seed picks the images");
    }

    #[test]
    fn a_class_no_hospital_trains_on_goes_to_none() {
        assert_eq!(cut(5, &[0, 0]), [0, 0]);
        let parts = deal(&[0, 1, 1], &[vec![1, 0], vec![2, 0]], 1);
        assert_eq!(parts.concat(), [0]);
    }
}
