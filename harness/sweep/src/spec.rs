//! The sweep spec: a versioned TOML file with a base experiment, axes to sweep and named
//! profiles, parsed strictly. Errors are one line, `FILE[:LINE]: problem`.
//!
//! ```toml
//! securefl-sweep = 1
//! name = "recovery"
//! base = "configs/quickstart.toml"      # or an inline [base] table: a whole run config
//!
//! [sweep]                               # cartesian product; every leaf is a list
//! "dataset.flag" = ["pneumoniamnist", "bloodmnist"]
//! attack = [{ kind = "none" }, { kind = "sign-flip", scale = 4.0 }]
//! seed = [42, 1, 2]
//! "attack+adversary.fraction" = [[{ kind = "none" }, 0.0], [{ kind = "lie" }, 0.3]]   # linked
//!
//! [[grid]]                              # optional: more grids, each with its own axes
//! "federation.validators" = [4, 7, 10]  # (crossed with the shared [sweep] axes); the cells
//! consensus = [{ kind = "pbft" }, { kind = "poa" }]   # are the union over grids
//!
//! [profiles.smoke]                      # --profile smoke
//! base = { "federation.rounds" = 2 }    # fields set in the base
//! sweep = { seed = [42] }               # axes replaced (or added; a linked axis such as
//!                                       # "attack+defense" replaces the axes it overlaps)
//! [[profiles.smoke.grid]]               # optional: the profile's grids replace the spec's
//! "dataset.flag" = ["pneumoniamnist"]
//!
//! [run]
//! workers = 2                           # cells in parallel
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The spec format this build reads.
pub const FORMAT_VERSION: u32 = 1;

/// The top-level keys of a run config: the first segment of every axis and override.
pub const CONFIG_KEYS: [&str; 15] = [
    "securefl",
    "name",
    "seed",
    "federation",
    "adversary",
    "model",
    "train",
    "dataset",
    "partition",
    "backend",
    "attack",
    "pre-aggregators",
    "defense",
    "smpc",
    "consensus",
];

/// A spec that cannot be used: the file, the line when known, and the problem; it prints as
/// `FILE:LINE: problem`, as a run config's error does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SpecError {
    /// The spec file.
    pub path: PathBuf,
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// One swept field: a dotted config path and its values, in spec order. A linked axis joins
/// paths with `+` and each of its values is a list with one value per path.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// The dotted path (`dataset.flag`, `attack`, `seed`).
    pub path: String,
    /// The values to take.
    pub values: Vec<toml::Value>,
}

/// A parsed sweep, with its profile applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// The spec file.
    pub path: PathBuf,
    /// The sweep's name.
    pub name: String,
    /// The profile applied, if any.
    pub profile: Option<String>,
    /// The base experiment: a whole run config as a TOML table.
    pub base: toml::Table,
    /// The axes every grid shares, in spec order (the last one varies fastest).
    pub axes: Vec<Axis>,
    /// The `[[grid]]` tables' own axes: the cells are the union over grids of the product of
    /// the shared axes and the grid's axes. Empty: one grid, the shared axes alone.
    pub grids: Vec<Vec<Axis>>,
    /// Cells run in parallel by default.
    pub workers: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSpec {
    securefl_sweep: Option<u32>,
    name: Option<String>,
    base: toml::Value,
    #[serde(default)]
    sweep: toml::Table,
    #[serde(default)]
    grid: Vec<toml::Table>,
    #[serde(default)]
    profiles: BTreeMap<String, RawProfile>,
    #[serde(default)]
    run: RawRun,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawProfile {
    #[serde(default)]
    base: toml::Table,
    #[serde(default)]
    sweep: toml::Table,
    #[serde(default)]
    grid: Vec<toml::Table>,
}

/// Applies one profile axis: an axis of the same path takes its values (in `[sweep]` or in
/// every grid that has it); otherwise every axis that sets one of its fields is dropped (so
/// `"attack+defense"` replaces both an `attack` and a `defense` axis) and it joins `[sweep]`.
fn apply_profile_axis(axes: &mut Vec<Axis>, grids: &mut [Vec<Axis>], axis: Axis) {
    let mut replaced = false;
    for a in grids.iter_mut().flatten().filter(|a| a.path == axis.path) {
        a.values.clone_from(&axis.values);
        replaced = true;
    }
    if let Some(a) = axes.iter_mut().find(|a| a.path == axis.path) {
        a.values = axis.values;
        return;
    }
    if replaced {
        return;
    }
    let fields: Vec<&str> = axis.path.split('+').collect();
    let overlaps = |a: &Axis| a.path.split('+').any(|f| fields.contains(&f));
    axes.retain(|a| !overlaps(a));
    for g in grids.iter_mut() {
        g.retain(|a| !overlaps(a));
    }
    axes.push(axis);
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRun {
    workers: Option<usize>,
}

impl Spec {
    /// Reads the spec at `path` and applies `profile`.
    pub fn load(path: &Path, profile: Option<&str>) -> Result<Self, SpecError> {
        let source = std::fs::read_to_string(path)
            .map_err(|e| error(path, None, format!("cannot read the sweep spec: {e}")))?;
        Self::parse(path, &source, profile)
    }

    /// Parses spec text; `path` is used in messages, for the default name and to resolve
    /// relative paths.
    pub fn parse(path: &Path, source: &str, profile: Option<&str>) -> Result<Self, SpecError> {
        let raw: RawSpec = toml::from_str(source).map_err(|e| {
            let line = e.span().map(|s| line_of(source, s.start));
            error(path, line, e.message().trim().replace('\n', " "))
        })?;
        check_version(path, source, raw.securefl_sweep)?;
        let at = |key: &str| line_of_key(source, key, 0);
        let in_sweep = |key: &str| line_of_key(source, key, header_line(source, "[sweep"));
        let mut base = base_table(path, source, raw.base)?;
        let mut axes = flatten_axes(path, &raw.sweep, "", &in_sweep)?;
        let in_grid = |key: &str| line_of_key(source, key, header_line(source, "[[grid]]"));
        let mut grids = raw
            .grid
            .iter()
            .map(|g| flatten_axes(path, g, "", &in_grid))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(name) = profile {
            let p = raw.profiles.get(name).ok_or_else(|| {
                let known: Vec<&str> = raw.profiles.keys().map(String::as_str).collect();
                let known = if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                };
                error(
                    path,
                    None,
                    format!("unknown profile `{name}` (known: {known})"),
                )
            })?;
            let from = header_line(source, &format!("[profiles.{name}"));
            let in_profile = |key: &str| line_of_key(source, key, from);
            apply_overrides(path, &mut base, &p.base, "", &in_profile)?;
            if !p.grid.is_empty() {
                let in_grid = |key: &str| line_of_key(source, key, from);
                grids = p
                    .grid
                    .iter()
                    .map(|g| flatten_axes(path, g, "", &in_grid))
                    .collect::<Result<Vec<_>, _>>()?;
            }
            for axis in flatten_axes(path, &p.sweep, "", &in_profile)? {
                apply_profile_axis(&mut axes, &mut grids, axis);
            }
        }
        let workers = raw.run.workers.unwrap_or(1);
        if workers == 0 {
            return Err(error(
                path,
                at("workers"),
                "[run] `workers` must be at least 1".into(),
            ));
        }
        let stem = path
            .file_stem()
            .map_or("sweep".into(), |s| s.to_string_lossy().into_owned());
        Ok(Self {
            path: path.to_owned(),
            name: raw.name.unwrap_or(stem),
            profile: profile.map(str::to_owned),
            base,
            axes,
            grids,
            workers,
        })
    }
}

fn check_version(path: &Path, source: &str, v: Option<u32>) -> Result<(), SpecError> {
    match v {
        Some(FORMAT_VERSION) => Ok(()),
        Some(v) => Err(error(
            path,
            line_of_key(source, "securefl-sweep", 0),
            format!(
                "sweep format {v} is not supported; this securefl reads format {FORMAT_VERSION}"
            ),
        )),
        None => Err(error(
            path,
            None,
            format!("missing `securefl-sweep = {FORMAT_VERSION}` (the sweep format version)"),
        )),
    }
}

/// The base experiment: an inline table, or a run config file relative to the spec.
fn base_table(path: &Path, source: &str, base: toml::Value) -> Result<toml::Table, SpecError> {
    match base {
        toml::Value::Table(t) => Ok(t),
        toml::Value::String(file) => {
            let file = path.parent().unwrap_or(Path::new(".")).join(file);
            let text = std::fs::read_to_string(&file).map_err(|e| {
                let msg = format!("`base`: cannot read {}: {e}", file.display());
                error(path, line_of_key(source, "base", 0), msg)
            })?;
            text.parse::<toml::Table>().map_err(|e| {
                let line = e.span().map(|s| line_of(&text, s.start));
                error(&file, line, e.message().trim().replace('\n', " "))
            })
        }
        _ => Err(error(
            path,
            line_of_key(source, "base", 0),
            "`base` must be a table (a run config) or the path of a run config".into(),
        )),
    }
}

/// The axes of a `[sweep]` table: nested tables are path segments, every leaf is a list.
fn flatten_axes(
    path: &Path,
    table: &toml::Table,
    prefix: &str,
    at: &dyn Fn(&str) -> Option<usize>,
) -> Result<Vec<Axis>, SpecError> {
    let mut axes = Vec::new();
    for (key, value) in table {
        let full = join(prefix, key);
        for part in full.split('+') {
            check_root(path, part, at)?;
        }
        match value {
            toml::Value::Array(values) if values.is_empty() => {
                return Err(error(path, at(key), format!("axis `{full}` has no values")));
            }
            toml::Value::Array(values) if full.contains('+') => {
                check_linked(path, &full, values, &|| at(key))?;
                axes.push(Axis {
                    path: full,
                    values: values.clone(),
                });
            }
            toml::Value::Array(values) => axes.push(Axis {
                path: full,
                values: values.clone(),
            }),
            toml::Value::Table(t) => axes.extend(flatten_axes(path, t, &full, at)?),
            _ => {
                let msg = format!("axis `{full}` must be a list of values");
                return Err(error(path, at(key), msg));
            }
        }
    }
    Ok(axes)
}

/// A linked axis (`"attack+adversary.fraction"`) takes a list of value lists, one value per
/// path, so fields that only make sense together vary together.
fn check_linked(
    path: &Path,
    full: &str,
    values: &[toml::Value],
    line: &dyn Fn() -> Option<usize>,
) -> Result<(), SpecError> {
    let parts = full.split('+').count();
    let ok = |v: &toml::Value| v.as_array().is_some_and(|a| a.len() == parts);
    if values.iter().all(ok) {
        return Ok(());
    }
    let msg = format!(
        "linked axis `{full}`: every value must be a list of {parts} values, one per field"
    );
    Err(error(path, line(), msg))
}

/// Sets the fields of a profile's `base` overrides (nested tables are path segments).
fn apply_overrides(
    path: &Path,
    base: &mut toml::Table,
    overrides: &toml::Table,
    prefix: &str,
    at: &dyn Fn(&str) -> Option<usize>,
) -> Result<(), SpecError> {
    for (key, value) in overrides {
        let full = join(prefix, key);
        check_root(path, &full, at)?;
        match value {
            toml::Value::Table(t) => apply_overrides(path, base, t, &full, at)?,
            v => set_path(base, &full, v.clone()),
        }
    }
    Ok(())
}

fn check_root(
    path: &Path,
    full: &str,
    at: &dyn Fn(&str) -> Option<usize>,
) -> Result<(), SpecError> {
    let root = full.split('.').next().unwrap_or_default();
    if CONFIG_KEYS.contains(&root) {
        return Ok(());
    }
    let msg = format!(
        "`{full}` is not a config field (fields start with one of: {})",
        CONFIG_KEYS.join(", ")
    );
    Err(error(path, at(root), msg))
}

/// Sets the dotted `path` in `table`, creating intermediate tables; a non-table on the way
/// is replaced.
pub fn set_path(table: &mut toml::Table, path: &str, value: toml::Value) {
    match path.split_once('.') {
        None => {
            table.insert(path.to_owned(), value);
        }
        Some((head, rest)) => {
            let entry = table
                .entry(head.to_owned())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(t) = entry {
                set_path(t, rest, value);
            }
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn error(path: &Path, line: Option<usize>, message: String) -> SpecError {
    SpecError {
        path: path.to_owned(),
        line,
        message,
    }
}

fn line_of(source: &str, at: usize) -> usize {
    source[..at.min(source.len())].matches('\n').count() + 1
}

/// The 0-based index of the first line starting with `header` (0 when there is none).
fn header_line(source: &str, header: &str) -> usize {
    source
        .lines()
        .position(|l| l.trim_start().starts_with(header))
        .unwrap_or(0)
}

/// The first line from 0-based line `from` that assigns `key` (bare, quoted or dotted).
fn line_of_key(source: &str, key: &str, from: usize) -> Option<usize> {
    source
        .lines()
        .skip(from)
        .position(|l| {
            let l = l.trim_start();
            let bare = l
                .strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with('='));
            let quoted = l.starts_with(&format!("\"{key}\""));
            let dotted = l.starts_with(&format!("{key}."));
            bare || quoted || dotted
        })
        .map(|i| i + from + 1)
}
