//! A reader for `.npz` files: zip archives (stored or deflated) of `.npy` arrays.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use securefl_api::PluginError;

use crate::npy::{NpyArray, parse_npy};

/// Largest array accepted, in bytes (far above any MedMNIST 28x28 array).
const MAX_ENTRY_BYTES: u64 = 1 << 31;

/// Reads every array of an `.npz` held in memory, keyed by name without `.npy`.
///
/// `file` names the archive in errors.
pub fn read_npz(file: &str, bytes: &[u8]) -> Result<BTreeMap<String, NpyArray>, PluginError> {
    let bad = |msg: String| PluginError::invalid(format!("{file}: {msg}"));
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| bad(format!("not a readable .npz archive ({e})")))?;
    let mut arrays = BTreeMap::new();
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| bad(format!("entry {i} is unreadable ({e})")))?;
        let name = entry.name().to_owned();
        let key = name.strip_suffix(".npy").unwrap_or(&name).to_owned();
        if entry.size() > MAX_ENTRY_BYTES {
            return Err(bad(format!(
                "entry {name} is too large ({} bytes)",
                entry.size()
            )));
        }
        let mut data = Vec::new();
        (&mut entry)
            .take(MAX_ENTRY_BYTES)
            .read_to_end(&mut data)
            .map_err(|e| bad(format!("entry {name} is corrupt ({e})")))?;
        let array = parse_npy(&format!("{file}: {key}"), &data)?;
        arrays.insert(key, array);
    }
    Ok(arrays)
}

/// Builds an `.npz` (deflated) from named `uint8` arrays; used to make test fixtures.
pub fn write_npz(arrays: &[(&str, &[usize], &[u8])]) -> Result<Vec<u8>, PluginError> {
    let fail = |e: zip::result::ZipError| PluginError::failed(format!("writing npz: {e}"));
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, shape, data) in arrays {
        writer
            .start_file(format!("{name}.npy"), options)
            .map_err(fail)?;
        std::io::Write::write_all(&mut writer, &crate::npy::encode_npy(shape, data))
            .map_err(|e| PluginError::failed(format!("writing npz: {e}")))?;
    }
    Ok(writer.finish().map_err(fail)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_arrays_back_by_name() {
        let bytes = write_npz(&[("a", &[2, 2], &[1, 2, 3, 4]), ("b", &[1], &[9])]).unwrap();
        let arrays = read_npz("x.npz", &bytes).unwrap();
        assert_eq!(arrays.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(arrays["a"].shape, [2, 2]);
        assert_eq!(arrays["b"].data, [9]);
    }

    #[test]
    fn garbage_and_truncation_are_errors() {
        let e = read_npz("x.npz", b"not a zip").unwrap_err().to_string();
        assert!(e.starts_with("x.npz: not a readable .npz archive"), "{e}");
        let bytes = write_npz(&[("a", &[64, 64], &[7; 4096])]).unwrap();
        for cut in [10, bytes.len() / 2, bytes.len() - 5] {
            let e = read_npz("x.npz", &bytes[..cut]).unwrap_err().to_string();
            assert!(e.starts_with("x.npz: "), "{e}");
        }
    }

    #[test]
    fn a_bad_array_names_the_archive_and_key() {
        let mut bad = crate::npy::encode_npy(&[2], &[1, 2]);
        bad.pop();
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        writer.start_file("a.npy", options).unwrap();
        std::io::Write::write_all(&mut writer, &bad).unwrap();
        let bytes = writer.finish().unwrap().into_inner();
        let e = read_npz("x.npz", &bytes).unwrap_err().to_string();
        assert!(e.starts_with("x.npz: a: size mismatch"), "{e}");
    }
}
