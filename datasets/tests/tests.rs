//! Tests against the real MedMNIST files (`SECUREFL_DATA=/work/shared/datasets/medmnist`).

use std::path::{Path, PathBuf};

use securefl_api::{DataCtx, Dataset, Registry, Task};
use securefl_datasets::{load_file, medmnist, testing};

fn ctx(dir: &Path) -> DataCtx {
    DataCtx {
        search_dirs: vec![dir.to_path_buf()],
        cache_dir: dir.join("no-cache"),
        allow_download: false,
        progress: false,
    }
}

fn check_counts(d: &Dataset, splits: [usize; 3], channels: usize, train_counts: &[usize]) {
    assert_eq!([d.train.len(), d.val.len(), d.test.len()], splits);
    for set in [&d.train, &d.val, &d.test] {
        assert_eq!((set.height, set.width, set.channels), (28, 28, channels));
        assert_eq!(set.pixels.len(), set.len() * 28 * 28 * channels);
    }
    assert_eq!(d.train.class_counts(d.classes()), train_counts);
    assert!(!d.provenance.synthetic);
}

#[test]
fn loads_pneumoniamnist_through_the_plugin() {
    let Some(dir) = testing::real_data_dir() else {
        return;
    };
    let mut reg = Registry::default();
    securefl_datasets::register(&mut reg).unwrap();
    let params = securefl_api::Params::from_toml("flag = \"pneumoniamnist\"").unwrap();
    let source = reg
        .get::<dyn securefl_api::DatasetSource>("medmnist")
        .unwrap();
    let d = source.build(&params).unwrap().load(&ctx(&dir)).unwrap();
    check_counts(&d, [4708, 524, 624], 1, &[1214, 3494]);
    assert_eq!(d.class_names, ["normal", "pneumonia"]);
    assert_eq!(d.task, Task::Binary);
    assert_eq!(d.provenance.md5, "28209eda62fecd6e6a2d98b1501bb15f");
    assert_eq!(d.provenance.path, dir.join("pneumoniamnist.npz"));
}

#[test]
fn loads_bloodmnist() {
    let Some(dir) = testing::real_data_dir() else {
        return;
    };
    let d = securefl_datasets::load("bloodmnist", &ctx(&dir)).unwrap();
    let counts = [852, 2181, 1085, 2026, 849, 993, 2330, 1643];
    check_counts(&d, [11959, 1712, 3421], 3, &counts);
    assert_eq!(d.task, Task::MultiClass);
    assert_eq!(d.classes(), 8);
}

#[test]
fn loads_breastmnist_and_the_v3_organamnist() {
    let Some(dir) = testing::real_data_dir() else {
        return;
    };
    let d = securefl_datasets::load("breastmnist", &ctx(&dir)).unwrap();
    check_counts(&d, [546, 78, 156], 1, &[147, 399]);
    let d = securefl_datasets::load("organamnist", &ctx(&dir)).unwrap();
    let counts = [
        1956, 1390, 1357, 1474, 3963, 3817, 6164, 3919, 3929, 3031, 3561,
    ];
    check_counts(&d, [34561, 6491, 17778], 1, &counts);
    assert_eq!(d.provenance.md5, "68e3f8846a6bd62f0c9bf841c0d9eacc");
}

/// Copies pneumoniamnist.npz into a temp dir after `edit`, returning the dir and path.
fn edited_copy(dir: &Path, edit: impl Fn(&mut Vec<u8>)) -> (tempfile::TempDir, PathBuf) {
    let mut bytes = std::fs::read(dir.join("pneumoniamnist.npz")).unwrap();
    edit(&mut bytes);
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("pneumoniamnist.npz");
    std::fs::write(&path, bytes).unwrap();
    (tmp, path)
}

/// A change made to a copy of the real file.
type Edit = fn(&mut Vec<u8>);

#[test]
fn damaged_copies_are_errors_naming_the_file() {
    let Some(dir) = testing::real_data_dir() else {
        return;
    };
    let edits: [(&str, Edit); 3] = [
        ("truncated", |b| b.truncate(b.len() / 2)),
        ("byte-flipped", |b| {
            let mid = b.len() / 2;
            b[mid] ^= 0xff;
        }),
        ("right size, wrong md5", |b| {
            b.iter_mut().for_each(|x| *x = 0)
        }),
    ];
    for (what, edit) in edits {
        let (_tmp, path) = edited_copy(&dir, edit);
        let e = load_file("pneumoniamnist", &path).unwrap_err().to_string();
        assert!(e.contains(&path.display().to_string()), "{what}: {e}");
        assert!(
            e.contains("28209eda62fecd6e6a2d98b1501bb15f"),
            "{what}: {e}"
        );
        let actual = medmnist::md5_hex(&std::fs::read(&path).unwrap());
        assert!(e.contains(&actual), "{what}: {e}");
        assert!(!e.contains('\n'), "{what}: {e}");
    }
}

#[test]
fn a_file_under_the_wrong_flag_is_refused() {
    let Some(dir) = testing::real_data_dir() else {
        return;
    };
    let e = load_file("breastmnist", &dir.join("pneumoniamnist.npz")).unwrap_err();
    assert!(
        e.to_string().contains("750601b1f35ba3300ea97c75c52ff8f6"),
        "{e}"
    );
}

#[test]
fn missing_file_offline_names_dirs_and_md5() {
    let tmp = tempfile::tempdir().unwrap();
    let e = securefl_datasets::load("dermamnist", &ctx(tmp.path()))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("dermamnist.npz not found in $SECUREFL_DATA ("),
        "{e}"
    );
    assert!(e.contains("0744692d530f8e62ec473284d019b0c7") && e.contains("SECUREFL_OFFLINE"));
    let e = securefl_datasets::load("chestmnist", &ctx(tmp.path()))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("multi-label") && e.contains("not supported"),
        "{e}"
    );
}
