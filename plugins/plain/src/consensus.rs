//! Consensus `none`: no agreement protocol; a block is final when proposed.

use securefl_api::{CommitReport, Consensus, ConsensusCtx, FaultModel, PluginError, Transaction};

/// Takes every block as final at once, with no messages (a trusted single recorder).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoConsensus;

impl Consensus for NoConsensus {
    fn fault_model(&self) -> FaultModel {
        FaultModel::Trusted
    }

    fn commit(
        &mut self,
        _ctx: &ConsensusCtx,
        _txs: &[Transaction],
    ) -> Result<CommitReport, PluginError> {
        Ok(CommitReport::immediate())
    }
}
