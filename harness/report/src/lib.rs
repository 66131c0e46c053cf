//! `securefl report`: figures (SVG and PNG, plotters) and booktabs LaTeX tables from a sweep
//! folder's merged tables (`cells.csv`, `rounds.csv`, `clients.csv`, `summary.csv`).
//!
//! Every figure is drawn from the tables alone, so a report can be regenerated anywhere the
//! folder is copied to. PNG text uses the bundled DejaVu Sans (`fonts/`, Bitstream Vera
//! licence), so PNGs do not depend on the machine's fonts. Figures whose inputs a sweep lacks
//! (no verdicts, no verification scores, no validator axis) are skipped and listed as such.

pub mod chart;
pub mod claims;
pub mod data;
pub mod figures;
pub mod latex;
pub mod perf;
pub mod results;
pub mod table;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Once;

/// A report that could not be made: the file at fault and the problem, on one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ReportError {
    /// The file.
    pub path: PathBuf,
    /// The problem.
    pub message: String,
}

impl ReportError {
    /// An error about `path`.
    pub fn new(path: &Path, message: &str) -> Self {
        Self {
            path: path.to_owned(),
            message: message.replace('\n', " "),
        }
    }

    /// An IO error about `path`.
    pub fn io(path: &Path, e: &std::io::Error) -> Self {
        Self::new(path, &e.to_string())
    }
}

/// Writes a report file atomically (the result contract's [`securefl_results::write_atomic`]),
/// so that a README or table is never left half-written.
pub(crate) fn write(path: &Path, bytes: impl AsRef<[u8]>) -> Result<(), ReportError> {
    securefl_results::write_atomic(path, bytes.as_ref())
        .map_err(|e| ReportError::io(&e.path, &e.source))
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

/// What a report wrote and what it skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// Files written.
    pub files: Vec<PathBuf>,
    /// `(figure, reason)` for each figure the tables give no input for.
    pub skipped: Vec<(String, String)>,
}

fn register_font() {
    static FONT: Once = Once::new();
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../fonts/DejaVuSans.ttf");
        let _ =
            plotters::style::register_font("sans-serif", plotters::style::FontStyle::Normal, bytes);
    });
}

/// Where the claims block goes: a Markdown file and the name of its markers (`claims` for
/// `<!-- claims:begin -->` … `<!-- claims:end -->`).
#[derive(Debug, Clone, Copy)]
pub struct ClaimsInto<'a> {
    /// The Markdown file.
    pub file: &'a Path,
    /// The markers' name.
    pub block: &'a str,
}

/// Writes the report of the sweep folder `dir` into `dir/report/`, the claims block into
/// `claims_into` and the results table (`results.md`) into `tables_into` (each between its
/// file's `<!-- NAME:begin -->` and `<!-- NAME:end -->` markers) when given.
pub fn report(
    dir: &Path,
    claims_into: Option<ClaimsInto<'_>>,
    tables_into: Option<ClaimsInto<'_>>,
) -> Result<Written, ReportError> {
    register_font();
    let sweep = data::Sweep::read(dir)?;
    let out = dir.join("report");
    std::fs::create_dir_all(&out).map_err(|e| ReportError::io(&out, &e))?;
    let mut written = figures::all(&sweep, &out)?;
    written.files.extend(latex::all(&sweep, &out)?);
    match claims::block(&sweep, dir)? {
        Some(block) => {
            let path = out.join("claims.md");
            write(&path, &block)?;
            written.files.push(path);
            if let Some(into) = claims_into {
                claims::splice(into.file, into.block, &block)?;
                written.files.push(into.file.to_owned());
            }
        }
        None => written.skipped.push((
            "claims".into(),
            "no fedavg and smpc-verify under attack in the sweep".into(),
        )),
    }
    if let Some(md) = results::table(&sweep, &results::Base::read(&sweep, dir)) {
        let path = out.join("results.md");
        write(&path, &md)?;
        written.files.push(path);
        if let Some(into) = tables_into {
            claims::splice(into.file, into.block, &md)?;
            written.files.push(into.file.to_owned());
        }
    }
    Ok(written)
}
