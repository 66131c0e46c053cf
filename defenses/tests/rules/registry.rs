//! Every defense and pre-aggregator is registered, cites its paper and refuses unknown fields.

use securefl_api::{Defense, Params, PreAggregator, Registry};

const PLAINTEXT: [&str; 7] = [
    "bulyan",
    "centered-clip",
    "fltrust",
    "krum",
    "median",
    "multi-krum",
    "trimmed-mean",
];

fn registry() -> Registry {
    let mut reg = Registry::default();
    securefl_defenses::register(&mut reg).unwrap();
    reg
}

#[test]
fn every_rule_is_registered_with_a_citation() {
    let reg = registry();
    let mut want: Vec<&str> = PLAINTEXT.to_vec();
    want.extend(["fedavg", "smpc-verify"]);
    want.sort_unstable();
    assert_eq!(reg.names::<dyn Defense>(), want);
    assert_eq!(
        reg.names::<dyn PreAggregator>(),
        ["adaptive-clip", "norm-clip"]
    );
    assert!(reg.list().iter().all(|(_, info)| info.citation.is_some()));
}

#[test]
fn plaintext_rules_say_they_read_updates_in_the_clear() {
    let reg = registry();
    for name in PLAINTEXT {
        let d = reg
            .get::<dyn Defense>(name)
            .unwrap()
            .build(&Params::empty())
            .unwrap();
        assert!(
            d.caps().needs_plaintext && !d.caps().needs_inference,
            "{name}"
        );
    }
}

#[test]
fn unknown_fields_are_refused() {
    let reg = registry();
    let bogus = Params::from_toml("bogus = 1").unwrap();
    for name in PLAINTEXT {
        let err = reg
            .get::<dyn Defense>(name)
            .unwrap()
            .build(&bogus)
            .err()
            .unwrap();
        assert_eq!(err.field.as_deref(), Some("bogus"), "{name}");
    }
    for (name, text) in [
        ("adaptive-clip", "bogus = 1"),
        ("norm-clip", "bound = 1.0\nbogus = 1"),
    ] {
        let p = Params::from_toml(text).unwrap();
        let err = reg
            .get::<dyn PreAggregator>(name)
            .unwrap()
            .build(&p)
            .err()
            .unwrap();
        assert_eq!(err.field.as_deref(), Some("bogus"), "{name}");
    }
}
