//! `iid`: a seeded shuffle cut into near-equal parts.

use rand::seq::SliceRandom;
use securefl_api::{Factory, PartitionCtx, Partitioner, PluginError, PluginInfo};

use super::{check_common, finish};

/// Uniformly random, near-equal split (sizes differ by at most one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Iid;

impl Partitioner for Iid {
    fn split(&self, ctx: &PartitionCtx, labels: &[u8]) -> Result<Vec<Vec<usize>>, PluginError> {
        check_common("iid", ctx, labels)?;
        let mut idx: Vec<usize> = (0..labels.len()).collect();
        idx.shuffle(&mut securefl_api::rng(ctx.seed, &["iid", "shuffle"]));
        let (base, extra) = (labels.len() / ctx.hospitals, labels.len() % ctx.hospitals);
        let mut rest = idx.as_slice();
        let parts = (0..ctx.hospitals)
            .map(|h| {
                let (take, tail) = rest.split_at(base + usize::from(h < extra));
                rest = tail;
                take.to_vec()
            })
            .collect();
        Ok(finish(parts))
    }
}

/// The registry factory of `iid` (no parameters).
pub fn factory() -> Factory<dyn Partitioner> {
    let info = PluginInfo::new(
        "iid",
        env!("CARGO_PKG_VERSION"),
        "IID split: a seeded shuffle cut into near-equal parts",
    );
    Factory::new(info, |params| {
        params.expect_none()?;
        Ok(Box::new(Iid) as Box<dyn Partitioner>)
    })
}
