//! The one list of built-in plugins (alphabetical by crate).

use securefl_api::{Registry, RegistryError};

/// Every built-in plugin.
pub fn builtin() -> Result<Registry, RegistryError> {
    let mut reg = Registry::default();
    securefl_attacks::register(&mut reg)?;
    #[cfg(feature = "burn")]
    securefl_backend_burn::register(&mut reg)?;
    securefl_backend_dfdx::register(&mut reg)?;
    securefl_consensus::register(&mut reg)?;
    securefl_datasets::register(&mut reg)?;
    securefl_defenses::register(&mut reg)?;
    securefl_plain::register(&mut reg)?;
    securefl_smpc::register(&mut reg)?;
    Ok(reg)
}

#[cfg(test)]
mod tests {
    use securefl_api::PluginKind;

    #[test]
    fn builtins_register_without_duplicates_and_cite_their_papers() {
        let reg = super::builtin().expect("no duplicate or malformed names");
        let list = reg.list();
        assert!(list.len() >= 12, "{} plugins", list.len());
        for (kind, info) in list {
            assert!(
                !info.summary.is_empty(),
                "{kind} {} has no summary",
                info.name
            );
            let needs_citation = matches!(
                kind,
                PluginKind::Defense | PluginKind::Attack | PluginKind::Smpc
            ) && info.name != "none";
            assert!(
                !needs_citation || info.citation.is_some(),
                "{kind} {} cites no paper",
                info.name
            );
        }
    }

    /// The TOML files under `dir`, recursively, sorted.
    fn configs(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).expect("paper/configs") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                out.extend(configs(&path));
            } else if path.extension().is_some_and(|e| e == "toml") {
                out.push(path);
            }
        }
        out.sort();
        out
    }

    #[test]
    fn every_bundled_config_loads_and_builds_its_plugins() {
        let reg = super::builtin().expect("registry");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../paper/configs");
        let all = configs(&dir);
        assert!(
            all.len() >= 30,
            "{} configs under {}",
            all.len(),
            dir.display()
        );
        for path in all {
            let cfg = securefl_core::Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
            if let Err(e) = securefl_core::Plugins::build(&cfg, &reg) {
                panic!("{e}");
            }
        }
    }
}
