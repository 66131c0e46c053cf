//! Plumbing shared by the defenses that read updates in the clear: the result of a pure rule
//! ([`Combined`]), input checks, verdict builders and the step from a combined delta to the
//! [`Aggregate`] the engine expects. No SMPC call is made, so the aggregation cost is zero.

use securefl_api::{
    Aggregate, ClientUpdate, ClientVerdict, CostRecord, DefenseCaps, NextModel, PluginError,
    Setting, Verdict,
};

use crate::math;

/// What a plaintext rule computes from the round's updates.
#[derive(Debug, Clone, PartialEq)]
pub struct Combined {
    /// The aggregated delta; the next global model is `global + delta`.
    pub delta: Vec<f64>,
    /// One verdict per update, in the order of the updates.
    pub verdicts: Vec<ClientVerdict>,
}

impl Combined {
    /// The engine's [`Aggregate`]: `global + delta`, the verdicts, zero SMPC cost.
    pub fn into_aggregate(self, global: &[f32]) -> Aggregate {
        Aggregate {
            next: NextModel::Model(math::next_model(global, &self.delta)),
            verdicts: self.verdicts,
            cost: CostRecord::default(),
            votes: Vec::new(),
        }
    }
}

/// Checks the deltas against the global model, runs the pure `rule` and builds the
/// [`Aggregate`]: the thin part of every plaintext defense's `aggregate`.
pub fn aggregate_with(
    name: &str,
    global: &[f32],
    updates: &[ClientUpdate],
    rule: impl FnOnce(&[ClientUpdate]) -> Result<Combined, PluginError>,
) -> Result<Aggregate, PluginError> {
    check_len(name, global, updates)?;
    Ok(rule(updates)?.into_aggregate(global))
}

/// Capabilities of a plaintext rule (it reads updates in the clear; no encrypted inference).
pub fn caps(produces_verdicts: bool) -> DefenseCaps {
    DefenseCaps {
        needs_plaintext: true,
        produces_verdicts,
        needs_inference: false,
    }
}

/// The common length of the deltas; fails on no update or on deltas of different lengths.
pub fn dim(rule: &str, updates: &[ClientUpdate]) -> Result<usize, PluginError> {
    let first = updates
        .first()
        .ok_or_else(|| PluginError::invalid(format!("{rule}: no update to aggregate")))?;
    let d = first.delta.len();
    match updates.iter().find(|u| u.delta.len() != d) {
        Some(u) => Err(PluginError::invalid(format!(
            "{rule}: hospital {} sent {} weights, hospital {} sent {d}",
            u.hospital,
            u.delta.len(),
            first.hospital
        ))),
        None => Ok(d),
    }
}

/// Fails unless every delta has the global model's length.
pub fn check_len(rule: &str, global: &[f32], updates: &[ClientUpdate]) -> Result<(), PluginError> {
    match updates.iter().find(|u| u.delta.len() != global.len()) {
        Some(u) => Err(PluginError::invalid(format!(
            "{rule}: hospital {} sent {} weights for a {}-weight model",
            u.hospital,
            u.delta.len(),
            global.len()
        ))),
        None => Ok(()),
    }
}

/// `f`: the parameter when given, else the number of malicious hospitals the run configures.
pub fn resolve_f(param: Option<usize>, setting: &Setting) -> usize {
    param.unwrap_or(setting.malicious)
}

/// `NotApplicable` with no score for every update (rules that do not decide per update).
pub fn not_applicable(updates: &[ClientUpdate]) -> Vec<ClientVerdict> {
    updates
        .iter()
        .map(|u| verdict(u, Verdict::NotApplicable, None))
        .collect()
}

/// `Accepted` where `selected[i]`, else `Rejected`, each with `scores[i]`.
pub fn decided(updates: &[ClientUpdate], selected: &[bool], scores: &[f64]) -> Vec<ClientVerdict> {
    updates
        .iter()
        .zip(selected.iter().zip(scores))
        .map(|(u, (&s, &score))| {
            let v = if s {
                Verdict::Accepted
            } else {
                Verdict::Rejected
            };
            verdict(u, v, Some(score))
        })
        .collect()
}

/// A mask of length `n` with `true` at `idx`.
pub fn mask(n: usize, idx: &[usize]) -> Vec<bool> {
    let mut m = vec![false; n];
    idx.iter().for_each(|&i| m[i] = true);
    m
}

fn verdict(u: &ClientUpdate, verdict: Verdict, score: Option<f64>) -> ClientVerdict {
    ClientVerdict {
        hospital: u.hospital,
        verdict,
        score,
        cost: CostRecord::default(),
    }
}
