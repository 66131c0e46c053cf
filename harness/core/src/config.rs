//! The experiment config: a versioned TOML file, parsed strictly.
//!
//! Every table rejects unknown keys; a plugin section (`[defense] kind = "fedavg"`) names its
//! plugin with `kind` and hands the remaining keys to that plugin's typed parameters.
//! Errors are one line: `FILE:LINE: problem`.

use std::fmt;
use std::path::{Path, PathBuf};

use securefl_api::{Arch, Optimizer, Params};
use serde::{Deserialize, Serialize};

/// The config format this build reads.
pub const FORMAT_VERSION: u32 = 1;

/// A config that could not be read, with the file and line at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The config file.
    pub path: PathBuf,
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// One plugin choice: its name and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginSpec {
    /// The plugin's registered name.
    pub kind: String,
    /// Everything but `kind` and `library`.
    pub params: Params,
    /// A dynamic plugin's library, as written (relative to the config file unless absolute).
    pub library: Option<String>,
    /// The line of the section, for error messages.
    pub line: Option<usize>,
}

impl PluginSpec {
    /// The section as written, `kind` first.
    pub fn to_table(&self) -> toml::Table {
        let mut t = toml::Table::new();
        t.insert("kind".into(), toml::Value::String(self.kind.clone()));
        if let Some(lib) = &self.library {
            t.insert("library".into(), toml::Value::String(lib.clone()));
        }
        t.extend(self.params.table().clone());
        t
    }

    /// A plugin with no parameters.
    pub fn named(kind: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            params: Params::empty(),
            library: None,
            line: None,
        }
    }
}

/// The federation: hospitals and rounds.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Federation {
    /// Number of hospitals.
    pub hospitals: usize,
    /// Federated rounds.
    pub rounds: usize,
    /// Fewest training images a hospital may get (the partition is refused otherwise).
    #[serde(default = "default_min_samples")]
    pub min_samples: usize,
    /// Ledger validators (consensus nodes and verdict signers); default: one per hospital.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validators: Option<usize>,
}

impl Federation {
    /// The number of ledger validators.
    pub fn validators(&self) -> usize {
        self.validators.unwrap_or(self.hospitals)
    }
}

fn default_min_samples() -> usize {
    10
}

/// Which hospitals are malicious, and from when.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Adversary {
    /// Fraction of hospitals that are malicious, chosen with a seed derived from the run seed
    /// (rounded to the nearest count).
    #[serde(default)]
    pub fraction: f64,
    /// Explicit malicious hospitals (overrides `fraction`).
    #[serde(default)]
    pub hospitals: Option<Vec<usize>>,
    /// First round in which they attack (1-based).
    #[serde(default = "default_from_round")]
    pub from_round: usize,
    /// Validators (by index) that sign the opposite of every verdict they record on the
    /// ledger; the accepted set is what a strict majority of validators signed.
    #[serde(default)]
    pub lying_validators: Vec<usize>,
    /// The class histogram a malicious hospital reports with its update (for rules that judge a
    /// model on its hospital's classes): `"honest"` (its true histogram, the default: an attack
    /// that does not know such a rule) or `"best"` (all its samples claimed as the one class on
    /// which its submitted model has the highest recall on its own data: the best lie against
    /// the class-conditional rule).
    #[serde(default)]
    pub report_classes: ReportClasses,
}

/// What malicious hospitals report as their class histogram.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportClasses {
    /// The true histogram.
    #[default]
    Honest,
    /// Every sample claimed as the class the submitted model recalls best on the hospital's data.
    Best,
}

fn default_from_round() -> usize {
    1
}

impl Default for Adversary {
    /// No malicious hospital.
    fn default() -> Self {
        Self {
            fraction: 0.0,
            hospitals: None,
            from_round: default_from_round(),
            lying_validators: Vec::new(),
            report_classes: ReportClasses::Honest,
        }
    }
}

/// The model.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ModelConfig {
    /// The architecture.
    pub arch: Arch,
}

/// Local training.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TrainConfig {
    /// Local epochs per round.
    pub local_epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// The optimiser.
    pub optimizer: Optimizer,
}

/// The ledger's signing keys (see `ledger::keys`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LedgerConfig {
    /// A key directory the run does not publish (relative to the config file unless absolute):
    /// keys are read from it, and those missing drawn and written into it. Without it, keys are
    /// drawn from the OS's randomness for the run and discarded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<String>,
    /// Keys derived from the run seed: byte-identical ledgers, forgeable by anyone holding the
    /// manifest (tests only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub seeded_keys: bool,
}

/// A fully parsed experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file it came from.
    pub path: PathBuf,
    /// The file's text (recorded in the manifest and hashed).
    pub source: String,
    /// Experiment name (default: the file stem).
    pub name: String,
    /// The root seed; every random stream derives from it.
    pub seed: u64,
    /// Hospitals and rounds.
    pub federation: Federation,
    /// Malicious hospitals.
    pub adversary: Adversary,
    /// Architecture.
    pub model: ModelConfig,
    /// Local training.
    pub train: TrainConfig,
    /// The dataset source.
    pub dataset: PluginSpec,
    /// The partitioner.
    pub partition: PluginSpec,
    /// The CNN backend.
    pub backend: PluginSpec,
    /// The attack.
    pub attack: PluginSpec,
    /// Pre-aggregators, in order.
    pub pre_aggregators: Vec<PluginSpec>,
    /// The defense.
    pub defense: PluginSpec,
    /// The SMPC protocol.
    pub smpc: PluginSpec,
    /// The consensus protocol.
    pub consensus: PluginSpec,
    /// The ledger's keys.
    pub ledger: LedgerConfig,
}

/// The file's top level, as serde sees it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    securefl: Option<u32>,
    name: Option<String>,
    seed: u64,
    federation: Federation,
    #[serde(default)]
    adversary: Adversary,
    model: ModelConfig,
    train: TrainConfig,
    dataset: toml::Spanned<toml::Table>,
    partition: Option<toml::Spanned<toml::Table>>,
    backend: Option<toml::Spanned<toml::Table>>,
    attack: Option<toml::Spanned<toml::Table>>,
    #[serde(default)]
    pre_aggregators: Vec<toml::Spanned<toml::Table>>,
    defense: Option<toml::Spanned<toml::Table>>,
    smpc: Option<toml::Spanned<toml::Table>>,
    consensus: Option<toml::Spanned<toml::Table>>,
    #[serde(default)]
    ledger: LedgerConfig,
}

impl Config {
    /// Reads and parses the config at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let source = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_owned(),
            line: None,
            message: format!("cannot read the config: {e}"),
        })?;
        Self::parse(path, &source)
    }

    /// Parses config text; `path` is used in messages and for the default name.
    pub fn parse(path: &Path, source: &str) -> Result<Self, ConfigError> {
        let err = |line: Option<usize>, message: String| ConfigError {
            path: path.to_owned(),
            line,
            message,
        };
        let raw: RawConfig = toml::from_str(source).map_err(|e| {
            err(
                e.span().map(|s| line_of(source, s.start)),
                e.message().trim().replace('\n', " "),
            )
        })?;
        match raw.securefl {
            Some(FORMAT_VERSION) => {}
            Some(v) => {
                return Err(err(
                    line_of_key(source, "securefl"),
                    format!(
                        "config format {v} is not supported; this securefl reads format {FORMAT_VERSION}"
                    ),
                ));
            }
            None => {
                return Err(err(
                    None,
                    format!("missing `securefl = {FORMAT_VERSION}` (the config format version)"),
                ));
            }
        }
        let plugin = |name: &str, t: Option<toml::Spanned<toml::Table>>, default: &str| match t {
            Some(t) => plugin_spec(path, source, name, t),
            None => Ok(PluginSpec::named(default)),
        };
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let cfg = Self {
            path: path.to_owned(),
            source: source.to_owned(),
            name: raw.name.unwrap_or(stem),
            seed: raw.seed,
            federation: raw.federation,
            adversary: raw.adversary,
            model: raw.model,
            train: raw.train,
            dataset: plugin_spec(path, source, "dataset", raw.dataset)?,
            partition: plugin("partition", raw.partition, "iid")?,
            // burn trains and infers faster than dfdx here (benches/README.md); dfdx stays
            // available as `kind = "dfdx"`.
            backend: plugin("backend", raw.backend, "burn")?,
            attack: plugin("attack", raw.attack, "none")?,
            pre_aggregators: raw
                .pre_aggregators
                .into_iter()
                .map(|t| plugin_spec(path, source, "pre-aggregators", t))
                .collect::<Result<_, _>>()?,
            defense: plugin("defense", raw.defense, "fedavg")?,
            smpc: plugin("smpc", raw.smpc, "none")?,
            consensus: plugin("consensus", raw.consensus, "none")?,
            ledger: raw.ledger,
        };
        crate::validate::validate(&cfg)?;
        Ok(cfg)
    }

    /// The config with every default filled in, as recorded in the manifest.
    pub fn resolved(&self) -> toml::Table {
        let mut t = toml::Table::new();
        t.insert(
            "securefl".into(),
            toml::Value::Integer(FORMAT_VERSION.into()),
        );
        t.insert("name".into(), toml::Value::String(self.name.clone()));
        t.insert(
            "seed".into(),
            i64::try_from(self.seed).map_or_else(
                |_| toml::Value::String(self.seed.to_string()),
                toml::Value::Integer,
            ),
        );
        t.insert("federation".into(), to_value(&self.federation));
        t.insert("adversary".into(), to_value(&self.adversary));
        t.insert("model".into(), to_value(&self.model));
        t.insert("train".into(), to_value(&self.train));
        for (key, spec) in [
            ("dataset", &self.dataset),
            ("partition", &self.partition),
            ("backend", &self.backend),
            ("attack", &self.attack),
            ("defense", &self.defense),
            ("smpc", &self.smpc),
            ("consensus", &self.consensus),
        ] {
            t.insert(key.into(), toml::Value::Table(spec.to_table()));
        }
        let pre = self
            .pre_aggregators
            .iter()
            .map(|p| toml::Value::Table(p.to_table()))
            .collect();
        t.insert("pre-aggregators".into(), toml::Value::Array(pre));
        // Only when set, so that configs without it keep their sweep cell ids.
        if self.ledger != LedgerConfig::default() {
            t.insert("ledger".into(), to_value(&self.ledger));
        }
        t
    }

    /// The key directory of `[ledger] keys`, relative to the config file unless absolute.
    pub fn key_dir(&self) -> Option<PathBuf> {
        let keys = self.ledger.keys.as_ref()?;
        let base = self.path.parent().unwrap_or(Path::new(""));
        Some(base.join(keys))
    }

    /// An error about `section` of this config, pointing at `field` when given.
    pub fn error(
        &self,
        spec: &PluginSpec,
        section: &str,
        field: Option<&str>,
        message: &str,
    ) -> ConfigError {
        let line = field
            .and_then(|f| {
                spec.line
                    .and_then(|l| line_of_key_after(&self.source, f, l))
            })
            .or(spec.line);
        let what = field
            .map(|f| format!("[{section}] `{f}`: "))
            .unwrap_or_else(|| format!("[{section}] "));
        ConfigError {
            path: self.path.clone(),
            line,
            message: format!("{what}{message}"),
        }
    }
}

/// Splits a plugin section into `kind` and parameters.
fn plugin_spec(
    path: &Path,
    source: &str,
    section: &str,
    t: toml::Spanned<toml::Table>,
) -> Result<PluginSpec, ConfigError> {
    let start = line_of(source, t.span().start);
    let line = Some(start);
    let mut table = t.into_inner();
    let library = match table.remove("library") {
        None => None,
        Some(toml::Value::String(lib)) => Some(lib),
        Some(_) => {
            return Err(ConfigError {
                path: path.to_owned(),
                line: line_of_key_after(source, "library", start).or(line),
                message: format!("[{section}] `library`: expected a path string"),
            });
        }
    };
    match table.remove("kind") {
        Some(toml::Value::String(kind)) => Ok(PluginSpec {
            kind,
            params: Params::new(table),
            library,
            line,
        }),
        _ => Err(ConfigError {
            path: path.to_owned(),
            line,
            message: format!("[{section}] needs `kind = \"<plugin name>\"` (see `securefl list`)"),
        }),
    }
}

/// The 1-based line of byte offset `at`.
pub fn line_of(source: &str, at: usize) -> usize {
    source[..at.min(source.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

/// The first line that assigns `key`.
fn line_of_key(source: &str, key: &str) -> Option<usize> {
    line_of_key_after(source, key, 1)
}

/// The first line at or after `from` that assigns `key` (`key = ...` or `, key = ...` inline).
pub fn line_of_key_after(source: &str, key: &str, from: usize) -> Option<usize> {
    source
        .lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find_map(|(i, l)| {
            let assigns = l.split(['{', ',']).any(|part| {
                part.trim_start()
                    .strip_prefix(key)
                    .is_some_and(|r| r.trim_start().starts_with('='))
            });
            assigns.then_some(i + 1)
        })
}

/// A config part as a TOML value.
fn to_value<T: Serialize>(part: &T) -> toml::Value {
    toml::Value::try_from(part).expect("config parts are plain TOML data")
}
