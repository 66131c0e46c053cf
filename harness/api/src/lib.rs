//! The plugin API of securefl.
//!
//! This crate is the one extension point of the harness: every plugin kind has its trait here,
//! together with the plain data types that cross plugin boundaries, the shared [`CostRecord`],
//! seed derivation and the [`Registry`] of factories.
//! It depends on no other workspace crate and on nothing heavy (see ARCHITECTURE.md).

pub mod attack;
pub mod backend;
pub mod conformance;
pub mod consensus;
pub mod cost;
pub mod data;
pub mod defense;
pub mod error;
pub mod layout;
pub mod model;
pub mod params;
pub mod reference;
pub mod registry;
pub mod seed;
pub mod smpc;
pub mod update;

pub use attack::{Attack, AttackCtx, AttackKnowledge};
pub use backend::{
    CnnBackend, Optimizer, OptimizerState, TrainCtx, TrainOutcome, check_inputs,
    check_train_inputs, epoch_order, train_epochs,
};
pub use consensus::{CommitReport, Consensus, ConsensusCtx, FaultModel, Transaction, TxKind};
pub use cost::CostRecord;
pub use data::{
    DataCtx, Dataset, DatasetSource, ImageSet, PartitionCtx, Partitioner, Provenance, Task,
};
pub use defense::{Aggregate, Defense, DefenseCaps, DefenseCtx, NextModel, PreAggregator, Setting};
pub use error::PluginError;
pub use model::{Arch, Layer, ModelSpec, ParamTensor};
pub use params::{ParamError, Params};
pub use registry::{Factory, PluginInfo, PluginKind, PluginTrait, Registry, RegistryError};
pub use seed::{Rng, derive_seed, rng};
pub use smpc::{
    DataId, EvalOutcome, EvalQuery, Metered, NeighbourRule, Score, SecurityModel, ShareId,
    SmpcCaps, SmpcCtx, SmpcProtocol,
};
pub use update::{ClientUpdate, ClientVerdict, Verdict};
