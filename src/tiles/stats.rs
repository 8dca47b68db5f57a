//! Tile statistics in tippecanoe's `tilestats` form (the mapbox-geostats layout): per layer the
//! feature count, the geometry type, and per attribute its type and a sample of its values.
//!
//! GDAL types a vector tile layer from `tilestats` (its MVT and PMTiles drivers read
//! `tilestats.layers[].geometry`, and an attribute's integer `min`/`max` make an integer field);
//! without it a polygon layer is `Unknown`. Archives count what their tiles actually encode
//! (`add_tile`, decoding each tile); a live server counts the features its tiles draw from
//! (`add_feature`, fed by `features::each_feature`).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashSet};

use fast_mvt::{MvtReaderRef, MvtValueRef};
use serde_json::{Number, Value, json};

/// Distinct values kept per attribute (tippecanoe's `--tilestats-sample-values-limit`); the
/// attribute's `count` stops there.
const SAMPLE_VALUES: usize = 1000;
/// Values listed per attribute (tippecanoe's `--tilestats-values-limit`).
const LISTED_VALUES: usize = 100;
/// Attributes listed per layer (tippecanoe's `--tilestats-attributes-limit`).
const LISTED_ATTRIBUTES: usize = 1000;
/// String values are cut to this many bytes, as mapbox-geostats does.
const MAX_STRING_BYTES: usize = 256;

/// An MVT geometry type, as tilestats names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum GeomKind {
    Point,
    LineString,
    Polygon,
}

impl GeomKind {
    pub fn name(self) -> &'static str {
        match self {
            GeomKind::Point => "Point",
            GeomKind::LineString => "LineString",
            GeomKind::Polygon => "Polygon",
        }
    }
}

/// One sampled attribute value, ordered as tippecanoe lists them (numbers by value).
#[derive(Clone, Debug)]
enum Sample {
    Bool(bool),
    Number(f64, Number),
    String(String),
}

impl Sample {
    fn from_mvt(value: MvtValueRef<'_>) -> Option<Sample> {
        let number = |n: Option<Number>| n.map(|n| Sample::Number(n.as_f64().unwrap_or(0.0), n));
        match value {
            MvtValueRef::String(s) => {
                let mut end = s.len().min(MAX_STRING_BYTES);
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                Some(Sample::String(s[..end].to_string()))
            }
            MvtValueRef::Bool(b) => Some(Sample::Bool(b)),
            MvtValueRef::UInt(u) => number(Some(u.into())),
            MvtValueRef::Int(i) | MvtValueRef::SInt(i) => number(Some(i.into())),
            MvtValueRef::Double(f) => number(Number::from_f64(f)),
            MvtValueRef::Float(f) => number(Number::from_f64(f64::from(f))),
            MvtValueRef::Null => None,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Sample::Bool(_) => 0,
            Sample::Number(..) => 1,
            Sample::String(_) => 2,
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Sample::Bool(b) => json!(b),
            Sample::Number(_, n) => Value::Number(n.clone()),
            Sample::String(s) => json!(s),
        }
    }
}

impl Ord for Sample {
    fn cmp(&self, other: &Sample) -> Ordering {
        match (self, other) {
            (Sample::Bool(a), Sample::Bool(b)) => a.cmp(b),
            (Sample::Number(a, _), Sample::Number(b, _)) => a.total_cmp(b),
            (Sample::String(a), Sample::String(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for Sample {
    fn partial_cmp(&self, other: &Sample) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Sample {
    fn eq(&self, other: &Sample) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Sample {}

#[derive(Debug, Default)]
struct AttributeStats {
    samples: BTreeSet<Sample>,
    /// Which kinds were seen (bool, number, string), even past the sample limit.
    kinds: [bool; 3],
    /// The extreme numbers, as encoded (an integer stays an integer).
    min: Option<(f64, Number)>,
    max: Option<(f64, Number)>,
}

impl AttributeStats {
    fn add(&mut self, sample: Sample) {
        self.kinds[usize::from(sample.rank())] = true;
        if let Sample::Number(v, n) = &sample {
            if self.min.as_ref().is_none_or(|(m, _)| v < m) {
                self.min = Some((*v, n.clone()));
            }
            if self.max.as_ref().is_none_or(|(m, _)| v > m) {
                self.max = Some((*v, n.clone()));
            }
        }
        if self.samples.len() < SAMPLE_VALUES {
            self.samples.insert(sample);
        }
    }

    fn to_json(&self, name: &str) -> Value {
        let kind = match self.kinds {
            [true, false, false] => "boolean",
            [false, true, false] => "number",
            [false, false, true] => "string",
            _ => "mixed",
        };
        let values: Vec<Value> = self
            .samples
            .iter()
            .take(LISTED_VALUES)
            .map(Sample::to_json)
            .collect();
        let mut out = json!({
            "attribute": name,
            "count": self.samples.len(),
            "type": kind,
            "values": values,
        });
        if let (Some((_, min)), Some((_, max))) = (&self.min, &self.max) {
            out["min"] = Value::Number(min.clone());
            out["max"] = Value::Number(max.clone());
        }
        out
    }
}

#[derive(Debug, Default)]
struct LayerStats {
    /// Feature ids already counted: a feature spans tiles and zooms but counts once.
    seen: HashSet<u64>,
    count: usize,
    /// Features by geometry type.
    geometries: BTreeMap<GeomKind, usize>,
    attributes: BTreeMap<String, AttributeStats>,
}

/// Statistics of a tile set, gathered feature by feature or tile by tile.
#[derive(Debug, Default)]
pub struct TileStats {
    layers: BTreeMap<String, LayerStats>,
}

impl TileStats {
    pub fn new() -> TileStats {
        TileStats::default()
    }

    /// Count one feature of `layer`. A feature whose id was seen before in this layer (the same
    /// feature in another tile or zoom) is not counted again; one without an id always is.
    pub fn add_feature<'v>(
        &mut self,
        layer: &str,
        id: Option<u64>,
        geometry: GeomKind,
        tags: impl IntoIterator<Item = (&'v str, MvtValueRef<'v>)>,
    ) {
        let stats = match self.layers.get_mut(layer) {
            Some(stats) => stats,
            None => self.layers.entry(layer.to_string()).or_default(),
        };
        if let Some(id) = id
            && !stats.seen.insert(id)
        {
            return;
        }
        stats.count += 1;
        *stats.geometries.entry(geometry).or_default() += 1;
        for (key, value) in tags {
            if let Some(sample) = Sample::from_mvt(value) {
                let attribute = match stats.attributes.get_mut(key) {
                    Some(a) => a,
                    None => stats.attributes.entry(key.to_string()).or_default(),
                };
                attribute.add(sample);
            }
        }
    }

    /// Count every feature an encoded tile holds, as a decoder reads it.
    pub fn add_tile(&mut self, bytes: &[u8]) -> Result<(), fast_mvt::MvtError> {
        if bytes.is_empty() {
            return Ok(());
        }
        let tile = MvtReaderRef::new(bytes)?;
        for layer in tile.layers() {
            for feature in layer.features() {
                use fast_mvt::proto::GeomType;
                let geometry = match feature.geom_type() {
                    Some(GeomType::POINT) => GeomKind::Point,
                    Some(GeomType::LINESTRING) => GeomKind::LineString,
                    Some(GeomType::POLYGON) => GeomKind::Polygon,
                    _ => continue,
                };
                let tags = feature.properties_vec()?;
                self.add_feature(layer.name(), feature.id(), geometry, tags);
            }
        }
        Ok(())
    }

    /// What a live server's tiles over `min_zoom..=max_zoom` draw, counted from the features they
    /// draw from (no tile is rendered): every layer visible in the range, typed by the layer table.
    /// `coverage_gaps` is counted when `gaps` is given.
    pub fn from_snapshot(
        snap: &crate::index::Snapshot,
        gaps: Option<&crate::analysis::coverage::CoverageMap>,
        min_zoom: u8,
        max_zoom: u8,
    ) -> TileStats {
        let mut stats = TileStats::new();
        for layer in super::layers::all(snap)
            .iter()
            .filter(|l| l.minzoom <= max_zoom && l.maxzoom >= min_zoom)
        {
            super::each_feature(snap, layer, gaps, &mut |id, tags| {
                let tags = tags.iter().map(|(k, v)| (*k, MvtValueRef::from(v)));
                stats.add_feature(layer.name, id, layer.geometry(), tags);
            });
        }
        stats
    }

    /// The geometry type most features of `layer` have (tippecanoe's choice for a mixed layer).
    pub fn geometry(&self, layer: &str) -> Option<GeomKind> {
        let stats = self.layers.get(layer)?;
        stats
            .geometries
            .iter()
            .max_by_key(|(kind, n)| (**n, std::cmp::Reverse(**kind)))
            .map(|(kind, _)| *kind)
    }

    /// The `tilestats` object, layers in `order` (layers not named there follow by name).
    pub fn to_json(&self, order: &[&str]) -> Value {
        let mut names: Vec<&str> = order
            .iter()
            .copied()
            .filter(|n| self.layers.contains_key(*n))
            .collect();
        names.extend(
            self.layers
                .keys()
                .map(String::as_str)
                .filter(|n| !order.contains(n)),
        );
        let layers: Vec<Value> = names
            .iter()
            .filter_map(|name| {
                let stats = self.layers.get(*name)?;
                let attributes: Vec<Value> = stats
                    .attributes
                    .iter()
                    .take(LISTED_ATTRIBUTES)
                    .map(|(key, a)| a.to_json(key))
                    .collect();
                Some(json!({
                    "layer": name,
                    "count": stats.count,
                    "geometry": self.geometry(name).map(GeomKind::name),
                    "attributeCount": stats.attributes.len(),
                    "attributes": attributes,
                }))
            })
            .collect();
        json!({"layerCount": layers.len(), "layers": layers})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fast_mvt::{MvtGeomType, MvtTileBuilder};

    #[test]
    fn a_feature_counts_once_across_tiles_and_values_are_typed() {
        let tile = MvtTileBuilder::new();
        let mut layer = tile.layer("posts").unwrap();
        for (id, name, people) in [(1u64, "甲", 10u64), (2, "乙", 25), (3, "甲", 7)] {
            let mut f = layer.feature_of(MvtGeomType::Point);
            f.id(Some(id));
            f.tag_string("name", name).unwrap();
            f.tag_uint("people", people).unwrap();
            f.tag_double("share", 0.5).unwrap();
            f.points([geo::Coord { x: 1, y: 2 }]).unwrap();
            layer = f.end();
        }
        let bytes = layer.end().encode();
        let mut stats = TileStats::new();
        stats.add_tile(&bytes).unwrap();
        stats.add_tile(&bytes).unwrap(); // the same features in a second tile
        let json = stats.to_json(&[]);
        assert_eq!(json["layerCount"], 1);
        let posts = &json["layers"][0];
        assert_eq!(posts["layer"], "posts");
        assert_eq!(posts["count"], 3);
        assert_eq!(posts["geometry"], "Point");
        assert_eq!(posts["attributeCount"], 3);
        let attributes = posts["attributes"].as_array().unwrap();
        assert_eq!(
            attributes[0],
            json!({"attribute": "name", "count": 2, "type": "string", "values": ["乙", "甲"]})
        );
        assert_eq!(
            attributes[1],
            json!({"attribute": "people", "count": 3, "type": "number", "values": [7, 10, 25], "min": 7, "max": 25})
        );
        assert_eq!(attributes[2]["min"], json!(0.5));
    }

    #[test]
    fn mixed_values_are_mixed_and_long_strings_are_cut_on_a_character() {
        let mut stats = TileStats::new();
        let long = "网".repeat(100); // 300 bytes
        stats.add_feature(
            "x",
            None,
            GeomKind::Polygon,
            [("v", MvtValueRef::String(&long))],
        );
        stats.add_feature("x", None, GeomKind::Polygon, [("v", MvtValueRef::UInt(1))]);
        let json = stats.to_json(&["x"]);
        let v = &json["layers"][0]["attributes"][0];
        assert_eq!(v["type"], "mixed");
        assert_eq!(v["values"][1].as_str().unwrap().len(), 255);
        assert_eq!(json["layers"][0]["count"], 2, "no id: each one counts");
    }
}
