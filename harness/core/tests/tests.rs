//! Engine tests: config errors with lines, plugin assembly, and a real federated run.

mod config;
mod ledger;
mod run;
mod support;
