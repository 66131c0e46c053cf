//! Consensus tests: the simulator, PBFT and PoA.

mod mutants;
mod pbft_config;
mod pbft_faults;
mod pbft_normal;
mod pbft_regressions;
mod pbft_replica;
mod pbft_safety;
mod pbft_twins;
mod plugin;
mod poa;
mod poa_byzantine;
mod poa_faults;
mod poa_safety;
mod poa_support;
mod sim;
