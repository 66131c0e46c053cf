//! Spec parsing, profiles, expansion and stable ids on hand-written specs.

use std::path::Path;

use crate::cell::{cell_id, display_value, expand};
use crate::shard;
use crate::spec::Spec;

const SPEC: &str = r#"securefl-sweep = 1
name = "grid"

[base]
securefl = 1
seed = 1
federation = { hospitals = 4, rounds = 5 }
dataset = { kind = "medmnist", flag = "pneumoniamnist" }

[sweep]
"dataset.flag" = ["pneumoniamnist", "bloodmnist"]
attack = [{ kind = "none" }, { kind = "sign-flip", scale = 4.0 }]
seed = [42, 1, 2]

[profiles.smoke]
base = { "federation.rounds" = 2 }
sweep = { seed = [42], defense = [{ kind = "fedavg" }, { kind = "median" }] }

[run]
workers = 2
"#;

fn parse(text: &str, profile: Option<&str>) -> Result<Spec, String> {
    Spec::parse(Path::new("/x/grid.toml"), text, profile).map_err(|e| e.to_string())
}

#[test]
fn the_grid_is_the_cartesian_product_last_axis_fastest() {
    let spec = parse(SPEC, None).unwrap();
    assert_eq!(spec.workers, 2);
    let cells = expand(&spec);
    assert_eq!(cells.len(), 12);
    let seeds: Vec<String> = cells[..3]
        .iter()
        .map(|c| display_value(&c.axes[2].1))
        .collect();
    assert_eq!(seeds, ["42", "1", "2"]);
    assert_eq!(
        display_value(&cells[3].axes[1].1),
        "{ kind = \"sign-flip\", scale = 4.0 }"
    );
    assert_eq!(
        cells[11].config["dataset"]["flag"].as_str(),
        Some("bloodmnist")
    );
    assert_eq!(
        cells[11].config["dataset"]["kind"].as_str(),
        Some("medmnist")
    );
    assert_eq!(cells[4].config["seed"].as_integer(), Some(1));
    let name = format!("grid-{}", cells[0].id);
    assert_eq!(cells[0].config["name"].as_str(), Some(name.as_str()));
    let ids: std::collections::BTreeSet<&str> = cells.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), 12, "ids are distinct");
}

#[test]
fn ids_name_the_experiment_not_the_sweep() {
    let a = expand(&parse(SPEC, None).unwrap());
    let reordered = SPEC.replace(
        "\"dataset.flag\" = [\"pneumoniamnist\", \"bloodmnist\"]\n",
        "",
    ) + "[sweep.dataset]\nflag = [\"bloodmnist\", \"pneumoniamnist\"]\n";
    let reordered = reordered.replace("name = \"grid\"", "name = \"other\"");
    let b = expand(&parse(&reordered, None).unwrap());
    let ids_a: std::collections::BTreeSet<_> = a.iter().map(|c| c.id.clone()).collect();
    let ids_b: std::collections::BTreeSet<_> = b.iter().map(|c| c.id.clone()).collect();
    assert_eq!(ids_a, ids_b, "axis order and sweep name do not change ids");
    let mut t = a[0].config.clone();
    t.remove("name");
    assert_eq!(cell_id(&t), a[0].id);
    t.insert("seed".into(), 7.into());
    assert_ne!(cell_id(&t), a[0].id);
}

#[test]
fn a_profile_overrides_the_base_and_replaces_or_adds_axes() {
    let spec = parse(SPEC, Some("smoke")).unwrap();
    let cells = expand(&spec);
    assert_eq!(cells.len(), 2 * 2 * 2);
    assert!(
        cells
            .iter()
            .all(|c| c.config["federation"]["rounds"].as_integer() == Some(2))
    );
    assert!(
        cells
            .iter()
            .all(|c| c.config["federation"]["hospitals"].as_integer() == Some(4))
    );
    assert!(
        cells
            .iter()
            .all(|c| c.config["seed"].as_integer() == Some(42))
    );
    assert_eq!(spec.axes.last().unwrap().path, "defense");
}

#[test]
fn a_linked_profile_axis_replaces_the_axes_it_overlaps_and_profile_grids_replace_grids() {
    let text = r#"securefl-sweep = 1
name = "pairs"

[base]
securefl = 1
federation = { hospitals = 4, rounds = 5 }
dataset = { kind = "medmnist", flag = "pneumoniamnist" }

[sweep]
attack = [{ kind = "none" }, { kind = "lie" }, { kind = "ipm" }]
defense = [{ kind = "fedavg" }, { kind = "median" }]
seed = [1]

[[grid]]
"dataset.flag" = ["pneumoniamnist", "bloodmnist"]

[profiles.pairs.sweep]
"attack+defense" = [[{ kind = "none" }, { kind = "fedavg" }], [{ kind = "lie" }, { kind = "median" }]]

[[profiles.pairs.grid]]
"dataset.flag" = ["bloodmnist"]
"#;
    assert_eq!(expand(&parse(text, None).unwrap()).len(), 12);
    let spec = parse(text, Some("pairs")).unwrap();
    let paths: Vec<&str> = spec.axes.iter().map(|a| a.path.as_str()).collect();
    assert_eq!(paths, ["seed", "attack+defense"]);
    let cells = expand(&spec);
    let got: Vec<(String, String, String)> = cells
        .iter()
        .map(|c| {
            let kind = |t: &str| c.config[t]["kind"].as_str().unwrap_or("").to_owned();
            let flag = c.config["dataset"]["flag"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            (kind("attack"), kind("defense"), flag)
        })
        .collect();
    let blood = || "bloodmnist".to_owned();
    assert_eq!(
        got,
        [
            ("none".into(), "fedavg".into(), blood()),
            ("lie".into(), "median".into(), blood())
        ]
    );
}

#[test]
fn repeated_values_give_one_cell() {
    let spec = parse(&SPEC.replace("[42, 1, 2]", "[42, 42]"), None).unwrap();
    let cells = expand(&spec);
    assert_eq!(cells.len(), 4);
    assert_eq!(
        cells.iter().map(|c| c.index).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
}

#[test]
fn shards_partition_the_cells() {
    let cells = expand(&parse(SPEC, None).unwrap());
    let mut all: Vec<usize> = (0..3)
        .flat_map(|i| shard(&cells, i, 3))
        .map(|c| c.index)
        .collect();
    all.sort();
    assert_eq!(all, (0..12).collect::<Vec<_>>());
}

#[test]
fn bad_specs_are_one_line_naming_file_line_and_problem() {
    let cases = [
        (
            SPEC.replace("securefl-sweep = 1", "securefl-sweep = 9"),
            "grid.toml:1: sweep format 9",
        ),
        (
            SPEC.replace("securefl-sweep = 1\n", ""),
            "missing `securefl-sweep = 1`",
        ),
        (
            SPEC.replace("seed = [42, 1, 2]", "seeds = [42]"),
            ":13: `seeds` is not a config field",
        ),
        (
            SPEC.replace("seed = [42, 1, 2]", "seed = 42"),
            ":13: axis `seed` must be a list",
        ),
        (
            SPEC.replace("seed = [42, 1, 2]", "seed = []"),
            ":13: axis `seed` has no values",
        ),
        (SPEC.replace("[run]", "[runs]"), "unknown field `runs`"),
        (
            SPEC.replace("workers = 2", "workers = 0"),
            "`workers` must be at least 1",
        ),
    ];
    for (text, want) in cases {
        let e = parse(&text, None).unwrap_err();
        assert!(e.contains(want), "want {want:?} in {e:?}");
        assert!(e.starts_with("/x/grid.toml"), "{e}");
        assert_eq!(e.lines().count(), 1);
    }
    let e = parse(SPEC, Some("huge")).unwrap_err();
    assert!(e.contains("unknown profile `huge` (known: smoke)"), "{e}");
}

#[test]
fn a_base_file_is_read_relative_to_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("base.toml"), "securefl = 1\nseed = 5\n").unwrap();
    let text = "securefl-sweep = 1\nbase = \"base.toml\"\n[sweep]\nseed = [1, 2]\n";
    let spec = Spec::parse(&dir.path().join("s.toml"), text, None).unwrap();
    assert_eq!(spec.name, "s");
    assert_eq!(expand(&spec).len(), 2);
    let missing = text.replace("base.toml", "nope.toml");
    let e = Spec::parse(&dir.path().join("s.toml"), &missing, None).unwrap_err();
    assert!(
        e.to_string().contains("s.toml:2: `base`: cannot read"),
        "{e}"
    );
}

#[test]
fn a_linked_axis_sets_its_fields_together() {
    let text = SPEC.replace("attack = [{ kind = \"none\" }, { kind = \"sign-flip\", scale = 4.0 }]\n", "").replace(
        "seed = [42, 1, 2]",
        "\"attack+adversary.fraction\" = [[{ kind = \"none\" }, 0.0], [{ kind = \"lie\" }, 0.3]]",
    );
    let spec = parse(&text, None).unwrap();
    let cells = expand(&spec);
    assert_eq!(cells.len(), 2 * 2);
    let last = &cells[3];
    assert_eq!(last.config["attack"]["kind"].as_str(), Some("lie"));
    assert_eq!(last.config["adversary"]["fraction"].as_float(), Some(0.3));
    assert_eq!(display_value(&last.axes[1].1), "lie + 0.3");
    let bad = text.replace("[{ kind = \"lie\" }, 0.3]", "[{ kind = \"lie\" }]");
    let e = parse(&bad, None).unwrap_err();
    assert!(
        e.contains("linked axis `attack+adversary.fraction`: every value must be a list of 2"),
        "{e}"
    );
    let root = text.replace("adversary.fraction\"", "adversaries.fraction\"");
    assert!(
        parse(&root, None)
            .unwrap_err()
            .contains("`adversaries.fraction` is not a config field")
    );
}

#[test]
fn grids_are_crossed_with_the_shared_axes_and_united() {
    let text = format!(
        "{SPEC}\n[[grid]]\ndefense = [{{ kind = \"median\" }}]\n\n[[grid]]\n\"federation.validators\" = [4, 7]\n"
    );
    let spec = parse(&text, Some("smoke")).unwrap();
    let cells = expand(&spec);
    // Shared: 2 flags x 2 attacks x 1 seed; grid 0: its defense replaced by the profile's two.
    assert_eq!(spec.grids[0][0].values.len(), 2);
    assert_eq!(cells.iter().filter(|c| c.grid == 0).count(), 4 * 2);
    assert_eq!(cells.iter().filter(|c| c.grid == 1).count(), 4 * 2);
    assert_eq!(
        crate::cell::columns(&cells),
        [
            "dataset.flag",
            "attack",
            "seed",
            "defense",
            "federation.validators"
        ]
    );
    assert!(cells[0].value("federation.validators").is_none());
}

#[test]
fn a_grid_axis_replaces_the_shared_axis_of_its_path() {
    let text = format!("{SPEC}\n[[grid]]\nattack = [{{ kind = \"lie\" }}, {{ kind = \"ipm\" }}]\n");
    let cells = expand(&parse(&text, None).unwrap());
    // 2 flags x 2 of the grid's attacks x 3 seeds: the shared attacks do not multiply them.
    assert_eq!(cells.len(), 2 * 2 * 3);
    for c in &cells {
        let paths: Vec<&str> = c.axes.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["dataset.flag", "attack", "seed"]);
        // The value a table shows is the one the cell's config runs.
        assert_eq!(c.value("attack"), c.config.get("attack"));
    }
    let kinds: Vec<String> = cells.iter().map(|c| display_value(&c.axes[1].1)).collect();
    assert_eq!(kinds[..6], ["lie", "lie", "lie", "ipm", "ipm", "ipm"]);
}

#[test]
fn axis_columns_are_typed_by_their_values() {
    use crate::parquet::kind_of;
    use securefl_results::ColumnKind;
    let cells = expand(&parse(SPEC, None).unwrap());
    assert_eq!(kind_of("seed", &cells), ColumnKind::Int);
    assert_eq!(kind_of("dataset.flag", &cells), ColumnKind::Text);
    assert_eq!(kind_of("attack", &cells), ColumnKind::Text);
    assert_eq!(kind_of("test_accuracy", &cells), ColumnKind::Float);
    assert_eq!(kind_of("threat_plaintext", &cells), ColumnKind::Bool);
    assert_eq!(kind_of("not-a-column", &cells), ColumnKind::Text);
}

#[test]
fn a_long_frame_is_typed_by_the_contract_and_refuses_mixed_headers() {
    use crate::frames::{CellTable, long_frame, to_csv};
    use polars::prelude::DataType;
    let cells = expand(&parse(SPEC, None).unwrap());
    let axes = ["dataset.flag", "attack", "seed"];
    let part = |i: usize, csv: &str| CellTable {
        cell: &cells[i],
        threat: vec![
            "plaintext".into(),
            "trusted".into(),
            "own".into(),
            "true".into(),
        ],
        path: format!("cell{i}/classes.csv"),
        csv: csv.into(),
    };
    let a = "round,class,name,support,recall\n1,0,\"normal, benign\",10,1\n1,1,malignant,5,\n";
    let b = "round,class,name,support,recall\n1,0,\"normal, benign\",10,0.5\n";
    let mut frame = long_frame(&[part(0, a), part(4, b)], &axes, &cells)
        .unwrap()
        .unwrap();
    assert_eq!(frame.height(), 3);
    let dtype = |name: &str| frame.column(name).unwrap().dtype().clone();
    assert_eq!(dtype("seed"), DataType::Int64);
    assert_eq!(dtype("recall"), DataType::Float64);
    assert_eq!(dtype("support"), DataType::Int64);
    assert_eq!(dtype("threat_plaintext"), DataType::Boolean);
    assert_eq!(dtype("attack.scale"), DataType::Float64);
    assert_eq!(dtype("grid"), DataType::Int64);
    let csv = to_csv(&mut frame).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "cell,grid,dataset,dataset.flag,attack,seed,attack.kind,attack.scale,threat_smpc,threat_consensus,threat_attacker,threat_plaintext,round,class,name,support,recall"
    );
    let none = format!(
        "{},0,pneumoniamnist,pneumoniamnist,none,42,none,,plaintext,",
        cells[0].id
    );
    assert!(lines[1].starts_with(&none), "{csv}");
    assert!(lines[3].contains(",sign-flip,4.0,plaintext,"), "{csv}");
    assert!(
        lines[1].ends_with(",true,1,0,\"normal, benign\",10,1.0"),
        "{csv}"
    );
    assert!(lines[2].ends_with(",1,1,malignant,5,"), "{csv}");
    assert!(
        lines[3].starts_with(&format!("{},0,pneumoniamnist,", cells[4].id)),
        "{csv}"
    );
    let other = "round,class,support,recall\n1,0,10,1\n";
    let err = long_frame(&[part(0, a), part(1, other)], &axes, &cells).unwrap_err();
    assert!(
        err.starts_with("cell1/classes.csv: its columns differ"),
        "{err}"
    );
    assert!(long_frame(&[], &axes, &cells).unwrap().is_none());
}
