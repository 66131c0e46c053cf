//! The paper's three claims, checked against a sweep: `claims.md`, and the same block spliced
//! into a README between `<!-- claims:begin -->` and `<!-- claims:end -->` on request.
//!
//! 1. *All poisoned models are removed*: for every dataset and attack, `smpc-verify`'s mean
//!    TPR over seeds; passes when the smallest is at least 0.99 (with the FPR beside it).
//! 2. *Global accuracy improves by up to 25%*: for every dataset and attack, final accuracy
//!    under `smpc-verify` minus under `fedavg`, in points; passes when the largest gain is at
//!    least 25 points.
//!
//! A (dataset, attack) whose `smpc-verify` or `fedavg` cells include a degenerate one (summary
//! metric `degenerate`: final balanced accuracy within 0.02 of chance, a constant predictor) is
//! left out of claims 1 and 2, and a note under the table names it with its share of seeds: a
//! gain over a collapsed baseline, or a detection rate of a model that predicts one class, is
//! not the claim.
//! 3. *Verification stays close to plain inference*: encrypted verification time per
//!    validation image (`verify_compute_s`) over plain inference time per test image
//!    (`eval_s`), from the runs' timing columns, one row per SMPC protocol (never pooled);
//!    passes when the ratio is at most 2.
//!    Timing depends on the machine, so this line is not byte-reproducible.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::ReportError;
use crate::data::{DATASET, Sweep, mean};

const ATTACK: &str = "attack+adversary.fraction";

/// The claims block (Markdown), or `None` when the sweep has no `fedavg`/`smpc-verify`
/// comparison under attack.
pub fn block(s: &Sweep, dir: &Path) -> Result<Option<String>, ReportError> {
    let t = &s.summary;
    let attack_axis = if s.axes.iter().any(|a| a == ATTACK) {
        ATTACK
    } else {
        "attack"
    };
    let mut by: Detection = BTreeMap::new();
    let mut acc: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    let mut degenerate: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let checked = t.rows.iter().any(|r| t.get(r, "metric") == "degenerate");
    for r in &t.rows {
        let defense = t.get(r, "defense");
        let attack = t.get(r, attack_axis);
        if attack.is_empty() || attack.starts_with("none") {
            continue;
        }
        let key = (t.get(r, DATASET).to_owned(), attack.to_owned());
        let (metric, value) = (t.get(r, "metric"), t.num(r, "mean"));
        if metric == "test_accuracy"
            && let Some(v) = value
        {
            acc.insert((key.0.clone(), key.1.clone(), kind(defense)), v);
        }
        let compared = matches!(kind(defense).as_str(), "smpc-verify" | "fedavg");
        if metric == "degenerate"
            && compared
            && let Some(share) = value.filter(|v| *v > 0.0)
        {
            let seeds = t.num(r, "n").unwrap_or(0.0);
            let of = (share * seeds).round();
            let note = format!("{} ({of} of {seeds} seeds)", kind(defense));
            degenerate.entry(key.clone()).or_default().push(note);
        }
        if kind(defense) == "smpc-verify" && (metric == "tpr" || metric == "fpr") {
            let e = by.entry(key).or_default();
            e.insert(metric.to_owned(), value.unwrap_or(f64::NAN));
        }
    }
    if by.is_empty() {
        return Ok(None);
    }
    by.retain(|k, _| !degenerate.contains_key(k));
    let mut out =
        String::from("| claim | measured | threshold | verdict |\n| --- | --- | --- | --- |\n");
    claim_removed(&mut out, &by);
    claim_accuracy(&mut out, &by, &acc, checked);
    claim_speed(&mut out, s, dir)?;
    for ((dataset, attack), notes) in &degenerate {
        let _ = writeln!(
            out,
            "\nLeft out of the claims: {dataset}, {attack}: degenerate (final balanced accuracy within 0.02 of chance) under {}.",
            notes.join(", ")
        );
    }
    Ok(Some(out))
}

/// The defense kind of an axis value (`smpc-verify` from `{ kind = "smpc-verify", … }`).
fn kind(defense: &str) -> String {
    defense
        .split('"')
        .nth(1)
        .filter(|_| defense.starts_with('{'))
        .unwrap_or(defense)
        .to_owned()
}

/// Per (dataset, attack): `smpc-verify`'s mean TPR and FPR.
type Detection = BTreeMap<(String, String), BTreeMap<String, f64>>;

/// An attack that knows the gate (its rule or its encoding).
fn adaptive(attack: &str) -> bool {
    attack.contains("gate-aware") || attack.contains("ring-wrap")
}

/// The removal claim, once over the attacks that do not know the gate and once, reported
/// whatever it shows, over those that do.
fn claim_removed(out: &mut String, by: &Detection) {
    for (knows, label) in [
        (false, "all poisoned models removed"),
        (
            true,
            "all poisoned models removed — against adaptive attacks",
        ),
    ] {
        let part: Detection = by
            .iter()
            .filter(|((_, attack), _)| adaptive(attack) == knows)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        worst_removal(out, &part, label);
    }
}

fn worst_removal(out: &mut String, by: &Detection, label: &str) {
    let worst = by
        .iter()
        .map(|(k, m)| {
            let get = |metric: &str| m.get(metric).copied().unwrap_or(f64::NAN);
            (get("tpr"), get("fpr"), k)
        })
        .min_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((tpr, fpr, (dataset, attack))) = worst {
        let pass = if tpr >= 0.99 { "pass" } else { "fail" };
        let _ = writeln!(
            out,
            "| {label} | lowest `smpc-verify` TPR {tpr:.3} (FPR {fpr:.3}), {dataset}, {attack} | TPR ≥ 0.99 everywhere | {pass} |"
        );
    }
}

/// The accuracy claim: the largest gain over FedAvg under the same attack, with both accuracies;
/// `checked` says whether the summary could flag degenerate cells (older summaries cannot).
fn claim_accuracy(
    out: &mut String,
    by: &Detection,
    acc: &BTreeMap<(String, String, String), f64>,
    checked: bool,
) {
    let gains = by.keys().filter_map(|(d, a)| {
        let get = |k: &str| acc.get(&(d.clone(), a.clone(), k.to_owned())).copied();
        let (gate, base) = (get("smpc-verify")?, get("fedavg")?);
        Some(((gate - base) * 100.0, gate, base, d, a))
    });
    if let Some((gain, gate, base, d, a)) = gains.max_by(|x, y| x.0.total_cmp(&y.0)) {
        let pass = if gain >= 25.0 { "pass" } else { "fail" };
        let collapse = if checked {
            "neither degenerate"
        } else {
            "degenerate cells not checked: the summary has no `degenerate` metric"
        };
        let _ = writeln!(
            out,
            "| global accuracy improves by up to 25% | largest gain of `smpc-verify` over `fedavg` under the same attack: {gain:+.1} points of test accuracy ({d}, {a}: {gate:.3} against {base:.3}; {collapse}) | ≥ 25 points | {pass} |"
        );
    }
}

/// The speed claim, one row per SMPC protocol (the cells' `threat_smpc`): encrypted
/// verification time per validation image against plain inference time per test image, from
/// the cells of that protocol only, so protocols are never pooled.
fn claim_speed(out: &mut String, s: &Sweep, dir: &Path) -> Result<(), ReportError> {
    let mut by: BTreeMap<String, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for cell in s.done() {
        let (val, test) = split_sizes(&dir.join("cells").join(&cell).join("manifest.toml"))?;
        let protocol = s.field(&cell, "threat_smpc");
        let (enc, plain) = by.entry(protocol).or_default();
        let c = &s.clients;
        for r in Sweep::rows_of(c, &cell) {
            if let Some(v) = c.num(r, "verify_compute_s").filter(|v| *v > 0.0) {
                enc.push(v / val);
            }
        }
        let rt = &s.rounds;
        for r in Sweep::rows_of(rt, &cell) {
            if let Some(v) = rt.num(r, "eval_s").filter(|v| *v > 0.0) {
                plain.push(v / test);
            }
        }
    }
    for (protocol, (enc, plain)) in &by {
        let (Some(e), Some(p)) = (mean(enc), mean(plain)) else {
            continue;
        };
        let ratio = e / p;
        let pass = if ratio <= 2.0 { "pass" } else { "fail" };
        let _ = writeln!(
            out,
            "| verification close to plain inference | {protocol}: encrypted {:.2} ms vs plain {:.3} ms per image: {ratio:.1}× (this machine; timing) | ≤ 2× | {pass} |",
            e * 1e3,
            p * 1e3
        );
    }
    Ok(())
}

/// `(validation images, test images)` from a run manifest's `[dataset]`.
pub(crate) fn split_sizes(manifest: &Path) -> Result<(f64, f64), ReportError> {
    let text = std::fs::read_to_string(manifest).map_err(|e| ReportError::io(manifest, &e))?;
    let size = |key: &str| {
        let in_dataset = text.split("[dataset]").nth(1).unwrap_or_default();
        in_dataset
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key} = ")))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| *v > 0.0)
            .ok_or_else(|| ReportError::new(manifest, &format!("no [dataset] {key} size")))
    };
    Ok((size("val")?, size("test")?))
}

/// Replaces the block between the markers `<!-- NAME:begin -->` and `<!-- NAME:end -->` of
/// `readme` with `block`.
pub fn splice(readme: &Path, name: &str, block: &str) -> Result<(), ReportError> {
    let (begin, end) = (
        format!("<!-- {name}:begin -->"),
        format!("<!-- {name}:end -->"),
    );
    let text = std::fs::read_to_string(readme).map_err(|e| ReportError::io(readme, &e))?;
    let (Some(a), Some(b)) = (text.find(&begin), text.find(&end)) else {
        return Err(ReportError::new(
            readme,
            &format!("no `{begin}` … `{end}` block"),
        ));
    };
    let new = format!("{}{begin}\n{block}{}", &text[..a], &text[b..]);
    crate::write(readme, new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Table;

    fn sweep(summary: &str) -> Sweep {
        let empty = Table::parse("cell\n").unwrap();
        Sweep {
            cells: Table::parse("cell,index,grid,status,error\n").unwrap(),
            rounds: empty.clone(),
            clients: empty,
            summary: Table::parse(summary).unwrap(),
            axes: vec!["dataset.flag".into(), "attack".into(), "defense".into()],
        }
    }

    #[test]
    fn claims_take_the_worst_tpr_and_the_best_gain() {
        let s = sweep(
            "group,dataset.flag,attack,defense,metric,n,mean\n\
             g,p,sign-flip,fedavg,test_accuracy,3,0.30\n\
             g,p,sign-flip,\"{ kind = \"\"smpc-verify\"\" }\",test_accuracy,3,0.85\n\
             g,p,sign-flip,\"{ kind = \"\"smpc-verify\"\" }\",tpr,3,1.0\n\
             g,p,sign-flip,\"{ kind = \"\"smpc-verify\"\" }\",fpr,3,0.02\n\
             g,b,label-flip,fedavg,test_accuracy,3,0.70\n\
             g,b,label-flip,smpc-verify,test_accuracy,3,0.80\n\
             g,b,label-flip,smpc-verify,tpr,3,0.95\n\
             g,b,none,smpc-verify,tpr,3,0.0\n",
        );
        let block = block(&s, Path::new("/nonexistent")).unwrap().unwrap();
        assert!(block.contains("lowest `smpc-verify` TPR 0.950 (FPR NaN), b, label-flip | TPR ≥ 0.99 everywhere | fail |"), "{block}");
        assert!(
            block.contains("+55.0 points of test accuracy (p, sign-flip: 0.850 against 0.300; degenerate cells not checked: the summary has no `degenerate` metric) | ≥ 25 points | pass |"),
            "{block}"
        );
        assert!(!block.contains("adaptive"), "{block}");
        assert!(
            !block.contains("plain inference"),
            "no timing without finished cells"
        );
        assert!(
            super::block(&sweep("group,defense,metric,mean\n"), Path::new("/x"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn the_speed_claim_has_one_row_per_protocol() {
        let dir = tempfile::tempdir().unwrap();
        for id in ["a", "b"] {
            let cell = dir.path().join("cells").join(id);
            std::fs::create_dir_all(&cell).unwrap();
            std::fs::write(
                cell.join("manifest.toml"),
                "[dataset]\nval = 10\ntest = 100\n",
            )
            .unwrap();
        }
        let s = Sweep {
            cells: Table::parse("cell,status,threat_smpc\na,done,2pc\nb,done,3pc\n").unwrap(),
            rounds: Table::parse("cell,eval_s\na,0.1\nb,0.1\n").unwrap(),
            clients: Table::parse("cell,verify_compute_s\na,0.01\nb,0.05\n").unwrap(),
            summary: Table::parse("group\n").unwrap(),
            axes: vec![],
        };
        let mut out = String::new();
        claim_speed(&mut out, &s, dir.path()).unwrap();
        let rows: Vec<&str> = out.lines().collect();
        assert_eq!(rows.len(), 2, "{out}");
        assert!(
            rows[0].contains("| 2pc: encrypted 1.00 ms vs plain 1.000 ms per image: 1.0×"),
            "{out}"
        );
        assert!(
            rows[1].contains("| 3pc: encrypted 5.00 ms vs plain 1.000 ms per image: 5.0×")
                && rows[1].ends_with("| fail |"),
            "{out}"
        );
    }

    #[test]
    fn a_degenerate_baseline_is_left_out_with_a_note() {
        let s = sweep(
            "group,dataset.flag,attack,defense,metric,n,mean\n\
             g,p,sign-flip,fedavg,test_accuracy,3,0.30\n\
             g,p,sign-flip,fedavg,degenerate,3,0.6666666666666666\n\
             g,p,sign-flip,smpc-verify,test_accuracy,3,0.85\n\
             g,p,sign-flip,smpc-verify,tpr,3,1.0\n\
             g,p,sign-flip,smpc-verify,degenerate,3,0\n\
             g,b,label-flip,fedavg,test_accuracy,3,0.70\n\
             g,b,label-flip,smpc-verify,test_accuracy,3,0.80\n\
             g,b,label-flip,smpc-verify,tpr,3,0.95\n",
        );
        let block = block(&s, Path::new("/nonexistent")).unwrap().unwrap();
        assert!(
            block.contains("+10.0 points of test accuracy (b, label-flip: 0.800 against 0.700; neither degenerate)"),
            "{block}"
        );
        assert!(!block.contains("+55.0"), "{block}");
        assert!(
            block.contains("Left out of the claims: p, sign-flip: degenerate (final balanced accuracy within 0.02 of chance) under fedavg (2 of 3 seeds)."),
            "{block}"
        );
    }

    #[test]
    fn attacks_that_know_the_gate_get_their_own_removal_row() {
        let s = sweep(
            "group,dataset.flag,attack,defense,metric,n,mean\n\
             g,p,sign-flip,smpc-verify,tpr,3,1.0\n\
             g,p,\"{ kind = \"\"ring-wrap\"\" }\",smpc-verify,tpr,3,1.0\n\
             g,p,\"{ kind = \"\"gate-aware\"\", direction = \"\"lie\"\" }\",smpc-verify,tpr,3,0.4\n",
        );
        let block = block(&s, Path::new("/nonexistent")).unwrap().unwrap();
        assert!(
            block.contains("| all poisoned models removed | lowest `smpc-verify` TPR 1.000"),
            "{block}"
        );
        assert!(
            block.contains("| all poisoned models removed — against adaptive attacks | lowest `smpc-verify` TPR 0.400"),
            "{block}"
        );
        assert!(
            block.contains("lie\" } | TPR ≥ 0.99 everywhere | fail |"),
            "{block}"
        );
    }
}
