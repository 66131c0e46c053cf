//! The MedMNIST 2D flags and the loader of their official 28x28 `.npz` files.
//!
//! Every value in [`FLAGS`] (class names, task, channels, split sizes, md5 of the 28x28 file)
//! is copied from `INFO[flag]` in MedMNIST v3's `medmnist/info.py` (`__version__ = "3.0.2"`),
//! GitHub `MedMNIST/MedMNIST` at commit `3bb56be69bca38e5f105b21e4d6482b91354d3a4`.
//! The four files we hold (pneumonia, breast, blood, organa) were also checked against
//! `/work/shared/datasets/medmnist/MANIFEST.md`.
//! Note that v3 re-released organamnist, organcmnist and organsmnist with new md5s and split
//! sizes; the v2 values (e.g. organamnist `866b832ed4eeba67bfb9edee1d5544e6`, 34581 train
//! images) are deliberately not accepted.

use std::path::Path;

use md5::{Digest, Md5};
use securefl_api::{DataCtx, Dataset, ImageSet, PluginError, Provenance, Task};

use crate::npy::NpyArray;
use crate::npz::read_npz;

/// Image side of the 28x28 release.
pub const SIDE: usize = 28;

/// The task of a flag as MedMNIST states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagTask {
    /// Two classes.
    Binary,
    /// Several exclusive classes.
    MultiClass,
    /// Ordinal grades (retinamnist); treated as multi-class.
    Ordinal,
    /// Several binary labels per image (chestmnist); not supported.
    MultiLabel,
}

/// What MedMNIST says about one 2D flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagInfo {
    /// The flag, also the file stem (`pneumoniamnist` for `pneumoniamnist.npz`).
    pub flag: &'static str,
    /// Class names, indexed by label.
    pub class_names: &'static [&'static str],
    /// The task.
    pub task: FlagTask,
    /// 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// Official train, val and test sizes.
    pub splits: [usize; 3],
    /// Official md5 of the 28x28 `.npz`, when known.
    pub md5: Option<&'static str>,
}

const ORGANS: &[&str] = &[
    "bladder",
    "femur-left",
    "femur-right",
    "heart",
    "kidney-left",
    "kidney-right",
    "liver",
    "lung-left",
    "lung-right",
    "pancreas",
    "spleen",
];

/// The MedMNIST v3 2D flags (28x28). Source: see the module docs.
pub const FLAGS: &[FlagInfo] = &[
    FlagInfo {
        flag: "pneumoniamnist",
        class_names: &["normal", "pneumonia"],
        task: FlagTask::Binary,
        channels: 1,
        splits: [4708, 524, 624],
        // info.py 3.0.2; also MANIFEST.md (verified on the held file).
        md5: Some("28209eda62fecd6e6a2d98b1501bb15f"),
    },
    FlagInfo {
        flag: "breastmnist",
        class_names: &["malignant", "normal, benign"],
        task: FlagTask::Binary,
        channels: 1,
        splits: [546, 78, 156],
        // info.py 3.0.2; also MANIFEST.md (verified on the held file).
        md5: Some("750601b1f35ba3300ea97c75c52ff8f6"),
    },
    FlagInfo {
        flag: "bloodmnist",
        class_names: &[
            "basophil",
            "eosinophil",
            "erythroblast",
            "immature granulocytes(myelocytes, metamyelocytes and promyelocytes)",
            "lymphocyte",
            "monocyte",
            "neutrophil",
            "platelet",
        ],
        task: FlagTask::MultiClass,
        channels: 3,
        splits: [11959, 1712, 3421],
        // info.py 3.0.2; also MANIFEST.md (verified on the held file).
        md5: Some("7053d0359d879ad8a5505303e11de1dc"),
    },
    FlagInfo {
        flag: "organamnist",
        class_names: ORGANS,
        task: FlagTask::MultiClass,
        channels: 1,
        splits: [34561, 6491, 17778],
        // info.py 3.0.2 (v3 file; v2 was 866b832e...); also MANIFEST.md (verified).
        md5: Some("68e3f8846a6bd62f0c9bf841c0d9eacc"),
    },
    FlagInfo {
        flag: "organcmnist",
        class_names: ORGANS,
        task: FlagTask::MultiClass,
        channels: 1,
        splits: [12975, 2392, 8216],
        // info.py 3.0.2 (v3 file; v2 was 0afa5834fb105f7705a7d93372119a21, 13000/2392/8268).
        md5: Some("b9ceb9546e10131b32923c5bbeaea2b1"),
    },
    FlagInfo {
        flag: "organsmnist",
        class_names: ORGANS,
        task: FlagTask::MultiClass,
        channels: 1,
        splits: [13932, 2452, 8827],
        // info.py 3.0.2 (v3 file; v2 was e5c39f1af030238290b9557d9503af9d, 13940/2452/8829).
        md5: Some("9ab87b696fb54e2a387ebe992d6ed5f1"),
    },
    FlagInfo {
        flag: "dermamnist",
        class_names: &[
            "actinic keratoses and intraepithelial carcinoma",
            "basal cell carcinoma",
            "benign keratosis-like lesions",
            "dermatofibroma",
            "melanoma",
            "melanocytic nevi",
            "vascular lesions",
        ],
        task: FlagTask::MultiClass,
        channels: 3,
        splits: [7007, 1003, 2005],
        // info.py 3.0.2 (same value in 2.1.0).
        md5: Some("0744692d530f8e62ec473284d019b0c7"),
    },
    FlagInfo {
        flag: "octmnist",
        class_names: &[
            "choroidal neovascularization",
            "diabetic macular edema",
            "drusen",
            "normal",
        ],
        task: FlagTask::MultiClass,
        channels: 1,
        splits: [97477, 10832, 1000],
        // info.py 3.0.2 (same value in 2.1.0).
        md5: Some("c68d92d5b585d8d81f7112f81e2d0842"),
    },
    FlagInfo {
        flag: "retinamnist",
        class_names: &["0", "1", "2", "3", "4"],
        task: FlagTask::Ordinal,
        channels: 3,
        splits: [1080, 120, 400],
        // info.py 3.0.2 (same value in 2.1.0).
        md5: Some("bd4c0672f1bba3e3a89f0e4e876791e4"),
    },
    FlagInfo {
        flag: "pathmnist",
        class_names: &[
            "adipose",
            "background",
            "debris",
            "lymphocytes",
            "mucus",
            "smooth muscle",
            "normal colon mucosa",
            "cancer-associated stroma",
            "colorectal adenocarcinoma epithelium",
        ],
        task: FlagTask::MultiClass,
        channels: 3,
        splits: [89996, 10004, 7180],
        // info.py 3.0.2 (same value in 2.1.0).
        md5: Some("a8b06965200029087d5bd730944a56c1"),
    },
    FlagInfo {
        flag: "tissuemnist",
        class_names: &[
            "Collecting Duct, Connecting Tubule",
            "Distal Convoluted Tubule",
            "Glomerular endothelial cells",
            "Interstitial endothelial cells",
            "Leukocytes",
            "Podocytes",
            "Proximal Tubule Segments",
            "Thick Ascending Limb",
        ],
        task: FlagTask::MultiClass,
        channels: 1,
        splits: [165466, 23640, 47280],
        // info.py 3.0.2 (same value in 2.1.0).
        md5: Some("ebe78ee8b05294063de985d821c1c34b"),
    },
    FlagInfo {
        flag: "chestmnist",
        class_names: &[
            "atelectasis",
            "cardiomegaly",
            "effusion",
            "infiltration",
            "mass",
            "nodule",
            "pneumonia",
            "pneumothorax",
            "consolidation",
            "edema",
            "emphysema",
            "fibrosis",
            "pleural",
            "hernia",
        ],
        task: FlagTask::MultiLabel,
        channels: 1,
        splits: [78468, 11219, 22433],
        // info.py 3.0.2 (same value in 2.1.0); listed for completeness, refused on load.
        md5: Some("02c8a6516a18b556561a56cbdd36c4a8"),
    },
];

/// The flags in [`FLAGS`], sorted, comma-separated.
pub fn known_flags() -> String {
    let mut names: Vec<&str> = FLAGS.iter().map(|f| f.flag).collect();
    names.sort_unstable();
    names.join(", ")
}

/// The table entry of `flag`, or an error listing the known flags.
pub fn flag_info(flag: &str) -> Result<&'static FlagInfo, PluginError> {
    FLAGS.iter().find(|f| f.flag == flag).ok_or_else(|| {
        PluginError::invalid(format!(
            "unknown medmnist flag `{flag}` (known: {})",
            known_flags()
        ))
    })
}

/// The entry of a flag this crate can load: known, single-label, with a known md5.
pub fn loadable_flag(flag: &str) -> Result<(&'static FlagInfo, &'static str), PluginError> {
    let info = flag_info(flag)?;
    if info.task == FlagTask::MultiLabel {
        return Err(PluginError::invalid(format!(
            "{flag} is multi-label ({} binary labels per image); multi-label datasets are not \
             supported",
            info.class_names.len()
        )));
    }
    let md5 = info.md5.ok_or_else(|| {
        PluginError::invalid(format!(
            "{flag}: the official md5 is unknown, so the file cannot be verified; refusing to load it"
        ))
    })?;
    Ok((info, md5))
}

/// Finds `<flag>.npz` (see [`crate::locate`]), verifies its md5 and loads it.
pub fn load(flag: &str, ctx: &DataCtx) -> Result<Dataset, PluginError> {
    let (_, md5) = loadable_flag(flag)?;
    let path = crate::locate::locate(flag, md5, ctx)?;
    load_file(flag, &path)
}

/// Loads the official file of `flag` at `path`: md5 first, then arrays, shapes and labels.
pub fn load_file(flag: &str, path: &Path) -> Result<Dataset, PluginError> {
    let (info, official) = loadable_flag(flag)?;
    let shown = path.display();
    let bytes = std::fs::read(path)
        .map_err(|e| PluginError::failed(format!("{shown}: cannot read ({e})")))?;
    let md5 = md5_hex(&bytes);
    if md5 != official {
        return Err(PluginError::invalid(format!(
            "{shown}: md5 {md5} does not match the official {flag} md5 {official} (corrupt, \
             truncated or a different release); replace it with the official file"
        )));
    }
    decode(info, path, &bytes, md5)
}

/// Decodes `bytes` as the file of `flag` without checking its md5: what `load_file` does after
/// the md5 matched. For fuzzing the decoder, which must refuse any bytes with an error; runs
/// load through [`load_file`].
pub fn decode_bytes(flag: &str, bytes: &[u8]) -> Result<Dataset, PluginError> {
    let info = flag_info(flag)?;
    let path = format!("{flag}.npz");
    decode(info, Path::new(&path), bytes, md5_hex(bytes))
}

/// The lowercase hex md5 of `bytes`.
pub fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Parses and validates already-verified bytes into a [`Dataset`].
pub(crate) fn decode(
    info: &FlagInfo,
    path: &Path,
    bytes: &[u8],
    md5: String,
) -> Result<Dataset, PluginError> {
    let file = path.display().to_string();
    let mut arrays = read_npz(&file, bytes)?;
    let mut take = |split: usize, name: &str| -> Result<ImageSet, PluginError> {
        let images = remove(&mut arrays, &file, &format!("{name}_images"))?;
        let labels = remove(&mut arrays, &file, &format!("{name}_labels"))?;
        split_set(info, &file, name, info.splits[split], images, labels)
    };
    let train = take(0, "train")?;
    let val = take(1, "val")?;
    let test = take(2, "test")?;
    Ok(Dataset {
        name: info.flag.to_owned(),
        class_names: info.class_names.iter().map(|s| (*s).to_owned()).collect(),
        task: match info.task {
            FlagTask::Binary => Task::Binary,
            _ => Task::MultiClass,
        },
        train,
        val,
        test,
        provenance: Provenance {
            path: path.to_path_buf(),
            md5,
            synthetic: false,
        },
    })
}

/// Takes array `key` out of the archive, or says it is missing.
fn remove(
    arrays: &mut std::collections::BTreeMap<String, NpyArray>,
    file: &str,
    key: &str,
) -> Result<NpyArray, PluginError> {
    arrays
        .remove(key)
        .ok_or_else(|| PluginError::invalid(format!("{file}: missing array `{key}`")))
}

/// Checks one split's shapes, size and labels and builds its [`ImageSet`].
fn split_set(
    info: &FlagInfo,
    file: &str,
    name: &str,
    size: usize,
    images: NpyArray,
    labels: NpyArray,
) -> Result<ImageSet, PluginError> {
    let bad = |msg: String| PluginError::invalid(format!("{file}: {msg}"));
    let want: Vec<usize> = match info.channels {
        1 => vec![size, SIDE, SIDE],
        c => vec![size, SIDE, SIDE, c],
    };
    if images.shape != want {
        return Err(bad(format!(
            "{name}_images has shape {:?}, expected {want:?} ({} official {name} images, {} \
             channel(s))",
            images.shape, size, info.channels
        )));
    }
    if labels.shape != [size, 1] {
        return Err(bad(format!(
            "{name}_labels has shape {:?}, expected [{size}, 1]",
            labels.shape
        )));
    }
    let classes = info.class_names.len();
    if let Some((i, l)) = labels
        .data
        .iter()
        .enumerate()
        .find(|(_, l)| usize::from(**l) >= classes)
    {
        return Err(bad(format!(
            "{name}_labels[{i}] = {l} is out of range for {classes} classes"
        )));
    }
    Ok(ImageSet {
        height: SIDE,
        width: SIDE,
        channels: info.channels,
        pixels: images.data,
        labels: labels.data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::npz::write_npz;

    const TINY: FlagInfo = FlagInfo {
        flag: "tinymnist",
        class_names: &["a", "b", "c"],
        task: FlagTask::MultiClass,
        channels: 3,
        splits: [4, 2, 2],
        md5: None,
    };

    type Arrays = Vec<(String, Vec<usize>, Vec<u8>)>;

    fn tiny_arrays() -> Arrays {
        let mut out = Vec::new();
        for (name, n) in [("train", 4), ("val", 2), ("test", 2)] {
            let img = n * SIDE * SIDE * 3;
            out.push((
                format!("{name}_images"),
                vec![n, SIDE, SIDE, 3],
                vec![5; img],
            ));
            out.push((
                format!("{name}_labels"),
                vec![n, 1],
                (0..n as u8).map(|l| l % 3).collect(),
            ));
        }
        out
    }

    fn decode_arrays(arrays: &Arrays) -> Result<Dataset, PluginError> {
        let refs: Vec<(&str, &[usize], &[u8])> = arrays
            .iter()
            .map(|(n, s, d)| (n.as_str(), s.as_slice(), d.as_slice()))
            .collect();
        let bytes = write_npz(&refs).unwrap();
        decode(
            &TINY,
            Path::new("/d/tinymnist.npz"),
            &bytes,
            md5_hex(&bytes),
        )
    }

    fn decode_err(arrays: &Arrays) -> String {
        decode_arrays(arrays).unwrap_err().to_string()
    }

    #[test]
    fn decodes_a_valid_file() {
        let d = decode_arrays(&tiny_arrays()).unwrap();
        assert_eq!((d.train.len(), d.val.len(), d.test.len()), (4, 2, 2));
        assert_eq!(d.train.channels, 3);
        assert_eq!(d.train.labels, [0, 1, 2, 0]);
        assert_eq!(d.classes(), 3);
        assert!(!d.provenance.synthetic);
    }

    #[test]
    fn missing_key_is_named() {
        let mut a = tiny_arrays();
        a.retain(|(n, _, _)| n != "val_labels");
        let e = decode_err(&a);
        assert_eq!(e, "/d/tinymnist.npz: missing array `val_labels`");
    }

    #[test]
    fn wrong_shapes_are_refused() {
        let mut a = tiny_arrays();
        a[0] = (
            "train_images".into(),
            vec![4, SIDE, SIDE],
            vec![0; 4 * SIDE * SIDE],
        );
        let e = decode_err(&a);
        assert!(
            e.starts_with("/d/tinymnist.npz: train_images has shape [4, 28, 28]"),
            "{e}"
        );
        let mut a = tiny_arrays();
        a[1] = ("train_labels".into(), vec![4], vec![0; 4]);
        assert!(decode_err(&a).contains("train_labels has shape [4]"));
        let mut a = tiny_arrays();
        a[3] = ("val_labels".into(), vec![3, 1], vec![0; 3]);
        assert!(decode_err(&a).contains("val_labels has shape [3, 1], expected [2, 1]"));
    }

    #[test]
    fn label_out_of_range_is_refused() {
        let mut a = tiny_arrays();
        a[5].2[1] = 3;
        let e = decode_err(&a);
        assert_eq!(
            e,
            "/d/tinymnist.npz: test_labels[1] = 3 is out of range for 3 classes"
        );
    }

    #[test]
    fn corrupt_bytes_are_errors() {
        let e = decode(
            &TINY,
            Path::new("/d/t.npz"),
            b"PK\x03\x04junk",
            String::new(),
        );
        assert!(e.unwrap_err().to_string().starts_with("/d/t.npz: "));
    }

    #[test]
    fn flags_are_checked() {
        let e = flag_info("mnist").unwrap_err().to_string();
        assert!(
            e.contains("unknown medmnist flag `mnist`") && e.contains("bloodmnist"),
            "{e}"
        );
        let e = loadable_flag("chestmnist").unwrap_err().to_string();
        assert!(
            e.contains("chestmnist is multi-label") && e.contains("not supported"),
            "{e}"
        );
        assert_eq!(FLAGS.len(), 12);
        for f in FLAGS {
            assert_eq!(f.md5.map(str::len), Some(32), "{}", f.flag);
            assert!(matches!(f.channels, 1 | 3));
        }
        assert_eq!(loadable_flag("retinamnist").unwrap().0.class_names.len(), 5);
    }

    #[test]
    fn md5_of_known_input() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
