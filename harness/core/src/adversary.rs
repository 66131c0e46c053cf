//! Which hospitals are malicious: an explicit list, or a seeded choice of a fraction.

use std::collections::BTreeSet;

use rand::seq::SliceRandom;

use crate::config::{Config, ConfigError, PluginSpec};

/// Number of malicious hospitals the config asks for.
pub fn count(cfg: &Config) -> usize {
    match &cfg.adversary.hospitals {
        Some(list) => list.iter().collect::<BTreeSet<_>>().len(),
        None => (cfg.adversary.fraction * cfg.federation.hospitals as f64).round() as usize,
    }
}

/// The malicious hospitals, validated.
pub fn choose(cfg: &Config) -> Result<BTreeSet<usize>, ConfigError> {
    let n = cfg.federation.hospitals;
    let a = &cfg.adversary;
    let section = PluginSpec {
        line: None,
        ..PluginSpec::named("")
    };
    let fail = |field: &str, msg: String| cfg.error(&section, "adversary", Some(field), &msg);
    if !(0.0..=1.0).contains(&a.fraction) {
        return Err(fail(
            "fraction",
            format!("{} is not a fraction in [0, 1]", a.fraction),
        ));
    }
    if a.from_round == 0 {
        return Err(fail("from-round", "rounds count from 1".into()));
    }
    if let Some(list) = &a.hospitals {
        if let Some(bad) = list.iter().find(|&&h| h >= n) {
            return Err(fail(
                "hospitals",
                format!("hospital {bad} does not exist (hospitals are 0..{n})"),
            ));
        }
        return Ok(list.iter().copied().collect());
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut securefl_api::rng(cfg.seed, &["adversary"]));
    Ok(order.into_iter().take(count(cfg)).collect())
}
