//! Rows of the built-in layers, the same for both stores: a feature as its stored geometry and
//! one cell per declared field (declaration order, the key first), and back. The backends only
//! bind and fetch cells (`gpkg_rows.rs`, `postgis/rows.rs`); what a column holds is the layer's
//! declaration (`model::schema`), read through the same codec as declared layers
//! (`declared::{to_cells, from_cells}`).

use geo::Geometry;

use super::declared::{Cell, from_cells, key_of, to_cells};
use crate::model::schema::{builtin_from_values, values_in_order};
use crate::model::{Layer, LayerData};

/// What a built-in layer stores as its geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoredGeometry {
    /// A (Multi)Polygon, always.
    Area,
    /// A Point, always.
    Point,
    /// A Point of its own, or gridmap's derived one marked `geom_derived` (members).
    OwnPoint,
    /// Derived only, written apart (alliance footprints, `derived.rs` of each store).
    Derived,
}

pub fn stored_geometry(layer: Layer) -> StoredGeometry {
    match layer {
        Layer::Towns | Layer::Villages | Layer::Grids => StoredGeometry::Area,
        Layer::Stations => StoredGeometry::Point,
        Layer::Members => StoredGeometry::OwnPoint,
        Layer::Alliances => StoredGeometry::Derived,
    }
}

/// One feature as a store holds it.
pub struct Row {
    /// `None` for a member without a place of its own and for alliances.
    pub geometry: Option<Geometry>,
    pub cells: Vec<Cell>,
}

/// Feature `i` of `data` as a row.
pub fn row(data: &LayerData, i: usize) -> Row {
    let def = data.layer().def();
    let (geometry, values) = match data {
        LayerData::Towns(v) => (Some(v[i].geometry.clone().into()), values_in_order(&v[i])),
        LayerData::Villages(v) => (Some(v[i].geometry.clone().into()), values_in_order(&v[i])),
        LayerData::Grids(v) => (Some(v[i].geometry.clone().into()), values_in_order(&v[i])),
        LayerData::Stations(v) => (Some(v[i].location.into()), values_in_order(&v[i])),
        LayerData::Alliances(v) => (None, values_in_order(&v[i])),
        LayerData::Members(v) => (v[i].location.map(Into::into), values_in_order(&v[i])),
    };
    Row {
        geometry,
        cells: to_cells(def, &values),
    }
}

/// A feature of `layer` from its stored geometry and cells; an error names the feature and what
/// does not fit.
pub fn feature(
    layer: Layer,
    geometry: Option<Geometry>,
    cells: Vec<Cell>,
) -> Result<LayerData, String> {
    let key = key_of(&cells);
    let values = from_cells(layer.def(), &key, cells)?;
    builtin_from_values(layer, values, geometry).map_err(|e| format!("{layer} {key}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every feature of the sample survives the trip through cells, as either store makes it.
    #[test]
    fn every_sample_feature_round_trips_through_cells() {
        let d = crate::sample::dataset().unwrap();
        for layer in Layer::ALL {
            let data = d.layer(layer);
            for i in 0..data.len() {
                let Row { geometry, cells } = row(&data, i);
                // The GeoPackage keeps lists as comma-separated text.
                let as_text: Vec<Cell> = cells
                    .iter()
                    .map(|c| match c {
                        Cell::List(items) => Cell::Text(items.join(",")),
                        c => c.clone(),
                    })
                    .collect();
                for cells in [cells, as_text] {
                    let back = feature(layer, geometry.clone(), cells).unwrap();
                    let mut want = LayerData::empty(layer);
                    want.extend(match &data {
                        LayerData::Towns(v) => LayerData::Towns(vec![v[i].clone()]),
                        LayerData::Villages(v) => LayerData::Villages(vec![v[i].clone()]),
                        LayerData::Grids(v) => LayerData::Grids(vec![v[i].clone()]),
                        LayerData::Stations(v) => LayerData::Stations(vec![v[i].clone()]),
                        LayerData::Alliances(v) => LayerData::Alliances(vec![v[i].clone()]),
                        LayerData::Members(v) => LayerData::Members(vec![v[i].clone()]),
                    });
                    assert_eq!(back, want, "{layer} #{i}");
                }
            }
        }
    }

    #[test]
    fn a_cell_of_the_wrong_kind_names_the_feature_and_field() {
        let d = crate::sample::dataset().unwrap();
        let data = d.layer(Layer::Grids);
        let Row {
            geometry,
            mut cells,
        } = row(&data, 0);
        let position = Layer::Grids.def().position("households").unwrap();
        cells[position] = Cell::Text("many".into());
        let e = feature(Layer::Grids, geometry, cells).err().unwrap();
        assert!(
            e.contains(&d.grids[0].code) && e.contains("households"),
            "{e}"
        );
    }
}
