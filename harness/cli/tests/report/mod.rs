//! `securefl report` on a real sweep: every figure it has input for, as SVG and PNG, and the
//! booktabs table whose numbers are summary.csv's.

use std::path::Path;
use std::process::Command;

use super::{BIN, real_data_dir};

/// Krum (verdicts and scores) against FedAvg, at two validator counts under PBFT.
const SPEC: &str = r#"securefl-sweep = 1
name = "report"

[base]
securefl = 1
seed = 3
federation = { hospitals = 5, rounds = 2 }
dataset = { kind = "medmnist", flag = "pneumoniamnist" }
model = { arch = "paper-cnn" }
train = { local-epochs = 1, batch-size = 64, optimizer = { kind = "adam", lr = 0.001 } }
adversary = { fraction = 0.2 }
attack = { kind = "sign-flip", scale = 4.0 }
consensus = { kind = "pbft" }

[sweep]
defense = [{ kind = "fedavg" }, { kind = "krum", f = 1 }]
"federation.validators" = [4, 5]
"#;

fn securefl(args: &[&std::ffi::OsStr], data: &Path) -> String {
    let o = Command::new(BIN)
        .args(args)
        .env("SECUREFL_DATA", data)
        .env("SECUREFL_OFFLINE", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_report_draws_every_figure_and_the_summary_table() {
    let Some(real) = real_data_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (spec, out) = (dir.path().join("spec.toml"), dir.path().join("out"));
    std::fs::write(&spec, SPEC).unwrap();
    securefl(
        &[
            "sweep".as_ref(),
            spec.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ],
        &real,
    );
    let stdout = securefl(&["report".as_ref(), out.as_os_str()], &real);
    let skipped: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("skipped"))
        .collect();
    assert_eq!(
        skipped,
        [
            "skipped inference-time: no encrypted verification in the sweep",
            "skipped claims: no fedavg and smpc-verify under attack in the sweep"
        ]
    );
    let report = out.join("report");
    for stem in [
        "fig2-all-test-accuracy",
        "fig2-all-train-loss",
        "fig3-all-final-accuracy",
        "fig4-all-krum-f-1-4-status",
        "fig5-all-status-ratio",
        "roc-all",
        "consensus-latency",
        "consensus-messages",
    ] {
        let png = std::fs::read(report.join(format!("{stem}.png"))).unwrap();
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 5000,
            "{stem}.png"
        );
        let svg = std::fs::read_to_string(report.join(format!("{stem}.svg"))).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("<text"),
            "{stem}.svg"
        );
    }
    let caption = std::fs::read_to_string(report.join("fig3-all-final-accuracy.txt")).unwrap();
    assert!(
        caption.contains("95% percentile bootstrap CI") && caption.contains("at least 3 seeds"),
        "{caption}"
    );
    let tex = std::fs::read_to_string(report.join("table-summary.tex")).unwrap();
    assert!(
        tex.contains("\\toprule") && tex.contains("\\bottomrule"),
        "{tex}"
    );
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let krum = summary
        .lines()
        .find(|l| l.contains("krum") && l.contains(",4,") && l.contains(",test_accuracy,"))
        .unwrap();
    let mean: f64 = krum.split(',').rev().nth(3).unwrap().parse().unwrap();
    assert!(
        tex.contains(&format!("& 4 & plaintext & own & {mean:.3}")),
        "{tex}\n{krum}"
    );
    let o = Command::new(BIN)
        .arg("report")
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no cells.csv: not a sweep folder") && stderr.lines().count() == 1,
        "{stderr}"
    );
}
