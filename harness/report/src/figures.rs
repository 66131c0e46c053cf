//! The figures: training and test curves (the paper's Fig. 2), final accuracy with confidence
//! intervals (Fig. 3), per-round per-hospital poisoning status (Fig. 4), verdict ratios
//! (Fig. 5) and the detection ROC over the acceptance threshold; the performance figures are
//! in [`crate::perf`].

use std::collections::BTreeMap;
use std::path::Path;

use plotters::style::RGBColor;

use crate::chart::{self, Bar, Series, Stack};
use crate::data::{DATASET, Groups, Sweep, mean, short, slug};
use crate::{ReportError, Written, both};

/// Every figure the tables give input for.
pub fn all(s: &Sweep, out: &Path) -> Result<Written, ReportError> {
    let mut w = Written::default();
    for (tag, dataset, groups) in s.by_dataset() {
        curves(s, out, &tag, &groups, &mut w)?;
        accuracy(s, out, &tag, &dataset, &groups, &mut w)?;
        status(s, out, &tag, &groups, &mut w)?;
        roc(s, out, &tag, &groups, &mut w)?;
    }
    crate::perf::consensus(s, out, &mut w)?;
    crate::perf::inference(s, out, &mut w)?;
    Ok(w)
}

/// Per round: mean test accuracy and mean honest training loss, per group, over seeds.
fn curves(
    s: &Sweep,
    out: &Path,
    tag: &str,
    groups: &Groups,
    w: &mut Written,
) -> Result<(), ReportError> {
    let per_round = |cells: &[String], pick: &dyn Fn(&str) -> BTreeMap<u64, Vec<f64>>| {
        let mut acc: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
        for c in cells {
            for (r, v) in pick(c) {
                acc.entry(r).or_default().push(mean(&v).unwrap_or(f64::NAN));
            }
        }
        acc.into_iter()
            .filter_map(|(r, v)| mean(&v).map(|m| (r as f64, m)))
            .collect::<Vec<_>>()
    };
    let test = |cell: &str| -> BTreeMap<u64, Vec<f64>> {
        Sweep::rows_of(&s.rounds, cell)
            .filter_map(|r| {
                Some((
                    s.rounds.num(r, "round")? as u64,
                    vec![s.rounds.num(r, "test_accuracy")?],
                ))
            })
            .collect()
    };
    let train = |cell: &str| -> BTreeMap<u64, Vec<f64>> {
        let mut m: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
        for r in
            Sweep::rows_of(&s.clients, cell).filter(|r| s.clients.get(r, "malicious") == "false")
        {
            if let (Some(round), Some(loss)) =
                (s.clients.num(r, "round"), s.clients.num(r, "train_loss"))
            {
                m.entry(round as u64).or_default().push(loss);
            }
        }
        m
    };
    let series = |pick: &dyn Fn(&str) -> BTreeMap<u64, Vec<f64>>| -> Vec<Series> {
        groups
            .iter()
            .map(|(label, cells)| Series {
                name: label.clone(),
                points: per_round(cells, pick),
            })
            .collect()
    };
    let (acc, loss) = (series(&test), series(&train));
    let title = |what: &str| format!("{what} — {tag}");
    let stem = out.join(format!("fig2-{tag}-test-accuracy"));
    w.files.extend(both!(&stem, |a| chart::lines(
        a,
        &title("test accuracy"),
        ("round", "test accuracy"),
        &acc
    ))?);
    let stem = out.join(format!("fig2-{tag}-train-loss"));
    w.files.extend(both!(&stem, |a| chart::lines(
        a,
        &title("honest training loss"),
        ("round", "mean loss"),
        &loss
    ))?);
    Ok(())
}

/// The fewest seeds a confidence interval is drawn from.
pub const MIN_CI_SEEDS: usize = 3;

/// The seeds' values of a group of `n < 3` seeds, from its mean and sample standard deviation
/// (exact: one seed is the mean; two are `mean ± std/√2`), to three decimals.
fn seed_values(mean: f64, std: Option<f64>, n: usize) -> String {
    match (n, std) {
        (2, Some(sd)) => {
            let half = sd / std::f64::consts::SQRT_2;
            format!("{:.3}, {:.3}", mean - half, mean + half)
        }
        _ => format!("{mean:.3}"),
    }
}

/// Final test accuracy per group with its bootstrap CI, from `summary.csv` (the rows of this
/// dataset whose group is one of `groups`).
fn accuracy(
    s: &Sweep,
    out: &Path,
    tag: &str,
    dataset: &str,
    groups: &Groups,
    w: &mut Written,
) -> Result<(), ReportError> {
    let t = &s.summary;
    let bars: Vec<Bar> = t
        .rows
        .iter()
        .filter(|r| t.get(r, "metric") == "test_accuracy")
        .filter(|r| dataset.is_empty() || t.get(r, DATASET) == dataset)
        .filter_map(|r| {
            let parts: Vec<String> = s
                .axes
                .iter()
                .filter(|a| a.as_str() != "seed" && a.as_str() != DATASET)
                .map(|a| short(t.get(r, a)))
                .filter(|v| !v.is_empty())
                .collect();
            let label = if parts.is_empty() {
                "all".to_owned()
            } else {
                parts.join(" · ")
            };
            groups.iter().any(|(l, _)| *l == label).then_some(())?;
            let mean = t.num(r, "mean")?;
            let n = t.num(r, "n").unwrap_or(0.0) as usize;
            let (label, interval) = if n >= MIN_CI_SEEDS {
                (label, t.num(r, "ci95_low").zip(t.num(r, "ci95_high")))
            } else {
                let seeds = seed_values(mean, t.num(r, "std"), n);
                (format!("{label} (n={n}: {seeds})"), None)
            };
            Some(Bar {
                label,
                value: mean,
                interval,
            })
        })
        .collect();
    if bars.is_empty() {
        w.skipped.push((
            format!("fig3-{tag}"),
            "no test_accuracy in summary.csv".into(),
        ));
        return Ok(());
    }
    let stem = out.join(format!("fig3-{tag}-final-accuracy"));
    let title = format!("final test accuracy over seeds — {tag}");
    let caption = format!(
        "Final test accuracy ({tag}): the mean over seeds; error bars are the 95% percentile \
         bootstrap CI of that mean (2,000 resamples from a stream seeded by the group and metric \
         names), drawn only for groups of at least {MIN_CI_SEEDS} seeds. A group with fewer shows \
         its mean without an interval, and its label lists n and each seed's value.\n"
    );
    let caption_path = stem.with_extension("txt");
    crate::write(&caption_path, caption)?;
    w.files.push(caption_path);
    w.files.extend(both!(&stem, |a| chart::bars(
        a,
        &title,
        "test accuracy",
        &bars
    ))?);
    Ok(())
}

const STATUS: [(&str, RGBColor); 5] = [
    ("honest accepted", RGBColor(200, 200, 200)),
    ("honest rejected", RGBColor(255, 160, 40)),
    ("malicious rejected", RGBColor(44, 160, 44)),
    ("malicious accepted", RGBColor(214, 39, 40)),
    ("no verdict", RGBColor(245, 245, 245)),
];

fn status_of(malicious: bool, verdict: &str) -> usize {
    match (malicious, verdict) {
        (false, "accepted") => 0,
        (false, "rejected") => 1,
        (true, "rejected") => 2,
        (true, "accepted") => 3,
        _ => 4,
    }
}

/// Fig. 4 for the first seed of every group with verdicts, and Fig. 5 over all its cells.
fn status(
    s: &Sweep,
    out: &Path,
    tag: &str,
    groups: &Groups,
    w: &mut Written,
) -> Result<(), ReportError> {
    let c = &s.clients;
    let mut stacks = Vec::new();
    for (label, cells) in groups {
        let judged = |cell: &str| Sweep::rows_of(c, cell).any(|r| c.get(r, "verdict") != "n/a");
        let Some(first) = cells.iter().find(|cell| judged(cell)) else {
            continue;
        };
        let mut grid: BTreeMap<u64, BTreeMap<u64, usize>> = BTreeMap::new();
        for r in Sweep::rows_of(c, first) {
            let (Some(round), Some(h)) = (c.num(r, "round"), c.num(r, "hospital")) else {
                continue;
            };
            let k = status_of(c.get(r, "malicious") == "true", c.get(r, "verdict"));
            grid.entry(h as u64).or_default().insert(round as u64, k);
        }
        let cells_grid: Vec<Vec<usize>> = grid
            .values()
            .map(|row| row.values().copied().collect())
            .collect();
        let stem = out.join(format!("fig4-{tag}-{}-status", slug(label)));
        let title = format!("verdict vs truth per round and hospital — {label}");
        w.files.extend(both!(&stem, |a| chart::grid(
            a,
            &title,
            ("round", "hospital"),
            &cells_grid,
            &STATUS
        ))?);
        let mut parts = vec![0.0; 4];
        for cell in cells {
            for r in Sweep::rows_of(c, cell) {
                let k = status_of(c.get(r, "malicious") == "true", c.get(r, "verdict"));
                if k < 4 {
                    parts[[3, 2, 1, 0][k]] += 1.0;
                }
            }
        }
        stacks.push(Stack {
            label: label.clone(),
            parts,
        });
    }
    if stacks.is_empty() {
        w.skipped.push((
            format!("fig4/fig5-{tag}"),
            "no defense in the sweep gives verdicts".into(),
        ));
        return Ok(());
    }
    let names = [
        "malicious accepted",
        "malicious rejected",
        "honest rejected",
        "honest accepted",
    ];
    let colours = [STATUS[3].1, STATUS[2].1, STATUS[1].1, STATUS[0].1];
    let stem = out.join(format!("fig5-{tag}-status-ratio"));
    let title = format!("verdict outcomes over all rounds and seeds — {tag}");
    w.files.extend(both!(&stem, |a| chart::stacks(
        a, &title, &names, &colours, &stacks
    ))?);
    Ok(())
}

/// ROC of each group's verification scores, pooled over rounds and seeds, with its AUC in the
/// legend. Scores mean different things to different defenses (validation accuracy for
/// `smpc-verify`, where low is suspicious; a distance score for Krum, where high is), so each
/// group is oriented by its own decisions: the end where its rejected updates lie on average
/// is the flagged end.
fn roc(
    s: &Sweep,
    out: &Path,
    tag: &str,
    groups: &Groups,
    w: &mut Written,
) -> Result<(), ReportError> {
    let c = &s.clients;
    let mut series = Vec::new();
    for (label, cells) in groups {
        let rows: Vec<(f64, bool, bool)> = cells
            .iter()
            .flat_map(|cell| Sweep::rows_of(c, cell))
            .filter_map(|r| {
                let score = c.num(r, "verify_score")?;
                Some((
                    score,
                    c.get(r, "malicious") == "true",
                    c.get(r, "verdict") == "rejected",
                ))
            })
            .collect();
        let mean_of = |rejected: bool| {
            mean(
                &rows
                    .iter()
                    .filter(|r| r.2 == rejected)
                    .map(|r| r.0)
                    .collect::<Vec<_>>(),
            )
        };
        let sign = match (mean_of(true), mean_of(false)) {
            (Some(rej), Some(acc)) if rej > acc => -1.0,
            _ => 1.0,
        };
        let scored: Vec<(f64, bool)> = rows.iter().map(|r| (sign * r.0, r.1)).collect();
        let (pos, neg) = scored.iter().fold(
            (0, 0),
            |(p, n), (_, m)| if *m { (p + 1, n) } else { (p, n + 1) },
        );
        if pos == 0 || neg == 0 {
            continue;
        }
        let points = roc_points(&scored, pos as f64, neg as f64);
        let auc = points
            .windows(2)
            .map(|p| (p[1].0 - p[0].0) * (p[1].1 + p[0].1) / 2.0)
            .sum::<f64>();
        series.push(Series {
            name: format!("{label} (AUC {auc:.3})"),
            points,
        });
    }
    if series.is_empty() {
        w.skipped.push((
            format!("roc-{tag}"),
            "no verification scores with both honest and malicious updates".into(),
        ));
        return Ok(());
    }
    let stem = out.join(format!("roc-{tag}"));
    let title = format!("detection ROC as the acceptance threshold varies — {tag}");
    w.files.extend(both!(&stem, |a| chart::lines(
        a,
        &title,
        ("false positive rate", "true positive rate"),
        &series
    ))?);
    Ok(())
}

/// `(FPR, TPR)` for every threshold, from (0, 0) to (1, 1).
pub fn roc_points(scored: &[(f64, bool)], pos: f64, neg: f64) -> Vec<(f64, f64)> {
    let mut sorted = scored.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut points = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0.0, 0.0);
    for (i, (score, malicious)) in sorted.iter().enumerate() {
        if *malicious {
            tp += 1.0
        } else {
            fp += 1.0
        }
        if sorted.get(i + 1).is_none_or(|next| next.0 != *score) {
            points.push((fp / neg, tp / pos));
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fewer_than_three_seeds_show_their_values_not_an_interval() {
        // Two seeds 0.70 and 0.80: mean 0.75, sample std 0.0707.
        let sd = (2.0f64 * 0.05 * 0.05).sqrt();
        assert_eq!(seed_values(0.75, Some(sd), 2), "0.700, 0.800");
        assert_eq!(seed_values(0.75, None, 1), "0.750");
    }

    #[test]
    fn roc_of_a_perfect_and_a_useless_score() {
        let perfect = [(0.1, true), (0.2, true), (0.8, false), (0.9, false)];
        let p = roc_points(&perfect, 2.0, 2.0);
        assert_eq!(
            p,
            vec![(0.0, 0.0), (0.0, 0.5), (0.0, 1.0), (0.5, 1.0), (1.0, 1.0)]
        );
        let tied = [(0.5, true), (0.5, false)];
        assert_eq!(roc_points(&tied, 1.0, 1.0), vec![(0.0, 0.0), (1.0, 1.0)]);
    }
}
