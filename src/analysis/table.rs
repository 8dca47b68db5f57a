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
    let mut out = csv::Writer::from_writer(Vec::new());
    // Writing to memory fails only on a row of another length, which the callers never make.
    let written = out
        .write_record(header)
        .and_then(|()| rows.into_iter().try_for_each(|row| out.write_record(row)));
    debug_assert!(written.is_ok(), "{written:?}");
    String::from_utf8(
        out.into_inner()
            .map_err(|e| e.into_error())
            .unwrap_or_default(),
    )
    .unwrap_or_default()
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
