//! `manifest.toml`: what ran, on what, from which code, on which data.
//!
//! The manifest is the one file allowed to hold wall-clock facts (start time, duration,
//! machine); the result tables never do, beyond their `_s` timing columns.

use std::time::{SystemTime, UNIX_EPOCH};

use securefl_api::{Dataset, FaultModel, ModelSpec};

use crate::config::{Config, ReportClasses};
use crate::ledger::{Chain, hex, model_hash};
use crate::plugins::Plugins;
use crate::records::SCHEMA_VERSION;

/// Facts only the binary knows.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildInfo {
    /// securefl's version.
    pub version: String,
    /// `rustc -V` of the compiler that built it.
    pub rustc: String,
    /// Parallel training jobs.
    pub jobs: usize,
    /// The git commit the binary was built from (`unknown` outside a checkout).
    pub git_commit: String,
    /// True when tracked files differed from that commit at build time.
    pub git_dirty: bool,
}

/// What the manifest records about the run itself.
pub struct RunFacts<'a> {
    /// The config.
    pub cfg: &'a Config,
    /// Its plugins.
    pub plugins: &'a Plugins,
    /// The dataset.
    pub dataset: &'a Dataset,
    /// The model.
    pub spec: ModelSpec,
    /// Malicious hospitals.
    pub malicious: Vec<usize>,
    /// The final global model.
    pub global: &'a [f32],
    /// The run's ledger (its genesis and tip anchor `ledger.bin`).
    pub ledger: &'a Chain,
    /// Start time, UTC, RFC 3339.
    pub started_utc: String,
    /// Wall-clock duration.
    pub wall_s: f64,
    /// Consensus safety violations over the run (the rounds' `consensus_conflicts`).
    pub conflicts: u64,
    /// Validators that held wrong content final, over the run (`consensus_wrong_content`).
    pub wrong_content: u64,
}

/// The manifest's text.
pub fn render(build: &BuildInfo, facts: &RunFacts<'_>) -> String {
    let mut doc = toml::Table::new();
    doc.insert("run".into(), toml::Value::Table(run_table(build, facts)));
    doc.insert("machine".into(), toml::Value::Table(machine_table()));
    doc.insert(
        "dataset".into(),
        toml::Value::Table(dataset_table(facts.dataset)),
    );
    let mut model = toml::Table::new();
    model.insert("arch".into(), facts.spec.arch.name().into());
    model.insert(
        "parameters".into(),
        (facts.spec.param_count() as i64).into(),
    );
    model.insert(
        "final_blake2b".into(),
        hex(&model_hash(facts.global)).into(),
    );
    model.insert(
        "malicious_hospitals".into(),
        facts
            .malicious
            .iter()
            .map(|&h| h as i64)
            .collect::<Vec<_>>()
            .into(),
    );
    doc.insert("model".into(), toml::Value::Table(model));
    doc.insert(
        "threat_model".into(),
        toml::Value::Table(threat_table(facts)),
    );
    let mut ledger = toml::Table::new();
    ledger.insert("blocks".into(), (facts.ledger.blocks() as i64).into());
    let genesis = facts.ledger.genesis_hash().unwrap_or_default();
    ledger.insert("genesis".into(), hex(&genesis).into());
    ledger.insert("tip".into(), hex(&facts.ledger.tip()).into());
    // Where the signing keys came from: whether the run folder's reader could re-sign.
    let keys = match (&facts.cfg.ledger.keys, facts.cfg.ledger.seeded_keys) {
        (_, true) => "seeded: derived from the run seed, forgeable by anyone holding this file",
        (Some(_), _) => "key directory: not published with the run",
        (None, _) => "ephemeral: drawn from OS randomness and discarded after the run",
    };
    ledger.insert("keys".into(), keys.into());
    doc.insert("ledger".into(), toml::Value::Table(ledger));
    let plugins = facts.plugins.used.iter().map(|used| {
        let info = &used.info;
        let mut t = toml::Table::new();
        t.insert("kind".into(), used.kind.name().into());
        t.insert("name".into(), info.name.clone().into());
        t.insert("version".into(), info.version.clone().into());
        if let Some(c) = &info.citation {
            t.insert("citation".into(), c.clone().into());
        }
        if let Some((path, sha256)) = &used.library {
            t.insert("library".into(), path.display().to_string().into());
            t.insert("library_sha256".into(), sha256.clone().into());
        }
        toml::Value::Table(t)
    });
    doc.insert("plugins".into(), toml::Value::Array(plugins.collect()));
    doc.insert("config".into(), toml::Value::Table(facts.cfg.resolved()));
    toml::to_string(&doc).expect("the manifest is plain TOML data")
}

/// The assumptions a run's numbers hold under, in the words the sweep tables repeat on every
/// row (`threat_*` columns), so results of incomparable settings never mix silently.
fn threat_table(facts: &RunFacts<'_>) -> toml::Table {
    let p = facts.plugins;
    let caps = p.smpc.caps();
    let mut smpc = match caps.parties {
        0 => "plaintext".to_owned(),
        n => {
            let dealer = if caps.dealer { " + dealer" } else { "" };
            format!("{} {n} parties{dealer}", caps.security.as_str())
        }
    };
    if p.defense.caps().needs_inference {
        // Encrypted verification weighs per-class counts by public weights, and the floor is
        // the majority class's share: the validation split's class histogram is public.
        smpc.push_str("; validation class counts public");
        if p.defense.validates_per_hospital() {
            // Each hospital's own split follows its case mix, so its counts reveal that mix.
            smpc.push_str(" per hospital");
        }
    }
    let consensus = match p.consensus.fault_model() {
        FaultModel::Trusted => "trusted".to_owned(),
        FaultModel::Crash { max_faulty } => format!("crash f={max_faulty}"),
        FaultModel::Byzantine { max_faulty } => format!("byzantine f={max_faulty}"),
    };
    let attacker = if facts.malicious.is_empty() {
        "none".to_owned()
    } else if facts.cfg.adversary.report_classes == ReportClasses::Best {
        format!("{}; claims its best class", p.attack.knowledge().as_str())
    } else {
        p.attack.knowledge().as_str().to_owned()
    };
    let plaintext = p.defense.caps().needs_plaintext || !p.pre_aggregators.is_empty();
    let mut t = toml::Table::new();
    t.insert("smpc".into(), smpc.into());
    t.insert("consensus".into(), consensus.into());
    t.insert("attacker".into(), attacker.into());
    t.insert("plaintext_updates".into(), plaintext.into());
    t
}

fn run_table(build: &BuildInfo, facts: &RunFacts<'_>) -> toml::Table {
    let mut t = toml::Table::new();
    t.insert("status".into(), "complete".into());
    t.insert("securefl".into(), build.version.clone().into());
    t.insert("schema".into(), i64::from(SCHEMA_VERSION).into());
    t.insert(
        "config_path".into(),
        facts.cfg.path.display().to_string().into(),
    );
    t.insert(
        "config_blake2b".into(),
        hex(&blake2_text(&facts.cfg.source)).into(),
    );
    // A run whose honest validators finalized different blocks at one height says so here,
    // where a reader of the run folder looks first.
    t.insert(
        "consensus_conflicts".into(),
        i64::try_from(facts.conflicts).unwrap_or(i64::MAX).into(),
    );
    t.insert(
        "consensus_wrong_content".into(),
        i64::try_from(facts.wrong_content)
            .unwrap_or(i64::MAX)
            .into(),
    );
    t.insert("git_commit".into(), build.git_commit.clone().into());
    t.insert("git_dirty".into(), build.git_dirty.into());
    t.insert("rustc".into(), build.rustc.clone().into());
    t.insert(
        "backend_device".into(),
        facts.plugins.backend.device().into(),
    );
    t.insert("jobs".into(), (build.jobs as i64).into());
    t.insert("started_utc".into(), facts.started_utc.clone().into());
    t.insert("wall_s".into(), facts.wall_s.into());
    t
}

fn dataset_table(d: &Dataset) -> toml::Table {
    let mut t = toml::Table::new();
    t.insert("name".into(), d.name.clone().into());
    t.insert(
        "path".into(),
        d.provenance.path.display().to_string().into(),
    );
    t.insert("md5".into(), d.provenance.md5.clone().into());
    t.insert("synthetic".into(), d.provenance.synthetic.into());
    t.insert("classes".into(), d.class_names.clone().into());
    t.insert("train".into(), (d.train.len() as i64).into());
    t.insert("val".into(), (d.val.len() as i64).into());
    t.insert("test".into(), (d.test.len() as i64).into());
    t
}

fn machine_table() -> toml::Table {
    let mut t = toml::Table::new();
    t.insert("os".into(), std::env::consts::OS.into());
    t.insert("arch".into(), std::env::consts::ARCH.into());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    t.insert("cpus".into(), (cpus as i64).into());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".into());
    t.insert("cpu".into(), model.into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib: f64 = field(&meminfo, "MemTotal")
        .and_then(|v| v.trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0.0);
    t.insert(
        "memory_gib".into(),
        ((kib / 1048576.0 * 10.0).round() / 10.0).into(),
    );
    t
}

/// The value of `key: value` in a /proc file.
fn field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_owned())
    })
}

fn blake2_text(text: &str) -> [u8; 32] {
    use blake2::Digest;
    blake2::Blake2b::<blake2::digest::consts::U32>::digest(text.as_bytes()).into()
}

/// Now, UTC, as `YYYY-MM-DDThh:mm:ssZ`.
pub fn now_utc() -> String {
    #[expect(
        clippy::disallowed_methods,
        reason = "the manifest records when the run started"
    )]
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_by_hand() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
