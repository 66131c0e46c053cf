//! Run events: the engine reports progress and finished rounds to an [`Observer`].
//!
//! The engine knows nothing about terminals or files; the CLI's progress bars and the run
//! folder writer are observers.

use crate::RunError;
use crate::ledger::Block;
use crate::records::{ClientRow, RoundRow};

/// What the run is about to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunStart {
    /// Experiment name.
    pub name: String,
    /// Hospitals.
    pub hospitals: usize,
    /// Rounds.
    pub rounds: usize,
}

/// Receives run events, in order, on the engine's thread.
pub trait Observer {
    /// The run starts (dataset loaded, partition done).
    fn started(&mut self, _start: &RunStart) {}

    /// A hospital finished local training in `round`.
    fn hospital_trained(&mut self, _round: usize, _hospital: usize) {}

    /// A round finished; a writer persists it here, and its error aborts the run.
    fn round_finished(
        &mut self,
        _round: &RoundRow,
        _clients: &[ClientRow],
    ) -> Result<(), RunError> {
        Ok(())
    }

    /// A ledger block is final; `global` is the global model as of its round (genesis: the
    /// initial model). A writer appends both here, and its error aborts the run.
    fn block_finalized(&mut self, _block: &Block, _global: &[f32]) -> Result<(), RunError> {
        Ok(())
    }
}

/// Forwards every event to two observers.
pub struct Both<'a, A: ?Sized, B: ?Sized>(pub &'a mut A, pub &'a mut B);

impl<A: Observer + ?Sized, B: Observer + ?Sized> Observer for Both<'_, A, B> {
    fn started(&mut self, start: &RunStart) {
        self.0.started(start);
        self.1.started(start);
    }

    fn hospital_trained(&mut self, round: usize, hospital: usize) {
        self.0.hospital_trained(round, hospital);
        self.1.hospital_trained(round, hospital);
    }

    fn block_finalized(&mut self, block: &Block, global: &[f32]) -> Result<(), RunError> {
        self.0.block_finalized(block, global)?;
        self.1.block_finalized(block, global)
    }

    fn round_finished(&mut self, round: &RoundRow, clients: &[ClientRow]) -> Result<(), RunError> {
        self.0.round_finished(round, clients)?;
        self.1.round_finished(round, clients)
    }
}
