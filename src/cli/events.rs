//! `gridmap events import|export|overdue`: hotline orders (12345) in from a CSV file, every event
//! out as CSV or GeoJSON (the reporters' names and phones only with `--with-personal`, and the
//! file then private), and the cases open past their deadline now.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use geo::Point;
use serde_json::{Value, json};

use super::Ctx;
use crate::events::intake::{Report, intake};
use crate::events::{Book, Case, Categories, Clock, Entry, SystemClock};
use crate::geodesy::Crs;
use crate::index::Snapshot;
use crate::model::date::{days_since_epoch, digits, parse_utc, utc_text_ms};

#[derive(Subcommand, Debug)]
pub enum EventsCommand {
    /// Import hotline orders from a CSV file with a header: time, category, text, lon and lat or
    /// an address (placed through the buildings), and optionally severity (default blue), name,
    /// phone. All rows or none.
    Import(ImportArgs),
    /// Write every event with where its case stands, as CSV (default) or GeoJSON; reporters'
    /// names and phones only with --with-personal.
    Export(ExportArgs),
    /// List the cases open past their deadline now, most overdue first.
    Overdue,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The CSV file (UTF-8). `time` is RFC 3339 UTC (2026-12-01T08:30:00Z) or China time
    /// (2026-12-01 16:30 or 2026-12-01 16:30:00).
    file: PathBuf,
    /// The coordinates' system: wgs84 (also CGCS2000) or gcj02 (AMap, Tencent).
    #[arg(long, default_value = "wgs84")]
    crs: String,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Csv,
    Geojson,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    /// Write here instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Also write the reporters' names and phones; the file is then readable by its owner only.
    #[arg(long)]
    with_personal: bool,
}

pub fn events(ctx: &Ctx, command: EventsCommand) -> anyhow::Result<()> {
    match command {
        EventsCommand::Import(args) => import(ctx, args),
        EventsCommand::Export(args) => export(ctx, args),
        EventsCommand::Overdue => overdue(ctx),
    }
}

/// A hotline time: RFC 3339 UTC, or `YYYY-MM-DD hh:mm[:ss]` in China time (UTC+8).
fn hotline_time(text: &str) -> Option<i64> {
    if let Some(s) = parse_utc(text).filter(|_| text.len() > 10) {
        return Some(s * 1000);
    }
    let (day, clock) = text.split_once(' ')?;
    let days = days_since_epoch(day)?;
    let parts: Vec<&str> = clock.split(':').collect();
    let (h, m, s) = match parts.as_slice() {
        [h, m] => (digits(h)?, digits(m)?, 0),
        [h, m, s] => (digits(h)?, digits(m)?, digits(s)?),
        _ => return None,
    };
    (h < 24 && m < 60 && s < 60)
        .then_some(((days * 86_400 + h * 3600 + m * 60 + s) - 8 * 3600) * 1000)
}

fn import(ctx: &Ctx, args: ImportArgs) -> anyhow::Result<()> {
    let crs = Crs::parse(&args.crs)
        .with_context(|| format!("--crs: '{}' is not offered; use {}", args.crs, Crs::OFFERED))?;
    let mut reader = csv::Reader::from_path(&args.file)
        .with_context(|| format!("{}: cannot be read as CSV", args.file.display()))?;
    let headers = reader.headers()?.clone();
    for needed in ["time", "category", "text"] {
        if !headers.iter().any(|h| h == needed) {
            bail!(
                "{}: the header has no '{needed}' column; it needs time, category, text, and lon and lat or address (severity, name, phone optional)",
                args.file.display()
            );
        }
    }
    let store = ctx.open()?;
    let snap = Snapshot::build(store.load()?);
    let categories = Categories::shipped();
    let mut entries = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let line = i + 2;
        let row = row.with_context(|| format!("line {line}: not a CSV row"))?;
        let cell = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .and_then(|k| row.get(k))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let time = cell("time").unwrap_or_default();
        let at_ms = hotline_time(&time).with_context(|| {
            format!("line {line}: time '{time}' is not 2026-12-01T08:30:00Z or 2026-12-01 16:30 (China time)")
        })?;
        let number = |name: &str| -> anyhow::Result<Option<f64>> {
            cell(name)
                .map(|v| {
                    v.parse::<f64>()
                        .with_context(|| format!("line {line}: {name} '{v}' is not a number"))
                })
                .transpose()
        };
        let at = match (number("lon")?, number("lat")?) {
            (Some(lon), Some(lat)) => Some(crs.to_wgs84(Point::new(lon, lat))),
            _ => None,
        };
        let report = Report {
            at,
            category: cell("category").unwrap_or_default(),
            severity: cell("severity").unwrap_or_else(|| "blue".into()),
            source: "hotline".into(),
            text: cell("text").unwrap_or_default(),
            address: cell("address"),
            reporter_name: cell("name"),
            reporter_phone: cell("phone"),
        };
        let event = intake(&snap, &categories, report, at_ms)
            .map_err(|r| anyhow::anyhow!("line {line}: {}: {}", r.field, r.message))?;
        entries.push(Entry::report(event, "import"));
    }
    let stored = store.append_events(&entries)?;
    let ids: Vec<u64> = stored
        .iter()
        .filter_map(|e| Some(e.event.as_ref()?.id))
        .collect();
    match (ids.first(), ids.last()) {
        (Some(first), Some(last)) => println!(
            "imported {} hotline orders from {} (events {first}-{last})",
            ids.len(),
            args.file.display()
        ),
        _ => println!("{}: no rows", args.file.display()),
    }
    Ok(())
}

/// Every case in the store.
pub(super) fn book(ctx: &Ctx) -> anyhow::Result<Book> {
    let store = ctx.open()?;
    let mut book = Book::default();
    loop {
        let entries = store.events_since(book.last_seq(), 10_000)?;
        if entries.is_empty() {
            return Ok(book);
        }
        book.apply(entries);
    }
}

const COLUMNS: [&str; 23] = [
    "id",
    "reported_at",
    "lon",
    "lat",
    "category",
    "severity",
    "source",
    "status",
    "town_code",
    "village_code",
    "grid_code",
    "post_id",
    "holder",
    "assignee",
    "deadline",
    "overdue",
    "closed_at",
    "on_time",
    "rating",
    "text",
    "address",
    "reporter_name",
    "reporter_phone",
];

fn properties(case: &Case, now_ms: i64, personal: bool) -> Value {
    let e = &case.event;
    let r = e.reporter.clone().filter(|_| personal).unwrap_or_default();
    json!({
        "id": e.id, "reported_at": utc_text_ms(e.reported_at_ms), "lon": e.lon, "lat": e.lat,
        "category": e.category, "severity": e.severity.name(), "source": e.source.name(),
        "status": case.status.name(), "town_code": e.town, "village_code": e.village,
        "grid_code": e.grid, "post_id": e.post, "holder": case.holder, "assignee": case.assignee,
        "deadline": utc_text_ms(e.deadline_ms), "overdue": case.overdue_at(now_ms),
        "closed_at": case.closed_ms.map(utc_text_ms), "on_time": case.on_time(),
        "rating": case.rating, "text": e.text, "address": e.address,
        "reporter_name": r.name, "reporter_phone": r.phone,
    })
}

fn export(ctx: &Ctx, args: ExportArgs) -> anyhow::Result<()> {
    let book = book(ctx)?;
    let now_ms = SystemClock.now_ms();
    let mut cases: Vec<&Case> = book.all().collect();
    cases.sort_by_key(|c| c.event.id);
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(super::output_file(
            path,
            args.with_personal,
        )?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    match args.format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(COLUMNS)?;
            for case in cases {
                let p = properties(case, now_ms, args.with_personal);
                w.write_record(COLUMNS.iter().map(|c| match &p[*c] {
                    Value::Null => String::new(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                }))?;
            }
            w.flush()?;
        }
        Format::Geojson => {
            let features: Vec<Value> = cases
                .iter()
                .map(|c| {
                    json!({"type": "Feature", "id": c.event.id,
                        "geometry": {"type": "Point", "coordinates": [c.event.lon, c.event.lat]},
                        "properties": properties(c, now_ms, args.with_personal)})
                })
                .collect();
            serde_json::to_writer(
                &mut out,
                &json!({"type": "FeatureCollection", "features": features}),
            )?;
            out.flush()?;
        }
    }
    Ok(())
}

fn overdue(ctx: &Ctx) -> anyhow::Result<()> {
    let book = book(ctx)?;
    let now_ms = SystemClock.now_ms();
    let mut late: Vec<&Case> = book.all().filter(|c| c.overdue_at(now_ms)).collect();
    late.sort_by_key(|c| (c.event.deadline_ms, c.event.id));
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "id\tseverity\tcategory\tstatus\tholder\tgrid\tdeadline\thours_overdue"
    )?;
    for c in &late {
        let e = &c.event;
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{:.1}",
            e.id,
            e.severity.name(),
            e.category,
            c.status.name(),
            c.holder,
            e.grid.as_deref().unwrap_or("-"),
            utc_text_ms(e.deadline_ms),
            (now_ms - e.deadline_ms) as f64 / 3_600_000.0
        )?;
    }
    eprintln!("{} overdue of {} events", late.len(), book.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::hotline_time;

    #[test]
    fn hotline_times_are_utc_or_china_time() {
        let utc = 1_796_113_800_000; // 2026-12-01T08:30:00Z
        assert_eq!(hotline_time("2026-12-01T08:30:00Z"), Some(utc));
        assert_eq!(hotline_time("2026-12-01 16:30"), Some(utc));
        assert_eq!(hotline_time("2026-12-01 16:30:00"), Some(utc));
        for bad in [
            "2026-12-01",
            "2026-12-01 25:00",
            "yesterday",
            "2026-12-01 16",
        ] {
            assert_eq!(hotline_time(bad), None, "{bad}");
        }
    }
}
