//! `min-sum`: the AGR-agnostic min-sum attack.
//!
//! Reference: Shejwalkar, Houmansadr, "Manipulating the Byzantine: Optimizing Model Poisoning
//! Attacks and Defenses for Federated Learning", NDSS 2021, §IV. The malicious update
//! `μ + γ ∇p` uses the largest `γ` for which its sum of squared distances to the benign updates
//! is at most the largest such sum of a benign update (`Σ_i ‖∇m − ∇i‖² ≤ max_i Σ_j ‖∇i − ∇j‖²`).
//!
//! Threat model: omniscient (`AttackKnowledge::Omniscient`); model poisoning from the benign updates.
//! Parameters and the search are those of `min-max` (see [`crate::min_max`]).

use securefl_api::{Attack, Factory, PluginInfo, Registry, RegistryError};

use crate::min_max::{AgrAgnostic, Objective};

pub(crate) fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new(
        "min-sum",
        env!("CARGO_PKG_VERSION"),
        "benign mean pushed along -std as far as the largest benign distance sum allows (omniscient)",
    )
    .cite("Shejwalkar, Houmansadr, Manipulating the Byzantine, NDSS 2021 (min-sum)");
    reg.add::<dyn Attack>(Factory::new(info, |p| {
        Ok(Box::new(AgrAgnostic::new(p.parse()?, Objective::MinSum)?) as Box<dyn Attack>)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::min_max::tests::check_boundary;
    use crate::min_max::{Deviation, Problem};
    use crate::testutil::{refused_field, update};

    #[test]
    fn largest_feasible_gamma_for_every_direction() {
        for dev in ["std", "unit", "sign"] {
            check_boundary("min-sum", Objective::MinSum, dev);
        }
    }

    #[test]
    fn bound_is_the_largest_benign_distance_sum() {
        let honest = [
            update(1, 1, vec![0.0]),
            update(2, 1, vec![1.0]),
            update(3, 1, vec![5.0]),
        ];
        let rows = honest.iter().map(|u| u.delta.as_slice()).collect();
        let p = Problem::new(rows, Deviation::Sign, Objective::MinSum);
        // Sums: 0 + 1 + 25, 1 + 0 + 16, 25 + 16 + 0: the bound is 41.
        // μ = 2, ∇p = −sign(μ) = −1, so ∇m = 2 − γ and Σ (2 − γ − x)² = 41 at γ = 3.
        let (v, gamma) = p.solve(10.0, 1e-7);
        assert!((gamma - 3.0).abs() < 1e-6, "{gamma}");
        assert!((v[0] + 1.0).abs() < 1e-5);
    }

    #[test]
    fn bad_params_are_refused_with_the_field() {
        assert_eq!(
            refused_field("min-sum", "tolerance = 0"),
            Some("tolerance".into())
        );
        assert_eq!(refused_field("min-sum", "steps = 3"), Some("steps".into()));
    }
}
