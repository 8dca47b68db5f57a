//! The deterministic sample generator behind `gridmap generate`.
//!
//! Real: the county outline, the 12 towns/streets and 229 villages/communities with their names
//! and NBS codes, and the 54 village points that are known. Synthetic (seeded, byte-reproducible):
//! town polygons (from ../shared), village polygons (Voronoi of the real points plus generated
//! ones, clipped to the town), grids (Voronoi inside each village), population, stations,
//! alliances and members. `scale` multiplies grids and stations only.

mod buildings;
mod elements;
pub mod events;
pub(crate) mod rng;
mod society;
mod sources;
pub mod voronoi;

use std::path::{Path, PathBuf};

use geo::{BoundingRect, Contains, Coord, InteriorPoint, MultiPolygon, Point};
use rstar::RTree;

use crate::model::declared::{self, Declarations};
use crate::model::points_csv;
use crate::model::schema::Visibility;
use crate::model::{
    Dataset, Grid, Layer, Personal, Town, Village,
    geojson::{layer_features, write_collection},
    share,
};
use crate::{Error, Result};
use rng::Rng;
use voronoi::{Plane, round7, rounded, tile};

/// 2020 census resident population of Danyang (7th national census).
pub const CENSUS_POPULATION: u64 = 988_900;
/// Grids in the sample at scale 1.
pub const GRIDS_PER_SCALE: usize = 2_000;
/// Stations in the sample at scale 1.
pub const STATIONS_PER_SCALE: usize = 300;
/// Grid codes have 3 digits after the village code.
const MAX_GRIDS_PER_VILLAGE: usize = 999;

/// Generate the Danyang sample with the shipped declared layers (`geodata/layers.toml`).
pub fn generate(scale: u32) -> Result<Dataset> {
    generate_with(scale, Declarations::shipped())
}

/// Generate the Danyang sample, `scale` times as many grids and stations as the default, with
/// the declared layers of `layers` that the generator knows (`elements`).
pub fn generate_with(scale: u32, layers: &Declarations) -> Result<Dataset> {
    let scale = scale.max(1) as usize;
    let plane = Plane::around(119.6, 31.95);
    let divisions = sources::divisions();
    let polygons = sources::town_polygons();

    let mut towns = Vec::new();
    for d in divisions.iter().filter(|d| d.level == "town") {
        let geometry = polygons
            .get(&d.code12)
            .cloned()
            .ok_or_else(|| Error::Format {
                layer: Layer::Towns,
                message: format!("no polygon for town {} in the embedded source", d.code12),
            })?;
        towns.push(Town {
            code: d.town_code9_nbs.clone(),
            name: d.name.clone(),
            mca_code: d.town_code9_mca.clone(),
            kind: d.kind.clone(),
            geometry: rounded(&geometry),
        });
    }

    let mut villages = Vec::new();
    let mut short_names = Vec::new();
    for town in &towns {
        let members: Vec<_> = divisions
            .iter()
            .filter(|d| d.level == "village" && d.town_code9_nbs == town.code)
            .collect();
        let mut rng = Rng::named(&format!("village-seeds-{}", town.code));
        let known: Vec<Option<Coord>> = members
            .iter()
            .map(|d| {
                d.point_wgs84
                    .filter(|p| town.geometry.contains(p))
                    .map(|p| p.0)
            })
            .collect();
        let seeds = spread_seeds(&town.geometry, &known, &mut rng, plane);
        let pieces = tile(&town.geometry, &seeds, plane, 20_000.0);
        for (d, geometry) in members.iter().zip(pieces) {
            villages.push(Village {
                code: d.code12.clone(),
                name: d.name.clone(),
                kind: d.kind.clone(),
                geometry,
            });
            short_names.push(d.name_short.clone());
        }
    }

    let street_towns: Vec<String> = towns
        .iter()
        .filter(|t| t.kind == "街道")
        .map(|t| t.code.clone())
        .collect();
    let density = |v: &Village| {
        if street_towns.iter().any(|t| t == v.town_code()) {
            5.0
        } else if v.kind.contains("社区") {
            3.0
        } else {
            1.0
        }
    };
    let weights: Vec<f64> = villages
        .iter()
        .map(|v| area_m2(&v.geometry, plane) * density(v))
        .collect();
    let target = (GRIDS_PER_SCALE * scale) as f64;

    let counts = allocate(target, &weights, MAX_GRIDS_PER_VILLAGE);
    let mut grids = Vec::new();
    for (i, v) in villages.iter().enumerate() {
        let n = counts[i];
        let mut rng = Rng::named(&format!("grid-seeds-{}-{scale}", v.code));
        let seeds = spread_seeds(&v.geometry, &vec![None; n], &mut rng, plane);
        let pieces = tile(&v.geometry, &seeds, plane, 5_000.0);
        let mut seq = 0;
        for geometry in pieces.into_iter().filter(|g| !g.0.is_empty()) {
            seq += 1;
            grids.push(Grid {
                code: format!("{}{seq:03}", v.code),
                name: format!("{}第{seq}网格", short_names[i]),
                households: 0,
                population: 0,
                worker: Personal::default(),
                geometry,
            });
        }
    }

    let mut data = Dataset {
        towns: share(towns),
        villages: share(villages),
        grids: share(grids),
        ..Dataset::default()
    };
    society::populate(&mut data, plane, &|v: &Village| density(v));
    society::place_stations(&mut data, STATIONS_PER_SCALE * scale);
    society::found_alliances(&mut data, &short_names);
    data.declared = share(elements::generate(&data, layers, plane)?);
    Ok(data)
}

/// Split `target` grids over villages in proportion to `weights`, at least 1 and at most `cap`
/// each; what capped villages cannot take goes to the others (water-filling).
fn allocate(target: f64, weights: &[f64], cap: usize) -> Vec<usize> {
    let mut counts = vec![0usize; weights.len()];
    let mut open: Vec<usize> = (0..weights.len()).collect();
    let mut remaining = target;
    loop {
        let total: f64 = open.iter().map(|&i| weights[i]).sum();
        let share = |i: usize| remaining * weights[i] / total;
        let (capped, free): (Vec<usize>, Vec<usize>) =
            open.iter().partition(|&&i| share(i) >= cap as f64);
        if capped.is_empty() || free.is_empty() {
            for &i in &open {
                counts[i] = (share(i).round() as usize).clamp(1, cap);
            }
            return counts;
        }
        for &i in &capped {
            counts[i] = cap;
            remaining -= cap as f64;
        }
        open = free;
    }
}

/// Area in square metres in the generator's local plane (for weights only, not for reporting).
fn area_m2(mp: &MultiPolygon, plane: Plane) -> f64 {
    use geo::Area;
    let scale = plane.to_m(Coord { x: 1.0, y: 1.0 });
    let origin = plane.to_m(Coord { x: 0.0, y: 0.0 });
    mp.unsigned_area() * (scale[0] - origin[0]).abs() * (scale[1] - origin[1]).abs()
}

/// A uniform random point inside `area` (rejection sampling in its bounding box).
pub(crate) fn random_point_in(area: &MultiPolygon, rng: &mut Rng) -> Coord {
    if let Some(r) = area.bounding_rect() {
        for _ in 0..2_000 {
            let c = round7(Coord {
                x: rng.range(r.min().x, r.max().x),
                y: rng.range(r.min().y, r.max().y),
            });
            if area.contains(&Point::from(c)) {
                return c;
            }
        }
    }
    area.interior_point()
        .map(|p| p.0)
        .unwrap_or(Coord { x: 0.0, y: 0.0 })
}

/// Seeds inside `area`: the known ones as given, the rest by best-candidate sampling (of 12 random
/// candidates, the one farthest from every seed so far), which spreads them evenly.
fn spread_seeds(
    area: &MultiPolygon,
    known: &[Option<Coord>],
    rng: &mut Rng,
    plane: Plane,
) -> Vec<Coord> {
    let mut tree: RTree<[f64; 2]> = RTree::new();
    for c in known.iter().flatten() {
        tree.insert(plane.to_m(*c));
    }
    known
        .iter()
        .map(|k| {
            if let Some(c) = k {
                return *c;
            }
            let mut best = (f64::MIN, Coord { x: 0.0, y: 0.0 });
            for _ in 0..12 {
                let c = random_point_in(area, rng);
                let d2 = tree
                    .nearest_neighbor(plane.to_m(c))
                    .map(|n| {
                        let m = plane.to_m(c);
                        (n[0] - m[0]).powi(2) + (n[1] - m[1]).powi(2)
                    })
                    .unwrap_or(f64::MAX);
                if d2 > best.0 {
                    best = (d2, c);
                }
            }
            tree.insert(plane.to_m(best.1));
            best.1
        })
        .collect()
}

/// Write one GeoJSON file per layer into `dir` (one feature per line), the buildings as gzipped
/// CSV (`BUILDINGS_FILE`); returns the paths written.
pub fn write(dir: &Path, data: &Dataset) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let builtin = Layer::ALL.iter().map(|&layer| {
        (
            dir.join(sources::file_name(layer)),
            write_collection(&layer_features(&data.layer(layer))).into_bytes(),
        )
    });
    let declared = data.declared.iter().map(|d| {
        if d.def.name == declared::BUILDINGS {
            return (
                dir.join(BUILDINGS_FILE),
                gzip(points_csv::write(d).as_bytes()),
            );
        }
        let features: Vec<_> = d
            .features
            .iter()
            .map(|r| r.feature(d.def, Visibility::Personal))
            .collect();
        (
            dir.join(format!("{}.geojson", d.def.name)),
            write_collection(&features).into_bytes(),
        )
    });
    builtin
        .chain(declared)
        .map(|(path, text)| {
            std::fs::write(&path, text).map_err(|source| Error::Io {
                path: path.display().to_string(),
                source,
            })?;
            Ok(path)
        })
        .collect()
}

/// The buildings' sample file: CSV (`model::points_csv`), gzipped. As GeoJSON it would be
/// about ten times the size of the rest of the sample together.
pub const BUILDINGS_FILE: &str = "buildings.csv.gz";

/// `bytes` gzipped at the best level, with no file name or time in the header (the same bytes
/// every run).
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = e.write_all(bytes);
    e.finish().unwrap_or_default()
}

pub use sources::file_name;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::validate_dataset;

    #[test]
    fn the_sample_is_valid_and_has_the_promised_shape() {
        let d = generate(1).unwrap();
        let report = validate_dataset(&d);
        assert!(report.is_ok(), "{report}");
        assert_eq!(d.towns.len(), 12);
        assert_eq!(d.villages.len(), 229);
        assert!(
            (1_800..=2_200).contains(&d.grids.len()),
            "{} grids",
            d.grids.len()
        );
        assert_eq!(d.stations.len(), 300);
        assert_eq!(d.alliances.len(), 27);
        assert!(d.members.len() >= 150, "{} members", d.members.len());
        let people: u64 = d.grids.iter().map(|g| u64::from(g.population)).sum();
        assert_eq!(people, CENSUS_POPULATION);
        assert!(d.villages.iter().all(|v| !v.geometry.0.is_empty()));
    }

    /// Each grid's buildings sum to its households and residents and stand inside it; blocks
    /// of entrances in the streets, houses of one or two households elsewhere.
    fn assert_buildings_fit(d: &Dataset) -> usize {
        use crate::model::buildings;
        use std::collections::HashMap;
        let mut sums: HashMap<&str, (u64, u64)> = HashMap::new();
        let grids: HashMap<&str, &crate::model::Grid> =
            d.grids.iter().map(|g| (g.code.as_str(), &**g)).collect();
        let streets = society::street_codes(d);
        let all = buildings::all(d);
        for b in &all {
            assert_eq!(b.code.len(), 20, "{}", b.code);
            let g = grids[b.grid_code()];
            assert!(g.geometry.contains(&b.at), "{} outside its grid", b.code);
            let sum = sums.entry(b.grid_code()).or_default();
            sum.0 += b.households;
            sum.1 += b.residents;
            let street = streets.contains(&&b.code[..9]);
            let entrance = b.record.value(b.def, "entrance");
            if b.text("use") == "residential" || b.text("use") == "mixed" {
                if street {
                    assert!(entrance.is_u64() && b.households <= 36, "{}", b.code);
                } else {
                    assert!(
                        entrance.is_null() && (1..=2).contains(&b.households),
                        "{}",
                        b.code
                    );
                }
            } else {
                assert_eq!((b.households, b.residents), (0, 0), "{}", b.code);
            }
        }
        for g in &d.grids {
            let want = (u64::from(g.households), u64::from(g.population));
            assert_eq!(
                sums.get(g.code.as_str()).copied().unwrap_or_default(),
                want,
                "{}",
                g.code
            );
        }
        all.len()
    }

    #[test]
    fn the_sample_buildings_sum_to_their_grids_and_stand_inside_them() {
        let d = crate::sample::dataset().unwrap();
        let count = assert_buildings_fit(&d);
        assert!((100_000..=160_000).contains(&count), "{count} buildings");
    }
}
