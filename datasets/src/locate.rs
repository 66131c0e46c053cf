//! Finding `<flag>.npz`: `$SECUREFL_DATA` directories, then the cache, then (if allowed) Zenodo.
//!
//! Downloads go to `<cache>/<flag>.npz.part` while their md5 is computed, and are renamed into
//! place only when the md5 is the official one, so the cache never holds a bad file.

use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use md5::{Digest, Md5};
use securefl_api::{DataCtx, PluginError};

/// The MedMNIST v3 Zenodo record the official files are downloaded from.
pub const ZENODO_RECORD: &str = "https://zenodo.org/records/10519652/files";

/// The download address of `<flag>.npz` (28x28).
pub fn download_url(flag: &str) -> String {
    format!("{ZENODO_RECORD}/{flag}.npz?download=1")
}

/// A [`DataCtx`] from the environment.
///
/// `search_dirs`: `$SECUREFL_DATA`, colon-separated; a relative entry is resolved against
/// `$SECUREFL_ROOT` when that is set (cargo sets it to the workspace root for `cargo run`,
/// `cargo test` and `cargo bench`, which run inside package folders), else kept as given.
/// `cache_dir`: `$SECUREFL_CACHE`, else `$XDG_CACHE_HOME/securefl/medmnist`, else
/// `$HOME/.cache/securefl/medmnist`.
/// `allow_download`: true unless `$SECUREFL_OFFLINE` is set to something other than `0`.
pub fn data_ctx_from_env(progress: bool) -> DataCtx {
    data_ctx_from(|key| std::env::var_os(key), progress)
}

/// [`data_ctx_from_env`] with the environment given as a lookup function.
pub fn data_ctx_from(env: impl Fn(&str) -> Option<OsString>, progress: bool) -> DataCtx {
    let root = env("SECUREFL_ROOT")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let search_dirs = env("SECUREFL_DATA")
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .map(|p| match &root {
                    Some(root) if p.is_relative() => root.join(p),
                    _ => p,
                })
                .collect()
        })
        .unwrap_or_default();
    let nonempty = |key: &str| env(key).filter(|v| !v.is_empty()).map(PathBuf::from);
    let cache_dir = nonempty("SECUREFL_CACHE")
        .or_else(|| nonempty("XDG_CACHE_HOME").map(|p| p.join("securefl").join("medmnist")))
        .or_else(|| nonempty("HOME").map(|p| p.join(".cache").join("securefl").join("medmnist")))
        .unwrap_or_else(|| PathBuf::from(".cache/securefl/medmnist"));
    let allow_download = env("SECUREFL_OFFLINE").is_none_or(|v| v == "0");
    DataCtx {
        search_dirs,
        cache_dir,
        allow_download,
        progress,
    }
}

/// The path of `<flag>.npz`: the first search dir holding it, else the cache, else a download.
///
/// `md5` is the official checksum, used to verify a download and quoted in errors.
pub fn locate(flag: &str, md5: &str, ctx: &DataCtx) -> Result<PathBuf, PluginError> {
    let name = format!("{flag}.npz");
    let found = ctx
        .search_dirs
        .iter()
        .chain(std::iter::once(&ctx.cache_dir))
        .map(|d| d.join(&name))
        .find(|p| p.is_file());
    if let Some(path) = found {
        return Ok(path);
    }
    let place = format!(
        "{name} not found in $SECUREFL_DATA ({}) or the cache ({})",
        show_dirs(&ctx.search_dirs),
        ctx.cache_dir.display()
    );
    if !ctx.allow_download {
        return Err(PluginError::invalid(format!(
            "{place}; put the official file (md5 {md5}) there, or allow downloads (unset \
             SECUREFL_OFFLINE)"
        )));
    }
    let dest = ctx.cache_dir.join(&name);
    download(&download_url(flag), &dest, md5, ctx.progress).map_err(|e| {
        PluginError::failed(format!(
            "{place}, and downloading it failed ({e}); put the official file (md5 {md5}) there"
        ))
    })?;
    Ok(dest)
}

/// The search dirs, colon-separated, or `unset`.
fn show_dirs(dirs: &[PathBuf]) -> String {
    if dirs.is_empty() {
        return "unset".into();
    }
    let shown: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    shown.join(":")
}

/// Downloads `url` to `dest` through `dest.part`, keeping it only if its md5 is `md5`.
fn download(url: &str, dest: &Path, md5: &str, progress: bool) -> Result<(), String> {
    let dir = dest.parent().ok_or("bad cache path")?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let part = dest.with_extension("npz.part");
    let result = fetch(url, &part, progress).and_then(|got| {
        if got == md5 {
            std::fs::rename(&part, dest)
                .map_err(|e| format!("cannot rename {}: {e}", part.display()))
        } else {
            Err(format!("{url} gave md5 {got}, expected {md5}"))
        }
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result
}

/// Streams `url` into `part`, returning the md5 of what was written.
fn fetch(url: &str, part: &Path, progress: bool) -> Result<String, String> {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(15))
        .timeout_read(Duration::from_secs(60))
        .build();
    let response = agent.get(url).call().map_err(|e| e.to_string())?;
    let total = response
        .header("Content-Length")
        .and_then(|v| v.parse::<u64>().ok());
    let bar = progress_bar(total, progress);
    let mut reader = response.into_reader();
    let mut file =
        File::create(part).map_err(|e| format!("cannot write {}: {e}", part.display()))?;
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n])
            .map_err(|e| format!("cannot write {}: {e}", part.display()))?;
        bar.inc(n as u64);
    }
    file.sync_all()
        .map_err(|e| format!("cannot write {}: {e}", part.display()))?;
    bar.finish_and_clear();
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// A byte progress bar on stderr, or a hidden one.
fn progress_bar(total: Option<u64>, show: bool) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = match total {
        Some(t) => indicatif::ProgressBar::new(t),
        None => indicatif::ProgressBar::no_length(),
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message("downloading");
    bar
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn ctx_of(vars: &[(&str, &str)]) -> DataCtx {
        let map: BTreeMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        data_ctx_from(|k| map.get(k).cloned(), false)
    }

    #[test]
    fn relative_data_dirs_resolve_against_the_workspace_root() {
        let ctx = ctx_of(&[
            ("SECUREFL_DATA", "../data:/abs"),
            ("SECUREFL_ROOT", "/repo"),
        ]);
        assert_eq!(
            ctx.search_dirs,
            [PathBuf::from("/repo/../data"), PathBuf::from("/abs")]
        );
        let ctx = ctx_of(&[("SECUREFL_DATA", "../data")]);
        assert_eq!(ctx.search_dirs, [PathBuf::from("../data")]);
    }

    #[test]
    fn env_builds_the_context() {
        let c = ctx_of(&[("SECUREFL_DATA", "/a/b:rel/dir"), ("HOME", "/h")]);
        assert_eq!(
            c.search_dirs,
            [PathBuf::from("/a/b"), PathBuf::from("rel/dir")]
        );
        assert_eq!(c.cache_dir, PathBuf::from("/h/.cache/securefl/medmnist"));
        assert!(c.allow_download);
        let c = ctx_of(&[
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
            ("SECUREFL_OFFLINE", "1"),
        ]);
        assert!(c.search_dirs.is_empty());
        assert_eq!(c.cache_dir, PathBuf::from("/x/securefl/medmnist"));
        assert!(!c.allow_download);
        let c = ctx_of(&[
            ("SECUREFL_CACHE", "/c"),
            ("XDG_CACHE_HOME", "/x"),
            ("SECUREFL_OFFLINE", "0"),
        ]);
        assert_eq!(c.cache_dir, PathBuf::from("/c"));
        assert!(c.allow_download);
    }

    #[test]
    fn finds_the_first_dir_holding_the_file() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        std::fs::write(b.path().join("x.npz"), b"1").unwrap();
        let ctx = DataCtx {
            search_dirs: vec![a.path().into(), b.path().into()],
            cache_dir: a.path().join("cache"),
            allow_download: false,
            progress: false,
        };
        assert_eq!(locate("x", "m", &ctx).unwrap(), b.path().join("x.npz"));
        std::fs::create_dir(a.path().join("cache")).unwrap();
        std::fs::write(a.path().join("cache/y.npz"), b"1").unwrap();
        assert_eq!(
            locate("y", "m", &ctx).unwrap(),
            a.path().join("cache/y.npz")
        );
    }

    #[test]
    fn offline_miss_says_where_to_put_the_file() {
        let ctx = DataCtx {
            search_dirs: vec!["/nonexistent/a".into(), "/nonexistent/b".into()],
            cache_dir: "/nonexistent/c".into(),
            allow_download: false,
            progress: false,
        };
        let e = locate("pneumoniamnist", "28209eda62fecd6e6a2d98b1501bb15f", &ctx)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "pneumoniamnist.npz not found in $SECUREFL_DATA (/nonexistent/a:/nonexistent/b) or \
             the cache (/nonexistent/c); put the official file (md5 \
             28209eda62fecd6e6a2d98b1501bb15f) there, or allow downloads (unset SECUREFL_OFFLINE)"
        );
        assert!(!e.contains('\n'));
    }

    #[test]
    fn failed_download_is_one_line_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("x.npz");
        // Port 9 on localhost: refused at once, no outside network needed.
        let e = download("http://127.0.0.1:9/x.npz", &dest, "m", false).unwrap_err();
        assert!(!e.contains('\n'), "{e}");
        assert!(!dest.exists() && !dir.path().join("x.npz.part").exists());
    }
}
