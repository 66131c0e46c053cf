//! Cells: the cartesian product of a spec's axes, each a whole run config with a stable id.
//!
//! A cell's id is the first 16 hex digits of blake2b-256 over its resolved config, written
//! canonically (keys sorted at every level, `name` left out), so the id names exactly the
//! experiment: it does not move when axes are reordered, when other cells are added, or when
//! the sweep is renamed. Its seed is the config's `seed` (a `seed` axis gives replicates), and
//! every random stream of the run derives from it; cells that differ only in, say, the defense
//! share partitions and initial models (common random numbers).

use blake2::{Blake2b, Digest, digest::consts::U32};

use crate::spec::{Axis, Spec, set_path};

/// One experiment of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Position in the expansion order (the last axis varies fastest).
    pub index: usize,
    /// The grid it comes from (0 for a spec without `[[grid]]`).
    pub grid: usize,
    /// The stable id.
    pub id: String,
    /// `(axis path, value)` for every axis.
    pub axes: Vec<(String, toml::Value)>,
    /// The resolved run config, `name` set to `<sweep>-<id>`.
    pub config: toml::Table,
}

/// Every cell of `spec`, in expansion order. Two axis combinations that resolve to the same
/// config (an axis repeating a value) are one cell.
pub fn expand(spec: &Spec) -> Vec<Cell> {
    let mut cells: Vec<Cell> = Vec::new();
    let grids: Vec<Vec<&Axis>> = if spec.grids.is_empty() {
        vec![spec.axes.iter().collect()]
    } else {
        spec.grids
            .iter()
            .map(|g| with_grid(&spec.axes, g))
            .collect()
    };
    for (i, grid) in grids.iter().enumerate() {
        expand_grid(spec, i, grid, &mut cells);
    }
    cells
}

/// The shared axes with a grid's own: a grid axis replaces the shared axis of the same path in
/// its place (so each cell has one value per path, the one its config holds), the others follow.
fn with_grid<'a>(shared: &'a [Axis], grid: &'a [Axis]) -> Vec<&'a Axis> {
    let own = |path: &str| grid.iter().find(|a| a.path == path);
    let mut axes: Vec<&Axis> = shared.iter().map(|a| own(&a.path).unwrap_or(a)).collect();
    axes.extend(
        grid.iter()
            .filter(|g| !shared.iter().any(|a| a.path == g.path)),
    );
    axes
}

/// Appends the cells of one grid that are not there yet.
fn expand_grid(spec: &Spec, index: usize, grid: &[&Axis], cells: &mut Vec<Cell>) {
    for combo in product(grid.iter().map(|a| a.values.len()).collect()) {
        let mut config = spec.base.clone();
        let mut axes = Vec::new();
        for (axis, &i) in grid.iter().zip(&combo) {
            let value = axis.values[i].clone();
            set_axis(&mut config, &axis.path, &value);
            axes.push((axis.path.clone(), value));
        }
        config.remove("name");
        let id = cell_id(&config);
        if cells.iter().any(|c| c.id == id) {
            continue;
        }
        config.insert("name".into(), format!("{}-{id}", spec.name).into());
        cells.push(Cell {
            index: cells.len(),
            grid: index,
            id,
            axes,
            config,
        });
    }
}

impl Cell {
    /// The cell's value of axis `path`, when its grid has that axis.
    pub fn value(&self, path: &str) -> Option<&toml::Value> {
        self.axes.iter().find(|(p, _)| p == path).map(|(_, v)| v)
    }

    /// The federated rounds the cell runs (`federation.rounds`; 0 when absent).
    pub fn rounds(&self) -> usize {
        self.config
            .get("federation")
            .and_then(|f| f.get("rounds"))
            .and_then(toml::Value::as_integer)
            .map_or(0, |r| r.max(0) as usize)
    }
}

/// The axis columns of a set of cells: every axis path, in order of first appearance.
pub fn columns(cells: &[Cell]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (path, _) in cells.iter().flat_map(|c| &c.axes) {
        if !out.contains(path) {
            out.push(path.clone());
        }
    }
    out
}

/// Sets an axis's value: one path, or each path of a linked axis (`a+b`) to its part.
fn set_axis(config: &mut toml::Table, path: &str, value: &toml::Value) {
    match (path.contains('+'), value.as_array()) {
        (true, Some(parts)) => {
            for (p, v) in path.split('+').zip(parts) {
                set_path(config, p, v.clone());
            }
        }
        _ => set_path(config, path, value.clone()),
    }
}

/// All index combinations of lists with these lengths, the last varying fastest.
fn product(lens: Vec<usize>) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new()];
    for len in lens {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                (0..len).map(move |i| {
                    let mut v = prefix.clone();
                    v.push(i);
                    v
                })
            })
            .collect();
    }
    out
}

/// The id of a resolved config (without `name`).
pub fn cell_id(config: &toml::Table) -> String {
    let text = toml::to_string(&canonical(config)).unwrap_or_default();
    let digest = Blake2b::<U32>::digest(text.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The table with its keys sorted at every level.
fn canonical(t: &toml::Table) -> toml::Table {
    let mut keys: Vec<&String> = t.keys().collect();
    keys.sort();
    keys.into_iter()
        .map(|k| (k.clone(), canonical_value(&t[k])))
        .collect()
}

fn canonical_value(v: &toml::Value) -> toml::Value {
    match v {
        toml::Value::Table(t) => toml::Value::Table(canonical(t)),
        toml::Value::Array(a) => toml::Value::Array(a.iter().map(canonical_value).collect()),
        other => other.clone(),
    }
}

/// A value as it appears in a table cell: strings bare, a plugin section with only `kind` as
/// its kind, other tables as inline TOML.
pub fn display_value(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Table(t) if t.len() == 1 && t.contains_key("kind") => inline_str(&t["kind"]),
        toml::Value::Array(parts) if parts.iter().any(toml::Value::is_table) => {
            let shown: Vec<String> = parts.iter().map(display_value).collect();
            shown.join(" + ")
        }
        toml::Value::Table(t) => {
            let inner: Vec<String> = t
                .iter()
                .map(|(k, v)| format!("{k} = {}", inline(v)))
                .collect();
            format!("{{ {} }}", inner.join(", "))
        }
        other => inline(other),
    }
}

fn inline_str(v: &toml::Value) -> String {
    v.as_str().map_or_else(|| inline(v), str::to_owned)
}

fn inline(v: &toml::Value) -> String {
    match v {
        toml::Value::Table(_) => display_value(v),
        toml::Value::Array(a) => {
            let inner: Vec<String> = a.iter().map(inline).collect();
            format!("[{}]", inner.join(", "))
        }
        other => other.to_string(),
    }
}
