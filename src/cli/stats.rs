//! `gridmap stats`: statistics by unit, the same numbers as `GET /stats` (both write the rows
//! of `analysis::stats`), for the whole county.

use std::io::Write;

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::Ctx;
use crate::analysis::coverage::CoverageMap;
use crate::analysis::stats::{self, RADII_M};
use crate::events::{Categories, Clock, SystemClock};
use crate::model::date::parse_utc;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Json,
    Csv,
    Geojson,
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// The units: city, town, village or grid.
    #[arg(long, default_value = "town")]
    level: String,
    /// Comma-separated metrics (all when absent); an unknown name lists them.
    #[arg(long)]
    metrics: Option<String>,
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Count events reported from this date or time (2026-12-01 or 2026-12-01T08:30:00Z, UTC).
    #[arg(long, value_parser = parse_time)]
    from: Option<i64>,
    /// Count events reported before this date or time.
    #[arg(long, value_parser = parse_time)]
    to: Option<i64>,
}

fn parse_time(text: &str) -> Result<i64, String> {
    parse_utc(text).map(|s| s * 1000).ok_or_else(|| {
        format!("'{text}' is not a date or time; give 2026-12-01 or 2026-12-01T08:30:00Z")
    })
}

pub fn stats(ctx: &Ctx, args: StatsArgs) -> anyhow::Result<()> {
    let categories = Categories::shipped();
    let ids: Vec<&str> = categories.all().iter().map(|c| c.id.as_str()).collect();
    let level = stats::level(Some(&args.level)).map_err(anyhow::Error::msg)?;
    let metrics = stats::metrics(args.metrics.as_deref(), &ids).map_err(anyhow::Error::msg)?;
    let store = ctx.open()?;
    let data = store.load()?;
    let book = super::events::book(ctx).context("reading the events")?;
    let maps = RADII_M.map(|r| CoverageMap::compute(&data, r, None));
    let span_ms = (args.from.unwrap_or(i64::MIN), args.to.unwrap_or(i64::MAX));
    let units = stats::tally(
        &data,
        [&maps[0], &maps[1], &maps[2]],
        &book,
        span_ms,
        SystemClock.now_ms(),
        level,
    );
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        Format::Csv => out.write_all(stats::csv(&units, &metrics).as_bytes())?,
        Format::Json => serde_json::to_writer(&mut out, &stats::json(&units, &metrics, level))?,
        Format::Geojson => {
            serde_json::to_writer(&mut out, &stats::geojson(&units, &metrics, level, &data))?
        }
    }
    out.flush()?;
    Ok(())
}
