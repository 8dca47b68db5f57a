//! `gridmap impact FILE`: what an emergency touches, the same answer as `POST /impact` with
//! the public's view of people (a grid's worker only where published).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};

use super::Ctx;
use crate::analysis::impact;
use crate::index::Snapshot;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Json,
    Csv,
}

#[derive(Args, Debug)]
pub struct ImpactArgs {
    /// A GeoJSON Polygon or MultiPolygon (bare or as a Feature), or a JSON object
    /// {"lon", "lat", "radius_m"} or {"risk_zone": CODE}; `-` reads standard input.
    file: PathBuf,
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
}

pub fn impact(ctx: &Ctx, args: ImpactArgs) -> anyhow::Result<()> {
    let text = if args.file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(&args.file)
            .with_context(|| format!("reading {}", args.file.display()))?
    };
    let body: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", args.file.display()))?;
    let refused = |r: impact::Refusal| anyhow::anyhow!("{}: {}", r.field, r.message);
    let asked = impact::read(&body).map_err(refused)?;
    let snap = Snapshot::build(ctx.open()?.load()?);
    let scope = snap.scope(None);
    let area =
        impact::resolve(&snap, asked, |layer, i| scope.sees(&snap, layer, i)).map_err(refused)?;
    let Some(assessed) = impact::assess(&snap, &area, |layer, i| scope.sees(&snap, layer, i))
    else {
        bail!("geometry: the area meets no grid of the county; give an area within it");
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        Format::Csv => out.write_all(impact::csv(&snap, &assessed).as_bytes())?,
        Format::Json => serde_json::to_writer(
            &mut out,
            &impact::json(&snap, &assessed, |_| Default::default()),
        )?,
    }
    out.flush()?;
    Ok(())
}
