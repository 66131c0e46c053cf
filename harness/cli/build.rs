//! Records the compiler's version and the source's git commit for the run manifest.

use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = output(Command::new(rustc).arg("-V")).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=SECUREFL_RUSTC_VERSION={version}");
    let commit =
        output(Command::new("git").args(["rev-parse", "HEAD"])).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=SECUREFL_GIT_COMMIT={commit}");
    // Tracked files that differ from the commit (untracked files are ignored).
    let dirty = output(Command::new("git").args(["status", "--porcelain", "--untracked-files=no"]))
        .is_some_and(|s| !s.is_empty());
    println!("cargo:rustc-env=SECUREFL_GIT_DIRTY={dirty}");
    for path in ["../../.git/HEAD", "../../.git/index", "../../.git/refs"] {
        println!("cargo:rerun-if-changed={path}");
    }
    println!("cargo:rerun-if-env-changed=RUSTC");
}

/// Trimmed stdout of a command that succeeded.
fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok().filter(|o| o.status.success())?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
