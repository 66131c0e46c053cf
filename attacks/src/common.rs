//! Helpers shared by the attacks: access to the round's benign updates and per-coordinate
//! statistics over them, computed in `f64`.

use securefl_api::{AttackCtx, PluginError};

/// The benign deltas an omniscient attack reads, checked to be non-empty and `dim` long.
pub(crate) fn benign<'a>(
    name: &str,
    ctx: &AttackCtx<'a>,
    dim: usize,
) -> Result<Vec<&'a [f32]>, PluginError> {
    if ctx.benign.is_empty() {
        return Err(PluginError::invalid(format!(
            "{name}: no benign updates to read (the attack is omniscient and needs at least one \
             honest hospital)"
        )));
    }
    if let Some(u) = ctx.benign.iter().find(|u| u.delta.len() != dim) {
        return Err(PluginError::invalid(format!(
            "{name}: benign update of hospital {} has {} values, the attacker's has {dim}",
            u.hospital,
            u.delta.len()
        )));
    }
    Ok(ctx.benign.iter().map(|u| u.delta.as_slice()).collect())
}

/// Per-coordinate mean.
pub(crate) fn mean(rows: &[&[f32]]) -> Vec<f64> {
    let dim = rows.first().map_or(0, |r| r.len());
    let mut out = vec![0.0; dim];
    for row in rows {
        for (o, &v) in out.iter_mut().zip(*row) {
            *o += f64::from(v);
        }
    }
    let n = rows.len().max(1) as f64;
    out.iter_mut().for_each(|o| *o /= n);
    out
}

/// Per-coordinate sample standard deviation (divisor `n - 1`, as `torch.std`; 0 for one row).
pub(crate) fn std_dev(rows: &[&[f32]], mean: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; mean.len()];
    if rows.len() < 2 {
        return out;
    }
    for row in rows {
        for ((o, &v), &m) in out.iter_mut().zip(*row).zip(mean) {
            let d = f64::from(v) - m;
            *o += d * d;
        }
    }
    let n = (rows.len() - 1) as f64;
    out.iter_mut().for_each(|o| *o = (*o / n).sqrt());
    out
}

/// Squared Euclidean distance.
pub(crate) fn sq_dist(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum()
}

/// Squared distances between every pair of rows (a symmetric matrix with a zero diagonal).
pub(crate) fn pairwise_sq(rows: &[&[f32]]) -> Vec<Vec<f64>> {
    let n = rows.len();
    let mut out = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in i + 1..n {
            let d = sq_dist(rows[i], rows[j]);
            out[i][j] = d;
            out[j][i] = d;
        }
    }
    out
}

/// Rounds to `f32`.
pub(crate) fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// Fails with a [`securefl_api::ParamError`] naming `field` unless `value` is finite and
/// positive.
pub(crate) fn positive(field: &str, value: f64) -> Result<f64, securefl_api::ParamError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(securefl_api::ParamError::field(
            field,
            format!("{value} is not a finite positive number"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_match_hand_computation() {
        let rows: [&[f32]; 3] = [&[1.0, 0.0], &[2.0, 0.0], &[6.0, 3.0]];
        let m = mean(&rows);
        assert_eq!(m, [3.0, 1.0]);
        let s = std_dev(&rows, &m);
        // (4 + 1 + 9) / 2 = 7; (1 + 1 + 4) / 2 = 3.
        assert!((s[0] - 7f64.sqrt()).abs() < 1e-12);
        assert!((s[1] - 3f64.sqrt()).abs() < 1e-12);
        assert_eq!(std_dev(&rows[..1], &m), [0.0, 0.0]);
        let d = pairwise_sq(&rows);
        assert_eq!(d[0][2], 25.0 + 9.0);
        assert_eq!(d[2][0], d[0][2]);
        assert_eq!(d[1][1], 0.0);
    }

    #[test]
    fn positive_names_the_field() {
        assert_eq!(positive("x", 2.0), Ok(2.0));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(positive("x", bad).unwrap_err().field.as_deref(), Some("x"));
        }
    }
}
