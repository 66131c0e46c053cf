//! Consensus tests: the simulator, PBFT and PoA.

mod sim;
