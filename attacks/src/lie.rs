//! `lie`: A Little Is Enough.
//!
//! Reference: Baruch, Baruch, Goldberg, "A Little Is Enough: Circumventing Defenses For
//! Distributed Learning", NeurIPS 2019, Algorithm 1. Every attacker submits, per coordinate,
//! `μ_j − z · σ_j`, where `μ_j` and `σ_j` are the mean and standard deviation of the round's
//! benign updates: a shift small enough to stay among the benign values, applied
//! consistently in every coordinate.
//!
//! Threat model: [`AttackKnowledge::Omniscient`]; model poisoning from the benign updates
//! (colluders submit the same vector).
//!
//! - `z` defaults to the paper's `z_max`: with `n` hospitals and `m` malicious, the attacker
//!   needs `s = ⌊n/2 + 1⌋ − m` benign supporters, and `z = Φ⁻¹((n − s) / n)`. When that
//!   probability is not strictly between 0 and 1 (a malicious majority) there is no finite
//!   `z_max` and the attack refuses to run; set `z` explicitly. Some reimplementations use
//!   `(n − m − s) / (n − m)` instead, a smaller `z`.
//! - Sign: the shift is subtracted (`μ − zσ`), as common reimplementations do; for an
//!   untargeted attack the direction is arbitrary, and `z` must be ≥ 0.
//! - `σ_j` is the sample standard deviation (divisor `n_benign − 1`, as `torch.std`).

use securefl_api::{
    Attack, AttackCtx, AttackKnowledge, ClientUpdate, Factory, ParamError, PluginError, PluginInfo,
    Registry, RegistryError,
};
use serde::Deserialize;

use crate::common::{benign, mean, std_dev, to_f32};

/// Parameters of `lie`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Params {
    /// Number of standard deviations of the shift; the paper's `z_max` when absent.
    pub z: Option<f64>,
}

/// The attack.
#[derive(Debug, Clone, Copy)]
pub struct Lie {
    z: Option<f64>,
}

impl Lie {
    /// Validates the parameters.
    pub fn new(p: Params) -> Result<Self, ParamError> {
        if let Some(z) = p.z
            && !(z.is_finite() && z >= 0.0)
        {
            return Err(ParamError::field("z", format!("{z} is not finite and ≥ 0")));
        }
        Ok(Self { z: p.z })
    }
}

/// The paper's `z_max` for `n` workers of which `m` are malicious, if finite.
pub fn z_max(n: usize, m: usize) -> Option<f64> {
    let s = (n / 2 + 1) as f64 - m as f64;
    let p = (n as f64 - s) / n as f64;
    (p > 0.0 && p < 1.0).then(|| inverse_normal_cdf(p))
}

/// `Φ⁻¹(p)` for `0 < p < 1`: Wichura's algorithm AS241 (PPND16), accurate to about 1e-16.
pub fn inverse_normal_cdf(p: f64) -> f64 {
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q * poly(&CENTRAL_NUM, r) / poly(&CENTRAL_DEN, r);
    }
    let r = (-(if q < 0.0 { p } else { 1.0 - p }).ln()).sqrt();
    let x = if r <= 5.0 {
        poly(&NEAR_NUM, r - 1.6) / poly(&NEAR_DEN, r - 1.6)
    } else {
        poly(&FAR_NUM, r - 5.0) / poly(&FAR_DEN, r - 5.0)
    };
    if q < 0.0 { -x } else { x }
}

/// `Σ c_i x^i`, coefficients from the constant term up.
fn poly(c: &[f64; 8], x: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, &k| acc * x + k)
}

// Wichura's AS241 coefficients (Applied Statistics 37(3), 1988), constant term first.
const CENTRAL_NUM: [f64; 8] = [
    3.3871328727963665,
    133.14166789178438,
    1971.5909503065513,
    13731.69376550946,
    45921.95393154987,
    67265.7709270087,
    33430.57558358813,
    2509.0809287301227,
];
const CENTRAL_DEN: [f64; 8] = [
    1.0,
    42.31333070160091,
    687.1870074920579,
    5394.196021424751,
    21213.794301586597,
    39307.89580009271,
    28729.085735721943,
    5226.495278852854,
];
const NEAR_NUM: [f64; 8] = [
    1.4234371107496835,
    4.630337846156546,
    5.769497221460691,
    3.6478483247632045,
    1.2704582524523684,
    0.2417807251774506,
    0.022723844989269184,
    0.0007745450142783414,
];
const NEAR_DEN: [f64; 8] = [
    1.0,
    2.053191626637759,
    1.6763848301838038,
    0.6897673349851,
    0.14810397642748008,
    0.015198666563616457,
    0.0005475938084995345,
    1.0507500716444169e-09,
];
const FAR_NUM: [f64; 8] = [
    6.657904643501103,
    5.463784911164114,
    1.7848265399172913,
    0.29656057182850487,
    0.026532189526576124,
    0.0012426609473880784,
    2.7115555687434876e-05,
    2.0103343992922881e-07,
];
const FAR_DEN: [f64; 8] = [
    1.0,
    0.599832206555888,
    0.1369298809227358,
    0.014875361290850615,
    0.0007868691311456133,
    1.8463183175100548e-05,
    1.421511758316446e-07,
    2.0442631033899397e-15,
];

impl Attack for Lie {
    fn knowledge(&self) -> AttackKnowledge {
        AttackKnowledge::Omniscient
    }

    fn poison_update(
        &mut self,
        ctx: &AttackCtx<'_>,
        update: &mut ClientUpdate,
    ) -> Result<(), PluginError> {
        let z = match self.z {
            Some(z) => z,
            None => z_max(ctx.hospitals, ctx.malicious).ok_or_else(|| {
                PluginError::invalid(format!(
                    "lie: no finite z_max for {} malicious of {} hospitals; set `z`",
                    ctx.malicious, ctx.hospitals
                ))
            })?,
        };
        let rows = benign("lie", ctx, update.delta.len())?;
        let mu = mean(&rows);
        let sigma = std_dev(&rows, &mu);
        let shifted: Vec<f64> = mu.iter().zip(&sigma).map(|(m, s)| m - z * s).collect();
        update.delta = to_f32(&shifted);
        Ok(())
    }
}

pub(crate) fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new(
        "lie",
        env!("CARGO_PKG_VERSION"),
        "a little is enough: benign mean minus z standard deviations per coordinate (omniscient)",
    )
    .cite("Baruch, Baruch, Goldberg, A Little Is Enough, NeurIPS 2019");
    reg.add::<dyn Attack>(Factory::new(info, |p| {
        Ok(Box::new(Lie::new(p.parse()?)?) as Box<dyn Attack>)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{build, ctx, gaussian_updates, refused_field, update};

    #[test]
    fn inverse_cdf_matches_reference_values() {
        // Python's statistics.NormalDist().inv_cdf.
        for (p, x) in [
            (0.975, 1.959_963_984_540_053_6),
            (0.68, 0.467_698_799_114_508_35),
            (0.999, 3.090_232_306_167_813),
            (1e-10, -6.361_340_902_404_056),
            (0.3, -0.524_400_512_708_040_7),
            (0.5, 0.0),
        ] {
            assert!((inverse_normal_cdf(p) - x).abs() < 1e-13, "{p}");
        }
    }

    #[test]
    fn z_max_follows_the_paper() {
        // n = 50, m = 10: s = 26 - 10 = 16, z = Φ⁻¹(34 / 50).
        assert!((z_max(50, 10).unwrap() - 0.467_698_799_114_508_35).abs() < 1e-12);
        // n = 10, m = 2: s = 4, z = Φ⁻¹(0.6).
        assert!((z_max(10, 2).unwrap() - 0.253_347_103_135_799_8).abs() < 1e-12);
        assert_eq!(z_max(4, 3), None);
    }

    #[test]
    fn submits_mean_minus_z_sigma_within_z_sigma() {
        let honest = gaussian_updates(5, 9, 400);
        let rows: Vec<&[f32]> = honest.iter().map(|u| u.delta.as_slice()).collect();
        let mu = mean(&rows);
        let sigma = std_dev(&rows, &mu);
        let c = AttackCtx {
            hospitals: 12,
            malicious: 3,
            ..ctx(&honest, &[])
        };
        let z = z_max(12, 3).unwrap();
        assert!(z > 0.1);
        let mut u = update(0, 10, vec![0.0; 400]);
        build("lie", "").unwrap().poison_update(&c, &mut u).unwrap();
        let want: Vec<f64> = mu.iter().zip(&sigma).map(|(m, s)| m - z * s).collect();
        assert_eq!(u.delta, to_f32(&want));
        for ((&v, m), s) in u.delta.iter().zip(&mu).zip(&sigma) {
            assert!((f64::from(v) - m).abs() <= z * s + 1e-6);
            assert!(f64::from(v) < *m, "shifted below the mean");
        }
    }

    #[test]
    fn explicit_z_and_refusals() {
        let honest = [update(1, 1, vec![1.0]), update(2, 1, vec![3.0])];
        let mut u = update(0, 1, vec![0.0]);
        build("lie", "z = 2")
            .unwrap()
            .poison_update(&ctx(&honest, &[]), &mut u)
            .unwrap();
        // μ = 2, σ = √2.
        assert!((f64::from(u.delta[0]) - (2.0 - 2.0 * 2f64.sqrt())).abs() < 1e-6);
        let majority = AttackCtx {
            hospitals: 4,
            malicious: 3,
            ..ctx(&honest, &[])
        };
        assert!(
            build("lie", "")
                .unwrap()
                .poison_update(&majority, &mut u)
                .is_err()
        );
        assert_eq!(refused_field("lie", "z = -1"), Some("z".into()));
        assert_eq!(refused_field("lie", "zmax = 1"), Some("zmax".into()));
    }
}
