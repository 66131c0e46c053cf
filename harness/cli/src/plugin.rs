//! `securefl plugin check PATH`: the ABI verdict and the manifest of a plugin library.

use std::io::Write;
use std::path::Path;

use securefl_abi::{ABI_MAJOR, ABI_MINOR};

use crate::Failure;

/// Loads the library as a plugin and prints what it says about itself; a library that is not
/// a plugin or speaks another ABI is bad input (exit 2) with one line naming it.
pub fn check(path: &Path) -> Result<(), Failure> {
    let lib = securefl_abi::host::inspect(path).map_err(Failure::input)?;
    let (major, minor) = lib.abi();
    let m = lib.manifest();
    let mut lines = vec![
        ("library", lib.path().display().to_string()),
        ("sha256", lib.sha256().to_owned()),
        (
            "abi",
            format!("{major}.{minor}, compatible with this securefl (ABI {ABI_MAJOR}.{ABI_MINOR})"),
        ),
        ("kind", m.kind.clone()),
        ("name", m.info.name.clone()),
        ("version", m.info.version.clone()),
        ("summary", m.info.summary.clone()),
    ];
    if let Some(c) = &m.info.citation {
        lines.push(("citation", c.clone()));
    }
    let mut out = std::io::stdout().lock();
    for (key, value) in lines {
        writeln!(out, "{key:<9} {value}").map_err(Failure::run)?;
    }
    Ok(())
}
