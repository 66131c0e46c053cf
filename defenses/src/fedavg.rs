//! `fedavg`: federated averaging weighted by sample counts (McMahan et al., AISTATS 2017).
//!
//! It accepts every update, so it gives no verdicts (`n/a`).
//! It averages through the SMPC protocol's `aggregate`, so under a real protocol only the
//! average is ever opened.

use securefl_api::{
    Aggregate, ClientUpdate, ClientVerdict, CostRecord, Defense, DefenseCaps, DefenseCtx, Factory,
    PluginError, PluginInfo, Registry, RegistryError, SmpcCtx, Verdict,
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
        ctx: &mut DefenseCtx<'_>,
        updates: &[ClientUpdate],
    ) -> Result<Aggregate, PluginError> {
        let weights: Vec<f64> = updates.iter().map(|u| u.samples as f64).collect();
        let smpc_ctx = SmpcCtx {
            round: ctx.round,
            validators: ctx.setting.hospitals,
            seed: ctx.seed,
        };
        let avg = ctx.smpc.aggregate(&smpc_ctx, ctx.shares, &weights)?;
        let model = avg.value;
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
            model,
            verdicts,
            cost: avg.cost,
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
