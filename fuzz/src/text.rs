//! The TOML mutator: whole lines and values, so that inputs get past the TOML grammar into the
//! config and spec checks; byte havoc ([`crate::mutate`]) now and then.
//!
//! A line is deleted, duplicated, moved, or taken from another corpus entry; a value after `=`
//! becomes a boundary value (0, −1, 2^63, 1e400, nan, inf, empty string, list or table) or a
//! word of the corpus (a plugin kind, a key name); a key becomes another word of the corpus.

use rand::Rng as _;
use securefl_api::Rng as StdRng;

/// Boundary values.
const VALUES: [&str; 18] = [
    "0",
    "-1",
    "1",
    "2",
    "0.0",
    "-0.5",
    "1e400",
    "nan",
    "inf",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "\"\"",
    "[]",
    "{}",
    "[[]]",
    "true",
    "[{ kind = \"none\" }, 0.0]",
];

/// A mutated copy of a corpus entry.
pub fn mutate(rng: &mut StdRng, corpus: &[Vec<u8>]) -> Vec<u8> {
    if rng.gen_bool(0.2) {
        return crate::mutate::mutate(rng, corpus);
    }
    let pick = |rng: &mut StdRng| {
        String::from_utf8_lossy(&corpus[rng.gen_range(0..corpus.len())]).into_owned()
    };
    let text = pick(rng);
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for _ in 0..rng.gen_range(1..=4) {
        if lines.is_empty() {
            break;
        }
        let i = rng.gen_range(0..lines.len());
        match rng.gen_range(0..6) {
            0 => drop(lines.remove(i)),
            1 => lines.insert(i, lines[i].clone()),
            2 => {
                let j = rng.gen_range(0..lines.len());
                lines.swap(i, j);
            }
            3 => {
                let other = pick(rng);
                let other: Vec<&str> = other.lines().collect();
                if !other.is_empty() {
                    lines.insert(i, other[rng.gen_range(0..other.len())].to_owned());
                }
            }
            4 => lines[i] = with_value(rng, &lines[i], &words(&text)),
            _ => lines[i] = with_key(rng, &lines[i], &words(&text)),
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out.into_bytes()
}

/// The line with the value after its first `=` replaced.
fn with_value(rng: &mut StdRng, line: &str, words: &[String]) -> String {
    let Some((key, _)) = line.split_once('=') else {
        return line.to_owned();
    };
    let value = if rng.gen_bool(0.7) || words.is_empty() {
        VALUES[rng.gen_range(0..VALUES.len())].to_owned()
    } else {
        format!("\"{}\"", words[rng.gen_range(0..words.len())])
    };
    format!("{key}= {value}")
}

/// The line with its key (before `=`) replaced by a word of the corpus.
fn with_key(rng: &mut StdRng, line: &str, words: &[String]) -> String {
    match (line.split_once('='), words.is_empty()) {
        (Some((_, value)), false) => {
            format!("{} ={value}", words[rng.gen_range(0..words.len())])
        }
        _ => line.to_owned(),
    }
}

/// The distinct kebab-case words of `text`, in order of first appearance.
fn words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in text.split(|c: char| !(c.is_ascii_lowercase() || c == '-' || c == '.')) {
        if w.len() > 1 && !out.iter().any(|o| o == w) {
            out.push(w.to_owned());
        }
    }
    out
}
