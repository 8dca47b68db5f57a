//! The command line: thin subcommands over the library, one function each (`run` only picks
//! one). Errors exit with code 2; `check` exits with 1 when it finds offenders.

mod coverage;
mod events;
mod impact;
mod stats;
mod users;

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use crate::analysis::coverage::Level;
use crate::http::{Basemap, Limits, ServeConfig, TileOptions};
use crate::index::Snapshot;
use crate::model::declared::Declarations;
use crate::model::records::read_declared;
use crate::model::schema::Visibility;
use crate::model::{
    AnyLayer, Layer, Service,
    geojson::{layer_features_visible, read_layer, write_collection},
};
use crate::store::Store;
use crate::tiles::TileConfig;
use crate::{analysis, generate, store, tiles};

#[derive(Parser, Debug)]
#[command(
    name = "gridmap",
    version,
    about = "GIS service for grid-based local governance"
)]
pub struct Cli {
    /// The store: a GeoPackage file path, or a PostGIS database as postgres://user[:password]@host[:port]/db
    /// (migrated on first use). An empty store gets the Danyang sample on first `serve`.
    /// [env: GRIDMAP_STORE, then DATABASE_URL] [default: data/gridmap.gpkg]
    #[arg(long, global = true)]
    store: Option<String>,

    /// The declared layers (TOML; see geodata/layers.toml, which is used when this is not given).
    #[arg(long, global = true, env = "GRIDMAP_LAYERS")]
    layers: Option<PathBuf>,

    /// How log lines are written to stderr: text for a person, json (one object per line, with
    /// the request's id, method and URI) for a log collector.
    #[arg(long, global = true, env = "GRIDMAP_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,

    #[command(subcommand)]
    command: Command,
}

/// Where the store is: `--store`, else `GRIDMAP_STORE`, else `DATABASE_URL` (the variable most
/// PostgreSQL tooling sets), else the default GeoPackage.
fn store_location(flag: Option<String>) -> String {
    let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    flag.or_else(|| from_env("GRIDMAP_STORE"))
        .or_else(|| from_env("DATABASE_URL"))
        .unwrap_or_else(|| DEFAULT_STORE.to_string())
}

const DEFAULT_STORE: &str = "data/gridmap.gpkg";

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the HTTP API (loads the Danyang sample into an empty store first).
    Serve(ServeArgs),
    /// Create or upgrade the store's schema (PostGIS: apply pending migrations/*.sql) and the
    /// tables of the declared layers, and report what was done. `serve` and the other commands
    /// do the same on start, except what could lose data (`--allow-drop`).
    Migrate(MigrateArgs),
    /// Write the tile pyramid to a PMTiles v3 archive.
    Tiles(TilesArgs),
    /// Import a GeoJSON FeatureCollection into one layer, in one transaction.
    Import(ImportArgs),
    /// Export one layer as GeoJSON (with personal fields: keep the file private).
    Export(ExportArgs),
    /// Write the deterministic Danyang sample as GeoJSON files.
    Generate(GenerateArgs),
    /// Coverage of units by grid posts within a walking radius, worst covered first.
    Coverage(CoverageArgs),
    /// Propose k new post sites covering the most people not covered today (greedy).
    Suggest(SuggestArgs),
    /// Check topology: grids tile their village and villages their town, no gap or overlap above
    /// the tolerance; posts stand in their grid; buildings stand within 1 m of their grid and add
    /// up to it. Exit code 1 when anything offends.
    Check(CheckArgs),
    /// Accounts: add one (its token is printed once), list, revoke, rotate a token.
    #[command(subcommand)]
    User(users::UserCommand),
    /// Read the audit log (writes, and answers that carried personal data), newest first.
    Audit(users::AuditArgs),
    /// Events: import hotline orders from CSV, export every event, list the overdue.
    #[command(subcommand)]
    Events(events::EventsCommand),
    /// Statistics by unit (city, town, village or grid): the same numbers as GET /stats, for
    /// the whole county.
    Stats(stats::StatsArgs),
    /// What an emergency touches: the grids an area meets (overlap, households and people, posts
    /// and centres), totals by village and town, the nearest shelters and the shortfall; the
    /// same answer as POST /impact.
    Impact(impact::ImpactArgs),
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "GRIDMAP_BIND", default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// Memory for encoded tiles, in MiB; 0 turns the tile cache off.
    #[arg(long, env = "GRIDMAP_TILE_CACHE_MB", default_value_t = 64)]
    tile_cache_mb: usize,
    /// Tile geometry kept beyond each tile edge, in tile units (of 4096).
    #[arg(long, env = "GRIDMAP_TILE_BUFFER", default_value_t = 64, value_parser = clap::value_parser!(u32).range(0..=1024))]
    tile_buffer: u32,
    /// What one tile should weigh, in kB (1,000 bytes): a tile over it is drawn again without its
    /// smallest polygons, then with its points thinned, below their layers' full detail zoom; 0
    /// turns the budget off.
    #[arg(long, env = "GRIDMAP_MAX_TILE_KB", default_value_t = 500)]
    max_tile_kb: usize,
    /// Public base URL of every link (landing page, items, next pages, /tiles.json), e.g.
    /// https://gis.example.org/gridmap behind a proxy (default: the proxy's Forwarded /
    /// X-Forwarded-* headers, else the request's Host).
    #[arg(long, env = "GRIDMAP_PUBLIC_URL")]
    public_url: Option<String>,
    /// Serve tiles from this PMTiles archive (written by `gridmap tiles`) instead of rendering.
    #[arg(long, env = "GRIDMAP_TILES")]
    tiles: Option<PathBuf>,
    /// Gone: accounts replace the one shared token (`gridmap user add`). A server given it
    /// stops with a message saying so.
    #[arg(long, env = "GRIDMAP_WRITE_TOKEN", hide = true, hide_env_values = true)]
    write_token: Option<String>,
    /// Audit rows older than this many days are pruned.
    #[arg(long, env = "GRIDMAP_AUDIT_DAYS", default_value_t = crate::http::DEFAULT_AUDIT_DAYS, value_parser = clap::value_parser!(u32).range(1..))]
    audit_days: u32,
    /// A basemap for the web page at /map: an XYZ raster URL template with {z}, {x} and {y}
    /// (Tianditu with its key, a local tile server), or a MapLibre style URL; a path with one
    /// leading / is resolved against the public URL. None by default: the page works offline.
    #[arg(long, env = "GRIDMAP_BASEMAP")]
    basemap: Option<String>,
    /// Attribution shown for a raster --basemap.
    #[arg(long, env = "GRIDMAP_BASEMAP_ATTRIBUTION", requires = "basemap")]
    basemap_attribution: Option<String>,
    /// The datum of the --basemap: wgs84 (Tianditu, OpenStreetMap), or gcj02 (AMap, Tencent).
    /// With gcj02 the web page draws the GCJ-02 tile set (/tiles/gcj02/...) and asks and
    /// reads every coordinate in GCJ-02, so its layers sit on the basemap.
    #[arg(long, env = "GRIDMAP_BASEMAP_CRS", default_value = "wgs84", value_parser = ["wgs84", "gcj02"])]
    basemap_crs: String,
    /// A request body over this many MiB is refused (413).
    #[arg(long, env = "GRIDMAP_MAX_BODY_MB", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1024))]
    max_body_mb: u32,
    /// A request not answered within this many seconds is answered 503 (the event stream
    /// excepted).
    #[arg(long, env = "GRIDMAP_REQUEST_TIMEOUT_S", default_value_t = 60.0, value_parser = positive_seconds)]
    request_timeout_s: f64,
    /// Requests served at once; more are refused at once with 503 and Retry-After (the event
    /// stream, /health and /metrics are not counted).
    #[arg(long, env = "GRIDMAP_MAX_IN_FLIGHT", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    max_in_flight: u32,
    /// Whole-area computations (coverage, statistics, impact, audit) served at once, within
    /// --max-in-flight; more are refused with 503 (default: the number of cores, at least 2).
    #[arg(long, env = "GRIDMAP_MAX_HEAVY", value_parser = clap::value_parser!(u32).range(1..))]
    max_heavy: Option<u32>,
    /// On SIGTERM or Ctrl-C, requests in flight get this many seconds to finish before the
    /// server exits anyway.
    #[arg(long, env = "GRIDMAP_SHUTDOWN_GRACE_S", default_value_t = 30.0, value_parser = positive_seconds)]
    shutdown_grace_s: f64,
}

/// A number of seconds above 0 and at most a day.
fn positive_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds"))?;
    if v > 0.0 && v <= 86_400.0 {
        Ok(v)
    } else {
        Err(format!("{s} seconds: give more than 0 and at most 86400"))
    }
}

#[derive(Args, Debug)]
struct TilesArgs {
    /// The archive to write.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(0..=18))]
    min_zoom: u8,
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u8).range(0..=18))]
    max_zoom: u8,
    /// min_lon,min_lat,max_lon,max_lat in WGS84 (default: the extent of the towns).
    #[arg(long)]
    bbox: Option<String>,
    /// The datum the tiles are drawn in: wgs84, or gcj02 to lay them over AMap or Tencent
    /// basemaps (what /tiles/gcj02/... serves).
    #[arg(long, default_value = "wgs84", value_parser = ["wgs84", "gcj02"])]
    crs: String,
    /// What one tile should weigh, in kB (1,000 bytes): a tile over it is drawn again without its
    /// smallest polygons, then with its points thinned, below their layers' full detail zoom; 0
    /// turns the budget off.
    #[arg(long, env = "GRIDMAP_MAX_TILE_KB", default_value_t = 500)]
    max_tile_kb: usize,
}

#[derive(Args, Debug)]
struct MigrateArgs {
    /// Also drop the tables of layers, and the columns of fields, that the declarations no
    /// longer have (their data is lost).
    #[arg(long)]
    allow_drop: bool,
}

#[derive(Args, Debug)]
struct ImportArgs {
    /// towns, villages, grids, stations, alliances, members, or a declared layer.
    #[arg(long)]
    layer: String,
    /// The file: GeoJSON (WGS84 lon/lat unless --crs or its crs member says otherwise), an ESRI
    /// Shapefile (.shp with .dbf, .prj and .cpg beside it) or a GeoPackage (.gpkg).
    file: PathBuf,
    /// Replace the whole layer instead of upserting by code/id.
    #[arg(long)]
    replace: bool,
    /// The file's coordinate system, over what the file says: EPSG:4490 or EPSG:4326
    /// (longitude, latitude), or a CGCS2000 Gauss-Kruger zone as easting, northing (EPSG:4549
    /// for Danyang's 3-degree zone at 120°E; 4513-4554 and 4491-4512 for the others).
    #[arg(long)]
    crs: Option<String>,
    /// The layer of a GeoPackage to read (needed when it has more than one).
    #[arg(long)]
    source_layer: Option<String>,
}

#[derive(Args, Debug)]
struct ExportArgs {
    /// towns, villages, grids, stations, alliances, members, or a declared layer.
    #[arg(long)]
    layer: String,
    /// Output file; standard output when omitted.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Also write personal fields (names, phones); the file is then readable by its owner only.
    /// Without it they are left out, so importing the file back would clear them.
    #[arg(long)]
    with_personal: bool,
}

#[derive(Args, Debug)]
struct GenerateArgs {
    /// Multiply grids and stations by this factor (for benchmarks).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=110))]
    scale: u32,
    /// Output directory.
    #[arg(short, long, default_value = "geodata")]
    output: PathBuf,
}

#[derive(Args, Debug)]
struct CoverageArgs {
    /// Walking radius in metres on the ground (GB 50180: 300, 500, 1000).
    #[arg(long, default_value_t = 500.0, value_parser = parse_radius)]
    radius: f64,
    #[arg(long, value_enum, default_value_t = CoverageLevel::Village)]
    level: CoverageLevel,
    /// Only posts offering this service: policy, mediation, relief or civility.
    #[arg(long, value_parser = parse_service)]
    service: Option<Service>,
    #[arg(long, value_enum, default_value_t = coverage::Format::Table)]
    format: coverage::Format,
}

#[derive(Args, Debug)]
struct SuggestArgs {
    #[arg(long, default_value_t = 500.0, value_parser = parse_radius)]
    radius: f64,
    #[arg(short, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=50))]
    k: u64,
    /// Candidate sites: the label points of grids or of villages.
    #[arg(long, value_enum, default_value_t = Candidates::GridCentroids)]
    candidates: Candidates,
    #[arg(long, value_parser = parse_service)]
    service: Option<Service>,
}

#[derive(Args, Debug)]
struct CheckArgs {
    /// Largest gap or overlap tolerated per unit, in square metres.
    #[arg(long, default_value_t = analysis::topology::DEFAULT_TOLERANCE_M2)]
    tolerance_m2: f64,
}

fn parse_bbox(text: &str) -> anyhow::Result<crate::model::Bbox> {
    let nums: Vec<f64> = text
        .split(',')
        .map(|s| s.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow::anyhow!("--bbox '{text}': give min_lon,min_lat,max_lon,max_lat"))?;
    match nums[..] {
        [a, b, c, d] => {
            crate::model::Bbox::new(a, b, c, d).map_err(|e| anyhow::anyhow!("--bbox: {e}"))
        }
        _ => bail!("--bbox '{text}': give four numbers min_lon,min_lat,max_lon,max_lat"),
    }
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum CoverageLevel {
    Town,
    Village,
    Grid,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Candidates {
    GridCentroids,
    VillageCentroids,
}

fn parse_radius(s: &str) -> Result<f64, String> {
    use crate::analysis::coverage::{MAX_RADIUS_M, MIN_RADIUS_M};
    match s.parse::<f64>() {
        Ok(r) if (MIN_RADIUS_M..=MAX_RADIUS_M).contains(&r) => Ok(r),
        _ => Err(format!(
            "give metres on the ground in {MIN_RADIUS_M}..={MAX_RADIUS_M}, e.g. 300, 500 or 1000"
        )),
    }
}

fn parse_service(s: &str) -> Result<Service, String> {
    Service::parse(s)
        .ok_or_else(|| format!("use one of {}", Service::ALL.map(Service::name).join(", ")))
}

fn parse_layer(s: &str, layers: &Declarations) -> anyhow::Result<AnyLayer> {
    if let Some(layer) = Layer::parse(s) {
        return Ok(AnyLayer::Builtin(layer));
    }
    match layers.get(s) {
        Some(def) => Ok(AnyLayer::Declared(def)),
        None => bail!(
            "--layer '{s}' is unknown; use one of {}{}{}",
            Layer::names(),
            if layers.layers.is_empty() { "" } else { ", " },
            layers.names()
        ),
    }
}

/// What every subcommand that opens the store needs.
struct Ctx {
    location: String,
    layers: &'static Declarations,
}

impl Ctx {
    fn open(&self) -> anyhow::Result<std::sync::Arc<dyn Store>> {
        Ok(store::open(&self.location, self.layers)?)
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let logger = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "gridmap=info".into()),
        )
        .with_writer(std::io::stderr);
    if cli.log_format == "json" {
        // One object per line; the request's span (id, method, URI) under "span".
        logger
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        // Colour for a person at a terminal; plain text in a log file or a pipe, and never with
        // NO_COLOR set (no-color.org).
        logger
            .with_ansi(
                std::io::IsTerminal::is_terminal(&std::io::stderr())
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            )
            .init();
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let layers = Declarations::load(cli.layers.as_deref()).map_err(anyhow::Error::msg)?;
    let ctx = Ctx {
        location: store_location(cli.store),
        layers,
    };
    match cli.command {
        Command::Serve(args) => serve(ctx, args)?,
        Command::Import(args) => import(&ctx, args)?,
        Command::Export(args) => export(&ctx, args)?,
        Command::Tiles(args) => write_tiles(&ctx, args)?,
        Command::Migrate(args) => migrate(&ctx, args)?,
        Command::Generate(args) => generate_sample(layers, args)?,
        Command::Coverage(args) => coverage_report(&ctx, args)?,
        Command::Suggest(args) => suggest(&ctx, args)?,
        Command::Check(args) => return check(&ctx, args),
        Command::User(command) => users::user(&ctx, command)?,
        Command::Audit(args) => users::audit(&ctx, args)?,
        Command::Events(command) => events::events(&ctx, command)?,
        Command::Stats(args) => stats::stats(&ctx, args)?,
        Command::Impact(args) => impact::impact(&ctx, args)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `gridmap serve`: check the flags, then run the HTTP server until stopped.
fn serve(ctx: Ctx, args: ServeArgs) -> anyhow::Result<()> {
    let ServeArgs {
        bind,
        tile_cache_mb,
        tile_buffer,
        max_tile_kb,
        public_url,
        tiles: archive,
        write_token,
        audit_days,
        basemap,
        basemap_attribution,
        basemap_crs,
        max_body_mb,
        request_timeout_s,
        max_in_flight,
        max_heavy,
        shutdown_grace_s,
    } = args;
    if write_token.is_some() {
        bail!(
            "--write-token (GRIDMAP_WRITE_TOKEN) is gone: writes now need an account with a role and an area. Make one with `gridmap user add NAME --role city` (it prints the token to send as Authorization: Bearer), and start the server without --write-token"
        );
    }
    if let Some(url) = &public_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        bail!("--public-url must start with http:// or https://, got '{url}'");
    }
    let basemap = basemap
        .map(|url| Basemap::parse(&url, basemap_attribution))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let tiles = TileOptions {
        config: TileConfig {
            buffer: tile_buffer,
            budget_bytes: tile_budget_bytes(max_tile_kb),
            ..TileConfig::default()
        },
        cache_bytes: tile_cache_mb.saturating_mul(1 << 20),
        archive,
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let shutdown_grace = Duration::from_secs_f64(shutdown_grace_s);
    let served = runtime.block_on(crate::http::serve(ServeConfig {
        bind,
        store: ctx.location,
        layers: ctx.layers,
        tiles,
        audit_days,
        basemap,
        basemap_crs: crate::geodesy::Crs::parse(&basemap_crs).context("--basemap-crs")?,
        public_url,
        limits: Limits {
            max_body_bytes: (max_body_mb as usize) << 20,
            request_timeout: Duration::from_secs_f64(request_timeout_s),
            max_in_flight: max_in_flight as usize,
            max_heavy: max_heavy.map_or(Limits::default().max_heavy, |n| n as usize),
        },
        shutdown_grace,
    }));
    // Blocking work a timed-out request left behind is not waited for beyond the grace.
    runtime.shutdown_timeout(shutdown_grace);
    served
}

/// `gridmap import`: one GeoJSON file into one layer, validated, in one transaction.
fn import(ctx: &Ctx, args: ImportArgs) -> anyhow::Result<()> {
    let ImportArgs {
        layer,
        file,
        replace,
        crs,
        source_layer,
    } = args;
    let crs = crs
        .map(|c| crate::geodesy::gauss_kruger::SourceCrs::parse(&c))
        .transpose()
        .map_err(|e| anyhow::anyhow!("--crs: {e}"))?;
    let text =
        crate::formats::read(&file, crs, source_layer.as_deref()).map_err(anyhow::Error::msg)?;
    let invalid = |report| anyhow::anyhow!("{} is not valid {layer}: {report}", file.display());
    let store;
    let summary = match parse_layer(&layer, ctx.layers)? {
        AnyLayer::Builtin(builtin) => {
            let data = read_layer(builtin, &text).map_err(invalid)?;
            store = ctx.open()?;
            let progress = Progress::new(&format!("importing {layer}"), data.len());
            let summary = store
                .import(data, replace, &|done, total| progress.tick(done, total))
                .with_context(|| {
                    format!("importing {} into {}", file.display(), store.describe())
                })?;
            progress.finish();
            summary
        }
        AnyLayer::Declared(def) => {
            let data = read_declared(def, &text).map_err(invalid)?;
            store = ctx.open()?;
            store.import_declared(data, replace).with_context(|| {
                format!("importing {} into {}", file.display(), store.describe())
            })?
        }
    };
    eprintln!(
        "{layer}: {} inserted, {} updated, {} deleted ({})",
        summary.inserted,
        summary.updated,
        summary.deleted,
        store.describe()
    );
    Ok(())
}

/// `gridmap export`: one layer as GeoJSON, every field.
fn export(ctx: &Ctx, args: ExportArgs) -> anyhow::Result<()> {
    let ExportArgs {
        layer,
        output,
        with_personal,
    } = args;
    let vis = if with_personal {
        Visibility::Personal
    } else {
        Visibility::Staff
    };
    let layer = parse_layer(&layer, ctx.layers)?;
    let data = ctx.open()?.load()?;
    let features = match layer {
        AnyLayer::Builtin(layer) => layer_features_visible(&data.layer(layer), vis),
        AnyLayer::Declared(def) => data
            .declared(def.name)
            .map(|d| d.features.iter().map(|r| r.feature(def, vis)).collect())
            .unwrap_or_default(),
    };
    let text = write_collection(&features);
    match output {
        Some(path) => output_file(&path, with_personal)?
            .write_all(text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?,
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(())
}

/// A file to write an export to, created or truncated; `private` (it holds personal data) makes
/// it readable by its owner only, an existing file too.
fn output_file(path: &std::path::Path, private: bool) -> anyhow::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    let file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    if private {
        // An existing file keeps its mode on open: narrow it too.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("making {} private", path.display()))?;
    }
    Ok(file)
}

/// `--max-tile-kb` in bytes; 0 is no budget.
fn tile_budget_bytes(max_tile_kb: usize) -> usize {
    match max_tile_kb {
        0 => usize::MAX,
        kb => kb.saturating_mul(1000),
    }
}

/// `gridmap tiles`: the tile pyramid over a box into a PMTiles archive.
fn write_tiles(ctx: &Ctx, args: TilesArgs) -> anyhow::Result<()> {
    let TilesArgs {
        out,
        min_zoom,
        max_zoom,
        bbox,
        crs,
        max_tile_kb,
    } = args;
    let config = TileConfig {
        crs: crate::geodesy::Crs::parse(&crs).context("--crs")?,
        budget_bytes: tile_budget_bytes(max_tile_kb),
        ..TileConfig::default()
    };
    if min_zoom > max_zoom {
        bail!("--min-zoom ({min_zoom}) must not exceed --max-zoom ({max_zoom})");
    }
    let snap = Snapshot::build(ctx.open()?.load()?);
    let bbox = match bbox {
        Some(text) => parse_bbox(&text)?,
        None => snap
            .extent(Layer::Towns)
            .context("the store has no towns: give --bbox")?,
    };
    let total: usize = (min_zoom..=max_zoom)
        .map(|z| tiles::archive::tiles_covering(&bbox, z).len())
        .sum();
    let progress = Progress::new("rendering tiles", total);
    let summary =
        tiles::archive::write(&snap, &out, min_zoom, max_zoom, &bbox, &config, &|d, t| {
            progress.tick(d, t)
        })
        .with_context(|| format!("writing {}", out.display()))?;
    progress.finish();
    eprintln!(
        "{}: {} tiles ({} empty skipped), {} bytes, z{min_zoom}-z{max_zoom}",
        out.display(),
        summary.tiles,
        summary.empty,
        summary.bytes
    );
    for (size, c) in &summary.largest {
        eprintln!(
            "  z{}: largest tile {}/{}/{}, {size} bytes",
            c.z, c.z, c.x, c.y
        );
    }
    Ok(())
}

/// `gridmap migrate`: create or upgrade the store's schema and say what was done.
fn migrate(ctx: &Ctx, args: MigrateArgs) -> anyhow::Result<()> {
    let location = ctx.location.as_str();
    let declared = if store::is_postgres(location) {
        let db = store::PostGis::connect_only(location, ctx.layers)?;
        let applied = db.migrate()?;
        eprintln!(
            "{}: schema version {} ({})",
            db.describe(),
            applied.version,
            if applied.applied.is_empty() {
                "already current".to_string()
            } else {
                format!("applied {:?}", applied.applied)
            }
        );
        db.migrate_layers(args.allow_drop)?
    } else {
        let store = store::GeoPackage::open_for_migrate(location, ctx.layers)?;
        let upgraded = store.upgrade()?;
        eprintln!(
            "{}: schema {}",
            store.describe(),
            if upgraded { "upgraded" } else { "current" }
        );
        store.migrate_layers(args.allow_drop)?
    };
    eprintln!(
        "declared layers ({}): {}",
        ctx.layers.source,
        if declared.is_empty() {
            "already current".to_string()
        } else {
            declared.join("; ")
        }
    );
    Ok(())
}

/// `gridmap generate`: the deterministic sample as GeoJSON files.
fn generate_sample(layers: &'static Declarations, args: GenerateArgs) -> anyhow::Result<()> {
    let GenerateArgs { scale, output } = args;
    let data = generate::generate_with(scale, layers)?;
    for path in generate::write(&output, &data)? {
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// `gridmap coverage`: units by how well posts cover them.
fn coverage_report(ctx: &Ctx, args: CoverageArgs) -> anyhow::Result<()> {
    let CoverageArgs {
        radius,
        level,
        service,
        format,
    } = args;
    let data = ctx.open()?.load()?;
    let level = match level {
        CoverageLevel::Town => Level::Town,
        CoverageLevel::Village => Level::Village,
        CoverageLevel::Grid => Level::Grid,
    };
    let mut out = std::io::stdout().lock();
    coverage::print_coverage(&mut out, &data, radius, level, service, format)?;
    Ok(())
}

/// `gridmap suggest`: new post sites, greedy by people newly covered.
fn suggest(ctx: &Ctx, args: SuggestArgs) -> anyhow::Result<()> {
    let SuggestArgs {
        radius,
        k,
        candidates,
        service,
    } = args;
    let data = ctx.open()?.load()?;
    let villages = matches!(candidates, Candidates::VillageCentroids);
    let mut out = std::io::stdout().lock();
    coverage::print_suggestions(&mut out, &data, radius, k as usize, villages, service)?;
    Ok(())
}

/// `gridmap check`: topology of the areas; exit code 1 when a unit offends.
fn check(ctx: &Ctx, args: CheckArgs) -> anyhow::Result<ExitCode> {
    let CheckArgs { tolerance_m2 } = args;
    if !(tolerance_m2.is_finite() && tolerance_m2 >= 0.0) {
        bail!("--tolerance-m2 must be a number >= 0");
    }
    let data = ctx.open()?.load()?;
    let offenders = analysis::topology::check(&data, tolerance_m2);
    for o in &offenders {
        println!("{o}");
    }
    let units = data.villages.len() + data.towns.len();
    let buildings = crate::model::buildings::layer(&data).map_or(0, |l| l.features.len());
    eprintln!(
        "{} offenders among {units} towns and villages (tolerance {tolerance_m2} m2), {} posts and {buildings} buildings (tolerance {} m)",
        offenders.len(),
        data.stations.len(),
        analysis::topology::BUILDING_TOLERANCE_M
    );
    if !offenders.is_empty() {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// A progress bar on a terminal; plain lines every 10% elsewhere (logs, pipes, tests).
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    label: String,
    last_decile: std::sync::atomic::AtomicUsize,
}

impl Progress {
    fn new(label: &str, total: usize) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_message(label.to_string());
            bar
        });
        Progress {
            bar,
            label: label.to_string(),
            last_decile: 0.into(),
        }
    }

    fn tick(&self, done: usize, total: usize) {
        match &self.bar {
            Some(bar) => bar.set_position(done as u64),
            None => {
                let decile = done * 10 / total.max(1);
                if self
                    .last_decile
                    .swap(decile, std::sync::atomic::Ordering::Relaxed)
                    != decile
                {
                    eprintln!("{}: {done}/{total} written", self.label);
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
