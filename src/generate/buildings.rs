//! Buildings for the sample (the built-in `buildings` layer): where each grid's households live.
//!
//! Grids of the two streets (街道, the city) hold compounds (小区) of multi-storey blocks: rows of
//! blocks facing south, two to four entrances (单元) each, six to eighteen floors of two flats
//! per entrance; one record per entrance. Grids of the towns hold hamlets (自然村): clusters of
//! one- and two-household houses on lanes about 20 m apart; one record per house. Each village
//! also has a few public buildings and workshops, without households.
//!
//! A grid's buildings sum exactly to its households and residents, and stand inside it. They
//! follow the households, not `--scale`: a finer scale cuts the same households into more,
//! smaller grids, and only where a grid holds less than a block (or a house) does it get a
//! smaller one of its own (131,903 buildings at scale 1; 250,839 at scale 100, where 199,997
//! grids hold 1.9 households each and each needs at least one).

use std::collections::HashMap;

use geo::{Contains, Coord, InteriorPoint, MultiPolygon, Point};
use serde_json::{Value, json};

use super::rng::Rng;
use super::society::{SURNAMES, apportion};
use super::voronoi::{Plane, round7};
use crate::model::{Dataset, Grid, village_town_code};

const COMPOUND_NAMES: &[&str] = &[
    "阳光", "金色", "锦绣", "丽景", "翠园", "香榭", "御景", "云阳", "凤凰", "齐梁", "运河", "丹凤",
    "华府", "东方", "紫荆", "银杏", "文昌", "新民", "春江", "天地", "滨湖", "名都", "清华", "水岸",
];
const COMPOUND_KINDS: &[&str] = &["花园", "新村", "小区", "家园", "苑", "公寓", "名城", "雅居"];
const HAMLET_KINDS: &[&str] = &["家村", "庄", "巷", "家湾", "塘", "村", "家桥", "墩", "埭"];
const PUBLIC: &[&str] = &[
    "社区服务中心",
    "卫生服务站",
    "幼儿园",
    "文化活动中心",
    "小学",
];
const ENTERPRISE: &[&str] = &["眼镜厂", "五金厂", "汽配厂", "纺织厂", "物流园", "木业厂"];

/// Metres between entrances of a block, and the gap between blocks in a row.
const ENTRANCE_M: f64 = 14.0;
const BLOCK_GAP_M: f64 = 16.0;
/// Metres between rows of blocks, and between house sites in a hamlet.
const ROW_M: f64 = 40.0;
const HOUSE_M: f64 = 20.0;

/// One building before it has its code and residents.
struct Site {
    at: Coord,
    compound: String,
    building: String,
    entrance: Option<u32>,
    use_: &'static str,
    households: u64,
}

/// The buildings of every grid, as GeoJSON properties with a point: code, compound, building,
/// entrance, use, households, residents.
pub(super) fn drafts(data: &Dataset, plane: Plane) -> Vec<(Point, Value)> {
    let streets = super::society::street_codes(data);
    let urban = |village_code: &str| streets.contains(&village_town_code(village_code));
    let mut per_grid: Vec<Vec<Site>> = data
        .grids
        .iter()
        .map(|g| {
            let mut rng = Rng::named(&format!("buildings-{}", g.code));
            if urban(g.village_code()) {
                compounds(g, u64::from(g.households), &mut rng, plane)
            } else {
                hamlets(g, u64::from(g.households), &mut rng, plane)
            }
        })
        .collect();
    // Public buildings and workshops per village (as many at any scale), in the grid they fall in.
    let mut grids_of: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, g) in data.grids.iter().enumerate() {
        grids_of.entry(g.village_code()).or_default().push(i);
    }
    for v in &data.villages {
        let mut rng = Rng::named(&format!("buildings-others-{}", v.code));
        for site in others(&v.geometry, urban(&v.code), &mut rng) {
            let at = Point::from(site.at);
            let home = grids_of.get(v.code.as_str()).and_then(|grids| {
                grids
                    .iter()
                    .copied()
                    .find(|&i| data.grids[i].geometry.contains(&at))
            });
            if let Some(i) = home {
                per_grid[i].push(site);
            }
        }
    }
    let mut out = Vec::new();
    for (g, sites) in data.grids.iter().zip(per_grid) {
        let weights: Vec<f64> = sites.iter().map(|s| s.households as f64).collect();
        let residents = apportion(u64::from(g.population), &weights);
        for (i, (s, residents)) in sites.into_iter().zip(residents).enumerate() {
            out.push((
                Point::from(s.at),
                json!({
                    "code": format!("{}{:05}", g.code, i + 1),
                    "compound": s.compound,
                    "building": s.building,
                    "entrance": s.entrance,
                    "use": s.use_,
                    "households": s.households,
                    "residents": residents,
                }),
            ));
        }
    }
    out
}

/// A point inside the grid (for one to stand on when nothing else fits).
fn fallback(g: &Grid, rng: &mut Rng) -> Coord {
    super::random_point_in(&g.geometry, rng)
}

fn inside(area: &MultiPolygon, c: Coord) -> bool {
    area.contains(&Point::from(c))
}

/// A point of `plane` in a frame turned by `angle` around `origin` (metres), back in lon/lat.
fn turned(plane: Plane, origin: [f64; 2], angle: f64, x: f64, y: f64) -> Coord {
    let (s, c) = angle.sin_cos();
    round7(plane.to_deg([origin[0] + x * c - y * s, origin[1] + x * s + y * c]))
}

/// Compounds of blocks holding `households`: block specs first, then rows of block sites inside
/// the grid nearest its centre, then the blocks grouped into compounds of about sixteen.
fn compounds(g: &Grid, households: u64, rng: &mut Rng, plane: Plane) -> Vec<Site> {
    // (entrances, households per entrance) per block, the last entrance taking what is left.
    let mut blocks: Vec<Vec<u64>> = Vec::new();
    let mut left = households;
    while left > 0 {
        let entrances = rng.int(2, 4);
        let floors = *rng.pick(&[6, 6, 6, 6, 11, 18]);
        let mut block = Vec::new();
        for _ in 0..entrances {
            if left == 0 {
                break;
            }
            let h = (2 * floors).min(left);
            block.push(h);
            left -= h;
        }
        blocks.push(block);
    }
    if blocks.is_empty() {
        return Vec::new();
    }
    let centre = g
        .geometry
        .interior_point()
        .map(|p| p.0)
        .unwrap_or_else(|| fallback(g, rng));
    let origin = plane.to_m(centre);
    let angle = rng.range(-0.25, 0.25);
    let reach = reach_m(g, plane);
    // Block sites on a lattice, nearest the centre first; a denser lattice when too few fit.
    let mut scale = 1.0;
    let sites: Vec<Vec<Coord>> = loop {
        let pitch_x = (4.0 * ENTRANCE_M + BLOCK_GAP_M) * scale;
        let found = spiral(blocks.len(), pitch_x, ROW_M * scale, reach, |i, j| {
            let x0 = f64::from(i) * pitch_x;
            let y0 = f64::from(j) * ROW_M * scale;
            let entrances: Vec<Coord> = (0..4)
                .map(|k| {
                    turned(
                        plane,
                        origin,
                        angle,
                        x0 + f64::from(k) * ENTRANCE_M * scale,
                        y0,
                    )
                })
                .collect();
            entrances
                .iter()
                .all(|&c| inside(&g.geometry, c))
                .then_some(entrances)
        });
        if found.len() == blocks.len() || scale < 0.2 {
            break found;
        }
        scale *= 0.6;
    };
    let compound_count = blocks.len().div_ceil(16);
    // One name for the grid's compounds, built in phases: 阳光花园, 阳光花园二期, 阳光花园三期 …
    let base = format!("{}{}", rng.pick(COMPOUND_NAMES), rng.pick(COMPOUND_KINDS));
    const PHASES: [&str; 9] = ["", "二", "三", "四", "五", "六", "七", "八", "九"];
    let names: Vec<String> = (0..compound_count)
        .map(|i| match PHASES.get(i) {
            Some(&"") => base.clone(),
            Some(phase) => format!("{base}{phase}期"),
            None => format!("{base}{}期", i + 1),
        })
        .collect();
    let mut out = Vec::new();
    for (b, block) in blocks.iter().enumerate() {
        let compound = b * compound_count / blocks.len();
        let number = b - (compound * blocks.len()).div_ceil(compound_count) + 1;
        let shops = rng.unit() < 0.1;
        for (e, &h) in block.iter().enumerate() {
            let at = match sites.get(b) {
                Some(s) => s[e],
                None => fallback(g, rng),
            };
            out.push(Site {
                at,
                compound: names[compound].clone(),
                building: number.to_string(),
                entrance: Some(e as u32 + 1),
                use_: if shops { "mixed" } else { "residential" },
                households: h,
            });
        }
    }
    out
}

/// Hamlets of houses of one or two households, about 20 m apart, holding `households`.
fn hamlets(g: &Grid, households: u64, rng: &mut Rng, plane: Plane) -> Vec<Site> {
    let mut houses = Vec::new();
    let mut left = households;
    while left > 0 {
        let h = if left > 1 && rng.unit() < 0.35 { 2 } else { 1 };
        houses.push(h);
        left -= h;
    }
    if houses.is_empty() {
        return Vec::new();
    }
    let count = (houses.len() as f64 / rng.range(25.0, 60.0))
        .round()
        .max(1.0) as usize;
    // One lattice for the grid, turned a little, so that hamlets never share a site.
    let origin = plane.to_m(
        g.geometry
            .interior_point()
            .map(|p| p.0)
            .unwrap_or_else(|| fallback(g, rng)),
    );
    let angle = rng.range(-0.4, 0.4);
    let reach = reach_m(g, plane);
    let mut taken = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut next = 0;
    for k in 0..count {
        let end = houses.len() * (k + 1) / count;
        let name = format!("{}{}", rng.pick(SURNAMES), rng.pick(HAMLET_KINDS));
        let [cx, cy] = unturn(origin, angle, plane.to_m(fallback(g, rng)));
        let (ci, cj) = ((cx / HOUSE_M).round() as i32, (cy / HOUSE_M).round() as i32);
        let want = end - next;
        // Sites around the hamlet's centre, nearest first, a few left empty.
        let mut sites = spiral(want, HOUSE_M, HOUSE_M, reach, |i, j| {
            let (i, j) = (ci + i, cj + j);
            if rng.unit() < 0.25 || taken.contains(&(i, j)) {
                return None;
            }
            let (x, y) = (f64::from(i) * HOUSE_M, f64::from(j) * HOUSE_M);
            let (dx, dy) = (rng.range(-4.0, 4.0), rng.range(-4.0, 4.0));
            let at = [
                turned(plane, origin, angle, x + dx, y + dy),
                turned(plane, origin, angle, x, y),
            ]
            .into_iter()
            .find(|&c| inside(&g.geometry, c))?;
            taken.insert((i, j));
            Some(at)
        });
        while sites.len() < want {
            sites.push(fallback(g, rng));
        }
        for (n, (at, &h)) in sites.into_iter().zip(&houses[next..end]).enumerate() {
            out.push(Site {
                at,
                compound: name.clone(),
                building: (n + 1).to_string(),
                entrance: None,
                use_: if h == 2 && rng.unit() < 0.05 {
                    "mixed"
                } else {
                    "residential"
                },
                households: h,
            });
        }
        next = end;
    }
    out
}

/// `p` (plane metres) in the frame turned by `angle` around `origin`: the inverse of `turned`.
fn unturn(origin: [f64; 2], angle: f64, p: [f64; 2]) -> [f64; 2] {
    let (s, c) = angle.sin_cos();
    let (x, y) = (p[0] - origin[0], p[1] - origin[1]);
    [x * c + y * s, -x * s + y * c]
}

/// Up to `want` sites of a lattice, ring by ring outwards from cell (0, 0), as `site` gives
/// them; stops once a ring lies farther than `reach_m` (the grid's size) from the start.
fn spiral<T>(
    want: usize,
    pitch_x: f64,
    pitch_y: f64,
    reach_m: f64,
    mut site: impl FnMut(i32, i32) -> Option<T>,
) -> Vec<T> {
    let mut out = Vec::new();
    if want == 0 {
        return out;
    }
    let limit = (reach_m / pitch_x.min(pitch_y)).ceil() as i32 + 1;
    for r in 0..=limit {
        // The cells of ring r: the top and bottom rows, then the sides between them.
        let ring = (-r..=r)
            .flat_map(|i| [(i, -r), (i, r)])
            .chain((1 - r..r).flat_map(|j| [(-r, j), (r, j)]))
            .take(if r == 0 { 1 } else { usize::MAX });
        for (i, j) in ring {
            if let Some(s) = site(i, j) {
                out.push(s);
                if out.len() == want {
                    return out;
                }
            }
        }
    }
    out
}

/// The diagonal of the grid's box in metres: no site of it lies farther from any other.
fn reach_m(g: &Grid, plane: Plane) -> f64 {
    use geo::BoundingRect;
    g.geometry.bounding_rect().map_or(0.0, |r| {
        let (a, b) = (plane.to_m(r.min()), plane.to_m(r.max()));
        (b[0] - a[0]).hypot(b[1] - a[1])
    })
}

/// A village's public buildings (two to four) and workshops (one to five; fewer in the streets),
/// without households.
fn others(area: &MultiPolygon, urban: bool, rng: &mut Rng) -> Vec<Site> {
    let mut out = Vec::new();
    for _ in 0..rng.int(2, 4) {
        out.push(Site {
            at: super::random_point_in(area, rng),
            compound: rng.pick(PUBLIC).to_string(),
            building: "1".into(),
            entrance: None,
            use_: "public",
            households: 0,
        });
    }
    for _ in 0..rng.int(1, if urban { 3 } else { 5 }) {
        out.push(Site {
            at: super::random_point_in(area, rng),
            compound: format!("{}{}", rng.pick(SURNAMES), rng.pick(ENTERPRISE)),
            building: "1".into(),
            entrance: None,
            use_: "enterprise",
            households: 0,
        });
    }
    out
}
