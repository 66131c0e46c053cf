//! The plugin parameters of `pbft` and `poa` and their registration.
//!
//! Both take the protocol's own parameters plus `network` (a [`NetConfig`] table),
//! `crashes` (an array of [`Crash`] tables) and `block-timeout-us` (simulated time after which
//! a block that is not final is given up, default 60 s).

use securefl_api::{Consensus, Factory, FaultModel, PluginInfo, Registry, RegistryError};
use serde::Deserialize;

use crate::pbft::{self, Pbft};
use crate::plugin::SimConsensus;
use crate::poa;
use crate::sim::{Crash, NetConfig, SECOND, Time};

fn default_block_timeout() -> Time {
    60 * SECOND
}

/// `[consensus] kind = "pbft"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct PbftPlugin {
    /// See [`pbft::Params::f`].
    #[serde(default)]
    f: Option<usize>,
    /// See [`pbft::Params::checkpoint_interval`].
    #[serde(default)]
    checkpoint_interval: Option<u64>,
    /// See [`pbft::Params::view_change_timeout_us`].
    #[serde(default)]
    view_change_timeout_us: Option<Time>,
    /// See [`pbft::Params::state_transfer_timeout_us`].
    #[serde(default)]
    state_transfer_timeout_us: Option<Time>,
    /// Byzantine replicas.
    #[serde(default)]
    faults: Vec<pbft::Fault>,
    #[serde(default)]
    network: NetConfig,
    #[serde(default)]
    crashes: Vec<Crash>,
    #[serde(default = "default_block_timeout")]
    block_timeout_us: Time,
}

impl PbftPlugin {
    fn params(&self) -> pbft::Params {
        let d = pbft::Params::default();
        pbft::Params {
            f: self.f,
            checkpoint_interval: self.checkpoint_interval.unwrap_or(d.checkpoint_interval),
            view_change_timeout_us: self
                .view_change_timeout_us
                .unwrap_or(d.view_change_timeout_us),
            state_transfer_timeout_us: self
                .state_transfer_timeout_us
                .unwrap_or(d.state_transfer_timeout_us),
            faults: self.faults.clone(),
        }
    }
}

/// A Byzantine authority of `poa`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct PoaFault {
    node: usize,
    behaviour: poa::Behaviour,
}

/// `[consensus] kind = "poa"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct PoaPlugin {
    /// See [`poa::Params::step_us`].
    #[serde(default)]
    step_us: Option<Time>,
    /// See [`poa::Params::finality`].
    #[serde(default)]
    finality: Option<f64>,
    /// See [`poa::Params::max_batches_per_block`].
    #[serde(default)]
    max_batches_per_block: Option<usize>,
    /// Byzantine authorities.
    #[serde(default)]
    faults: Vec<PoaFault>,
    /// Authorities whose key a second node also runs (the clone attack).
    #[serde(default)]
    clones: Vec<usize>,
    #[serde(default)]
    network: NetConfig,
    #[serde(default)]
    crashes: Vec<Crash>,
    #[serde(default = "default_block_timeout")]
    block_timeout_us: Time,
}

impl PoaPlugin {
    fn params(&self) -> poa::Params {
        let d = poa::Params::default();
        poa::Params {
            step_us: self.step_us.unwrap_or(d.step_us),
            finality: self.finality.unwrap_or(d.finality),
            max_batches_per_block: self
                .max_batches_per_block
                .unwrap_or(d.max_batches_per_block),
        }
    }
}

fn build_pbft(p: PbftPlugin) -> Box<dyn Consensus> {
    let params = p.params();
    let (fault_params, quorum_params) = (params.clone(), params.clone());
    let make = Box::new(move |n: usize| Ok(Pbft::new(n, &params)?.replicas()));
    let fault = Box::new(move |n: usize| FaultModel::Byzantine {
        max_faulty: Pbft::new(n, &fault_params).map_or(0, |c| c.f()),
    });
    let quorum = Box::new(move |n: usize| Pbft::new(n, &quorum_params).map_or(n, |c| c.quorum()));
    Box::new(SimConsensus::new(
        "pbft",
        make,
        (fault, quorum),
        p.network,
        p.crashes,
        p.block_timeout_us,
    ))
}

fn build_poa(p: PoaPlugin) -> Result<Box<dyn Consensus>, String> {
    let params = p.params();
    params.check()?;
    let (faults, clones) = (p.faults, p.clones);
    let (fault_params, quorum_params) = (params.clone(), params.clone());
    let make = Box::new(move |n: usize| {
        let mut behaviours = vec![poa::Behaviour::Honest; n];
        for f in &faults {
            *behaviours.get_mut(f.node).ok_or_else(|| {
                format!("fault on node {}, but there are {n} authorities", f.node)
            })? = f.behaviour.clone();
        }
        poa::with_clones(&params, &behaviours, &clones)
    });
    // Two conflicting final chains each carry s > finality·n distinct sealers, so they share at
    // least 2s − n of them. If every honest authority seals on one branch only (synchrony, as
    // Aura assumes), up to 2s − n − 1 Byzantine authorities cannot finalize conflicting blocks;
    // across a partition an honest authority may seal on both branches in turn, and Aura's
    // finality gives no such guarantee (the clone attack, `tests/poa_byzantine.rs`).
    let fault = Box::new(move |n: usize| FaultModel::Byzantine {
        max_faulty: (2 * fault_params.signers_needed(n)).saturating_sub(n + 1),
    });
    let quorum = Box::new(move |n: usize| quorum_params.signers_needed(n));
    Ok(Box::new(SimConsensus::new(
        "poa",
        make,
        (fault, quorum),
        p.network,
        p.crashes,
        p.block_timeout_us,
    )))
}

/// Registers `pbft` and `poa`.
pub fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new(
        "pbft",
        env!("CARGO_PKG_VERSION"),
        "PBFT (TOCS 2002) on the simulated network: quorum ceil((n+f+1)/2), checkpoints, view change, state transfer",
    )
    .cite("Castro & Liskov, Practical Byzantine Fault Tolerance and Proactive Recovery, ACM TOCS 20(4), 2002");
    reg.add::<dyn Consensus>(Factory::new(info, |p| {
        let params: PbftPlugin = p.parse()?;
        Ok(build_pbft(params))
    }))?;
    let info = PluginInfo::new(
        "poa",
        env!("CARGO_PKG_VERSION"),
        "Proof of Authority, Aura slot rotation with rolling finality, on the simulated network",
    )
    .cite("Aura (OpenEthereum); Ekparinya, Gramoli & Jourjon, The Attack of the Clones against Proof-of-Authority, NDSS 2020");
    reg.add::<dyn Consensus>(Factory::new(info, |p| {
        let params: PoaPlugin = p.parse()?;
        build_poa(params).map_err(|e| {
            // The parameter check names the field in its message: point the error at it.
            let message = e.trim_start_matches("poa: ").to_owned();
            let field = ["step-us", "finality", "max-batches-per-block"]
                .into_iter()
                .find(|f| message.contains(f));
            match field {
                Some(f) => securefl_api::ParamError::field(f, message),
                None => securefl_api::ParamError {
                    field: None,
                    message,
                },
            }
        })
    }))
}
