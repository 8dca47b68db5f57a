//! dBase III attribute tables (a shapefile's `.dbf`), read into JSON values, text decoded in the
//! file's encoding: the `.cpg` when there is one, else the code page byte of the header, else GBK
//! (GB18030 decoding), which Chinese shapefiles use without saying so.

use encoding_rs::{Encoding, GB18030, UTF_8};
use serde_json::{Map, Value};

/// The encoding a `.cpg` names (`GBK`, `GB18030`, `UTF-8`, `936`, `65001`, …).
pub fn encoding_of_cpg(text: &str) -> Option<&'static Encoding> {
    let label = text.trim().to_ascii_lowercase();
    match label.as_str() {
        "936" | "cp936" | "ansi 936" | "gbk" | "gb2312" | "gb18030" | "54936" => Some(GB18030),
        "65001" | "utf8" | "utf-8" => Some(UTF_8),
        other => Encoding::for_label(other.as_bytes()),
    }
}

/// The encoding the header's language driver byte names, where it names one gridmap knows.
fn encoding_of_ldid(byte: u8) -> Option<&'static Encoding> {
    match byte {
        0x4D | 0x7A => Some(GB18030), // Chinese GBK (PRC)
        0x4F => Some(encoding_rs::BIG5),
        // 0x57 "ANSI" and 0x03 "Windows ANSI" mean the writer's own code page: on a Chinese
        // desktop that is GBK, so they say nothing that changes the default.
        _ => None,
    }
}

struct Field {
    name: String,
    kind: u8,
    length: usize,
    decimals: u8,
}

/// Every record, as a JSON object per record in file order; `None` for a deleted one (so the
/// records stay paired with their shapes).
pub fn read(
    bytes: &[u8],
    cpg: Option<&'static Encoding>,
) -> Result<Vec<Option<Map<String, Value>>>, String> {
    let short = || "the .dbf is shorter than its header says".to_string();
    if bytes.len() < 32 {
        return Err(short());
    }
    let records = u32::from_le_bytes(bytes[4..8].try_into().map_err(|_| short())?) as usize;
    let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let record_len = usize::from(u16::from_le_bytes([bytes[10], bytes[11]]));
    // The records the header counts must be there (a bogus count must not allocate gigabytes).
    let needed = records
        .checked_mul(record_len)
        .and_then(|n| n.checked_add(header_len));
    if needed.is_none_or(|n| n > bytes.len()) {
        return Err(format!(
            "the .dbf's header counts {records} records of {record_len} bytes, more than the file holds"
        ));
    }
    let encoding = cpg
        .or_else(|| encoding_of_ldid(bytes[29]))
        .unwrap_or(GB18030);
    let mut fields = Vec::new();
    let mut at = 32;
    while at + 32 <= header_len.min(bytes.len()) && bytes[at] != 0x0D {
        let d = &bytes[at..at + 32];
        let name_end = d[..11].iter().position(|&b| b == 0).unwrap_or(11);
        let (name, _, _) = encoding.decode(&d[..name_end]);
        fields.push(Field {
            name: name.trim().to_string(),
            kind: d[11],
            length: usize::from(d[16]),
            decimals: d[17],
        });
        at += 32;
    }
    let width: usize = 1 + fields.iter().map(|f| f.length).sum::<usize>();
    if width != record_len {
        return Err(format!(
            "the .dbf's fields are {width} bytes a record, its header says {record_len}"
        ));
    }
    let mut out = Vec::with_capacity(records);
    for r in 0..records {
        let start = header_len + r * record_len;
        let record = bytes.get(start..start + record_len).ok_or_else(short)?;
        if record[0] == b'*' {
            out.push(None);
            continue;
        }
        let mut object = Map::new();
        let mut at = 1;
        for f in &fields {
            let raw = &record[at..at + f.length];
            at += f.length;
            object.insert(f.name.clone(), value(f, raw, encoding));
        }
        out.push(Some(object));
    }
    Ok(out)
}

fn value(f: &Field, raw: &[u8], encoding: &'static Encoding) -> Value {
    let (text, _, _) = encoding.decode(raw);
    let text = text.trim_matches(|c: char| c == ' ' || c == '\0');
    match f.kind {
        b'N' | b'F' => {
            if text.is_empty() || text.starts_with('*') {
                Value::Null
            } else if f.decimals == 0
                && let Ok(i) = text.parse::<i64>()
            {
                i.into()
            } else {
                text.parse::<f64>().map_or(Value::Null, Value::from)
            }
        }
        b'L' => match text {
            "T" | "t" | "Y" | "y" => true.into(),
            "F" | "f" | "N" | "n" => false.into(),
            _ => Value::Null,
        },
        // A date, YYYYMMDD, as ISO 8601 (anything else kept as it is).
        b'D' if text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{}-{}-{}", &text[..4], &text[4..6], &text[6..]).into()
        }
        _ if text.is_empty() => Value::Null,
        _ => text.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dBase III file built by hand: fields NAME (C 20), POP (N 8), SINCE (D 8) and OPEN
    /// (L 1), three records, the first GBK-encoded, the second deleted.
    fn table(ldid: u8) -> Vec<u8> {
        let (name, _, _) = GB18030.encode("云阳街道");
        let mut b = vec![0x03, 126, 1, 1];
        b.extend(3u32.to_le_bytes());
        b.extend((32u16 + 4 * 32 + 1).to_le_bytes());
        b.extend((1u16 + 20 + 8 + 8 + 1).to_le_bytes());
        b.extend([0u8; 17]);
        b.push(ldid);
        b.extend([0u8; 2]);
        for (n, kind, len) in [
            ("NAME", b'C', 20u8),
            ("POP", b'N', 8),
            ("SINCE", b'D', 8),
            ("OPEN", b'L', 1),
        ] {
            let mut d = [0u8; 32];
            d[..n.len()].copy_from_slice(n.as_bytes());
            d[11] = kind;
            d[16] = len;
            b.extend(d);
        }
        b.push(0x0D);
        let mut record = |deleted: bool, name: &[u8], pop: &str, since: &[u8], open: u8| {
            b.push(if deleted { b'*' } else { b' ' });
            let mut n = name.to_vec();
            n.resize(20, b' ');
            b.extend(n);
            b.extend(format!("{pop:>8}").as_bytes());
            b.extend(since);
            b.push(open);
        };
        record(false, &name, "123456", b"20200101", b'T');
        record(true, b"gone", "1", b"        ", b'?');
        // Not a date: GBK bytes where digits belong are kept as text, never sliced.
        // ("2020年1" is 7 bytes in GBK, 8 in UTF-8.)
        let mut odd = GB18030.encode("2020年1").0.to_vec();
        odd.push(b' ');
        record(false, b"Danyang", "", &odd, b'F');
        b.push(0x1A);
        b
    }

    #[test]
    fn gbk_text_numbers_and_deleted_records() {
        for (ldid, cpg) in [(0x4D, None), (0, None), (0, encoding_of_cpg("GBK\n"))] {
            let rows: Vec<_> = read(&table(ldid), cpg).unwrap();
            assert_eq!(rows.len(), 3);
            assert!(rows[1].is_none(), "deleted");
            let rows: Vec<_> = rows.into_iter().flatten().collect();
            assert_eq!(rows[0]["NAME"], "云阳街道");
            assert_eq!(rows[0]["POP"], 123_456);
            assert_eq!(rows[0]["SINCE"], "2020-01-01");
            assert_eq!(rows[0]["OPEN"], true);
            assert_eq!(rows[1]["NAME"], "Danyang");
            assert_eq!(rows[1]["POP"], Value::Null);
            assert_eq!(rows[1]["SINCE"], "2020年1");
            assert_eq!(rows[1]["OPEN"], false);
        }
        // Read as UTF-8 the GBK bytes are not the name.
        let rows = read(&table(0), encoding_of_cpg("UTF-8")).unwrap();
        assert_ne!(rows[0].as_ref().unwrap()["NAME"], "云阳街道");
        // Cut short: the last record missing, or a header counting more records than there are.
        let whole = table(0);
        let e = read(&whole[..whole.len() - 20], None).unwrap_err();
        assert!(e.contains("more than the file holds"), "{e}");
        let mut lying = whole.clone();
        lying[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(read(&lying, None).is_err());
        assert!(read(&whole[..20], None).is_err());
    }
}
