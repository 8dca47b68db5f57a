//! Layers declared in a file (`geodata/layers.toml`, or `--layers FILE`): thematic layers that
//! get everything a built-in layer gets without recompiling.
//!
//! A file is parsed once into the same `LayerDef` the built-in layers use (`schema`), so every
//! path that reads a declaration (GeoJSON, the stores, OGC API, tiles, search) serves declared
//! layers too. Declarations live for the whole process (`&'static`): a parsed file is kept once
//! per distinct text.
//!
//! ```toml
//! [[layer]]
//! name = "shelters"                  # collection id, tile layer and table name
//! title = "Emergency shelters (应急避难场所)"
//! geometry = "point"                 # point | line | polygon
//! key = "code"                       # a required text or integer field
//! zooms = [12, 18]                   # drawn in tiles from z12 to z18
//! search = "name"                    # /search matches this text field
//! parent = "containment"             # or "towns" | "villages" | "grids" (the key's prefix)
//! fields = [
//!   { name = "code", type = "text" },
//!   { name = "name", type = "text", required = true },
//!   { name = "capacity", type = "integer", description = "People it holds" },
//!   { name = "kind", type = "enum", values = ["school", "stadium", "park"] },
//!   { name = "keeper_phone", type = "text", visibility = "personal" },
//! ]
//! ```

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock};

use serde::Deserialize;
use toml::Spanned;

use super::Layer;
use super::schema::{Field, FieldType, GeometryKind, LayerDef, Origin, Visibility};

/// The declaration file shipped with gridmap, used when no `--layers` is given.
pub const DEFAULT_TEXT: &str = include_str!("../../geodata/layers.toml");

/// The fields every declared layer with a parent gets, filled at import.
pub const PARENT_FIELDS: [&str; 3] = ["town_code", "village_code", "grid_code"];

/// The shipped file's name, as `Declarations::source` says it.
pub const SHIPPED: &str = "geodata/layers.toml";

/// The buildings layer's name.
pub const BUILDINGS: &str = "buildings";

/// The layers built into gridmap that ride on the declared-layer machinery: present whatever
/// `--layers` says, declared here in the same terms a file uses, so that every generic path
/// (stores, OGC API, tiles, export) serves them. Code that knows a layer by name (coverage,
/// `gridmap check`, the generator) reads it through `model::buildings`.
const BUILTIN_TEXT: &str = r#"
[[layer]]
name = "buildings"
title = "Buildings (楼栋)"
description = "Where households live: each entrance (单元) of an urban block, each rural house. Public counts, no names."
geometry = "point"
key = "code"
zooms = [15, 18]
parent = "grids"
fields = [
  { name = "code", type = "text", description = "The grid's code and 5 digits" },
  { name = "compound", type = "text", required = true, description = "Its compound (小区) or hamlet (自然村)" },
  { name = "building", type = "text", required = true, description = "Building (幢) or house number (号) in the compound" },
  { name = "entrance", type = "integer", description = "Entrance (单元) of the building; none for a house" },
  { name = "use", type = "enum", values = ["residential", "mixed", "public", "enterprise"], required = true, description = "What it is used for" },
  { name = "households", type = "integer", required = true, description = "Households registered in it" },
  { name = "residents", type = "integer", required = true, description = "Residents registered in it" },
]
"#;

/// Where the built-in declarations are, for messages.
const BUILTIN_SOURCE: &str = "gridmap's built-in layers";

/// The built-in layers (`BUILTIN_TEXT`), parsed once.
fn builtin() -> &'static [&'static LayerDef] {
    static BUILTIN: OnceLock<Vec<&'static LayerDef>> = OnceLock::new();
    BUILTIN.get_or_init(|| {
        parse_layers(BUILTIN_TEXT, BUILTIN_SOURCE, true)
            .expect("the built-in declarations are valid (tested)")
    })
}

/// Field names the stores use themselves, or that `/collections/{id}/items` takes as its own
/// parameters (a field of that name could not be filtered on).
const RESERVED: &[&str] = &[
    "fid", "geom", "id_", "rowid", "oid", "limit", "offset", "bbox", "f", "crs", "datetime",
];

/// Layer names gridmap's tiles, stores or PostGIS use themselves.
const RESERVED_LAYERS: &[&str] = &[
    "coverage_gaps",
    "events",
    "event_density",
    "change_log",
    "staging",
    "spatial_ref_sys",
    "geometry_columns",
    "geography_columns",
    "raster_columns",
    "raster_overviews",
];

/// Whether a layer name is taken by gridmap, SQLite, GeoPackage or PostGIS.
fn reserved_layer(name: &str) -> bool {
    Layer::parse(name).is_some()
        || name == BUILDINGS
        || RESERVED_LAYERS.contains(&name)
        || name.ends_with("_labels")
        || ["gpkg", "gridmap", "rtree_", "sqlite_", "pg_"]
            .iter()
            .any(|p| name.starts_with(p))
}

/// The declared layers of one file, in file order.
#[derive(Debug, PartialEq)]
pub struct Declarations {
    pub layers: Vec<&'static LayerDef>,
    /// Where they came from, for messages.
    pub source: String,
}

impl Declarations {
    /// No layer declared in a file: the built-in ones (buildings) only.
    pub fn none() -> &'static Declarations {
        static NONE: OnceLock<&'static Declarations> = OnceLock::new();
        NONE.get_or_init(|| {
            Box::leak(Box::new(Declarations {
                layers: builtin().to_vec(),
                source: "no declarations".into(),
            }))
        })
    }

    /// The shipped `geodata/layers.toml`.
    pub fn shipped() -> &'static Declarations {
        Declarations::parse(DEFAULT_TEXT, SHIPPED)
            .expect("the shipped geodata/layers.toml is valid (tested)")
    }

    /// Read `--layers FILE`, or the shipped file when `None`.
    pub fn load(path: Option<&std::path::Path>) -> Result<&'static Declarations, String> {
        match path {
            None => Ok(Declarations::shipped()),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                Declarations::parse(&text, &path.display().to_string())
            }
        }
    }

    /// Parse a declaration file. The error names the file, the line and the problem. A text
    /// parsed before returns the same declarations (they are kept for the process's life).
    pub fn parse(text: &str, source: &str) -> Result<&'static Declarations, String> {
        static PARSED: OnceLock<Mutex<HashMap<(String, String), &'static Declarations>>> =
            OnceLock::new();
        let parsed = PARSED.get_or_init(Default::default);
        let cache_key = (source.to_string(), text.to_string());
        if let Some(d) = parsed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&cache_key)
        {
            return Ok(d);
        }
        if let Some(at) = text.find('\0') {
            return Err(format!(
                "{source}, line {}: a NUL character; remove it",
                line_of(text, at)
            ));
        }
        let mut layers = builtin().to_vec();
        layers.extend(parse_layers(text, source, false)?);
        let declarations: &'static Declarations = Box::leak(Box::new(Declarations {
            layers,
            source: source.to_string(),
        }));
        parsed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(cache_key, declarations);
        Ok(declarations)
    }

    pub fn get(&self, name: &str) -> Option<&'static LayerDef> {
        self.layers.iter().copied().find(|d| d.name == name)
    }

    /// The names, for messages: "risk_zones, shelters".
    pub fn names(&self) -> String {
        let names: Vec<&str> = self.layers.iter().map(|d| d.name).collect();
        names.join(", ")
    }
}

/// The layers of one declaration text, in order; `builtin` allows gridmap's own names.
fn parse_layers(text: &str, source: &str, builtin: bool) -> Result<Vec<&'static LayerDef>, String> {
    let file: RawFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
        format!("{source}, line {line}: {}", e.message())
    })?;
    let mut layers = Vec::new();
    let mut names = BTreeSet::new();
    for raw in file.layer {
        let line = line_of(text, raw.span().start);
        let def = build(raw.into_inner(), text, builtin)
            .map_err(|(at, problem)| format!("{source}, line {}: {problem}", at.unwrap_or(line)))?;
        if !names.insert(def.name) {
            return Err(format!(
                "{source}, line {line}: layer '{}' is declared twice",
                def.name
            ));
        }
        layers.push(&*Box::leak(Box::new(def)));
    }
    Ok(layers)
}

/// A 64-bit FNV-1a checksum of `text`, as 16 hex digits.
pub fn checksum(text: &str) -> String {
    format!("{:016x}", super::fnv1a(text.as_bytes()))
}

/// The store-neutral column type of a field: `text`, `integer`, `number`, `boolean`, `date`
/// (enumerations are text with a check).
pub fn column_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Text | FieldType::Enum(_) | FieldType::EnumList(_) => "text",
        FieldType::Integer => "integer",
        FieldType::Number => "number",
        FieldType::Boolean => "boolean",
        FieldType::Date => "date",
    }
}

pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    layer: Vec<Spanned<RawLayer>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayer {
    name: Spanned<String>,
    title: Option<String>,
    description: Option<String>,
    geometry: Spanned<String>,
    key: Spanned<String>,
    zooms: Option<Spanned<[u8; 2]>>,
    search: Option<Spanned<String>>,
    parent: Option<Spanned<String>>,
    visibility: Option<Spanned<String>>,
    #[serde(default)]
    fields: Vec<Spanned<RawField>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    values: Option<Vec<String>>,
    visibility: Option<String>,
    required: Option<bool>,
    description: Option<String>,
}

/// A problem in a declaration: the line when known, and what is wrong.
type Problem = (Option<usize>, String);

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 48
}

fn build(raw: RawLayer, text: &str, builtin: bool) -> Result<LayerDef, Problem> {
    let at = |offset: usize| Some(line_of(text, offset));
    let name = raw.name.get_ref().clone();
    if !identifier(&name) {
        return Err((
            at(raw.name.span().start),
            format!(
                "layer name '{name}' must be lowercase letters, digits and _ (starting with a letter, at most 48)"
            ),
        ));
    }
    if !builtin && reserved_layer(&name) {
        return Err((
            at(raw.name.span().start),
            format!("layer name '{name}' is taken by gridmap itself; choose another"),
        ));
    }
    let geometry = match raw.geometry.get_ref().as_str() {
        "point" => GeometryKind::Point,
        "line" => GeometryKind::MultiLineString,
        "polygon" => GeometryKind::MultiPolygon,
        other => {
            return Err((
                at(raw.geometry.span().start),
                format!("geometry '{other}' is unknown; use point, line or polygon"),
            ));
        }
    };
    let origin = match raw.parent.as_ref().map(|p| p.get_ref().as_str()) {
        None | Some("none") => Origin::Declared,
        Some("containment") => Origin::DeclaredByContainment,
        Some(p @ ("towns" | "villages" | "grids")) => {
            Origin::DeclaredByPrefix(Layer::parse(p).unwrap_or(Layer::Towns))
        }
        Some(other) => {
            return Err((
                raw.parent.as_ref().map(|p| line_of(text, p.span().start)),
                format!(
                    "parent '{other}' is unknown; use containment, towns, villages, grids or none"
                ),
            ));
        }
    };
    let mut fields = Vec::new();
    for raw_field in raw.fields {
        let line = at(raw_field.span().start);
        let f = raw_field.into_inner();
        fields.push(field(f).map_err(|problem| (line, format!("in layer '{name}': {problem}")))?);
    }
    if origin != Origin::Declared {
        for parent in PARENT_FIELDS {
            if fields.iter().any(|f: &Field| f.name == parent) {
                return Err((
                    None,
                    format!(
                        "in layer '{name}': field '{parent}' is filled by gridmap from the parent; leave it out"
                    ),
                ));
            }
            fields.push(Field {
                name: parent,
                ty: FieldType::Text,
                visibility: Visibility::Public,
                nullable: true,
                description: match parent {
                    "town_code" => "Code of its town (filled by gridmap)",
                    "village_code" => "Code of its village (filled by gridmap)",
                    _ => "Code of its grid (filled by gridmap)",
                },
                consent: None,
            });
        }
    }
    let mut seen = BTreeSet::new();
    for f in &fields {
        if !seen.insert(f.name) {
            return Err((
                None,
                format!("in layer '{name}': field '{}' is declared twice", f.name),
            ));
        }
    }
    let key = raw.key.get_ref().clone();
    let key_line = at(raw.key.span().start);
    let Some(position) = fields.iter().position(|f| f.name == key) else {
        return Err((
            key_line,
            format!("in layer '{name}': key '{key}' is not one of its fields"),
        ));
    };
    let mut key_field = fields.remove(position);
    if !matches!(key_field.ty, FieldType::Text | FieldType::Integer) {
        return Err((
            key_line,
            format!("in layer '{name}': key '{key}' must be a text or integer field"),
        ));
    }
    if key_field.visibility != Visibility::Public {
        return Err((
            key_line,
            format!("in layer '{name}': key '{key}' must be public (it is the feature's id)"),
        ));
    }
    if matches!(origin, Origin::DeclaredByPrefix(_)) && key_field.ty != FieldType::Text {
        return Err((
            key_line,
            format!("in layer '{name}': a parent by prefix needs a text key (a code)"),
        ));
    }
    key_field.nullable = false;
    fields.insert(0, key_field);
    let zooms = match raw.zooms {
        None => (12, 18),
        Some(z) => {
            let [lo, hi] = *z.get_ref();
            if lo > hi || hi > 22 {
                return Err((
                    at(z.span().start),
                    format!(
                        "in layer '{name}': zooms [{lo}, {hi}] must be [min, max] with min <= max <= 22"
                    ),
                ));
            }
            (lo, hi)
        }
    };
    let search = match raw.search {
        None => None,
        Some(s) => {
            let wanted = s.get_ref();
            match fields.iter().find(|f| f.name == wanted) {
                Some(f) if f.ty == FieldType::Text && f.visibility == Visibility::Public => {
                    Some(f.name)
                }
                _ => {
                    return Err((
                        at(s.span().start),
                        format!(
                            "in layer '{name}': search '{wanted}' must name a public text field"
                        ),
                    ));
                }
            }
        }
    };
    let visibility = match raw.visibility {
        None => Visibility::Public,
        Some(v) => match v.get_ref().as_str() {
            "public" => Visibility::Public,
            // The key names the unit (and so the area) each feature belongs to: accounts
            // create and find keys in their own area only, so no answer tells one area's
            // staff what exists in another's (not even a 409 on a taken key).
            "staff" if matches!(origin, Origin::DeclaredByPrefix(_)) => Visibility::Staff,
            "staff" => {
                return Err((
                    at(v.span().start),
                    format!(
                        "in layer '{name}': a staff layer needs parent = \"towns\", \"villages\" or \"grids\" (a key that starts with its unit's code), so that its features belong to an area by their key"
                    ),
                ));
            }
            other => {
                return Err((
                    at(v.span().start),
                    format!(
                        "in layer '{name}': visibility '{other}' must be public or staff (a staff layer's features exist only for accounts whose area holds them; mark personal fields personal)"
                    ),
                ));
            }
        },
    };
    let name = leak(name);
    let title = raw.title.map(leak).unwrap_or(name);
    Ok(LayerDef {
        name,
        origin,
        title,
        description: leak(
            raw.description
                .unwrap_or_else(|| format!("{title}: a declared layer")),
        ),
        key: fields[0].name,
        geometry,
        geometry_source: super::schema::GeometrySource::Stored,
        parent: None,
        time: None,
        fields: Box::leak(fields.into_boxed_slice()),
        zooms,
        search,
        visibility,
    })
}

fn field(f: RawField) -> Result<Field, String> {
    if !identifier(&f.name) || RESERVED.contains(&f.name.as_str()) {
        return Err(format!(
            "field name '{}' must be lowercase letters, digits and _ (starting with a letter), and not one of {}",
            f.name,
            RESERVED.join(", ")
        ));
    }
    let ty = match (f.ty.as_str(), f.values) {
        ("text", None) => FieldType::Text,
        ("integer", None) => FieldType::Integer,
        ("number", None) => FieldType::Number,
        ("boolean", None) => FieldType::Boolean,
        ("date", None) => FieldType::Date,
        ("enum", Some(values)) => {
            let distinct: BTreeSet<&String> = values.iter().collect();
            if values.is_empty()
                || distinct.len() != values.len()
                || values.iter().any(|v| v.is_empty() || v.contains(','))
            {
                return Err(format!(
                    "field '{}': values must be a non-empty list of distinct names without commas",
                    f.name
                ));
            }
            let values: Vec<&'static str> = values.into_iter().map(leak).collect();
            FieldType::Enum(Box::leak(values.into_boxed_slice()))
        }
        ("enum", None) => {
            return Err(format!(
                "field '{}': an enum needs values = [\"a\", \"b\", ...]",
                f.name
            ));
        }
        (other, Some(_)) if other != "enum" => {
            return Err(format!(
                "field '{}': values are only for type = \"enum\"",
                f.name
            ));
        }
        (other, _) => {
            return Err(format!(
                "field '{}': type '{other}' is unknown; use text, integer, number, boolean, date or enum",
                f.name
            ));
        }
    };
    let visibility = match f.visibility.as_deref() {
        None | Some("public") => Visibility::Public,
        Some("staff") => Visibility::Staff,
        Some("personal") => Visibility::Personal,
        Some(other) => {
            return Err(format!(
                "field '{}': visibility '{other}' is unknown; use public, staff or personal",
                f.name
            ));
        }
    };
    Ok(Field {
        name: leak(f.name),
        ty,
        visibility,
        nullable: !f.required.unwrap_or(false),
        description: leak(f.description.unwrap_or_default()),
        consent: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        Declarations::parse(text, "t.toml").unwrap_err()
    }

    const GOOD: &str = r#"
[[layer]]
name = "shelters"
title = "Shelters"
geometry = "point"
key = "code"
zooms = [13, 18]
search = "name"
parent = "containment"
fields = [
  { name = "code", type = "text" },
  { name = "name", type = "text", required = true },
  { name = "capacity", type = "integer" },
  { name = "kind", type = "enum", values = ["school", "park"] },
  { name = "phone", type = "text", visibility = "personal" },
]
"#;

    #[test]
    fn a_good_file_becomes_layer_definitions() {
        let d = Declarations::parse(GOOD, "t.toml").unwrap();
        let def = d.get("shelters").unwrap();
        assert_eq!(def.key, "code");
        assert_eq!(def.fields[0].name, "code");
        assert!(!def.fields[0].nullable);
        assert_eq!(def.geometry, GeometryKind::Point);
        assert_eq!(def.origin, Origin::DeclaredByContainment);
        assert_eq!(def.zooms, (13, 18));
        assert_eq!(def.search, Some("name"));
        let names: Vec<&str> = def.fields.iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            [
                "code",
                "name",
                "capacity",
                "kind",
                "phone",
                "town_code",
                "village_code",
                "grid_code"
            ]
        );
        assert_eq!(
            def.field("kind").unwrap().ty,
            FieldType::Enum(&["school", "park"])
        );
        assert_eq!(def.field("phone").unwrap().visibility, Visibility::Personal);
        // The same text gives the same declarations.
        assert!(std::ptr::eq(
            d,
            Declarations::parse(GOOD, "t.toml").unwrap()
        ));
    }

    #[test]
    fn a_bad_file_names_the_line_and_the_problem() {
        let e = error("[[layer]]\nname = \"x\"\ngeometry = \"blob\"\nkey = \"id\"\n");
        assert_eq!(
            e,
            "t.toml, line 3: geometry 'blob' is unknown; use point, line or polygon"
        );
        let e = error(&GOOD.replace("type = \"integer\"", "type = \"int\""));
        assert!(
            e.starts_with(
                "t.toml, line 13: in layer 'shelters': field 'capacity': type 'int' is unknown"
            ),
            "{e}"
        );
        let e = error(&GOOD.replace("key = \"code\"", "key = \"nope\""));
        assert!(
            e.starts_with("t.toml, line 6: in layer 'shelters': key 'nope' is not one of"),
            "{e}"
        );
        let e = error(&GOOD.replace("name = \"shelters\"", "name = \"grids\""));
        assert!(e.contains("line 3: layer name 'grids' is taken"), "{e}");
        let e = error(&format!("{GOOD}{GOOD}"));
        assert!(e.contains("layer 'shelters' is declared twice"), "{e}");
        let e = error(&GOOD.replace("zooms = [13, 18]", "zooms = [18, 13]"));
        assert!(e.contains("line 7:"), "{e}");
        let e = error(&GOOD.replace("search = \"name\"", "search = \"capacity\""));
        assert!(
            e.contains(
                "line 8: in layer 'shelters': search 'capacity' must name a public text field"
            ),
            "{e}"
        );
        let e = error("[[layer]]\nname = \"x\"\ngeometry = \"point\"\nkey = \"id\"\ncolour = 1\n");
        assert!(
            e.starts_with("t.toml, line 5: unknown field `colour`"),
            "{e}"
        );
        let e = error(&GOOD.replace("values = [\"school\", \"park\"]", "values = []"));
        assert!(e.contains("values must be a non-empty list"), "{e}");
        for taken in [
            "coverage_gaps",
            "grids_labels",
            "change_log",
            "staging",
            "rtree_x",
        ] {
            let e = error(&GOOD.replace("name = \"shelters\"", &format!("name = \"{taken}\"")));
            assert!(e.contains(&format!("layer name '{taken}' is taken")), "{e}");
        }
        let e = error(&GOOD.replace("{ name = \"capacity\"", "{ name = \"limit\""));
        assert!(e.contains("field name 'limit'"), "{e}");
        let e = error(&GOOD.replace("{ name = \"phone\"", "{ name = \"town_code\""));
        assert!(e.contains("field 'town_code' is filled by gridmap"), "{e}");
        let staff = "parent = \"containment\"\nvisibility = \"staff\"";
        let e = error(&GOOD.replace("parent = \"containment\"", staff));
        assert!(
            e.contains("line 10: in layer 'shelters': a staff layer needs parent = \"towns\""),
            "{e}"
        );
        let e = error(&GOOD.replace("parent = \"containment\"", "visibility = \"secret\""));
        assert!(
            e.contains("visibility 'secret' must be public or staff"),
            "{e}"
        );
        let by_grid = GOOD.replace(
            "parent = \"containment\"",
            "parent = \"grids\"\nvisibility = \"staff\"",
        );
        let d = Declarations::parse(&by_grid, "staff.toml").unwrap();
        assert_eq!(d.get("shelters").unwrap().visibility, Visibility::Staff);
    }

    #[test]
    fn the_shipped_file_parses() {
        let d = Declarations::shipped();
        assert!(!d.layers.is_empty());
    }
}
