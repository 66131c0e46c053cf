//! A reader for `.npy` arrays of `uint8` (`|u1`) in C order, the only kind MedMNIST ships.
//!
//! The format is documented in numpy's `numpy.lib.format`: a magic string, a version, a header
//! length (2 bytes in v1, 4 bytes in v2 and v3), a Python dict literal, then the raw data.

use securefl_api::PluginError;

const MAGIC: &[u8] = b"\x93NUMPY";

/// A `uint8` array: its shape and its bytes in C order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyArray {
    /// The dimensions, outermost first.
    pub shape: Vec<usize>,
    /// The elements in C (row-major) order; `shape` product of them.
    pub data: Vec<u8>,
}

/// Parses a `.npy` file; `what` names it in errors (e.g. `x.npz: train_images`).
pub fn parse_npy(what: &str, bytes: &[u8]) -> Result<NpyArray, PluginError> {
    let bad = |msg: String| PluginError::invalid(format!("{what}: {msg}"));
    let (header, data) = split_header(bytes).map_err(bad)?;
    let header = parse_header(header).map_err(bad)?;
    if header.fortran_order {
        return Err(bad("fortran-order arrays are not supported".into()));
    }
    let expected = element_count(&header.shape).map_err(bad)?;
    if data.len() != expected {
        let msg = format!(
            "size mismatch: shape {:?} needs {expected} bytes, found {}",
            header.shape,
            data.len()
        );
        return Err(bad(msg));
    }
    Ok(NpyArray {
        shape: header.shape,
        data: data.to_vec(),
    })
}

/// Encodes a `uint8` C-order array as a v1 `.npy` file (used to build test fixtures).
pub fn encode_npy(shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let tuple = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '|u1', 'fortran_order': False, 'shape': {tuple}, }}");
    while !(MAGIC.len() + 4 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// Splits a file into its header text and its data.
fn split_header(bytes: &[u8]) -> Result<(&str, &[u8]), String> {
    if bytes.len() < MAGIC.len() + 2 || &bytes[..MAGIC.len()] != MAGIC {
        return Err("not a .npy array (bad magic)".into());
    }
    let major = bytes[MAGIC.len()];
    let (len_bytes, start) = match major {
        1 => (2, MAGIC.len() + 4),
        2 | 3 => (4, MAGIC.len() + 6),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let len_field = bytes
        .get(MAGIC.len() + 2..start)
        .ok_or("truncated .npy header")?;
    let len = len_field
        .iter()
        .take(len_bytes)
        .rev()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    let end = start.checked_add(len).ok_or("truncated .npy header")?;
    let header = bytes.get(start..end).ok_or("truncated .npy header")?;
    let text = std::str::from_utf8(header).map_err(|_| "header is not text".to_owned())?;
    Ok((text, &bytes[end..]))
}

/// What the header dict says.
#[derive(Debug, PartialEq)]
struct Header {
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Parses the dict literal, keeping only `|u1` arrays.
fn parse_header(text: &str) -> Result<Header, String> {
    let descr = dict_value(text, "descr")?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    if !matches!(descr, "|u1" | "<u1" | ">u1" | "=u1") {
        return Err(format!(
            "dtype {descr} is not supported (expected uint8 |u1)"
        ));
    }
    let fortran_order = match dict_value(text, "fortran_order")? {
        "False" => false,
        "True" => true,
        v => return Err(format!("bad fortran_order value {v}")),
    };
    let shape = parse_shape(dict_value(text, "shape")?)?;
    Ok(Header {
        fortran_order,
        shape,
    })
}

/// The raw text of the value of `key` in the header dict.
fn dict_value<'a>(text: &'a str, key: &str) -> Result<&'a str, String> {
    let missing = || format!("header has no '{key}'");
    let at = text
        .find(&format!("'{key}'"))
        .or_else(|| text.find(&format!("\"{key}\"")))
        .ok_or_else(missing)?;
    let rest = text[at + key.len() + 2..].trim_start();
    let rest = rest.strip_prefix(':').ok_or_else(missing)?.trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')').map(|i| i + 1)
    } else {
        rest.find([',', '}'])
    };
    let end = end.ok_or_else(|| format!("header value of '{key}' is malformed"))?;
    Ok(rest[..end].trim())
}

/// Parses a Python tuple of integers such as `(4708, 28, 28)` or `(5,)`.
fn parse_shape(text: &str) -> Result<Vec<usize>, String> {
    let inner = text
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| format!("bad shape {text}"))?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.parse().map_err(|_| format!("bad shape {text}")))
        .collect()
}

/// The number of elements of `shape`, refusing overflow.
fn element_count(shape: &[usize]) -> Result<usize, String> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("shape {shape:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_header(version: u8, header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[version, 0]);
        match version {
            1 => out.extend_from_slice(&(header.len() as u16).to_le_bytes()),
            _ => out.extend_from_slice(&(header.len() as u32).to_le_bytes()),
        }
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn err(bytes: &[u8]) -> String {
        parse_npy("t.npz: a", bytes).unwrap_err().to_string()
    }

    #[test]
    fn round_trips_an_encoded_array() {
        let data: Vec<u8> = (0..24).collect();
        let bytes = encode_npy(&[2, 3, 4], &data);
        assert_eq!((bytes.len() - data.len()) % 64, 0);
        let a = parse_npy("t", &bytes).unwrap();
        assert_eq!(a.shape, [2, 3, 4]);
        assert_eq!(a.data, data);
        let one = parse_npy("t", &encode_npy(&[3], &[1, 2, 3])).unwrap();
        assert_eq!(one.shape, [3]);
    }

    #[test]
    fn reads_v2_headers() {
        let h = "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }\n";
        let a = parse_npy("t", &with_header(2, h, &[1, 2, 3, 4])).unwrap();
        assert_eq!(a.shape, [2, 2]);
        assert_eq!(a.data, [1, 2, 3, 4]);
    }

    #[test]
    fn rejects_bad_magic() {
        assert!(err(b"\x93NUMPZ\x01\x00").contains("bad magic"));
        assert!(err(b"").contains("bad magic"));
        assert!(err(b"t.npz: a").starts_with("t.npz: a: "));
    }

    #[test]
    fn rejects_other_dtypes() {
        let h = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }";
        let e = err(&with_header(1, h, &[0; 4]));
        assert!(e.contains("dtype <f4 is not supported"), "{e}");
        let h = "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }";
        assert!(err(&with_header(1, h, &[0; 8])).contains("dtype"));
    }

    #[test]
    fn rejects_fortran_order() {
        let h = "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 2), }";
        assert!(err(&with_header(1, h, &[0; 4])).contains("fortran-order"));
    }

    #[test]
    fn rejects_truncated_data_and_headers() {
        let bytes = encode_npy(&[2, 3], &[0; 6]);
        let e = err(&bytes[..bytes.len() - 1]);
        assert!(e.contains("size mismatch") && e.contains("found 5"), "{e}");
        assert!(err(&bytes[..20]).contains("truncated"));
        let mut long = bytes.clone();
        long.push(0);
        assert!(err(&long).contains("size mismatch"));
    }

    #[test]
    fn rejects_malformed_headers() {
        let h = "{'descr': '|u1', 'fortran_order': False, }";
        assert!(err(&with_header(1, h, &[])).contains("no 'shape'"));
        let h = "{'descr': '|u1', 'fortran_order': False, 'shape': (2, x), }";
        assert!(err(&with_header(1, h, &[])).contains("bad shape"));
        let h = "{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999, 99999999999, 9999999999), }";
        assert!(err(&with_header(1, h, &[])).contains("too large"));
        assert!(err(&with_header(7, "{}", &[])).contains("version 7"));
    }
}
