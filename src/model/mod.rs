//! The domain: towns, villages, grids, stations (grid posts), alliances and their members.
//!
//! Pure data and rules, no I/O. Coordinates are WGS84 longitude/latitude (EPSG:4326); area layers
//! are always `MultiPolygon`s so one town in two parts needs no special case.

pub mod buildings;
mod codes;
mod dataset;
pub mod date;
pub mod declared;
mod derived;
mod fnv;
pub mod geojson;
pub mod points_csv;
pub mod records;
pub mod schema;
mod shared;
mod validate;

pub use codes::{
    COUNTY_DIGITS, CodeLevel, code_level, county_name, grid_village_code, village_town_code,
};
pub use dataset::{Dataset, LayerData, record_order};
pub use derived::{Derived, derive};
pub use fnv::fnv1a;
pub use shared::{Shared, share, unshare};
pub(crate) use validate::lon_lat_in_range;
pub use validate::{Problem, ValidationReport, validate_dataset, validate_dataset_with};

use geo::{MultiPolygon, Point};
use serde::{Deserialize, Serialize};

/// The layers gridmap stores, in dependency order (a layer refers only to layers before it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    Towns,
    Villages,
    Grids,
    Stations,
    Alliances,
    Members,
}

impl Layer {
    pub const ALL: [Layer; 6] = [
        Layer::Towns,
        Layer::Villages,
        Layer::Grids,
        Layer::Stations,
        Layer::Alliances,
        Layer::Members,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Layer::Towns => "towns",
            Layer::Villages => "villages",
            Layer::Grids => "grids",
            Layer::Stations => "stations",
            Layer::Alliances => "alliances",
            Layer::Members => "members",
        }
    }

    pub fn parse(name: &str) -> Option<Layer> {
        Layer::ALL.into_iter().find(|l| l.name() == name)
    }

    /// Every layer's name, for messages: "towns, villages, …, members".
    pub fn names() -> String {
        Layer::ALL.map(Layer::name).join(", ")
    }

    /// Whether features of this layer are keyed by an administrative code (else by a numeric id).
    pub fn keyed_by_code(self) -> bool {
        matches!(self, Layer::Towns | Layer::Villages | Layer::Grids)
    }
}

/// Any layer: a built-in one or one declared in a file (`declared`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AnyLayer {
    Builtin(Layer),
    Declared(&'static schema::LayerDef),
}

impl AnyLayer {
    pub fn def(self) -> &'static schema::LayerDef {
        match self {
            AnyLayer::Builtin(layer) => layer.def(),
            AnyLayer::Declared(def) => def,
        }
    }

    pub fn name(self) -> &'static str {
        self.def().name
    }
}

impl std::fmt::Display for AnyLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A town (镇) or street (街道). `code` is the 9-digit NBS code; the MCA code is kept as an attribute
/// because the two systems differ for every 镇 (see geodata/README.md).
#[derive(Clone, Debug, PartialEq)]
pub struct Town {
    pub code: String,
    pub name: String,
    pub mca_code: String,
    /// 镇 or 街道.
    pub kind: String,
    pub geometry: MultiPolygon,
}

/// A village (村) or urban community (社区). `code` is 12 digits: the town code plus 3.
#[derive(Clone, Debug, PartialEq)]
pub struct Village {
    pub code: String,
    pub name: String,
    /// 村委会 or 社区居委会.
    pub kind: String,
    pub geometry: MultiPolygon,
}

impl Village {
    pub fn town_code(&self) -> &str {
        village_town_code(&self.code)
    }
}

/// Personal data (PIPL): in public responses and tiles only where `published` says the person
/// consented (a grid worker's name and phone on the grid's notice board, 网格公示栏).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Personal {
    pub name: Option<String>,
    pub phone: Option<String>,
    /// The person consented to their name and phone being public.
    pub published: bool,
}

/// The smallest unit (网格); every household belongs to exactly one. Code = village code + 3 digits.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    pub code: String,
    pub name: String,
    pub households: u32,
    pub population: u32,
    /// The grid worker (网格员): personal data.
    pub worker: Personal,
    pub geometry: MultiPolygon,
}

impl Grid {
    pub fn village_code(&self) -> &str {
        grid_village_code(&self.code)
    }
}

/// What a grid post (网格驿站) offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// 政策宣讲
    Policy,
    /// 矛盾调解
    Mediation,
    /// 解忧纾困
    Relief,
    /// 培树新风
    Civility,
}

impl Service {
    pub const ALL: [Service; 4] = [
        Service::Policy,
        Service::Mediation,
        Service::Relief,
        Service::Civility,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Service::Policy => "policy",
            Service::Mediation => "mediation",
            Service::Relief => "relief",
            Service::Civility => "civility",
        }
    }

    pub fn parse(name: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.name() == name)
    }

    /// A post's services from their names, in every store and file the same way: sorted,
    /// without repeats, and an unknown name an error naming it and the choices.
    pub fn parse_list<'a>(
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<Service>, String> {
        let mut services = names
            .into_iter()
            .map(|n| {
                Service::parse(n).ok_or_else(|| {
                    format!(
                        "service '{n}' is unknown; use {}",
                        Service::ALL.map(Service::name).join(", ")
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        services.sort();
        services.dedup();
        Ok(services)
    }
}

/// A grid post (网格驿站): a point inside a grid.
#[derive(Clone, Debug, PartialEq)]
pub struct Station {
    pub id: u64,
    pub name: String,
    pub grid_code: String,
    /// Sorted, without duplicates.
    pub services: Vec<Service>,
    /// OpenStreetMap `opening_hours` syntax, e.g. `Mo-Fr 08:30-17:30`.
    pub opening_hours: String,
    /// Personal data: the duty phone is often a worker's own mobile.
    pub contact_phone: Option<String>,
    pub location: Point,
}

/// A functional alliance (功能型联合体). Its footprint is derived from its members.
#[derive(Clone, Debug, PartialEq)]
pub struct Alliance {
    pub id: u64,
    pub name: String,
    pub theme: String,
    /// ISO 8601 date, `YYYY-MM-DD`.
    pub founded: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberKind {
    Village,
    Enterprise,
    Bank,
    Agency,
}

impl MemberKind {
    pub const ALL: [MemberKind; 4] = [
        MemberKind::Village,
        MemberKind::Enterprise,
        MemberKind::Bank,
        MemberKind::Agency,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MemberKind::Village => "village",
            MemberKind::Enterprise => "enterprise",
            MemberKind::Bank => "bank",
            MemberKind::Agency => "agency",
        }
    }

    pub fn parse(name: &str) -> Option<MemberKind> {
        MemberKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// `parse`, with an error naming the value and the choices.
    pub fn parse_or_explain(name: &str) -> Result<MemberKind, String> {
        MemberKind::parse(name).ok_or_else(|| {
            format!(
                "kind '{name}' is unknown; use {}",
                MemberKind::ALL.map(MemberKind::name).join(", ")
            )
        })
    }
}

/// A member of an alliance: a village (by code) or an enterprise, bank or agency (by location).
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub id: u64,
    pub alliance_id: u64,
    pub kind: MemberKind,
    pub name: String,
    /// Required for `kind = village`; optional for the others (the village they sit in).
    pub village_code: Option<String>,
    /// Required for enterprises, banks and agencies; villages are placed by their polygon.
    pub location: Option<Point>,
}

/// The label point of a polygon: its centroid when that lies inside, else an interior point.
pub fn label_point(mp: &MultiPolygon) -> Option<Point> {
    use geo::{Centroid, Contains, InteriorPoint};
    mp.centroid()
        .filter(|c| mp.contains(c))
        .or_else(|| mp.interior_point())
}

/// A longitude/latitude bounding box in WGS84 degrees (`bbox_4326`). Does not cross the antimeridian.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bbox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

impl Bbox {
    /// A validated box: finite, inside the WGS84 domain, min <= max on both axes.
    pub fn new(min_lon: f64, min_lat: f64, max_lon: f64, max_lat: f64) -> Result<Bbox, String> {
        if !(validate::lon_lat_in_range(min_lon, min_lat)
            && validate::lon_lat_in_range(max_lon, max_lat))
        {
            return Err("corners must be finite lon in -180..180 and lat in -90..90".into());
        }
        if min_lon > max_lon || min_lat > max_lat {
            return Err("give min_lon,min_lat,max_lon,max_lat with min <= max (boxes across the antimeridian are not supported)".into());
        }
        Ok(Bbox {
            min_lon,
            min_lat,
            max_lon,
            max_lat,
        })
    }

    /// The box as a geo rectangle (x longitude, y latitude).
    pub fn rect(&self) -> geo::Rect {
        geo::Rect::new(
            geo::Coord {
                x: self.min_lon,
                y: self.min_lat,
            },
            geo::Coord {
                x: self.max_lon,
                y: self.max_lat,
            },
        )
    }

    /// Whether `p` lies in the box (edges included).
    pub fn contains(&self, p: geo::Point) -> bool {
        (self.min_lon..=self.max_lon).contains(&p.x())
            && (self.min_lat..=self.max_lat).contains(&p.y())
    }
}
