//! Writing result files: CSV field quoting, the view of a table without its wall-clock columns,
//! and atomic replacement through a temporary sibling.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// A file that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct WriteError {
    /// The file at fault (the temporary sibling or the target).
    pub path: PathBuf,
    /// The operating system's error.
    #[source]
    pub source: std::io::Error,
}

/// Writes `path` through a temporary sibling and a rename, so readers see old or new, never half.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let at = |path: &Path| {
        let path = path.to_owned();
        move |source| WriteError { path, source }
    };
    let tmp = sibling(path, ".tmp");
    let mut f = fs::File::create(&tmp).map_err(at(&tmp))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(at(&tmp))?;
    fs::rename(&tmp, path).map_err(at(path))
}

/// Where a run writes until it completes: `OUT.partial`.
pub fn partial_path(out: &Path) -> PathBuf {
    sibling(out, ".partial")
}

/// `path` with `suffix` appended to its last component (`OUT` → `OUT.partial`).
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

/// Quotes a text field when it holds a comma, a quote or a line break.
pub fn csv_text(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// A per-run result table without its wall-clock (`_s`) columns: what must be identical between
/// two runs of the same config. (Per-run tables quote no field that holds a comma but class
/// names, and `classes.csv` has no `_s` column.)
pub fn without_timing(csv: &str) -> String {
    let mut lines = csv.lines();
    let Some(header) = lines.next() else {
        return String::new();
    };
    let names: Vec<&str> = header.split(',').collect();
    let keep: Vec<usize> = (0..names.len())
        .filter(|&i| !names[i].ends_with("_s"))
        .collect();
    let pick = |line: &str| {
        let fields: Vec<&str> = line.split(',').collect();
        keep.iter()
            .filter_map(|&i| fields.get(i).copied())
            .collect::<Vec<_>>()
            .join(",")
    };
    std::iter::once(pick(header))
        .chain(lines.map(pick))
        .map(|l| l + "\n")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_columns_are_dropped_by_name() {
        let csv = "round,train_s,test_accuracy\n1,0.5,0.9\n";
        assert_eq!(without_timing(csv), "round,test_accuracy\n1,0.9\n");
    }

    #[test]
    fn text_fields_are_quoted_when_needed() {
        assert_eq!(csv_text("normal"), "normal");
        assert_eq!(csv_text("a, b"), "\"a, b\"");
        assert_eq!(csv_text("say \"x\""), "\"say \"\"x\"\"\"");
    }

    #[test]
    fn an_atomic_write_replaces_the_file_and_names_a_bad_path() {
        let dir = std::env::temp_dir().join(format!("securefl-results-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("t.csv");
        write_atomic(&file, b"a\n").unwrap();
        write_atomic(&file, b"b\n").unwrap();
        assert_eq!(fs::read_to_string(&file).unwrap(), "b\n");
        assert!(!dir.join("t.csv.tmp").exists());
        let err = write_atomic(&dir.join("missing/t.csv"), b"x").unwrap_err();
        assert!(err.to_string().contains("missing/t.csv.tmp"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(partial_path(Path::new("/r/x")), Path::new("/r/x.partial"));
    }
}
