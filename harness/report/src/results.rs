//! `results.md`: the sweep's outcome per group of seeds as one Markdown table, generated from
//! `summary.csv` (so a README quotes the tool's numbers, never hand-copied ones), and spliced
//! into a README between `<!-- NAME:begin -->` and `<!-- NAME:end -->` on request.
//!
//! One row per dataset, attack and defense (each other axis, when a sweep has one, in a column of
//! its own, named by its last path segment: `partition.alpha` is `alpha`), in the summary's group
//! order: the final test accuracy as mean with its 95% bootstrap CI over the seeds, the mean final
//! balanced accuracy (whether a model learned at all: 1/C is chance; `degenerate: k of n seeds`
//! where k seeds ended within 0.02 of it, constant predictors), the share of malicious updates rejected (TPR), the share of
//! honest updates rejected (FPR), the backdoor success rate where an attack plants one, the
//! number of seeds, and the threat model of the row (SMPC security, attacker knowledge,
//! whether updates were read in the clear; `LEDGER FORKED` with the count when any round of the
//! group's cells saw honest validators finalize different blocks, `consensus_conflicts`; `WRONG
//! CONTENT FINAL` when validators held a block with other content than proposed final,
//! `consensus_wrong_content`). A CI
//! from fewer than 3 seeds is not drawn: the cell says `n < 3`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::data::{DATASET, Sweep, short};

/// Columns of `summary.csv` that are not axes.
const NOT_AXES: [&str; 7] = [
    "group",
    "metric",
    "n",
    "mean",
    "std",
    "ci95_low",
    "ci95_high",
];

/// What every cell shares when the sweep has no axis for it: the dataset flag and the attack
/// (kind and parameters) of the base config, read from a finished cell's manifest.
#[derive(Debug, Clone, Default)]
pub struct Base {
    /// `dataset.flag`.
    pub dataset: String,
    /// The `[attack]` table, as a short label (`sign-flip scale=4.0`).
    pub attack: String,
}

impl Base {
    /// The base values from the manifest of the first finished cell of `dir` (empty without one).
    pub fn read(s: &Sweep, dir: &Path) -> Self {
        let Some(cell) = s.done().into_iter().next() else {
            return Self::default();
        };
        let path = dir.join("cells").join(cell).join("manifest.toml");
        let Some(config) = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| t.parse::<toml::Table>().ok())
            .and_then(|t| t.get("config").and_then(toml::Value::as_table).cloned())
        else {
            return Self::default();
        };
        let flag = config
            .get("dataset")
            .and_then(|d| d.get("flag"))
            .and_then(toml::Value::as_str)
            .unwrap_or_default();
        let attack = config.get("attack").map_or(String::new(), |a| {
            short(&toml::Value::to_string(a).replace('\n', ", "))
        });
        Self {
            dataset: flag.to_owned(),
            attack,
        }
    }
}

/// The table, or `None` for a sweep without a summary row; `base` fills the dataset and
/// attack columns where the sweep has no axis for them.
pub fn table(s: &Sweep, base: &Base) -> Option<String> {
    let t = &s.summary;
    let mut groups: Vec<String> = Vec::new();
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    for r in &t.rows {
        let group = t.get(r, "group").to_owned();
        if !rows.contains_key(&group) {
            groups.push(group.clone());
        }
        let row = rows.entry(group).or_insert_with(|| Row::of(s, r, base));
        row.metrics.insert(
            t.get(r, "metric").to_owned(),
            (
                t.num(r, "mean"),
                t.num(r, "ci95_low"),
                t.num(r, "ci95_high"),
                t.num(r, "n"),
            ),
        );
    }
    if groups.is_empty() {
        return None;
    }
    let mut out = String::from("| dataset |");
    for axis in other_axes(s) {
        let name = axis.rsplit('.').next().unwrap_or(axis);
        let _ = write!(out, " {name} |");
    }
    out.push_str(
        " attack | defense | final accuracy (95% CI) | balanced accuracy | malicious rejected | honest rejected | backdoor success | seeds | threat model |\n|",
    );
    out.push_str(&" --- |".repeat(10 + other_axes(s).len()));
    out.push('\n');
    for g in &groups {
        rows[g].write(&mut out);
    }
    Some(out)
}

/// A metric's `(mean, ci95 low, ci95 high, n)` in a group.
type Stat = (Option<f64>, Option<f64>, Option<f64>, Option<f64>);

/// The axes of `summary.csv` that are neither the dataset, the defense nor an attack axis (a
/// path naming `attack`): each gets a column.
fn other_axes(s: &Sweep) -> Vec<&str> {
    s.summary
        .header
        .iter()
        .map(String::as_str)
        .filter(|c| !NOT_AXES.contains(c) && !c.starts_with("threat_"))
        .filter(|c| ![DATASET, "defense"].contains(c) && !c.contains("attack"))
        .collect()
}

/// The sum of `column` over every round of the cells in summary row `r`'s group (the rounds
/// whose axis and threat columns all equal the row's): `consensus_conflicts`, the ledger's
/// safety violations, or `consensus_wrong_content`, validators holding wrong content final.
fn round_sum(s: &Sweep, r: &[String], column: &str) -> u64 {
    let (t, rounds) = (&s.summary, &s.rounds);
    let Some(col) = rounds.col(column) else {
        return 0;
    };
    let keys: Vec<(usize, &str)> = t
        .header
        .iter()
        .filter(|c| !NOT_AXES.contains(&c.as_str()))
        .filter_map(|c| Some((rounds.col(c)?, t.get(r, c))))
        .collect();
    rounds
        .rows
        .iter()
        .filter(|row| keys.iter().all(|&(i, v)| row[i] == v))
        .filter_map(|row| row[col].parse::<u64>().ok())
        .sum()
}

/// The value of `field` in a linked axis column (`attack+adversary.fraction+defense`, its values
/// joined by ` + `); `None` when the column does not link it.
fn field(column: &str, value: &str, field: &str) -> Option<String> {
    let fields: Vec<&str> = column.split('+').collect();
    let at = fields
        .iter()
        .position(|f| *f == field)
        .filter(|_| fields.len() > 1)?;
    value.split(" + ").nth(at).map(str::to_owned)
}

/// A linked axis value without `field`'s part (the value itself for any other column).
fn without_field(column: &str, value: &str, field: &str) -> String {
    let fields: Vec<&str> = column.split('+').collect();
    match fields.iter().position(|f| *f == field) {
        Some(at) if fields.len() > 1 => {
            let parts: Vec<&str> = value.split(" + ").collect();
            let kept: Vec<&str> = (0..parts.len())
                .filter(|&i| i != at)
                .map(|i| parts[i])
                .collect();
            kept.join(" + ")
        }
        _ => value.to_owned(),
    }
}

/// One group's labels and metrics.
struct Row {
    dataset: String,
    /// The values of [`other_axes`], in order.
    others: Vec<String>,
    attack: String,
    defense: String,
    threat: String,
    metrics: BTreeMap<String, Stat>,
}

impl Row {
    fn of(s: &Sweep, r: &[String], base: &Base) -> Self {
        let t = &s.summary;
        let attack: Vec<String> = t
            .header
            .iter()
            .filter(|c| c.contains("attack") && !c.starts_with("threat_"))
            .map(|c| short(&without_field(c, t.get(r, c), "defense")))
            .filter(|v| !v.is_empty())
            .collect();
        let defense = match t.col("defense") {
            Some(_) => t.get(r, "defense").to_owned(),
            None => t
                .header
                .iter()
                .find_map(|c| field(c, t.get(r, c), "defense"))
                .unwrap_or_default(),
        };
        let others = other_axes(s)
            .into_iter()
            .map(|c| short(t.get(r, c)))
            .collect();
        let mut threat = ["threat_smpc", "threat_attacker", "threat_plaintext"]
            .iter()
            .map(|c| t.get(r, c))
            .collect::<Vec<_>>()
            .join(", ");
        let conflicts = round_sum(s, r, "consensus_conflicts");
        if conflicts > 0 {
            let _ = write!(threat, "; LEDGER FORKED: {conflicts} conflicting heights");
        }
        let wrong = round_sum(s, r, "consensus_wrong_content");
        if wrong > 0 {
            let _ = write!(threat, "; WRONG CONTENT FINAL at {wrong} validator-rounds");
        }
        let or_base = |v: String, b: &str| if v.is_empty() { b.to_owned() } else { v };
        Self {
            dataset: or_base(t.get(r, DATASET).to_owned(), &base.dataset),
            others,
            attack: or_base(attack.join(", "), &base.attack),
            defense: short(&defense),
            threat,
            metrics: BTreeMap::new(),
        }
    }

    fn write(&self, out: &mut String) {
        let m = |name: &str| self.metrics.get(name).copied();
        let accuracy = m("test_accuracy").map_or("—".into(), |(mean, lo, hi, n)| {
            let mean = mean.map_or("—".into(), |v| format!("{v:.3}"));
            match (lo, hi, n) {
                (Some(lo), Some(hi), Some(n)) if n >= 3.0 => format!("{mean} [{lo:.3}, {hi:.3}]"),
                _ => format!("{mean} (n < 3)"),
            }
        });
        let share = |name: &str| {
            m(name)
                .and_then(|(mean, ..)| mean)
                .map_or("—".into(), |v| format!("{v:.3}"))
        };
        let seeds = m("test_accuracy")
            .and_then(|(.., n)| n)
            .map_or("—".into(), |n| format!("{n}"));
        // A constant predictor (balanced accuracy at chance) learned nothing: say so.
        let balanced = match m("degenerate") {
            Some((Some(d), _, _, Some(n))) if d > 0.0 => format!(
                "{} (degenerate: {} of {n} seeds)",
                share("test_balanced_accuracy"),
                (d * n).round()
            ),
            _ => share("test_balanced_accuracy"),
        };
        let _ = write!(out, "| {} |", self.dataset);
        for v in &self.others {
            let _ = write!(out, " {} |", if v.is_empty() { "—" } else { v });
        }
        let _ = writeln!(
            out,
            " {} | {} | {accuracy} | {balanced} | {} | {} | {} | {seeds} | {} |",
            self.attack,
            self.defense,
            share("tpr"),
            share("fpr"),
            share("backdoor_asr"),
            self.threat
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Table;

    /// `results.md` of a sweep with these summary and round tables.
    fn rendered(summary: Table, rounds: Table) -> String {
        let s = Sweep {
            cells: Table::parse("cell,index,grid,status,error\n").unwrap(),
            rounds,
            clients: Table::parse("cell\n").unwrap(),
            summary,
            axes: vec![],
        };
        table(&s, &Base::default()).unwrap()
    }

    #[test]
    fn one_row_per_group_with_ci_only_from_three_seeds() {
        let summary = Table::parse(
            "group,dataset.flag,attack+adversary.fraction,defense,threat_smpc,threat_consensus,threat_attacker,threat_plaintext,metric,n,mean,std,ci95_low,ci95_high\n\
             a,p,\"{ kind = \"\"lie\"\" } + 0.3\",\"{ kind = \"\"smpc-verify\"\" }\",semi-honest,none,omniscient,false,test_accuracy,3,0.85,0.01,0.84,0.86\n\
             a,p,\"{ kind = \"\"lie\"\" } + 0.3\",\"{ kind = \"\"smpc-verify\"\" }\",semi-honest,none,omniscient,false,tpr,3,0.5,0.1,0.4,0.6\n\
             b,p,\"{ kind = \"\"lie\"\" } + 0.3\",fedavg,semi-honest,none,omniscient,false,test_accuracy,2,0.80,0.01,0.79,0.81\n",
        )
        .unwrap();
        let md = rendered(summary, Table::parse("cell\n").unwrap());
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(lines.len(), 4, "{md}");
        assert_eq!(
            lines[0].matches(" | ").count(),
            lines[1].matches(" | ").count()
        );
        assert_eq!(
            lines[2],
            "| p | lie + 0.3 | smpc-verify | 0.850 [0.840, 0.860] | — | 0.500 | — | — | 3 | semi-honest, omniscient, false |"
        );
        assert!(lines[3].contains("| fedavg | 0.800 (n < 3) |"), "{md}");
    }

    #[test]
    fn a_linked_defense_gets_the_defense_column() {
        let summary = Table::parse(
            "group,dataset.flag,attack+adversary.fraction+defense,threat_smpc,threat_consensus,threat_attacker,threat_plaintext,metric,n,mean,std,ci95_low,ci95_high\n\
             a,p,\"{ kind = \"\"lie\"\" } + 0.3 + multi-krum\",plaintext,trusted,omniscient,true,test_accuracy,1,0.8,,,\n",
        )
        .unwrap();
        let md = rendered(summary, Table::parse("cell\n").unwrap());
        assert!(
            md.contains("| p | lie + 0.3 | multi-krum | 0.800 (n < 3) |"),
            "{md}"
        );
    }

    #[test]
    fn a_group_whose_ledger_forked_or_held_wrong_content_says_so() {
        let summary = Table::parse(
            "group,consensus,threat_smpc,threat_consensus,threat_attacker,threat_plaintext,metric,n,mean,std,ci95_low,ci95_high\n\
             a,poa-half,plaintext,byzantine f=2,none,false,test_accuracy,1,0.8,,,\n\
             b,poa-two-thirds,plaintext,byzantine f=1,none,false,test_accuracy,1,0.8,,,\n",
        )
        .unwrap();
        let rounds = Table::parse(
            "cell,consensus,threat_smpc,threat_consensus,threat_attacker,threat_plaintext,round,consensus_conflicts,consensus_wrong_content\n\
             x,poa-half,plaintext,byzantine f=2,none,false,1,0,0\n\
             x,poa-half,plaintext,byzantine f=2,none,false,2,3,0\n\
             y,poa-two-thirds,plaintext,byzantine f=1,none,false,1,0,2\n",
        )
        .unwrap();
        let md = rendered(summary, rounds);
        let lines: Vec<&str> = md.lines().collect();
        assert!(
            lines[2].ends_with("| plaintext, none, false; LEDGER FORKED: 3 conflicting heights |"),
            "{md}"
        );
        assert!(
            lines[3]
                .ends_with("| plaintext, none, false; WRONG CONTENT FINAL at 2 validator-rounds |"),
            "{md}"
        );
    }

    #[test]
    fn other_axes_get_columns_of_their_own() {
        let summary = Table::parse(
            "group,defense,dataset.flag,partition.alpha,attack+adversary.fraction,adversary.report-classes,threat_smpc,threat_consensus,threat_attacker,threat_plaintext,metric,n,mean,std,ci95_low,ci95_high\n\
             a,fedavg,p,0.1,none + 0.0,,semi-honest,none,none,false,test_accuracy,3,0.626,0.01,0.625,0.628\n\
             a,fedavg,p,0.1,none + 0.0,,semi-honest,none,none,false,test_balanced_accuracy,3,0.501,0.01,0.5,0.502\n\
             a,fedavg,p,0.1,none + 0.0,,semi-honest,none,none,false,degenerate,3,0.6666666666666666,0.5,0,1\n",
        )
        .unwrap();
        let md = rendered(summary, Table::parse("cell\n").unwrap());
        let lines: Vec<&str> = md.lines().collect();
        assert!(
            lines[0].starts_with("| dataset | alpha | report-classes | attack | defense |"),
            "{md}"
        );
        assert_eq!(lines[1].matches("---").count(), 12);
        assert_eq!(
            lines[2],
            "| p | 0.1 | — | none + 0.0 | fedavg | 0.626 [0.625, 0.628] | 0.501 (degenerate: 2 of 3 seeds) | — | — | — | 3 | semi-honest, none, false |"
        );
    }
}
