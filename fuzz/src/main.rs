//! `securefl-fuzz [TARGET...] [--inputs N] [--seed S]`: runs the seeded mutation loop on each
//! target (default: all) and prints one line per target; exit 1 when any input panicked, with
//! the first such input written to `fuzz-<target>.crash`.

use std::io::Write as _;
use std::process::ExitCode;

use securefl_fuzz::{Target, fuzz};

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<bool, String> {
    let (mut inputs, mut seed, mut targets) = (100_000u64, 1u64, Vec::new());
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut number = |flag: &str| -> Result<u64, String> {
            let v = it.next().ok_or(format!("{flag} needs a number"))?;
            v.parse()
                .map_err(|_| format!("{flag}: {v:?} is not a number"))
        };
        match a.as_str() {
            "--inputs" => inputs = number("--inputs")?,
            "--seed" => seed = number("--seed")?,
            name => targets.push(Target::from_name(name).ok_or_else(|| {
                let known: Vec<&str> = Target::ALL.iter().map(|t| t.name()).collect();
                format!("unknown target {name:?} (known: {})", known.join(", "))
            })?),
        }
    }
    if targets.is_empty() {
        targets = Target::ALL.to_vec();
    }
    let mut clean = true;
    let mut out = std::io::stdout().lock();
    let fail = |e: std::io::Error| e.to_string();
    for t in targets {
        let start = std::time::Instant::now();
        let r = fuzz(t, seed, inputs)?;
        writeln!(
            out,
            "{}: {} inputs, seed {seed}, {} accepted, {} panics, {:.1} s",
            r.target,
            r.inputs,
            r.accepted,
            r.panics,
            start.elapsed().as_secs_f64()
        )
        .map_err(fail)?;
        if let Some((input, msg)) = r.first_panic {
            let file = format!("fuzz-{}.crash", r.target);
            std::fs::write(&file, input).map_err(|e| format!("{file}: {e}"))?;
            writeln!(out, "  first panic ({file}): {msg}").map_err(fail)?;
            clean = false;
        }
    }
    Ok(clean)
}
