//! A small reader for the CSV tables securefl writes (header row, RFC 4180 quoting).

use std::path::Path;

use crate::ReportError;

/// A CSV table held as text.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Column names.
    pub header: Vec<String>,
    /// Rows, each as long as the header.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Reads `path`.
    pub fn read(path: &Path) -> Result<Self, ReportError> {
        let text = std::fs::read_to_string(path).map_err(|e| ReportError::io(path, &e))?;
        Self::parse(&text).map_err(|m| ReportError::new(path, &m))
    }

    /// Parses CSV text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut lines = text.lines().filter(|l| !l.is_empty());
        let header = split(lines.next().ok_or("empty table")?);
        let mut rows = Vec::new();
        for (i, line) in lines.enumerate() {
            let row = split(line);
            if row.len() != header.len() {
                return Err(format!(
                    "row {} has {} fields for {} columns",
                    i + 2,
                    row.len(),
                    header.len()
                ));
            }
            rows.push(row);
        }
        Ok(Self { header, rows })
    }

    /// The index of column `name`.
    pub fn col(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// Column `name` of `row`, or `""` when the column does not exist.
    pub fn get<'a>(&self, row: &'a [String], name: &str) -> &'a str {
        self.col(name).map_or("", |i| row[i].as_str())
    }

    /// Column `name` of `row` as a number, when it is one.
    pub fn num(&self, row: &[String], name: &str) -> Option<f64> {
        self.get(row, name)
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
    }
}

/// The fields of one CSV line.
fn split(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    out.push(field);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_keep_commas_and_quotes() {
        let t = Table::parse("a,b,c\n1,\"{ kind = \"\"x\"\", f = 1 }\",\n").unwrap();
        assert_eq!(t.rows[0], ["1", "{ kind = \"x\", f = 1 }", ""]);
        assert_eq!(t.num(&t.rows[0], "a"), Some(1.0));
        assert_eq!(t.num(&t.rows[0], "c"), None);
        assert!(Table::parse("a,b\n1\n").is_err());
    }
}
