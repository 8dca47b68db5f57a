//! The analyses' answers as CSV (RFC 4180 quoting by the `csv` crate, `\n` line ends): a header,
//! then a line per row, each cell written from the JSON value the same answer carries, so that
//! the CSV and the JSON cannot disagree.

use serde_json::Value;

/// A JSON value as a CSV cell: nothing for `null`, a string bare, a list as its length, a
/// number or boolean as JSON writes it.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.len().to_string(),
        other => other.to_string(),
    }
}

/// `header` and `rows` as CSV text.
pub fn csv<H, R>(header: H, rows: impl IntoIterator<Item = R>) -> String
where
    H: IntoIterator,
    H::Item: AsRef<[u8]>,
    R: IntoIterator,
    R::Item: AsRef<[u8]>,
{
    // Flexible (rows of any length) and into memory: writing cannot fail, so a failure would be
    // a bug in the csv crate, not an input to report.
    let mut out = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    out.write_record(header).expect("CSV into memory");
    for row in rows {
        out.write_record(row).expect("CSV into memory");
    }
    let bytes = out.into_inner().expect("CSV into memory");
    // Every cell came from a `str`.
    String::from_utf8(bytes).expect("CSV of UTF-8 cells")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_where_they_must_be() {
        let text = csv(
            ["code", "name"],
            [
                vec!["1".to_string(), cell(&Value::from("a, \"b\""))],
                vec![cell(&Value::Null), cell(&serde_json::json!([1, 2]))],
            ],
        );
        assert_eq!(text, "code,name\n1,\"a, \"\"b\"\"\"\n,2\n");
        // A third-party reader gets the cells back.
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(&rows[0][1], "a, \"b\"");
    }
}
