//! `gridmap stats`: statistics by unit, the same numbers as `GET /stats` (both write the rows
//! of `analysis::stats`), for the whole county.

use std::io::Write;

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::Ctx;
use crate::analysis::coverage::CoverageMap;
use crate::analysis::stats::{self, RADII_M};
use crate::analysis::trend::{self, Interval};
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
    /// Count events reported from this date or time (2026-12-01 or 2026-12-01T08:30:00Z, UTC;
    /// with --interval a date is midnight China Standard Time, where the periods begin).
    #[arg(long, value_parser = check_time)]
    from: Option<String>,
    /// Count events reported before this date or time.
    #[arg(long, value_parser = check_time)]
    to: Option<String>,
    /// The event metrics per period instead (day, week or month, China Standard Time), as
    /// `GET /stats/trend` gives them; json or csv.
    #[arg(long)]
    interval: Option<String>,
}

/// The time as written, once it reads as one (each mode reads a date its own way).
fn check_time(text: &str) -> Result<String, String> {
    match parse_utc(text) {
        Some(_) => Ok(text.to_string()),
        None => Err(format!(
            "'{text}' is not a date or time; give 2026-12-01 or 2026-12-01T08:30:00Z"
        )),
    }
}

/// Unix milliseconds of a checked time, read as UTC.
fn utc_ms(text: &Option<String>) -> Option<i64> {
    text.as_deref().and_then(parse_utc).map(|s| s * 1000)
}

pub fn stats(ctx: &Ctx, args: StatsArgs) -> anyhow::Result<()> {
    let categories = Categories::shipped();
    let ids: Vec<&str> = categories.all().iter().map(|c| c.id.as_str()).collect();
    let level = stats::level(Some(&args.level)).map_err(anyhow::Error::msg)?;
    let store = ctx.open()?;
    if let Some(interval) = &args.interval {
        return trend(ctx, &args, store.load()?, &ids, level, interval);
    }
    let metrics = stats::metrics(args.metrics.as_deref(), &ids).map_err(anyhow::Error::msg)?;
    let data = store.load()?;
    let book = super::events::book(ctx).context("reading the events")?;
    let maps = RADII_M.map(|r| CoverageMap::compute(&data, r, None));
    let span_ms = (
        utc_ms(&args.from).unwrap_or(i64::MIN),
        utc_ms(&args.to).unwrap_or(i64::MAX),
    );
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

/// `gridmap stats --interval`: the same series as `GET /stats/trend` for the whole county.
fn trend(
    ctx: &Ctx,
    args: &StatsArgs,
    data: crate::model::Dataset,
    ids: &[&str],
    level: stats::Level,
    interval: &str,
) -> anyhow::Result<()> {
    let interval = Interval::parse(Some(interval)).map_err(anyhow::Error::msg)?;
    let metrics = trend::metrics(args.metrics.as_deref(), ids).map_err(anyhow::Error::msg)?;
    // Checked by clap already.
    let time = |text: &Option<String>| text.as_deref().and_then(trend::read_time);
    let book = super::events::book(ctx).context("reading the events")?;
    let periods = trend::plan(
        &book,
        interval,
        time(&args.from),
        time(&args.to),
        SystemClock.now_ms(),
    )
    .map_err(|r| anyhow::anyhow!("--{}: {}", r.field, r.message))?;
    let series = trend::tally(&data, &book, &periods, SystemClock.now_ms(), level);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        Format::Csv => out.write_all(trend::csv(&series, &metrics, &periods).as_bytes())?,
        Format::Json => serde_json::to_writer(
            &mut out,
            &trend::json(&series, &metrics, level, interval, &periods),
        )?,
        Format::Geojson => anyhow::bail!("a trend is written as json or csv; use --format json"),
    }
    out.flush()?;
    Ok(())
}
