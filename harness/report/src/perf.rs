//! Performance figures from a sweep's tables: consensus latency and messages against the
//! number of validators, and encrypted against plain inference time per SMPC protocol.

use std::collections::BTreeMap;
use std::path::Path;

use crate::chart::{self, Bar, Series};
use crate::data::{Sweep, mean};
use crate::{ReportError, Written, both};

/// Latencies (ms) and message counts of one protocol at one validator count.
type Samples = (Vec<f64>, Vec<f64>);

/// Consensus latency and messages per round against the number of validators, per protocol.
pub fn consensus(s: &Sweep, out: &Path, w: &mut Written) -> Result<(), ReportError> {
    const AXIS: &str = "federation.validators";
    if !s.axes.iter().any(|a| a == AXIS) {
        w.skipped.push((
            "consensus".into(),
            format!("the sweep has no `{AXIS}` axis"),
        ));
        return Ok(());
    }
    let r = &s.rounds;
    let mut by: BTreeMap<String, BTreeMap<u64, Samples>> = BTreeMap::new();
    for cell in s.done() {
        let Ok(n) = s.axis(&cell, AXIS).parse::<u64>() else {
            continue;
        };
        let entry = by
            .entry(s.label(&cell, &[AXIS]))
            .or_default()
            .entry(n)
            .or_default();
        for row in Sweep::rows_of(r, &cell).filter(|row| r.num(row, "round").unwrap_or(0.0) >= 1.0)
        {
            entry
                .0
                .extend(r.num(row, "consensus_latency_us").map(|us| us / 1000.0));
            entry.1.extend(r.num(row, "consensus_messages"));
        }
    }
    let series = |pick: fn(&Samples) -> &Vec<f64>| -> Vec<Series> {
        by.iter()
            .map(|(label, points)| Series {
                name: label.clone(),
                points: points
                    .iter()
                    .filter_map(|(n, v)| Some((*n as f64, mean(pick(v))?)))
                    .collect(),
            })
            .collect()
    };
    let (lat, msgs) = (series(|v| &v.0), series(|v| &v.1));
    for (name, title, y, series) in [
        (
            "consensus-latency",
            "consensus latency per round",
            "latency (ms, simulated)",
            &lat,
        ),
        (
            "consensus-messages",
            "consensus messages per round",
            "messages",
            &msgs,
        ),
    ] {
        let stem = out.join(name);
        w.files.extend(both!(&stem, |a| chart::lines(
            a,
            title,
            ("validators", y),
            series
        ))?);
    }
    Ok(())
}

/// Encrypted verification time per validation image against plain inference time per test
/// image, per SMPC protocol (the rows' `threat_smpc`), from the runs' timing columns.
pub fn inference(s: &Sweep, out: &Path, w: &mut Written) -> Result<(), ReportError> {
    let dir = out.parent().unwrap_or(out);
    let mut by: BTreeMap<String, Samples> = BTreeMap::new();
    for cell in s.done() {
        let (val, test) =
            crate::claims::split_sizes(&dir.join("cells").join(&cell).join("manifest.toml"))?;
        let protocol = s.field(&cell, "threat_smpc");
        let entry = by.entry(protocol).or_default();
        let c = &s.clients;
        for r in Sweep::rows_of(c, &cell) {
            entry.0.extend(
                c.num(r, "verify_compute_s")
                    .filter(|v| *v > 0.0)
                    .map(|v| v / val * 1e3),
            );
        }
        let rt = &s.rounds;
        for r in Sweep::rows_of(rt, &cell) {
            entry.1.extend(
                rt.num(r, "eval_s")
                    .filter(|v| *v > 0.0)
                    .map(|v| v / test * 1e3),
            );
        }
    }
    let mut bars = Vec::new();
    for (protocol, (enc, plain)) in &by {
        if let (Some(e), Some(p)) = (mean(enc), mean(plain)) {
            bars.push(Bar {
                label: format!("{protocol}: encrypted ({:.1}x)", e / p),
                value: e,
                interval: None,
            });
            bars.push(Bar {
                label: format!("{protocol}: plain"),
                value: p,
                interval: None,
            });
        }
    }
    if bars.is_empty() {
        w.skipped.push((
            "inference-time".into(),
            "no encrypted verification in the sweep".into(),
        ));
        return Ok(());
    }
    let stem = out.join("inference-time");
    let title = "encrypted verification vs plain inference, per image (timing columns)";
    w.files.extend(both!(&stem, |a| chart::bars(
        a,
        title,
        "ms per image",
        &bars
    ))?);
    Ok(())
}
