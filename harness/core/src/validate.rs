//! Settings that parse but cannot run are refused with the config line at fault.

use securefl_api::Optimizer;

use crate::config::{Config, ConfigError};

impl Config {
    /// An error about `field` of the plain table `[section]` (not a plugin section).
    pub fn field_error(&self, section: &str, field: &str, message: &str) -> ConfigError {
        let header = self
            .source
            .lines()
            .position(|l| l.trim() == format!("[{section}]"))
            .map(|i| i + 1);
        let line =
            crate::config::line_of_key_after(&self.source, field, header.unwrap_or(1)).or(header);
        ConfigError {
            path: self.path.clone(),
            line,
            message: format!("[{section}] `{field}`: {message}"),
        }
    }
}

/// Checks every setting the engine relies on.
pub(crate) fn validate(cfg: &Config) -> Result<(), ConfigError> {
    check_name(cfg)?;
    let f = &cfg.federation;
    at_least(cfg, "federation", "hospitals", f.hospitals, 1)?;
    at_least(cfg, "federation", "rounds", f.rounds, 1)?;
    at_least(cfg, "federation", "min-samples", f.min_samples, 1)?;
    at_least(cfg, "federation", "validators", f.validators(), 1)?;
    at_least(cfg, "train", "local-epochs", cfg.train.local_epochs, 1)?;
    at_least(cfg, "train", "batch-size", cfg.train.batch_size, 1)?;
    check_optimizer(cfg)?;
    check_ledger(cfg)?;
    check_adversary(cfg)
}

/// Keys come from one place.
fn check_ledger(cfg: &Config) -> Result<(), ConfigError> {
    if cfg.ledger.keys.is_some() && cfg.ledger.seeded_keys {
        return Err(ConfigError {
            path: cfg.path.clone(),
            line: crate::config::line_of_key_after(&cfg.source, "seeded-keys", 1),
            message: "[ledger] `keys` and `seeded-keys` exclude each other: keys come from a key directory or from the seed".into(),
        });
    }
    Ok(())
}

/// The name becomes a folder under `results/`: keep it a plain, safe file name.
fn check_name(cfg: &Config) -> Result<(), ConfigError> {
    let n = &cfg.name;
    let ok = !n.is_empty()
        && n.len() <= 100
        && !n.starts_with('.')
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        return Ok(());
    }
    let line = crate::config::line_of_key_after(&cfg.source, "name", 1);
    Err(ConfigError {
        path: cfg.path.clone(),
        line,
        message: format!(
            "name {n:?} must be 1-100 letters, digits, `-`, `_` or `.`, not starting with `.` (it names the run folder)"
        ),
    })
}

fn at_least(
    cfg: &Config,
    section: &str,
    field: &str,
    value: usize,
    min: usize,
) -> Result<(), ConfigError> {
    if value >= min {
        Ok(())
    } else {
        Err(cfg.field_error(
            section,
            field,
            &format!("must be at least {min}, got {value}"),
        ))
    }
}

fn check_optimizer(cfg: &Config) -> Result<(), ConfigError> {
    let bad = |field: &str, why: &str, v: f64| {
        Err(cfg.field_error("train", field, &format!("{why}, got {v}")))
    };
    let (lr, weight_decay) = match cfg.train.optimizer {
        Optimizer::Sgd {
            lr,
            momentum,
            weight_decay,
        } => {
            if !(0.0..1.0).contains(&momentum) {
                return bad("momentum", "must be in [0, 1)", momentum);
            }
            (lr, weight_decay)
        }
        Optimizer::Adam {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay,
        } => {
            for (field, v) in [("beta1", beta1), ("beta2", beta2)] {
                if !(0.0..1.0).contains(&v) {
                    return bad(field, "must be in [0, 1)", v);
                }
            }
            if !(eps.is_finite() && eps > 0.0) {
                return bad("eps", "must be positive and finite", eps);
            }
            (lr, weight_decay)
        }
    };
    if !(lr.is_finite() && lr > 0.0) {
        return bad("lr", "must be positive and finite", lr);
    }
    if !(weight_decay.is_finite() && weight_decay >= 0.0) {
        return bad(
            "weight-decay",
            "must be non-negative and finite",
            weight_decay,
        );
    }
    Ok(())
}

fn check_adversary(cfg: &Config) -> Result<(), ConfigError> {
    let (a, n) = (&cfg.adversary, cfg.federation.hospitals);
    if !(0.0..=1.0).contains(&a.fraction) {
        return Err(cfg.field_error(
            "adversary",
            "fraction",
            &format!("{} is not a fraction in [0, 1]", a.fraction),
        ));
    }
    if a.from_round == 0 {
        return Err(cfg.field_error("adversary", "from-round", "rounds count from 1"));
    }
    if let Some(bad) = a.hospitals.iter().flatten().find(|&&h| h >= n) {
        return Err(cfg.field_error(
            "adversary",
            "hospitals",
            &format!("hospital {bad} does not exist (hospitals are 0..{n})"),
        ));
    }
    let v = cfg.federation.validators();
    if let Some(bad) = a.lying_validators.iter().find(|&&i| i >= v) {
        return Err(cfg.field_error(
            "adversary",
            "lying-validators",
            &format!("validator {bad} does not exist (validators are 0..{v})"),
        ));
    }
    Ok(())
}
