//! Cross-hospital validation for `smpc-verify` (`validation = "cross-hospital"`): every hospital
//! is a validator and judges every submitted model on a validation split of its own
//! (`DefenseCtx::hospital_validation`, its share of the validation images in its own case mix),
//! in shares, with the class-conditional rule. Each validator's verdicts are its own: they go
//! on the ledger as its row of `Aggregate::votes`, signed by it, and the ledger's strict
//! majority decides ("consensus = majority of validated models", read literally). A lying
//! validator is then a real adversary of the vote (`adversary.lying-validators`).
//!
//! What is opened: one pass bit per validator and model (`pass-bit` counts `V·n`); the kept range,
//! norm and neighbour bits are ANDed into every one of them. Each validator's split's class
//! counts are public (the rule's recall weights): they reveal its validation case mix.
//! The same idea in the literature: SLVR (cross-client accuracy checks in MPC), CrowdGuard
//! (NDSS 2024, clients validate on their own data) and FLShield (S&P 2024).

use securefl_api::smpc::EvalQuery;
use securefl_api::{
    ClientUpdate, ClientVerdict, CostRecord, DefenseCtx, PluginError, ShareId, SmpcCtx, Verdict,
};

/// Each validator's verdicts on every update (validator-major), with the verifications' costs
/// added to `verdicts` and the round's to `cost`. `query` is the kept evaluation each validator
/// runs; `margin` the class rule's.
pub(crate) fn votes(
    ctx: &mut DefenseCtx<'_>,
    sctx: &SmpcCtx,
    global: ShareId,
    query: &EvalQuery,
    margin: f64,
    verdicts: &mut [ClientVerdict],
    cost: &mut CostRecord,
) -> Result<Vec<Vec<Verdict>>, PluginError> {
    let splits = ctx.hospital_validation.to_vec();
    if splits.len() != verdicts.len() || ctx.class_counts.len() != verdicts.len() {
        return Err(PluginError::invalid(
            "smpc-verify: cross-hospital validation needs each hospital's own validation split \
             and class histogram",
        ));
    }
    let mut rows = Vec::with_capacity(splits.len());
    for data in splits {
        let kept = EvalQuery {
            keep: true,
            ..*query
        };
        *cost += ctx.smpc.evaluate(sctx, global, data, &kept)?.cost;
        for (v, &share) in verdicts.iter_mut().zip(ctx.shares) {
            v.cost += ctx.smpc.evaluate(sctx, share, data, &kept)?.cost;
        }
        let (shares, counts) = (ctx.shares, ctx.class_counts);
        let pass = ctx
            .smpc
            .class_rule(sctx, shares, global, data, counts, margin)?;
        *cost += pass.cost;
        rows.push(pass.value.into_iter().map(verdict).collect());
    }
    for (i, v) in verdicts.iter_mut().enumerate() {
        v.verdict = majority(rows.iter().map(|row: &Vec<Verdict>| row[i]));
    }
    Ok(rows)
}

/// Accepted when a strict majority of `votes` accept, as the ledger decides.
pub(crate) fn majority(votes: impl Iterator<Item = Verdict>) -> Verdict {
    let (mut yes, mut all) = (0usize, 0usize);
    for v in votes {
        all += 1;
        yes += usize::from(v == Verdict::Accepted);
    }
    if 2 * yes > all {
        Verdict::Accepted
    } else {
        Verdict::Rejected
    }
}

fn verdict(pass: bool) -> Verdict {
    if pass {
        Verdict::Accepted
    } else {
        Verdict::Rejected
    }
}

/// The updates' placeholder verdicts, filled by [`votes`].
pub(crate) fn pending(updates: &[ClientUpdate]) -> Vec<ClientVerdict> {
    updates
        .iter()
        .map(|u| ClientVerdict {
            hospital: u.hospital,
            verdict: Verdict::Rejected,
            score: None,
            cost: CostRecord::default(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tie_is_no_majority() {
        let (a, r) = (Verdict::Accepted, Verdict::Rejected);
        assert_eq!(majority([a, a, r].into_iter()), a);
        assert_eq!(majority([a, r].into_iter()), r);
        assert_eq!(majority(std::iter::empty()), r);
    }
}
