//! Pure vector math shared by the plaintext defenses: distances, norms, means, per-coordinate
//! reductions and the next global model. Everything accumulates in `f64`; ties and NaNs are
//! ordered by [`f64::total_cmp`], so results never depend on anything but the inputs.

use securefl_api::ClientUpdate;

/// Squared Euclidean distance between two vectors of the same length.
pub fn sq_dist(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum()
}

/// The `n × n` matrix of squared distances between the updates' deltas (zero diagonal).
pub fn pairwise_sq_dists(updates: &[ClientUpdate]) -> Vec<Vec<f64>> {
    let n = updates.len();
    let mut d = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in i + 1..n {
            let v = sq_dist(&updates[i].delta, &updates[j].delta);
            d[i][j] = v;
            d[j][i] = v;
        }
    }
    d
}

/// Dot product.
pub fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum()
}

/// Euclidean norm of an `f64` vector.
pub fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// The factor `min(1, bound / norm)` that scales a vector of norm `norm` into the ball of
/// radius `bound` (1 for a zero vector).
pub fn clip_factor(norm: f64, bound: f64) -> f64 {
    if norm > bound { bound / norm } else { 1.0 }
}

/// Uniform (unweighted) mean of the deltas of the updates at `idx`; zeros when `idx` is empty.
pub fn mean_of(updates: &[ClientUpdate], idx: &[usize], dim: usize) -> Vec<f64> {
    let mut sum = vec![0.0; dim];
    for &i in idx {
        for (s, &v) in sum.iter_mut().zip(&updates[i].delta) {
            *s += f64::from(v);
        }
    }
    let k = idx.len().max(1) as f64;
    sum.iter_mut().for_each(|s| *s /= k);
    sum
}

/// The deltas of the updates at `idx`, as rows for [`per_coordinate`].
pub fn rows<'a>(updates: &'a [ClientUpdate], idx: &[usize]) -> Vec<&'a [f32]> {
    idx.iter().map(|&i| updates[i].delta.as_slice()).collect()
}

/// For every coordinate `j < dim`, sorts the rows' values ascending and applies `reduce`.
pub fn per_coordinate(
    rows: &[&[f32]],
    dim: usize,
    mut reduce: impl FnMut(&[f64]) -> f64,
) -> Vec<f64> {
    let mut column = vec![0.0; rows.len()];
    (0..dim)
        .map(|j| {
            for (c, r) in column.iter_mut().zip(rows) {
                *c = f64::from(r[j]);
            }
            column.sort_by(f64::total_cmp);
            reduce(&column)
        })
        .collect()
}

/// Median of ascending values: the middle one, or the mean of the two middle ones for an even
/// count; 0 for none.
pub fn median_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Mean of a slice; 0 for an empty one.
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// The next global model: `global + delta`.
pub fn next_model(global: &[f32], delta: &[f64]) -> Vec<f32> {
    global
        .iter()
        .zip(delta)
        .map(|(&g, &d)| (f64::from(g) + d) as f32)
        .collect()
}

/// The indices `0..n` ordered by ascending `key` (ties by index).
pub fn argsort(key: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..key.len()).collect();
    idx.sort_by(|&a, &b| key[a].total_cmp(&key[b]).then(a.cmp(&b)));
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median_sorted(&[1.0, 2.0, 9.0]), 2.0);
        assert_eq!(median_sorted(&[1.0, 2.0, 4.0, 9.0]), 3.0);
        assert_eq!(median_sorted(&[]), 0.0);
    }

    #[test]
    fn argsort_breaks_ties_by_index() {
        assert_eq!(argsort(&[2.0, 1.0, 1.0, 0.5]), [3, 1, 2, 0]);
    }

    #[test]
    fn clip_factor_only_shrinks() {
        assert_eq!(clip_factor(4.0, 2.0), 0.5);
        assert_eq!(clip_factor(1.0, 2.0), 1.0);
        assert_eq!(clip_factor(0.0, 0.0), 1.0);
    }

    #[test]
    fn next_model_adds_the_delta() {
        assert_eq!(next_model(&[1.0, 2.0], &[0.5, -2.0]), [1.5, 0.0]);
    }
}
