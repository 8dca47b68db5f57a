//! Building a snapshot: one R-tree per layer plus the key maps.

use std::collections::HashMap;

use geo::{BoundingRect, CoordsIter, MonotonicPolygons, MultiPolygon, Point};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use super::{AreaTree, Keys, PointTree, Prepared, Snapshot};
use crate::geodesy::LowerBoundPlane;
use crate::model::{Dataset, Derived, derive};

fn area_tree<'a>(geoms: impl Iterator<Item = Option<&'a MultiPolygon>>) -> AreaTree {
    let items = geoms
        .enumerate()
        .filter_map(|(i, g)| {
            let r = g?.bounding_rect()?;
            let aabb = AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
            Some(GeomWithData::new(Rectangle::from_aabb(aabb), i))
        })
        .collect();
    RTree::bulk_load_with_params(items)
}

fn point_tree(points: impl Iterator<Item = Option<Point>>) -> PointTree {
    let items = points
        .enumerate()
        .filter_map(|(i, p)| p.map(|p| GeomWithData::new([p.x(), p.y()], i)))
        .collect();
    RTree::bulk_load_with_params(items)
}

fn positions<K: std::hash::Hash + Eq>(keys: impl Iterator<Item = K>) -> HashMap<K, usize> {
    keys.enumerate().map(|(i, k)| (k, i)).collect()
}

/// Polygons with more vertices than this get a monotone subdivision for point-in-polygon tests.
const PREPARE_ABOVE_VERTICES: usize = 32;

fn prepare(geoms: &[&MultiPolygon]) -> Vec<Option<MonotonicPolygons<f64>>> {
    geoms
        .iter()
        .map(|g| {
            (g.coords_count() > PREPARE_ABOVE_VERTICES)
                // The subdivision assumes valid input; a geometry it cannot take is tested directly.
                .then(|| std::panic::catch_unwind(|| MonotonicPolygons::from((*g).clone())).ok())
                .flatten()
        })
        .collect()
}

/// Mean spacing of `points` if spread evenly over their bounding box, at least 10 m.
fn spacing_m(points: &[Point]) -> f64 {
    let Some(r) = geo::MultiPoint(points.to_vec()).bounding_rect() else {
        return 1_000.0;
    };
    let width_m = r.width() * crate::geodesy::m_per_deg_lon(r.center().y);
    let height_m = r.height() * crate::geodesy::m_per_deg_lat(r.center().y);
    ((width_m * height_m) / points.len() as f64)
        .sqrt()
        .max(10.0)
}

impl Snapshot {
    /// Index a dataset. Layers are sorted by code or id, so positions follow keys. The dataset is
    /// assumed valid (`validate_dataset`); dangling references are skipped rather than trusted.
    pub fn build(mut data: Dataset) -> Snapshot {
        data.sort_by_key();
        let mut keys = Keys {
            town: positions(data.towns.iter().map(|t| t.code.clone())),
            village: positions(data.villages.iter().map(|v| v.code.clone())),
            grid: positions(data.grids.iter().map(|g| g.code.clone())),
            station: positions(data.stations.iter().map(|s| s.id)),
            alliance: positions(data.alliances.iter().map(|a| a.id)),
            member: positions(data.members.iter().map(|m| m.id)),
            ..Keys::default()
        };
        keys.village_of_grid = data
            .grids
            .iter()
            .map(|g| keys.village.get(g.village_code()).copied())
            .collect();
        keys.town_of_village = data
            .villages
            .iter()
            .map(|v| keys.town.get(v.town_code()).copied())
            .collect();
        keys.stations_in_grid = vec![Vec::new(); data.grids.len()];
        for (i, s) in data.stations.iter().enumerate() {
            if let Some(&g) = keys.grid.get(&s.grid_code) {
                keys.stations_in_grid[g].push(i);
            }
        }
        // Alliance footprints and member points: the same derivation the stores materialise.
        let Derived {
            alliance_footprints,
            member_locations,
            alliances_of_village,
        } = derive(&data);
        keys.alliances_of_village = alliances_of_village;

        let station_points: Vec<Point> = data.stations.iter().map(|s| s.location).collect();
        let station_rect = geo::MultiPoint(station_points.clone()).bounding_rect();
        let plane = LowerBoundPlane::around(station_rect.map(|r| r.center().y).unwrap_or(0.0));
        let stations_plane = RTree::bulk_load_with_params(
            station_points
                .iter()
                .enumerate()
                .map(|(i, &p)| GeomWithData::new(plane.project(p), i))
                .collect(),
        );

        let prepared = Prepared {
            towns: prepare(&data.towns.iter().map(|t| &t.geometry).collect::<Vec<_>>()),
            villages: prepare(
                &data
                    .villages
                    .iter()
                    .map(|v| &v.geometry)
                    .collect::<Vec<_>>(),
            ),
            grids: prepare(&data.grids.iter().map(|g| &g.geometry).collect::<Vec<_>>()),
        };

        let station_spacing_m =
            spacing_m(&data.stations.iter().map(|s| s.location).collect::<Vec<_>>());

        Snapshot {
            generation: 0,
            station_spacing_m,
            prepared,
            towns: area_tree(data.towns.iter().map(|t| Some(&t.geometry))),
            villages: area_tree(data.villages.iter().map(|v| Some(&v.geometry))),
            grids: area_tree(data.grids.iter().map(|g| Some(&g.geometry))),
            stations: point_tree(data.stations.iter().map(|s| Some(s.location))),
            members: point_tree(member_locations.iter().copied()),
            alliances: area_tree(alliance_footprints.iter().map(Option::as_ref)),
            stations_plane,
            plane,
            alliance_footprints,
            member_locations,
            keys,
            declared: data
                .declared
                .iter()
                .map(super::declared::DeclaredIndex::build)
                .collect(),
            geocoder: std::sync::OnceLock::new(),
            text: std::sync::OnceLock::new(),
            derived: Default::default(),
            data,
        }
    }
}
