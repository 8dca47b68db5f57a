//! Building a snapshot: one R-tree per layer plus the key maps.

use std::collections::HashMap;

use geo::{BoundingRect, InteriorPoint, MultiPolygon, Point, unary_union};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use super::{AreaTree, Keys, PointTree, Snapshot};
use crate::geodesy::ecef_m;
use crate::model::{Dataset, MemberKind};

fn area_tree<'a>(geoms: impl Iterator<Item = Option<&'a MultiPolygon>>) -> AreaTree {
    let items = geoms
        .enumerate()
        .filter_map(|(i, g)| {
            let r = g?.bounding_rect()?;
            let aabb = AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
            Some(GeomWithData::new(Rectangle::from_aabb(aabb), i))
        })
        .collect();
    RTree::bulk_load(items)
}

fn point_tree(points: impl Iterator<Item = Option<Point>>) -> PointTree {
    let items = points
        .enumerate()
        .filter_map(|(i, p)| p.map(|p| GeomWithData::new([p.x(), p.y()], i)))
        .collect();
    RTree::bulk_load(items)
}

fn positions<K: std::hash::Hash + Eq>(keys: impl Iterator<Item = K>) -> HashMap<K, usize> {
    keys.enumerate().map(|(i, k)| (k, i)).collect()
}

impl Snapshot {
    /// Index a dataset. The dataset is assumed valid (`validate_dataset`); dangling references are
    /// skipped rather than trusted.
    pub fn build(data: Dataset) -> Snapshot {
        let mut keys = Keys {
            town: positions(data.towns.iter().map(|t| t.code.clone())),
            village: positions(data.villages.iter().map(|v| v.code.clone())),
            grid: positions(data.grids.iter().map(|g| g.code.clone())),
            station: positions(data.stations.iter().map(|s| s.id)),
            alliance: positions(data.alliances.iter().map(|a| a.id)),
            member: positions(data.members.iter().map(|m| m.id)),
            ..Keys::default()
        };
        for (i, s) in data.stations.iter().enumerate() {
            keys.stations_in_grid
                .entry(s.grid_code.clone())
                .or_default()
                .push(i);
        }

        let member_locations: Vec<Option<Point>> = data
            .members
            .iter()
            .map(|m| {
                m.location.or_else(|| {
                    let v = keys.village.get(m.village_code.as_deref()?)?;
                    data.villages[*v].geometry.interior_point()
                })
            })
            .collect();

        let mut villages_of_alliance: Vec<Vec<usize>> = vec![Vec::new(); data.alliances.len()];
        for m in data
            .members
            .iter()
            .filter(|m| m.kind == MemberKind::Village)
        {
            let (Some(&a), Some(&v)) = (
                keys.alliance.get(&m.alliance_id),
                m.village_code.as_ref().and_then(|c| keys.village.get(c)),
            ) else {
                continue;
            };
            villages_of_alliance[a].push(v);
            let list = keys
                .alliances_of_village
                .entry(data.villages[v].code.clone())
                .or_default();
            if !list.contains(&a) {
                list.push(a);
            }
        }
        let alliance_footprints: Vec<Option<MultiPolygon>> = villages_of_alliance
            .iter()
            .map(|vs| {
                (!vs.is_empty())
                    .then(|| unary_union(vs.iter().map(|&v| &data.villages[v].geometry)))
            })
            .collect();

        let stations_ecef = RTree::bulk_load(
            data.stations
                .iter()
                .enumerate()
                .map(|(i, s)| GeomWithData::new(ecef_m(s.location), i))
                .collect(),
        );

        Snapshot {
            towns: area_tree(data.towns.iter().map(|t| Some(&t.geometry))),
            villages: area_tree(data.villages.iter().map(|v| Some(&v.geometry))),
            grids: area_tree(data.grids.iter().map(|g| Some(&g.geometry))),
            stations: point_tree(data.stations.iter().map(|s| Some(s.location))),
            members: point_tree(member_locations.iter().copied()),
            alliances: area_tree(alliance_footprints.iter().map(Option::as_ref)),
            stations_ecef,
            alliance_footprints,
            member_locations,
            keys,
            data,
        }
    }
}
