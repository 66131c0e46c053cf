//! Shared fixtures: the built-in registry and a valid config text.

use securefl_api::Registry;

/// The built-in plugins (the CLI's list, minus nothing).
pub fn registry() -> Registry {
    let mut reg = Registry::default();
    securefl_attacks::register(&mut reg).unwrap();
    securefl_backend_burn::register(&mut reg).unwrap();
    securefl_backend_dfdx::register(&mut reg).unwrap();
    securefl_consensus::register(&mut reg).unwrap();
    securefl_datasets::register(&mut reg).unwrap();
    securefl_defenses::register(&mut reg).unwrap();
    securefl_plain::register(&mut reg).unwrap();
    securefl_smpc::register(&mut reg).unwrap();
    reg
}

/// A valid config: PneumoniaMNIST, `hospitals` IID hospitals, `rounds` rounds of 1 epoch.
pub fn config_text(hospitals: usize, rounds: usize) -> String {
    format!(
        r#"securefl = 1
seed = 7

[federation]
hospitals = {hospitals}
rounds = {rounds}

[dataset]
kind = "medmnist"
flag = "pneumoniamnist"

[model]
arch = "paper-cnn"

[train]
local-epochs = 1
batch-size = 64
optimizer = {{ kind = "adam", lr = 0.001 }}

[defense]
kind = "fedavg"
"#
    )
}
