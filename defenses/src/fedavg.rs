//! `fedavg`: federated averaging weighted by sample counts (McMahan et al., AISTATS 2017).
//!
//! It accepts every update, so it gives no verdicts (`n/a`).
//! The engine averages the shares of the models the finalized verdict block includes through
//! the SMPC protocol's `aggregate`, once, after that block is final, so under a real protocol
//! only that one average is ever opened.

use securefl_api::{
    Aggregate, ClientUpdate, ClientVerdict, CostRecord, Defense, DefenseCaps, DefenseCtx, Factory,
    NextModel, PluginError, PluginInfo, Registry, RegistryError, Verdict,
};

/// Sample-weighted mean of the submitted models.
#[derive(Debug, Default, Clone, Copy)]
pub struct FedAvg;

impl Defense for FedAvg {
    fn caps(&self) -> DefenseCaps {
        DefenseCaps {
            needs_plaintext: false,
            produces_verdicts: false,
            needs_inference: false,
        }
    }

    fn aggregate(
        &mut self,
        _ctx: &mut DefenseCtx<'_>,
        updates: &[ClientUpdate],
    ) -> Result<Aggregate, PluginError> {
        let verdicts = updates
            .iter()
            .map(|u| ClientVerdict {
                hospital: u.hospital,
                verdict: Verdict::NotApplicable,
                score: None,
                cost: CostRecord::default(),
            })
            .collect();
        Ok(Aggregate {
            next: NextModel::SecureFedAvg { min_accepted: 1 },
            verdicts,
            cost: CostRecord::default(),
            votes: Vec::new(),
        })
    }
}

pub(crate) fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new("fedavg", env!("CARGO_PKG_VERSION"), "federated averaging weighted by sample counts")
        .cite("McMahan et al., Communication-Efficient Learning of Deep Networks from Decentralized Data, AISTATS 2017");
    reg.add::<dyn Defense>(Factory::new(info, |p| {
        p.expect_none()?;
        Ok(Box::new(FedAvg) as Box<dyn Defense>)
    }))
}
