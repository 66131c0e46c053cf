//! A real federated run on PneumoniaMNIST: 3 hospitals, 2 rounds.

use std::path::Path;

use securefl_core::observer::Observer;
use securefl_core::records;
use securefl_core::rundir::RunDir;
use securefl_core::{Config, Experiment, Plugins};
use securefl_datasets::testing::real_data_dir;

use crate::support::{config_text, registry};

struct NoOutput;
impl Observer for NoOutput {}

fn experiment(text: &str, data: &Path, jobs: usize) -> Experiment {
    let cfg = Config::parse(Path::new("run.toml"), text).unwrap();
    let plugins = Plugins::build(&cfg, &registry()).unwrap();
    let mut ctx = securefl_datasets::locate::data_ctx_from(|_| None, false);
    ctx.search_dirs = vec![data.to_owned()];
    ctx.allow_download = false;
    Experiment::prepare(cfg, plugins, &ctx, jobs).unwrap()
}

/// Runs `exp` into a run folder in a temporary directory (kept alive by the first value).
fn run_to_folder(
    exp: &mut Experiment,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    securefl_core::RunResult,
) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut writer = RunDir::create(&out, exp.dataset().class_names.clone()).unwrap();
    let result = exp.run(&mut writer).unwrap();
    writer
        .finish("status = \"complete\"\n", &result.global)
        .unwrap();
    (dir, out, result)
}

/// The run's own chain ends, as its manifest would record them (the tests' manifests are
/// stand-ins without `[ledger]`).
fn anchor(exp: &Experiment) -> securefl_core::ledger::Anchor {
    securefl_core::ledger::Anchor {
        genesis: exp.ledger().genesis_hash(),
        tip: Some(exp.ledger().tip()),
    }
}

#[test]
fn three_hospitals_two_rounds_beat_the_majority_class() {
    let Some(data) = real_data_dir() else { return };
    let mut exp = experiment(&config_text(3, 2), &data, 2);
    let (_dir, out, result) = run_to_folder(&mut exp);

    let test = &exp.dataset().test;
    let counts = test.class_counts(2);
    let majority = *counts.iter().max().unwrap() as f64 / test.len() as f64;
    let last = result.rounds.last().unwrap();
    assert_eq!(last.round, 2);
    assert!(
        last.test.accuracy > majority,
        "accuracy {} vs majority rate {majority}",
        last.test.accuracy
    );
    assert!(last.test.auc.unwrap() > 0.8, "auc {:?}", last.test.auc);

    let rounds = std::fs::read_to_string(out.join("rounds.csv")).unwrap();
    assert_eq!(rounds.lines().count(), 1 + 3, "header + rounds 0..=2");
    assert!(rounds.starts_with("round,test_accuracy,test_loss,"));
    let clients = std::fs::read_to_string(out.join("clients.csv")).unwrap();
    assert_eq!(
        clients.lines().count(),
        1 + 2 * 3,
        "header + 2 rounds x 3 hospitals"
    );
    let samples: usize = clients
        .lines()
        .skip(1)
        .take(3)
        .map(|l| l.split(',').nth(3).unwrap().parse::<usize>().unwrap())
        .sum();
    assert_eq!(
        samples,
        exp.dataset().train.len(),
        "IID shards cover the training split"
    );
    let classes = std::fs::read_to_string(out.join("classes.csv")).unwrap();
    assert!(classes.contains("2,1,pneumonia,390,"));
    assert_eq!(
        std::fs::metadata(out.join("global_model.f32"))
            .unwrap()
            .len(),
        4 * 56_194
    );
    // The ledger: genesis, then a verdict block and an aggregation block per round; the
    // initial and each round's global model match their files.
    let v = securefl_core::ledger::verify_run(&out, &anchor(&exp)).unwrap();
    assert_eq!((v.blocks, v.models), (5, 3));
}

#[test]
fn results_do_not_depend_on_worker_count_or_repetition() {
    let Some(data) = real_data_dir() else { return };
    let text = config_text(3, 1);
    let a = experiment(&text, &data, 1).run(&mut NoOutput).unwrap();
    let b = experiment(&text, &data, 3).run(&mut NoOutput).unwrap();
    assert_eq!(a.global, b.global);
    let table =
        |r: &securefl_core::RunResult| records::without_timing(&records::rounds_csv(&r.rounds));
    assert_eq!(table(&a), table(&b));
    assert!(!table(&a).contains("_s") && table(&a).contains("test_accuracy"));
    let c = experiment(&text.replace("seed = 7", "seed = 8"), &data, 2)
        .run(&mut NoOutput)
        .unwrap();
    assert_ne!(a.global, c.global, "another seed gives another run");
}

#[test]
fn encrypted_verification_runs_are_deterministic_and_metered() {
    let Some(data) = real_data_dir() else { return };
    let text = config_text(2, 1).replace(
        "[defense]\nkind = \"fedavg\"",
        "[defense]\nkind = \"smpc-verify\"\nreveal-score = true\n\n[smpc]\nkind = \"additive-2pc\"",
    );
    let a = experiment(&text, &data, 2).run(&mut NoOutput).unwrap();
    let b = experiment(&text, &data, 1).run(&mut NoOutput).unwrap();
    let tables = |r: &securefl_core::RunResult| {
        (
            records::without_timing(&records::rounds_csv(&r.rounds)),
            records::without_timing(&records::clients_csv(&r.clients)),
        )
    };
    assert_eq!(tables(&a), tables(&b));
    assert_eq!(a.global, b.global);
    let row = &a.rounds[1];
    assert_eq!(row.accepted + row.rejected, 2);
    assert!(row.smpc.bytes > 0 && row.smpc.offline_bytes > 0 && row.aggregation.rounds > 0);
    for c in &a.clients {
        assert!(c.verify_score.is_some() && c.verify.bytes > 0 && c.verify.rounds > 0);
    }
}

/// `config_text` with an attack by hospital 0 and another defense.
fn attacked(hospitals: usize, attack: &str, defense: &str) -> String {
    config_text(hospitals, 1).replace(
        "[defense]\nkind = \"fedavg\"",
        &format!("[adversary]\nhospitals = [0]\n\n[attack]\n{attack}\n\n[defense]\n{defense}"),
    )
}

#[test]
fn a_sign_flipping_hospital_is_rejected_and_counted() {
    let Some(data) = real_data_dir() else { return };
    let text = attacked(
        5,
        "kind = \"sign-flip\"\nscale = 5.0",
        "kind = \"multi-krum\"",
    );
    let run = experiment(&text, &data, 2).run(&mut NoOutput).unwrap();
    let d = securefl_core::detection::Detection::of(&run.clients, &run.rounds);
    assert_eq!(
        (
            d.true_positives,
            d.false_negatives,
            d.false_positives,
            d.true_negatives
        ),
        (1, 0, 0, 4)
    );
    let row = &run.rounds[1];
    assert!(
        row.plaintext_updates,
        "multi-krum reads updates in the clear"
    );
    assert_eq!((row.accepted, row.rejected, row.backdoor_asr), (4, 1, None));
}

#[test]
fn a_backdoor_success_rate_is_reported_every_round() {
    let Some(data) = real_data_dir() else { return };
    let text = attacked(3, "kind = \"backdoor\"\ntarget = 1", "kind = \"fedavg\"");
    let run = experiment(&text, &data, 2).run(&mut NoOutput).unwrap();
    for row in &run.rounds {
        let asr = row
            .backdoor_asr
            .expect("a backdoor run reports its success rate");
        assert!((0.0..=1.0).contains(&asr), "{asr}");
        assert!(!row.plaintext_updates);
    }
    let d = securefl_core::detection::Detection::of(&run.clients, &run.rounds);
    assert_eq!(
        (d.malicious, d.judged, d.tpr()),
        (1, 0, None),
        "fedavg gives no verdicts"
    );
}

/// The hospitals of the aggregation record of round 1 in the run's ledger, as `show` prints them.
fn aggregated_on_ledger(text: &str, data: &Path) -> String {
    let mut exp = experiment(text, data, 2);
    let (_dir, out, _) = run_to_folder(&mut exp);
    securefl_core::ledger::verify_run(&out, &anchor(&exp)).unwrap();
    let shown = securefl_core::ledger::show_run(&out).unwrap();
    let line = shown.lines().find(|l| l.contains("aggregation")).unwrap();
    line[line.find('[').unwrap()..=line.find(']').unwrap()].to_owned()
}

#[test]
fn the_accepted_set_is_what_a_majority_of_validators_signed() {
    let Some(data) = real_data_dir() else { return };
    let text = attacked(
        5,
        "kind = \"sign-flip\"\nscale = 5.0",
        "kind = \"multi-krum\"",
    );
    let with_liars = |liars: &str| {
        text.replace(
            "hospitals = [0]",
            &format!("hospitals = [0]\nlying-validators = {liars}"),
        )
    };
    // Two of five validators invert their verdicts: the honest majority's set stands.
    assert_eq!(
        aggregated_on_ledger(&with_liars("[1, 2]"), &data),
        "[1, 2, 3, 4]"
    );
    // Three of five: the finalized set is inverted, and the aggregate follows the ledger.
    assert_eq!(aggregated_on_ledger(&with_liars("[1, 2, 3]"), &data), "[0]");
}

/// `attacked` with `smpc-verify` (extra parameters `verify`) under `additive-2pc`.
fn verified(hospitals: usize, attack: &str, verify: &str) -> String {
    attacked(
        hospitals,
        attack,
        &format!("kind = \"smpc-verify\"\n{verify}\n\n[smpc]\nkind = \"additive-2pc\""),
    )
}

#[test]
fn a_ring_wrapping_model_is_rejected_by_the_range_check() {
    let Some(data) = real_data_dir() else { return };
    let text = verified(5, "kind = \"ring-wrap\"", "").replace("rounds = 1", "rounds = 2");
    let run = experiment(&text, &data, 2).run(&mut NoOutput).unwrap();
    for c in run.clients.iter().filter(|c| c.hospital == 0) {
        assert_eq!(
            c.verdict,
            securefl_api::Verdict::Rejected,
            "round {}",
            c.round
        );
    }
    for row in &run.rounds[1..] {
        assert_eq!(row.smpc.range_failures, 0);
        // The range bit is kept in shares: the wrapped model is the zero model to every later
        // check, and only its verdict is opened.
        assert_eq!(row.smpc.opened_cell(), "pass-bit:5;aggregate-model:1");
    }
    // The global model stays sane: far better than a constant predictor would be hurt.
    assert!(
        run.rounds[2].test.accuracy > 0.7,
        "{:?}",
        run.rounds[2].test
    );
}

#[test]
fn the_default_gate_opens_only_verdict_bits_and_one_aggregate() {
    let Some(data) = real_data_dir() else { return };
    let text = verified(5, "kind = \"sign-flip\"\nscale = 5.0", "");
    let run = experiment(&text, &data, 2).run(&mut NoOutput).unwrap();
    let row = &run.rounds[1];
    assert_eq!(row.smpc.opened_cell(), "pass-bit:5;aggregate-model:1");
    assert!(row.aggregation.bytes > 0, "the one aggregate is billed");
    assert!(run.clients.iter().all(|c| c.verify_score.is_none()));
}

#[test]
fn lying_validators_never_cause_a_second_opening() {
    let Some(data) = real_data_dir() else { return };
    // Hospitals 0 and 1 attack; three of five validators invert their verdicts, so the
    // finalized set ({0, 1}) is not the defense's own ({2, 3, 4}).
    let text = verified(5, "kind = \"sign-flip\"\nscale = 5.0", "").replace(
        "hospitals = [0]",
        "hospitals = [0, 1]\nlying-validators = [2, 3, 4]",
    );
    let mut exp = experiment(&text, &data, 2);
    let (_dir, out, run) = run_to_folder(&mut exp);
    let own: Vec<usize> = run
        .clients
        .iter()
        .filter(|c| c.verdict == securefl_api::Verdict::Accepted)
        .map(|c| c.hospital)
        .collect();
    assert_eq!(own, [2, 3, 4]);
    let row = &run.rounds[1];
    assert!(
        row.smpc
            .opened_cell()
            .ends_with("pass-bit:5;aggregate-model:1"),
        "{}",
        row.smpc.opened_cell()
    );
    assert!(row.aggregation.bytes > 0);
    let shown = securefl_core::ledger::show_run(&out).unwrap();
    let line = shown.lines().find(|l| l.contains("aggregation")).unwrap();
    assert!(line.contains("[0, 1]"), "{line}");
}

#[test]
fn fewer_accepted_models_than_min_accepted_keep_the_global_model() {
    let Some(data) = real_data_dir() else { return };
    let text =
        verified(3, "kind = \"none\"", "min-accepted = 4").replace("rounds = 1", "rounds = 2");
    let run = experiment(&text, &data, 2).run(&mut NoOutput).unwrap();
    for row in &run.rounds[1..] {
        assert_eq!(row.test, run.rounds[0].test, "round {}", row.round);
        assert!(!row.smpc.opened_cell().contains("aggregate-model"));
        assert_eq!(row.aggregation.bytes, 0);
    }
}

#[test]
fn a_hospital_that_lies_about_its_classes_passes_the_class_rule_where_the_truth_fails() {
    let Some(data) = real_data_dir() else { return };
    // Hospital 0 trains on every label replaced by 0, so its model predicts class 0 always.
    let flipper_in_round_2 = |report: &str| {
        let text = verified(
            5,
            "kind = \"label-flip\"\nmode = \"all-to-one\"\ntarget = 0",
            "rule = \"class-conditional\"\nfloor = \"none\"",
        )
        .replace("rounds = 1", "rounds = 2")
        .replace(
            "hospitals = [0]",
            &format!("hospitals = [0]\nreport-classes = \"{report}\""),
        );
        let run = experiment(&text, &data, 2).run(&mut NoOutput).unwrap();
        let honest_rejected = run
            .clients
            .iter()
            .filter(|c| c.hospital != 0 && c.verdict == securefl_api::Verdict::Rejected)
            .count();
        assert_eq!(honest_rejected, 0, "{report}");
        let liar = run.clients.iter().find(|c| c.hospital == 0 && c.round == 2);
        liar.unwrap().verdict
    };
    // Reporting its true (mixed) histogram, it is judged on both classes and fails; claiming
    // only class 0, it is judged like a hospital holding only class 0 and passes: the rule bounds
    // a liar to what an honest one-class hospital may submit, no more.
    assert_eq!(
        flipper_in_round_2("honest"),
        securefl_api::Verdict::Rejected
    );
    assert_eq!(flipper_in_round_2("best"), securefl_api::Verdict::Accepted);
}

#[test]
fn the_neighbour_bound_rejects_an_unboosted_flip_that_the_norm_bound_cannot_see() {
    let Some(data) = real_data_dir() else { return };
    // Hospital 0 submits its update negated at honest length; the norm bound is off.
    let text = verified(
        5,
        "kind = \"sign-flip\"\nscale = 1.0",
        "norm-bound = 0\nneighbour-bound = 2.0\nweight-bound = 2.0",
    )
    .replace("rounds = 1", "rounds = 2");
    let run = experiment(&text, &data, 2).run(&mut NoOutput).unwrap();
    let verdict = |h: usize, r: usize| {
        run.clients
            .iter()
            .find(|c| c.hospital == h && c.round == r)
            .unwrap()
            .verdict
    };
    assert_eq!(verdict(0, 2), securefl_api::Verdict::Rejected);
    assert!((1..5).all(|h| verdict(h, 2) == securefl_api::Verdict::Accepted));
    assert_eq!(
        run.rounds[2].smpc.opened_cell(),
        "pass-bit:5;aggregate-model:1"
    );
    // Too wide a weight bound for exact comparisons (±4 with factor 4 over two neighbours)
    // stops the run with one line.
    let wide = text
        .replace("weight-bound = 2.0", "weight-bound = 4.0")
        .replace("neighbour-bound = 2.0", "neighbour-bound = 4.0");
    match experiment(&wide, &data, 2).run(&mut NoOutput) {
        Ok(_) => panic!("an inexact neighbour bound ran"),
        Err(err) => assert!(err.to_string().contains("weight-bound"), "{err}"),
    }
}

#[test]
fn the_rank_selection_drops_exactly_the_flipper_and_opens_only_bits() {
    let Some(data) = real_data_dir() else { return };
    // As above, with Multi-Krum's selection in shares instead of the bound: one malicious
    // hospital, so exactly one model a round is dropped, and in round 2 it is the flipper's.
    let text = verified(
        5,
        "kind = \"sign-flip\"\nscale = 1.0",
        "norm-bound = 0\nneighbour-rank = true\nweight-bound = 2.0",
    )
    .replace("rounds = 1", "rounds = 2");
    let run = experiment(&text, &data, 2).run(&mut NoOutput).unwrap();
    let rejected: Vec<(usize, usize)> = run
        .clients
        .iter()
        .filter(|c| c.verdict == securefl_api::Verdict::Rejected)
        .map(|c| (c.round, c.hospital))
        .collect();
    assert!(rejected.contains(&(2, 0)), "{rejected:?}");
    assert_eq!(rejected.iter().filter(|(r, _)| *r == 2).count(), 1);
    assert_eq!(
        run.rounds[2].smpc.opened_cell(),
        "pass-bit:5;aggregate-model:1"
    );
}

#[test]
fn cross_hospital_verdicts_are_each_validators_and_only_a_lying_majority_turns_them() {
    let Some(data) = real_data_dir() else { return };
    // Hospital 0 trains on every label replaced by 0; every hospital validates on its own split.
    let text = verified(
        5,
        "kind = \"label-flip\"\nmode = \"all-to-one\"\ntarget = 0",
        "rule = \"class-conditional\"\nfloor = \"none\"\nvalidation = \"cross-hospital\"",
    )
    .replace("rounds = 1", "rounds = 2");
    let with_liars = |liars: &str| {
        text.replace(
            "hospitals = [0]",
            &format!("hospitals = [0]\nlying-validators = {liars}"),
        )
    };
    let round_2 = |text: &str| {
        let mut exp = experiment(text, &data, 2);
        let (_dir, out, run) = run_to_folder(&mut exp);
        securefl_core::ledger::verify_run(&out, &anchor(&exp)).unwrap();
        let shown = securefl_core::ledger::show_run(&out).unwrap();
        let line = shown.lines().rfind(|l| l.contains("aggregation"));
        let line = line.unwrap();
        let set = line[line.find('[').unwrap()..=line.find(']').unwrap()].to_owned();
        (set, run)
    };
    // Two of five validators invert their own votes: the honest majority's set stands.
    let (set, run) = round_2(&with_liars("[1, 2]"));
    assert_eq!(set, "[1, 2, 3, 4]");
    let flipper = run.clients.iter().find(|c| c.hospital == 0 && c.round == 2);
    assert_eq!(flipper.unwrap().verdict, securefl_api::Verdict::Rejected);
    // One bit per validator and model, and the one aggregate.
    assert_eq!(
        run.rounds[2].smpc.opened_cell(),
        "pass-bit:25;aggregate-model:1"
    );
    // Three of five: the finalized set is theirs, not the validators' computation.
    let (set, _) = round_2(&with_liars("[1, 2, 3]"));
    assert_ne!(set, "[1, 2, 3, 4]");
}

#[test]
fn a_run_under_the_clone_attack_counts_its_forks_under_half_finality_only() {
    let Some(data) = real_data_dir() else { return };
    // Five PoA authorities, authority 4's key also on a sixth node, the network split into
    // {0, 1, 4} and {2, 3, 5} from 5.5 s to 30.5 s of simulated time.
    let run = |finality: &str| {
        let text = format!(
            "{}\n[consensus]\nkind = \"poa\"\nfinality = {finality}\nclones = [4]\n\
             block-timeout-us = 4000000\nnetwork = {{ partitions = [{{ start-us = 5500000, \
             heal-us = 30500000, groups = [[0, 1, 4], [2, 3, 5]] }}] }}\n",
            config_text(5, 8)
        );
        let run = experiment(&text, &data, 2).run(&mut NoOutput).unwrap();
        run.rounds.iter().map(|r| r.conflicts).sum::<u64>()
    };
    assert!(
        run("0.5") > 0,
        "the clone attack split finality under the 1/2 rule"
    );
    assert_eq!(run("0.6667"), 0);
}

#[test]
fn a_pbft_primary_proposing_wrong_content_is_caught_unless_more_than_f_collude() {
    let Some(data) = real_data_dir() else { return };
    // Four validators (f = 1); wrong-content replicas propose other content (a wrong accepted
    // set or model hash) and vote for it.
    let run = |faulty: &[usize]| {
        let faults: Vec<String> = faulty
            .iter()
            .map(|n| format!("{{ node = {n}, behaviour = \"wrong-content\" }}"))
            .collect();
        let text = format!(
            "{}\n[consensus]\nkind = \"pbft\"\nblock-timeout-us = 3000000\nfaults = [{}]\n",
            config_text(4, 2),
            faults.join(", ")
        );
        experiment(&text, &data, 2).run(&mut NoOutput).unwrap()
    };
    // One (the primary of view 0): refused, a view change, every round final with its content.
    let one = run(&[0]);
    assert!(
        one.rounds[1..]
            .iter()
            .all(|r| r.finalized && r.wrong_content == 0)
    );
    assert!(one.rounds[1].view_changes >= 1);
    // Three: their own commit quorum certifies the wrong content and the run says so; no honest
    // majority holds it final, so no round is final and the global model stays the initial one.
    let three = run(&[0, 1, 2]);
    assert!(three.rounds[1..].iter().all(|r| !r.finalized));
    assert!(three.rounds[1].wrong_content > 0, "{:?}", three.rounds[1]);
    assert_eq!(three.rounds[2].test, three.rounds[0].test);
}

#[test]
fn every_changed_byte_of_a_real_runs_ledger_is_detected() {
    let Some(data) = real_data_dir() else { return };
    let mut exp = experiment(&config_text(2, 1), &data, 2);
    let (_dir, out, _) = run_to_folder(&mut exp);
    let anchor = anchor(&exp);
    securefl_core::ledger::verify_run(&out, &anchor).unwrap();
    let path = out.join(securefl_core::ledger::store::FILE);
    let original = std::fs::read(&path).unwrap();
    for at in 0..original.len() {
        let mut bad = original.clone();
        bad[at] ^= 1 << (at % 8);
        std::fs::write(&path, &bad).unwrap();
        let verdict = securefl_core::ledger::verify_run(&out, &anchor);
        assert!(
            verdict.is_err(),
            "byte {at} of ledger.bin changed, not detected"
        );
    }
    std::fs::write(&path, &original).unwrap();
    assert!(original.len() > 1_000, "{} bytes", original.len());
}
