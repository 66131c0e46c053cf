//! Which hospitals are malicious: an explicit list, or a seeded choice of a fraction.

use std::collections::BTreeSet;

use rand::seq::SliceRandom;

use crate::config::Config;

/// Number of malicious hospitals the config asks for.
pub fn count(cfg: &Config) -> usize {
    match &cfg.adversary.hospitals {
        Some(list) => list.iter().collect::<BTreeSet<_>>().len(),
        None => (cfg.adversary.fraction * cfg.federation.hospitals as f64).round() as usize,
    }
}

/// The malicious hospitals (the config is already validated).
pub fn choose(cfg: &Config) -> BTreeSet<usize> {
    if let Some(list) = &cfg.adversary.hospitals {
        return list.iter().copied().collect();
    }
    let mut order: Vec<usize> = (0..cfg.federation.hospitals).collect();
    order.shuffle(&mut securefl_api::rng(cfg.seed, &["adversary"]));
    order.into_iter().take(count(cfg)).collect()
}
