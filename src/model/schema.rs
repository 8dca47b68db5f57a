//! What each layer is, declared once: its key, geometry, parent, fields (name, type, visibility,
//! stored column) and how the API and the map describe it. GeoJSON out, OGC API properties,
//! filters and queryables, TileJSON fields and tile properties read these declarations
//! (tests compare the store schemas with them), so a field is named in one place.
//!
//! Pure data: no I/O, no HTTP. The typed model structs (`Town`, `Grid`, …) stay what the index
//! and the analyses compute on; `properties` is the one place a struct becomes named values.

use serde_json::{Map, Value, json};

use super::{
    Alliance, Grid, Layer, LayerData, Member, MemberKind, Personal, Service, Station, Town, Village,
};

/// Who may see a field (or, for a layer, its features): the public, the staff whose area holds
/// the feature, or those staff for personal data (masked for viewers). `access` decides per
/// caller; `gridmap export` and the store hold all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Visibility {
    /// Anyone: the API, tiles, the web map.
    Public,
    /// Working data for the governance staff (not personal, not for the public).
    Staff,
    /// Personal data (PIPL): grid workers' names and phones, a post's duty phone.
    Personal,
}

/// What values a field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    Text,
    /// A whole number (ids, counts).
    Integer,
    /// A number with a fraction (declared layers).
    Number,
    /// true or false (declared layers).
    Boolean,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// One of these names.
    Enum(&'static [&'static str]),
    /// A list of these names, without repeats (a post's services). One text in tiles, joined
    /// by commas, as MVT has no lists.
    EnumList(&'static [&'static str]),
}

impl FieldType {
    /// The TileJSON `vector_layers` type of the field in tiles.
    pub fn tile_type(self) -> &'static str {
        match self {
            FieldType::Integer | FieldType::Number => "Number",
            FieldType::Boolean => "Boolean",
            _ => "String",
        }
    }

    /// The declaration file's name of the type (`layers.toml`).
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Integer => "integer",
            FieldType::Number => "number",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::Enum(_) => "enum",
            FieldType::EnumList(_) => "enum_list",
        }
    }
}

/// One field of a layer: a GeoJSON property and a stored column of the same name (the key of a
/// layer keyed by id is stored as the table's id column: `fid` in the GeoPackage, `id` in
/// PostGIS).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Field {
    pub name: &'static str,
    pub ty: FieldType,
    pub visibility: Visibility,
    /// Null where it does not apply (a member outside any village, a grid without a worker).
    pub nullable: bool,
    pub description: &'static str,
    /// For a personal field: the boolean field of the same feature that, when true, makes this
    /// one public for that feature (the person consented).
    pub consent: Option<&'static str>,
}

const fn field(name: &'static str, ty: FieldType, description: &'static str) -> Field {
    Field {
        name,
        ty,
        visibility: Visibility::Public,
        nullable: false,
        description,
        consent: None,
    }
}

const fn personal(name: &'static str, description: &'static str) -> Field {
    Field {
        name,
        ty: FieldType::Text,
        visibility: Visibility::Personal,
        nullable: true,
        description,
        consent: None,
    }
}

/// The geometry every feature of a layer has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeometryKind {
    Point,
    MultiLineString,
    MultiPolygon,
}

impl GeometryKind {
    /// The GeoJSON (and OGC Simple Features) type name.
    pub fn geojson_type(self) -> &'static str {
        match self {
            GeometryKind::Point => "Point",
            GeometryKind::MultiLineString => "MultiLineString",
            GeometryKind::MultiPolygon => "MultiPolygon",
        }
    }

    /// The declaration file's name of the kind (`layers.toml`).
    pub fn name(self) -> &'static str {
        match self {
            GeometryKind::Point => "point",
            GeometryKind::MultiLineString => "line",
            GeometryKind::MultiPolygon => "polygon",
        }
    }
}

/// Where a layer's geometry comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeometrySource {
    /// Every feature has its own, stored.
    Stored,
    /// Derived by `model::derive` and stored for other tools (an alliance's footprint).
    Derived,
    /// A feature's own when it has one, else derived (a village member's point in its village).
    StoredOrDerived,
}

/// A layer a feature belongs to, named by one of its fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parent {
    pub layer: Layer,
    /// The field holding the parent's key.
    pub field: &'static str,
}

/// Where a layer is declared, and for declared layers how each feature finds its town, village
/// and grid (stored in the fields `town_code`, `village_code`, `grid_code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Compiled in: the typed model struct of this layer.
    Builtin(Layer),
    /// From a declaration file: the key is a code that starts with its parent's code
    /// (`Towns`, `Villages` or `Grids`), and the levels above follow from the code.
    DeclaredByPrefix(Layer),
    /// From a declaration file: the town, village and grid that contain the feature (its point,
    /// or a point inside its line or polygon), found at import.
    DeclaredByContainment,
    /// From a declaration file, with no parent.
    Declared,
}

/// Everything about a layer that is not a feature.
#[derive(Debug, PartialEq)]
pub struct LayerDef {
    /// The layer's name: its collection id, tile layer and store table.
    pub name: &'static str,
    pub origin: Origin,
    /// Short human title (the collection title, the map's legend).
    pub title: &'static str,
    pub description: &'static str,
    /// The field that identifies a feature: an administrative code, or a numeric id.
    pub key: &'static str,
    pub geometry: GeometryKind,
    pub geometry_source: GeometrySource,
    pub parent: Option<Parent>,
    /// The date field `datetime` filters on, for layers with time.
    pub time: Option<&'static str>,
    /// Every field (the key first), in the order the API documents them.
    pub fields: &'static [Field],
    /// The zooms its tile layer is drawn at (declared layers; built-in layers are in
    /// `tiles::layers`).
    pub zooms: (u8, u8),
    /// The text field `/search` matches names in, besides the key.
    pub search: Option<&'static str>,
    /// Who may know a feature exists: `Public` (anyone; its fields by their own visibility), or
    /// `Staff` (accounts whose area holds it: outside, it is absent from every answer, list,
    /// count and tile, and one item is 404).
    pub visibility: Visibility,
}

impl Field {
    /// Whether this personal field is public for the feature whose `properties` these are: its
    /// consent field says true.
    pub fn consented(&self, properties: &Map<String, Value>) -> bool {
        self.consent
            .is_some_and(|c| properties.get(c) == Some(&Value::Bool(true)))
    }
}

impl LayerDef {
    /// Whether its features exist only for accounts whose area holds them.
    pub fn staff_only(&self) -> bool {
        self.visibility != Visibility::Public
    }

    /// The fields public answers may carry: the public ones and those public by consent (a
    /// grid worker's contact where `publish_contact` is true), in declaration order.
    pub fn published_fields(&self) -> impl Iterator<Item = &'static Field> + use<> {
        self.fields
            .iter()
            .filter(|f| f.visibility == Visibility::Public || f.consent.is_some())
    }

    /// Whether a feature with these `properties` holds personal data in clear that its person
    /// did not consent to publish (what an answer must record in the audit log).
    pub fn carries_personal(&self, properties: &Map<String, Value>) -> bool {
        self.fields.iter().any(|f| {
            f.visibility == Visibility::Personal
                && !f.consented(properties)
                && properties.get(f.name).is_some_and(|v| !v.is_null())
        })
    }

    /// The fields anyone may see, in declaration order.
    pub fn public_fields(&self) -> impl Iterator<Item = &'static Field> + use<> {
        self.fields
            .iter()
            .filter(|f| f.visibility == Visibility::Public)
    }

    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Whether the key is a numeric id (else a code, as text).
    pub fn keyed_by_id(&self) -> bool {
        self.field(self.key)
            .is_some_and(|f| f.ty == FieldType::Integer)
    }

    /// The built-in layer this declares, if it is one.
    pub fn builtin(&self) -> Option<Layer> {
        match self.origin {
            Origin::Builtin(layer) => Some(layer),
            _ => None,
        }
    }

    /// The position of a field in `fields`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }
}

const SERVICES: &[&str] = &["policy", "mediation", "relief", "civility"];
const MEMBER_KINDS: &[&str] = &["village", "enterprise", "bank", "agency"];

use FieldType::{Boolean, Date, EnumList, Integer, Text};

pub const TOWNS: LayerDef = LayerDef {
    name: "towns",
    origin: Origin::Builtin(Layer::Towns),
    zooms: (0, 18),
    search: Some("name"),
    title: "Towns and streets (镇/街道)",
    description: "Towns and streets, 9-digit NBS codes.",
    key: "code",
    geometry: GeometryKind::MultiPolygon,
    geometry_source: GeometrySource::Stored,
    parent: None,
    time: None,
    fields: &[
        field("code", Text, "9-digit NBS code"),
        field("name", Text, "Name"),
        field("mca_code", Text, "Civil-affairs (MCA) code"),
        field("kind", Text, "镇 (town) or 街道 (street)"),
    ],
    visibility: Visibility::Public,
};

pub const VILLAGES: LayerDef = LayerDef {
    name: "villages",
    origin: Origin::Builtin(Layer::Villages),
    zooms: (10, 18),
    search: Some("name"),
    title: "Villages and communities (村/社区)",
    description: "Rural villages and urban communities, 12-digit codes.",
    key: "code",
    geometry: GeometryKind::MultiPolygon,
    geometry_source: GeometrySource::Stored,
    parent: Some(Parent {
        layer: Layer::Towns,
        field: "town_code",
    }),
    time: None,
    fields: &[
        field("code", Text, "12-digit code"),
        field("name", Text, "Name"),
        field("kind", Text, "村委会 (village) or 社区居委会 (community)"),
        field("town_code", Text, "Code of the town it belongs to"),
    ],
    visibility: Visibility::Public,
};

pub const GRIDS: LayerDef = LayerDef {
    name: "grids",
    origin: Origin::Builtin(Layer::Grids),
    zooms: (12, 18),
    search: Some("name"),
    title: "Grids (网格)",
    description: "The smallest governance unit; every household belongs to one. 15-digit codes.",
    key: "code",
    geometry: GeometryKind::MultiPolygon,
    geometry_source: GeometrySource::Stored,
    parent: Some(Parent {
        layer: Layer::Villages,
        field: "village_code",
    }),
    time: None,
    fields: &[
        field("code", Text, "15-digit code"),
        field("name", Text, "Name"),
        field("village_code", Text, "Code of the village it belongs to"),
        field("households", Integer, "Households"),
        field("population", Integer, "Residents"),
        Field {
            consent: Some("publish_contact"),
            ..personal("worker_name", "The grid worker's name")
        },
        Field {
            consent: Some("publish_contact"),
            ..personal("worker_phone", "The grid worker's phone")
        },
        field(
            "publish_contact",
            Boolean,
            "Whether the grid worker's name and phone are public (posted on the grid's notice board)",
        ),
    ],
    visibility: Visibility::Public,
};

pub const STATIONS: LayerDef = LayerDef {
    name: "stations",
    origin: Origin::Builtin(Layer::Stations),
    zooms: (11, 18),
    search: Some("name"),
    title: "Grid posts (网格驿站)",
    description: "Service stations inside grids: policy, mediation, relief, civility.",
    key: "id",
    geometry: GeometryKind::Point,
    geometry_source: GeometrySource::Stored,
    parent: Some(Parent {
        layer: Layer::Grids,
        field: "grid_code",
    }),
    time: None,
    fields: &[
        field("id", Integer, "Post id"),
        field("name", Text, "Name"),
        field("grid_code", Text, "Code of the grid it stands in"),
        field("services", EnumList(SERVICES), "Services offered"),
        field("opening_hours", Text, "Opening hours"),
        personal(
            "contact_phone",
            "The duty phone (often a worker's own mobile)",
        ),
    ],
    visibility: Visibility::Public,
};

pub const ALLIANCES: LayerDef = LayerDef {
    name: "alliances",
    origin: Origin::Builtin(Layer::Alliances),
    zooms: (8, 13),
    search: None,
    title: "Functional alliances (功能型联合体)",
    description: "Alliances of villages, enterprises, banks and agencies; geometry is the union of member villages.",
    key: "id",
    geometry: GeometryKind::MultiPolygon,
    geometry_source: GeometrySource::Derived,
    parent: None,
    time: Some("founded"),
    fields: &[
        field("id", Integer, "Alliance id"),
        field("name", Text, "Name"),
        field("theme", Text, "What the alliance works on"),
        field("founded", Date, "Date founded"),
    ],
    visibility: Visibility::Public,
};

pub const MEMBERS: LayerDef = LayerDef {
    name: "members",
    origin: Origin::Builtin(Layer::Members),
    zooms: (12, 18),
    search: None,
    title: "Alliance members",
    description: "Villages (placed inside their polygon), enterprises, banks and agencies.",
    key: "id",
    geometry: GeometryKind::Point,
    geometry_source: GeometrySource::StoredOrDerived,
    parent: Some(Parent {
        layer: Layer::Alliances,
        field: "alliance_id",
    }),
    time: None,
    fields: &[
        field("id", Integer, "Member id"),
        field("alliance_id", Integer, "Id of its alliance"),
        field(
            "kind",
            FieldType::Enum(MEMBER_KINDS),
            "village, enterprise, bank or agency",
        ),
        field("name", Text, "Name"),
        Field {
            nullable: true,
            ..field(
                "village_code",
                Text,
                "Code of the village, for village members",
            )
        },
    ],
    visibility: Visibility::Public,
};

impl Layer {
    /// This layer's declaration.
    pub fn def(self) -> &'static LayerDef {
        match self {
            Layer::Towns => &TOWNS,
            Layer::Villages => &VILLAGES,
            Layer::Grids => &GRIDS,
            Layer::Stations => &STATIONS,
            Layer::Alliances => &ALLIANCES,
            Layer::Members => &MEMBERS,
        }
    }
}

/// A feature's fields as named values, every field of its declaration (personal ones included:
/// callers keep what the reader may see, with `visible`).
pub trait Properties {
    const LAYER: Layer;
    fn properties(&self) -> Map<String, Value>;
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

impl Properties for Town {
    const LAYER: Layer = Layer::Towns;
    fn properties(&self) -> Map<String, Value> {
        object(
            json!({"code": self.code, "name": self.name, "mca_code": self.mca_code, "kind": self.kind}),
        )
    }
}

impl Properties for Village {
    const LAYER: Layer = Layer::Villages;
    fn properties(&self) -> Map<String, Value> {
        object(json!({
            "code": self.code, "name": self.name, "kind": self.kind, "town_code": self.town_code(),
        }))
    }
}

impl Properties for Grid {
    const LAYER: Layer = Layer::Grids;
    fn properties(&self) -> Map<String, Value> {
        object(json!({
            "code": self.code, "name": self.name, "village_code": self.village_code(),
            "households": self.households, "population": self.population,
            "worker_name": self.worker.name, "worker_phone": self.worker.phone,
            "publish_contact": self.worker.published,
        }))
    }
}

impl Properties for Station {
    const LAYER: Layer = Layer::Stations;
    fn properties(&self) -> Map<String, Value> {
        let services: Vec<&str> = self.services.iter().map(|s| s.name()).collect();
        object(json!({
            "id": self.id, "name": self.name, "grid_code": self.grid_code,
            "services": services, "opening_hours": self.opening_hours,
            "contact_phone": self.contact_phone,
        }))
    }
}

impl Properties for Alliance {
    const LAYER: Layer = Layer::Alliances;
    fn properties(&self) -> Map<String, Value> {
        object(
            json!({"id": self.id, "name": self.name, "theme": self.theme, "founded": self.founded}),
        )
    }
}

impl Properties for Member {
    const LAYER: Layer = Layer::Members;
    fn properties(&self) -> Map<String, Value> {
        object(json!({
            "id": self.id, "alliance_id": self.alliance_id, "kind": self.kind.name(),
            "name": self.name, "village_code": self.village_code,
        }))
    }
}

/// A built-in feature from the values of its declared fields (in declaration order, as a store
/// holds them) and its stored geometry: the inverse of `Properties`, for both stores' rows.
/// Text a store may hold as NULL where the model has none reads as empty; a value of the wrong
/// kind is an error naming the field.
pub fn builtin_from_values(
    layer: Layer,
    values: Vec<Value>,
    geometry: Option<geo::Geometry>,
) -> Result<LayerData, String> {
    let def = layer.def();
    let v = Values { def, values };
    let area = |g: Option<geo::Geometry>| match g {
        Some(geo::Geometry::MultiPolygon(mp)) => Ok(mp),
        Some(geo::Geometry::Polygon(p)) => Ok(geo::MultiPolygon(vec![p])),
        _ => Err("the geometry is missing or not a (Multi)Polygon".to_string()),
    };
    let point = |g: Option<geo::Geometry>| match g {
        None => Ok(None),
        Some(geo::Geometry::Point(p)) => Ok(Some(p)),
        Some(_) => Err("the geometry is not a Point".to_string()),
    };
    Ok(match layer {
        Layer::Towns => LayerData::Towns(vec![Town {
            code: v.text("code")?,
            name: v.text("name")?,
            mca_code: v.text_or_empty("mca_code")?,
            kind: v.text_or_empty("kind")?,
            geometry: area(geometry)?,
        }]),
        Layer::Villages => LayerData::Villages(vec![Village {
            code: v.text("code")?,
            name: v.text("name")?,
            kind: v.text_or_empty("kind")?,
            geometry: area(geometry)?,
        }]),
        Layer::Grids => LayerData::Grids(vec![Grid {
            code: v.text("code")?,
            name: v.text("name")?,
            households: v.count("households")?,
            population: v.count("population")?,
            worker: Personal {
                name: v.opt_text("worker_name")?,
                phone: v.opt_text("worker_phone")?,
                published: v.flag("publish_contact")?,
            },
            geometry: area(geometry)?,
        }]),
        Layer::Stations => LayerData::Stations(vec![Station {
            id: v.id("id")?,
            name: v.text("name")?,
            grid_code: v.text("grid_code")?,
            services: Service::parse_list(v.list("services")?.iter().map(String::as_str))?,
            opening_hours: v.text_or_empty("opening_hours")?,
            contact_phone: v.opt_text("contact_phone")?,
            location: point(geometry)?.ok_or("a post needs a Point geometry")?,
        }]),
        Layer::Alliances => LayerData::Alliances(vec![Alliance {
            id: v.id("id")?,
            name: v.text("name")?,
            theme: v.text_or_empty("theme")?,
            founded: v.text("founded")?,
        }]),
        Layer::Members => LayerData::Members(vec![Member {
            id: v.id("id")?,
            alliance_id: v.id("alliance_id")?,
            kind: MemberKind::parse_or_explain(&v.text("kind")?)?,
            name: v.text("name")?,
            village_code: v.opt_text("village_code")?,
            location: point(geometry)?,
        }]),
    })
}

/// A feature's values in declaration order: `properties` laid out as a store's row.
pub fn values_in_order<T: Properties>(feature: &T) -> Vec<Value> {
    let mut all = feature.properties();
    T::LAYER
        .def()
        .fields
        .iter()
        .map(|f| all.remove(f.name).unwrap_or(Value::Null))
        .collect()
}

/// Values by field name, read as the model's types.
struct Values {
    def: &'static LayerDef,
    values: Vec<Value>,
}

impl Values {
    fn get(&self, name: &str) -> &Value {
        self.def
            .position(name)
            .and_then(|i| self.values.get(i))
            .unwrap_or(&Value::Null)
    }

    fn opt_text(&self, name: &str) -> Result<Option<String>, String> {
        match self.get(name) {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            other => Err(format!("{name} holds {other}, not text")),
        }
    }

    /// A boolean; null (a store written before the field) reads as false.
    fn flag(&self, name: &str) -> Result<bool, String> {
        match self.get(name) {
            Value::Null => Ok(false),
            Value::Bool(b) => Ok(*b),
            other => Err(format!("{name} holds {other}, not true or false")),
        }
    }

    fn text(&self, name: &str) -> Result<String, String> {
        self.opt_text(name)?
            .ok_or_else(|| format!("{name} is empty; it is required"))
    }

    fn text_or_empty(&self, name: &str) -> Result<String, String> {
        Ok(self.opt_text(name)?.unwrap_or_default())
    }

    fn id(&self, name: &str) -> Result<u64, String> {
        self.get(name)
            .as_u64()
            .ok_or_else(|| format!("{name} holds {}, not a whole number >= 0", self.get(name)))
    }

    fn count(&self, name: &str) -> Result<u32, String> {
        u32::try_from(self.id(name)?).map_err(|_| format!("{name} is too large"))
    }

    fn list(&self, name: &str) -> Result<Vec<String>, String> {
        match self.get(name) {
            Value::Null => Ok(Vec::new()),
            Value::Array(items) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("{name} holds {i}, not a name"))
                })
                .collect(),
            other => Err(format!("{name} holds {other}, not a list")),
        }
    }
}

/// `properties`, keeping the fields at or below `up_to` visibility (absent ones as null), and the
/// personal fields the feature's person consented to publish.
pub fn visible<T: Properties>(feature: &T, up_to: Visibility) -> Map<String, Value> {
    let mut all = feature.properties();
    let mut out = Map::new();
    let published: Vec<bool> = T::LAYER
        .def()
        .fields
        .iter()
        .map(|f| f.consented(&all))
        .collect();
    for (f, published) in T::LAYER.def().fields.iter().zip(published) {
        if f.visibility <= up_to || published {
            out.insert(
                f.name.to_string(),
                all.remove(f.name).unwrap_or(Value::Null),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Dataset, MemberKind, Service};

    #[test]
    fn enumerations_name_what_the_model_parses() {
        assert_eq!(SERVICES, Service::ALL.map(Service::name));
        assert_eq!(MEMBER_KINDS, MemberKind::ALL.map(MemberKind::name));
    }

    /// Every property a struct gives is declared, and every declared field is given: a field
    /// added to one and not the other fails here.
    #[test]
    fn each_layer_gives_exactly_its_declared_fields() {
        fn check<T: Properties>(feature: &T) {
            let def = T::LAYER.def();
            let given: Vec<String> = feature.properties().keys().cloned().collect();
            let mut declared: Vec<String> = def.fields.iter().map(|f| f.name.to_string()).collect();
            let mut sorted_given = given.clone();
            sorted_given.sort();
            declared.sort();
            assert_eq!(sorted_given, declared, "{}", def.name);
            assert_eq!(
                def.fields[0].name, def.key,
                "{}: the key comes first",
                def.name
            );
        }
        let d: Dataset = crate::sample::dataset().unwrap();
        check(&*d.towns[0]);
        check(&*d.villages[0]);
        check(&*d.grids[0]);
        check(&*d.stations[0]);
        check(&*d.alliances[0]);
        check(&*d.members[0]);
    }

    #[test]
    fn personal_fields_are_left_out_of_public_properties_unless_consented() {
        let d: Dataset = crate::sample::dataset().unwrap();
        let mut grid = crate::model::Grid::clone(&d.grids[0]);
        grid.worker.published = false;
        let public = visible(&grid, Visibility::Public);
        assert!(!public.contains_key("worker_name") && !public.contains_key("worker_phone"));
        let all = visible(&grid, Visibility::Personal);
        assert!(all.contains_key("worker_phone"));
        let mut keys: Vec<&str> = public.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "code",
                "households",
                "name",
                "population",
                "publish_contact",
                "village_code"
            ]
        );
        // The worker consented: name and phone are public.
        grid.worker.published = true;
        let public = visible(&grid, Visibility::Public);
        assert_eq!(public["worker_phone"], json!(grid.worker.phone));
        assert_eq!(public["worker_name"], json!(grid.worker.name));
    }
}
