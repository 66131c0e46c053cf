//! The registry: factories of every plugin kind, keyed by kebab-case name.
//!
//! Each plugin crate exposes `pub fn register(reg: &mut Registry) -> Result<(), RegistryError>`;
//! the CLI calls them in one explicit, ordered list.
//! Registering a name twice is an error, never an overwrite, and listings come out in a stable
//! (sorted) order.

use std::collections::BTreeMap;
use std::fmt;

use thiserror::Error;

use crate::{
    Attack, CnnBackend, Consensus, DatasetSource, Defense, ParamError, Params, Partitioner,
    PreAggregator, SmpcProtocol,
};

/// The kinds of plugin the harness knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PluginKind {
    /// A CNN training and inference engine ([`CnnBackend`]).
    Backend,
    /// A source of images ([`DatasetSource`]).
    Dataset,
    /// A split of the training set over hospitals ([`Partitioner`]).
    Partitioner,
    /// A poisoning attack run by malicious hospitals ([`Attack`]).
    Attack,
    /// A transformation of updates before the defense ([`PreAggregator`]).
    PreAggregator,
    /// An aggregation rule that may reject updates ([`Defense`]).
    Defense,
    /// A secure multi-party computation protocol ([`SmpcProtocol`]).
    Smpc,
    /// A ledger consensus protocol ([`Consensus`]).
    Consensus,
}

impl PluginKind {
    /// Every kind, in listing order.
    pub const ALL: [PluginKind; 8] = [
        Self::Backend,
        Self::Dataset,
        Self::Partitioner,
        Self::Attack,
        Self::PreAggregator,
        Self::Defense,
        Self::Smpc,
        Self::Consensus,
    ];

    /// The kebab-case name used in configs and listings.
    pub fn name(self) -> &'static str {
        match self {
            Self::Backend => "backend",
            Self::Dataset => "dataset",
            Self::Partitioner => "partition",
            Self::Attack => "attack",
            Self::PreAggregator => "pre-aggregator",
            Self::Defense => "defense",
            Self::Smpc => "smpc",
            Self::Consensus => "consensus",
        }
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a plugin says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// Kebab-case name, unique within its kind.
    pub name: String,
    /// The plugin's version (its crate version for built-ins).
    pub version: String,
    /// One line: what it does.
    pub summary: String,
    /// The paper it implements, when there is one.
    pub citation: Option<String>,
}

impl PluginInfo {
    /// A description with no citation.
    pub fn new(name: &str, version: &str, summary: &str) -> Self {
        Self {
            name: name.to_owned(),
            version: version.to_owned(),
            summary: summary.to_owned(),
            citation: None,
        }
    }

    /// Adds the citation of the paper the plugin implements.
    pub fn cite(mut self, citation: &str) -> Self {
        self.citation = Some(citation.to_owned());
        self
    }
}

type BuildFn<T> = dyn Fn(&Params) -> Result<Box<T>, ParamError> + Send + Sync;

/// Builds instances of one plugin from its parameters.
pub struct Factory<T: ?Sized> {
    info: PluginInfo,
    build: Box<BuildFn<T>>,
}

impl<T: ?Sized> Factory<T> {
    /// A factory with the given description and build function.
    pub fn new(
        info: PluginInfo,
        build: impl Fn(&Params) -> Result<Box<T>, ParamError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            info,
            build: Box::new(build),
        }
    }

    /// The plugin's description.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// Builds one instance; fails with the offending field when the parameters are invalid.
    pub fn build(&self, params: &Params) -> Result<Box<T>, ParamError> {
        (self.build)(params)
    }
}

/// A registration or lookup failure.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RegistryError {
    /// The name is already taken within its kind.
    #[error("duplicate {kind} plugin `{name}`")]
    Duplicate {
        /// The plugin kind.
        kind: PluginKind,
        /// The duplicated name.
        name: String,
    },
    /// The name is not kebab-case.
    #[error("{kind} plugin name `{name}` is not kebab-case")]
    BadName {
        /// The plugin kind.
        kind: PluginKind,
        /// The rejected name.
        name: String,
    },
    /// No plugin of this kind has this name.
    #[error("unknown {kind} plugin `{name}` (known: {known})")]
    Unknown {
        /// The plugin kind.
        kind: PluginKind,
        /// The name asked for.
        name: String,
        /// The registered names, comma-separated.
        known: String,
    },
}

/// A trait object type that has its own table in the registry.
pub trait PluginTrait: 'static {
    /// The kind this trait implements.
    const KIND: PluginKind;
    /// The table of this kind.
    fn table(reg: &Registry) -> &BTreeMap<String, Factory<Self>>;
    /// The table of this kind, mutably.
    fn table_mut(reg: &mut Registry) -> &mut BTreeMap<String, Factory<Self>>;
}

macro_rules! plugin_tables {
    ($($field:ident: $trait:ident => $kind:ident),* $(,)?) => {
        /// All registered factories, one sorted table per plugin kind.
        #[derive(Default)]
        pub struct Registry {
            $($field: BTreeMap<String, Factory<dyn $trait>>,)*
        }
        $(impl PluginTrait for dyn $trait {
            const KIND: PluginKind = PluginKind::$kind;
            fn table(reg: &Registry) -> &BTreeMap<String, Factory<Self>> { &reg.$field }
            fn table_mut(reg: &mut Registry) -> &mut BTreeMap<String, Factory<Self>> {
                &mut reg.$field
            }
        })*
        impl Registry {
            /// Every registered plugin as (kind, info), sorted by kind then name.
            pub fn list(&self) -> Vec<(PluginKind, &PluginInfo)> {
                let mut out = Vec::new();
                $(out.extend(self.$field.values().map(|f| (PluginKind::$kind, f.info())));)*
                out.sort_by_key(|(k, i)| (PluginKind::ALL.iter().position(|x| x == k), i.name.clone()));
                out
            }
        }
    };
}

plugin_tables! {
    backends: CnnBackend => Backend,
    datasets: DatasetSource => Dataset,
    partitioners: Partitioner => Partitioner,
    attacks: Attack => Attack,
    pre_aggregators: PreAggregator => PreAggregator,
    defenses: Defense => Defense,
    smpc: SmpcProtocol => Smpc,
    consensus: Consensus => Consensus,
}

impl Registry {
    /// Adds a factory; fails if the name is taken or not kebab-case.
    pub fn add<T: PluginTrait + ?Sized>(
        &mut self,
        factory: Factory<T>,
    ) -> Result<(), RegistryError> {
        let name = factory.info().name.clone();
        if !is_kebab_case(&name) {
            return Err(RegistryError::BadName {
                kind: T::KIND,
                name,
            });
        }
        let table = T::table_mut(self);
        if table.contains_key(&name) {
            return Err(RegistryError::Duplicate {
                kind: T::KIND,
                name,
            });
        }
        table.insert(name, factory);
        Ok(())
    }

    /// The factory named `name` of kind `T`.
    pub fn get<T: PluginTrait + ?Sized>(&self, name: &str) -> Result<&Factory<T>, RegistryError> {
        let table = T::table(self);
        table.get(name).ok_or_else(|| RegistryError::Unknown {
            kind: T::KIND,
            name: name.to_owned(),
            known: table.keys().cloned().collect::<Vec<_>>().join(", "),
        })
    }

    /// The registered names of kind `T`, sorted.
    pub fn names<T: PluginTrait + ?Sized>(&self) -> Vec<&str> {
        T::table(self).keys().map(String::as_str).collect()
    }
}

/// Lowercase ASCII words joined by single hyphens, starting with a letter (`multi-krum`, `additive-2pc`).
pub fn is_kebab_case(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.split('-').all(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defense::{Aggregate, DefenseCaps, DefenseCtx};
    use crate::{ClientUpdate, PluginError};

    struct Nothing;
    impl Defense for Nothing {
        fn caps(&self) -> DefenseCaps {
            DefenseCaps {
                needs_plaintext: true,
                produces_verdicts: false,
                needs_inference: false,
            }
        }
        fn aggregate(
            &mut self,
            _: &mut DefenseCtx<'_>,
            _: &[ClientUpdate],
        ) -> Result<Aggregate, PluginError> {
            Err(PluginError::Unsupported("test double".into()))
        }
    }

    fn factory(name: &str) -> Factory<dyn Defense> {
        Factory::new(PluginInfo::new(name, "0", "test"), |p| {
            p.expect_none()?;
            Ok(Box::new(Nothing) as Box<dyn Defense>)
        })
    }

    #[test]
    fn duplicate_names_are_refused() {
        let mut reg = Registry::default();
        reg.add(factory("fedavg")).unwrap();
        let err = reg.add(factory("fedavg")).unwrap_err();
        assert_eq!(
            err,
            RegistryError::Duplicate {
                kind: PluginKind::Defense,
                name: "fedavg".into()
            }
        );
    }

    #[test]
    fn names_must_be_kebab_case() {
        let mut reg = Registry::default();
        assert!(matches!(
            reg.add(factory("FedAvg")),
            Err(RegistryError::BadName { .. })
        ));
        assert!(matches!(
            reg.add(factory("multi_krum")),
            Err(RegistryError::BadName { .. })
        ));
        assert!(matches!(
            reg.add(factory("a--b")),
            Err(RegistryError::BadName { .. })
        ));
        reg.add(factory("multi-krum")).unwrap();
        reg.add(factory("additive-2pc")).unwrap();
    }

    #[test]
    fn unknown_name_lists_known_ones() {
        let mut reg = Registry::default();
        reg.add(factory("median")).unwrap();
        reg.add(factory("fedavg")).unwrap();
        let err = reg.get::<dyn Defense>("krum").err().unwrap();
        assert_eq!(
            err.to_string(),
            "unknown defense plugin `krum` (known: fedavg, median)"
        );
        assert_eq!(reg.names::<dyn Defense>(), ["fedavg", "median"]);
        assert!(
            reg.get::<dyn Defense>("median")
                .unwrap()
                .build(&Params::empty())
                .is_ok()
        );
    }
}
