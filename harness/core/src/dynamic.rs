//! Dynamic plugins: a plugin section with `library = "…"` loads an attack or a defense from a
//! C-ABI library (`securefl-abi`) instead of the registry.
//!
//! The path is absolute or relative to the config file. The library must speak this build's
//! ABI, its manifest must name the section's kind and the config's `kind`, and its name must not
//! shadow a built-in plugin. The adapters make it indistinguishable from a built-in plugin to
//! the engine; its path and sha256 go into the run manifest.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use securefl_abi::host::{DynAttack, DynDefense, DynKind, LoadedLibrary};
use securefl_api::{Attack, Defense, PluginError, PluginKind, PluginTrait, Registry};

use crate::config::{Config, ConfigError, PluginSpec};
use crate::plugins::UsedPlugin;

/// Builds the dynamic attack `spec` names.
pub(crate) fn attack(
    cfg: &Config,
    reg: &Registry,
    spec: &PluginSpec,
    used: &mut Vec<UsedPlugin>,
) -> Result<Box<dyn Attack>, ConfigError> {
    let lib = open::<dyn Attack>(cfg, reg, spec, "attack", DynKind::Attack)?;
    let plugin = DynAttack::new(Arc::clone(&lib), spec.params.table())
        .map_err(|e| param_error(cfg, spec, "attack", &e))?;
    used.push(UsedPlugin::dynamic(PluginKind::Attack, &lib));
    Ok(Box::new(plugin))
}

/// Builds the dynamic defense `spec` names.
pub(crate) fn defense(
    cfg: &Config,
    reg: &Registry,
    spec: &PluginSpec,
    used: &mut Vec<UsedPlugin>,
) -> Result<Box<dyn Defense>, ConfigError> {
    let lib = open::<dyn Defense>(cfg, reg, spec, "defense", DynKind::Defense)?;
    let plugin = DynDefense::new(Arc::clone(&lib), spec.params.table())
        .map_err(|e| param_error(cfg, spec, "defense", &e))?;
    used.push(UsedPlugin::dynamic(PluginKind::Defense, &lib));
    Ok(Box::new(plugin))
}

/// The library path of a section: absolute, or relative to the config file's folder.
pub fn resolve(config: &Path, library: &str) -> PathBuf {
    let lib = Path::new(library);
    if lib.is_absolute() {
        lib.to_owned()
    } else {
        config.parent().unwrap_or(Path::new(".")).join(lib)
    }
}

fn open<T: PluginTrait + ?Sized>(
    cfg: &Config,
    reg: &Registry,
    spec: &PluginSpec,
    section: &str,
    kind: DynKind,
) -> Result<Arc<LoadedLibrary>, ConfigError> {
    let library = spec.library.as_deref().unwrap_or_default();
    let lib = securefl_abi::host::load(&resolve(&cfg.path, library), kind)
        .map_err(|e| cfg.error(spec, section, Some("library"), &e.to_string()))?;
    let name = &lib.manifest().info.name;
    if *name != spec.kind {
        let msg = format!("the library's {section} is `{name}`, not `{}`", spec.kind);
        return Err(cfg.error(spec, section, Some("kind"), &msg));
    }
    if reg.get::<T>(name).is_ok() {
        let msg = format!("the library's {section} `{name}` shadows the built-in one: rename it");
        return Err(cfg.error(spec, section, Some("kind"), &msg));
    }
    Ok(lib)
}

/// A plugin's refusal of its parameters; `field `x`: …` (a `ParamError` across the ABI) points
/// at the field's line.
fn param_error(cfg: &Config, spec: &PluginSpec, section: &str, e: &PluginError) -> ConfigError {
    let text = e.to_string();
    let field = text
        .strip_prefix("field `")
        .and_then(|rest| rest.split_once("`: "));
    match field {
        Some((name, message)) => {
            let msg = format!("{message} (plugin `{}`)", spec.kind);
            cfg.error(spec, section, Some(name), &msg)
        }
        None => cfg.error(
            spec,
            section,
            None,
            &format!("{text} (plugin `{}`)", spec.kind),
        ),
    }
}

/// Rejects `library` in a section whose kind cannot be dynamic.
pub(crate) fn refuse(cfg: &Config, spec: &PluginSpec, section: &str) -> Result<(), ConfigError> {
    match spec.library {
        None => Ok(()),
        Some(_) => Err(cfg.error(
            spec,
            section,
            Some("library"),
            "dynamic plugins are attacks or defenses",
        )),
    }
}
