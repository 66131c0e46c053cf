//! Building a config's plugins from the registry, and refusing impossible settings up front.

use std::path::PathBuf;

use securefl_abi::host::LoadedLibrary;
use securefl_api::{
    Attack, CnnBackend, Consensus, DatasetSource, Defense, ParamError, Partitioner, PluginInfo,
    PluginKind, PluginTrait, PreAggregator, Registry, Setting, SmpcProtocol,
};

use crate::config::{Config, ConfigError, PluginSpec};
use crate::dynamic;

/// Every plugin of one run, built.
pub struct Plugins {
    /// The CNN backend.
    pub backend: Box<dyn CnnBackend>,
    /// The dataset source.
    pub dataset: Box<dyn DatasetSource>,
    /// The partitioner.
    pub partitioner: Box<dyn Partitioner>,
    /// The attack.
    pub attack: Box<dyn Attack>,
    /// Pre-aggregators, in order.
    pub pre_aggregators: Vec<Box<dyn PreAggregator>>,
    /// The defense.
    pub defense: Box<dyn Defense>,
    /// The SMPC protocol.
    pub smpc: Box<dyn SmpcProtocol>,
    /// The consensus protocol.
    pub consensus: Box<dyn Consensus>,
    /// Every plugin used, for the manifest.
    pub used: Vec<UsedPlugin>,
}

/// A plugin a run used, as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedPlugin {
    /// Its kind.
    pub kind: PluginKind,
    /// Name, version, summary, citation.
    pub info: PluginInfo,
    /// For a dynamic plugin, its library's canonical path and sha256.
    pub library: Option<(PathBuf, String)>,
}

impl UsedPlugin {
    /// A dynamic plugin from `lib`.
    pub fn dynamic(kind: PluginKind, lib: &LoadedLibrary) -> Self {
        Self {
            kind,
            info: lib.manifest().info.clone(),
            library: Some((lib.path().to_owned(), lib.sha256().to_owned())),
        }
    }
}

impl Plugins {
    /// Builds every plugin the config names; errors point at the config line.
    pub fn build(cfg: &Config, reg: &Registry) -> Result<Self, ConfigError> {
        let mut used = Vec::new();
        let mut plugins = Self {
            backend: build(cfg, reg, &cfg.backend, "backend", &mut used)?,
            dataset: build(cfg, reg, &cfg.dataset, "dataset", &mut used)?,
            partitioner: build(cfg, reg, &cfg.partition, "partition", &mut used)?,
            attack: match cfg.attack.library {
                Some(_) => dynamic::attack(cfg, reg, &cfg.attack, &mut used)?,
                None => build(cfg, reg, &cfg.attack, "attack", &mut used)?,
            },
            pre_aggregators: Vec::new(),
            defense: match cfg.defense.library {
                Some(_) => dynamic::defense(cfg, reg, &cfg.defense, &mut used)?,
                None => build(cfg, reg, &cfg.defense, "defense", &mut used)?,
            },
            smpc: build(cfg, reg, &cfg.smpc, "smpc", &mut used)?,
            consensus: build(cfg, reg, &cfg.consensus, "consensus", &mut used)?,
            used: Vec::new(),
        };
        for spec in &cfg.pre_aggregators {
            let p = build(cfg, reg, spec, "pre-aggregators", &mut used)?;
            plugins.pre_aggregators.push(p);
        }
        plugins.used = used;
        plugins.check(cfg)?;
        Ok(plugins)
    }

    /// Refuses settings a plugin cannot run in, before any data is loaded.
    fn check(&self, cfg: &Config) -> Result<(), ConfigError> {
        let setting = Setting {
            hospitals: cfg.federation.hospitals,
            malicious: crate::adversary::count(cfg),
        };
        let fail = |spec: &PluginSpec, section: &str, e: securefl_api::PluginError| {
            cfg.error(spec, section, None, &e.to_string())
        };
        if self.defense.caps().needs_inference && !self.smpc.caps().inference {
            let msg = format!(
                "defense `{}` needs an SMPC protocol with encrypted inference (additive-2pc or replicated-3pc)",
                cfg.defense.kind
            );
            return Err(cfg.error(&cfg.smpc, "smpc", Some("kind"), &msg));
        }
        self.defense
            .check(&setting)
            .map_err(|e| fail(&cfg.defense, "defense", e))?;
        let validators = cfg.federation.validators();
        if self.defense.validates_per_hospital() && validators != setting.hospitals {
            let msg = format!(
                "validates on each hospital's own split, one ledger validator per hospital: \
                 `federation.validators` is {validators}, the hospitals are {}",
                setting.hospitals
            );
            return Err(cfg.error(&cfg.defense, "defense", None, &msg));
        }
        // The largest model of the architecture a MedMNIST dataset gives (3 channels, at most
        // 16 classes): the bound holds for every dataset.
        let largest = securefl_api::ModelSpec {
            arch: cfg.model.arch,
            in_channels: 3,
            classes: 16,
        };
        self.defense
            .check_smpc(self.smpc.as_ref(), largest.param_count())
            .map_err(|e| fail(&cfg.defense, "defense", e))?;
        self.smpc
            .check(setting.hospitals)
            .map_err(|e| fail(&cfg.smpc, "smpc", e))?;
        self.consensus
            .check(cfg.federation.validators())
            .map_err(|e| fail(&cfg.consensus, "consensus", e))?;
        Ok(())
    }
}

/// Looks up and builds one plugin.
fn build<T: PluginTrait + ?Sized>(
    cfg: &Config,
    reg: &Registry,
    spec: &PluginSpec,
    section: &str,
    used: &mut Vec<UsedPlugin>,
) -> Result<Box<T>, ConfigError> {
    dynamic::refuse(cfg, spec, section)?;
    let factory = reg
        .get::<T>(&spec.kind)
        .map_err(|e| cfg.error(spec, section, Some("kind"), &e.to_string()))?;
    let plugin = factory.build(&spec.params).map_err(|e: ParamError| {
        cfg.error(
            spec,
            section,
            e.field.as_deref(),
            &format!("{} (plugin `{}`)", e.message, spec.kind),
        )
    })?;
    used.push(UsedPlugin {
        kind: T::KIND,
        info: factory.info().clone(),
        library: None,
    });
    Ok(plugin)
}
