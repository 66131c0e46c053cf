//! `results/README.md` documents exactly the columns the code writes, in order, with one meaning
//! each; and the kinds agree across tables.

use securefl_results::schema::{README, TABLES, readme};
use securefl_results::{ColumnKind, ROUNDS, column_kind};

#[test]
fn the_readme_documents_every_tables_columns_in_order() {
    for table in TABLES {
        let documented: Vec<String> = readme::documented(README, table.file)
            .into_iter()
            .flat_map(|(names, _)| names)
            .collect();
        let written: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
        assert_eq!(documented, written, "{}", table.file);
        for c in table.columns {
            let meaning = table.meaning(c.name).unwrap_or_default();
            assert!(
                meaning.len() > 5,
                "{}: {} has no meaning",
                table.file,
                c.name
            );
        }
    }
}

#[test]
fn the_readme_names_the_schema_version() {
    let title = README.lines().next().unwrap_or_default();
    let version = securefl_results::SCHEMA_VERSION;
    assert_eq!(title, format!("# Result tables (schema {version})"));
}

#[test]
fn kinds_follow_units_and_a_shared_name_has_one_kind() {
    assert_eq!(column_kind("round_s"), Some(ColumnKind::Float));
    assert_eq!(column_kind("smpc_bytes"), Some(ColumnKind::Int));
    assert_eq!(column_kind("malicious"), Some(ColumnKind::Bool));
    assert_eq!(column_kind("smpc_opened"), Some(ColumnKind::Text));
    assert_eq!(column_kind("threat_plaintext"), Some(ColumnKind::Bool));
    assert_eq!(column_kind("nonsense"), None);
    for t in TABLES {
        for c in t.columns {
            assert_eq!(column_kind(c.name), Some(c.kind), "{}", c.name);
            assert_eq!(
                c.name.ends_with("_s"),
                c.kind == ColumnKind::Float && c.unit == securefl_results::Unit::Seconds,
                "{}",
                c.name
            );
        }
    }
    assert!(ROUNDS.meaning("smpc_opened").unwrap().contains("pass-bit"));
}
