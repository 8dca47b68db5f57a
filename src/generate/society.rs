//! Synthetic people and services: population per grid, grid workers, stations, alliances and
//! their members. All seeded; see the module docs of `generate`.

use geo::{Coord, Point};

use super::rng::Rng;
use super::voronoi::{Plane, round7};
use super::{CENSUS_POPULATION, area_m2, random_point_in};
use crate::model::{
    Alliance, Dataset, Member, MemberKind, Personal, Service, Shared, Station, Village, share,
};

pub(crate) const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "高", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁",
    "任", "沈",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "华", "平", "刚", "桂英", "建华", "文", "红", "志强", "晓东", "海燕", "玉兰",
    "国强",
];
const OPENING_HOURS: &[&str] = &[
    "Mo-Fr 08:30-17:30",
    "Mo-Sa 08:00-18:00",
    "Mo-Fr 09:00-17:00; Sa 09:00-12:00",
    "Mo-Su 08:00-20:00",
];
/// Industries and themes of Danyang's villages (optics and glasses, auto parts, tools, grapes,
/// yellow rice wine, rice, tourism ...), used to name the synthetic alliances.
const THEMES: &[(&str, &str)] = &[
    ("眼镜产业", "眼镜"),
    ("汽车零部件", "汽配"),
    ("五金工具", "五金工具"),
    ("葡萄种植", "葡萄专业合作社"),
    ("黄酒酿造", "酒业"),
    ("优质稻米", "米业"),
    ("乡村文旅", "文化旅游"),
    ("生态农业", "生态农业"),
    ("物流商贸", "物流"),
    ("新型材料", "新材料"),
    ("木业家居", "木业"),
    ("光伏新能源", "新能源"),
    ("特色水产", "水产养殖"),
    ("苗木花卉", "园艺"),
    ("农村电商", "电子商务"),
];
const BANKS: &[&str] = &[
    "江苏丹阳农村商业银行",
    "中国农业银行丹阳支行",
    "中国工商银行丹阳支行",
    "中国银行丹阳支行",
    "中国建设银行丹阳支行",
    "邮储银行丹阳市支行",
];
const AGENCIES: &[&str] = &[
    "丹阳市农业农村局",
    "丹阳市工业和信息化局",
    "丹阳市商务局",
    "丹阳市文体广电和旅游局",
    "丹阳市人力资源和社会保障局",
    "丹阳市供销合作总社",
    "丹阳市市场监督管理局",
    "丹阳市自然资源和规划局",
];
/// The city government seat (Wikipedia's point for Danyang), where agencies are placed nearby.
pub(crate) const CITY_SEAT: Coord = Coord {
    x: 119.585,
    y: 31.99167,
};

/// The codes of the towns that are urban streets (街道): the city, where people live in blocks.
pub(crate) fn street_codes(data: &Dataset) -> Vec<&str> {
    data.towns
        .iter()
        .filter(|t| t.kind == "街道")
        .map(|t| t.code.as_str())
        .collect()
}

pub(crate) fn person(rng: &mut Rng) -> String {
    format!("{}{}", rng.pick(SURNAMES), rng.pick(GIVEN))
}

/// Deliberately unassignable numbers (exchange 0000): realistic shape, nobody's phone.
pub(crate) fn phone(rng: &mut Rng) -> String {
    format!("0511-0000{:04}", rng.int(0, 9999))
}

/// Split `total` over `weights` as whole numbers summing exactly to `total` (largest remainder).
pub(crate) fn apportion(total: u64, weights: &[f64]) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    if weights.is_empty() || sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<f64> = weights.iter().map(|w| total as f64 * w / sum).collect();
    let mut out: Vec<u64> = exact.iter().map(|e| e.floor() as u64).collect();
    let left = total.saturating_sub(out.iter().sum());
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        (exact[b] - exact[b].floor())
            .total_cmp(&(exact[a] - exact[a].floor()))
            .then(a.cmp(&b))
    });
    for &i in order.iter().cycle().take(left as usize) {
        out[i] += 1;
    }
    out
}

/// Population (summing to the census figure), households and a grid worker for every grid.
pub fn populate(data: &mut Dataset, plane: Plane, density: &dyn Fn(&Village) -> f64) {
    let mut rng = Rng::named("population");
    let village_density: std::collections::HashMap<&str, f64> = data
        .villages
        .iter()
        .map(|v| (v.code.as_str(), density(v)))
        .collect();
    let weights: Vec<f64> = data
        .grids
        .iter()
        .map(|g| {
            let d = village_density
                .get(g.village_code())
                .copied()
                .unwrap_or(1.0);
            // Grids are drawn to hold similar numbers of households; area and density spread them.
            (area_m2(&g.geometry, plane) * d).sqrt() * rng.range(0.7, 1.3)
        })
        .collect();
    let people = apportion(CENSUS_POPULATION, &weights);
    let mut rng = Rng::named("households-and-workers");
    for (g, p) in data.grids.iter_mut().zip(people) {
        g.population = p as u32;
        let household_size = rng.range(2.3, 2.9);
        g.households =
            ((p as f64 / household_size).round() as u32).clamp(u32::from(p > 0), g.population);
        g.worker = Personal {
            name: Some(person(&mut rng)),
            phone: Some(phone(&mut rng)),
            published: false,
        };
    }
    // Most grid workers post their name and phone on the grid's notice board (网格公示栏); a
    // stream of its own, so the names and phones above do not change with it.
    let mut consent = Rng::named("contact-consent");
    for g in &mut data.grids {
        g.worker.published = consent.range(0.0, 1.0) < 0.7;
    }
}

/// `count` stations in the most populous-by-chance grids (weighted sampling without replacement),
/// each at a random point inside its grid.
pub fn place_stations(data: &mut Dataset, count: usize) {
    let mut rng = Rng::named("stations");
    // Efraimidis-Spirakis: key = u^(1/w); the largest keys are a weighted sample.
    let mut keyed: Vec<(f64, usize)> = data
        .grids
        .iter()
        .enumerate()
        .map(|(i, g)| (rng.unit().powf(1.0 / f64::from(g.population.max(1))), i))
        .collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut chosen: Vec<usize> = keyed.iter().take(count).map(|k| k.1).collect();
    chosen.sort_unstable();
    data.stations = chosen
        .into_iter()
        .enumerate()
        .map(|(n, i)| {
            let g = &data.grids[i];
            let services = if rng.unit() < 0.55 {
                Service::ALL.to_vec()
            } else {
                let some: Vec<Service> = Service::ALL
                    .into_iter()
                    .filter(|_| rng.unit() < 0.6)
                    .collect();
                if some.is_empty() {
                    vec![*rng.pick(&Service::ALL)]
                } else {
                    some
                }
            };
            Shared::new(Station {
                id: n as u64 + 1,
                name: format!("{}驿站", g.name),
                grid_code: g.code.clone(),
                services,
                opening_hours: rng.pick(OPENING_HOURS).to_string(),
                contact_phone: Some(phone(&mut rng)),
                location: Point::from(random_point_in(&g.geometry, &mut rng)),
            })
        })
        .collect();
}

/// 27 functional alliances, each tying 3-5 neighbouring villages of one town to 1-2 enterprises,
/// a bank and a city agency.
pub fn found_alliances(data: &mut Dataset, short_names: &[String]) {
    let mut rng = Rng::named("alliances");
    let mut alliances = Vec::new();
    let mut members = Vec::new();
    let towns = data.towns.clone();
    for n in 0..27u64 {
        let town = &towns[n as usize % towns.len()];
        let (theme, trade) = THEMES[(n as usize * 7) % THEMES.len()];
        let id = n + 1;
        alliances.push(Alliance {
            id,
            name: format!("{}{}功能型联合体党委", town.name, theme),
            theme: theme.to_string(),
            founded: format!(
                "{}-{:02}-{:02}",
                rng.int(2021, 2023),
                rng.int(1, 12),
                rng.int(1, 28)
            ),
        });
        let in_town: Vec<usize> = (0..data.villages.len())
            .filter(|&i| data.villages[i].town_code() == town.code)
            .collect();
        let anchor = *rng.pick(&in_town);
        let centre = |i: usize| {
            data.villages[i]
                .geometry
                .0
                .first()
                .map(|p| p.exterior().0[0])
                .unwrap_or(CITY_SEAT)
        };
        let a = centre(anchor);
        let mut by_distance = in_town.clone();
        by_distance.sort_by(|&x, &y| {
            let (cx, cy) = (centre(x), centre(y));
            let dx = (cx.x - a.x).hypot(cx.y - a.y);
            let dy = (cy.x - a.x).hypot(cy.y - a.y);
            dx.total_cmp(&dy).then(x.cmp(&y))
        });
        let n_villages = rng.int(3, 5) as usize;
        let mut add =
            |kind: MemberKind, name: String, village: Option<usize>, location: Option<Coord>| {
                members.push(Member {
                    id: members.len() as u64 + 1,
                    alliance_id: id,
                    kind,
                    name,
                    village_code: village.map(|v| data.villages[v].code.clone()),
                    location: location.map(|c| Point::from(round7(c))),
                });
            };
        for &v in by_distance.iter().take(n_villages) {
            add(
                MemberKind::Village,
                data.villages[v].name.clone(),
                Some(v),
                None,
            );
        }
        for e in 0..rng.int(1, 2) {
            let v = by_distance[e as usize % by_distance.len().min(n_villages)];
            let at = random_point_in(&data.villages[v].geometry, &mut rng);
            add(
                MemberKind::Enterprise,
                format!("丹阳市{}{}有限公司", short_names[v], trade),
                Some(v),
                Some(at),
            );
        }
        let bank_at = random_point_in(&data.villages[anchor].geometry, &mut rng);
        add(
            MemberKind::Bank,
            format!("{}{}网点", rng.pick(BANKS), town.name),
            Some(anchor),
            Some(bank_at),
        );
        let agency_at = Coord {
            x: CITY_SEAT.x + rng.range(-0.003, 0.003),
            y: CITY_SEAT.y + rng.range(-0.003, 0.003),
        };
        add(
            MemberKind::Agency,
            rng.pick(AGENCIES).to_string(),
            None,
            Some(agency_at),
        );
    }
    data.alliances = share(alliances);
    data.members = share(members);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_sums_exactly_and_follows_weights() {
        let parts = apportion(988_900, &[1.0, 2.0, 3.3, 0.7]);
        assert_eq!(parts.iter().sum::<u64>(), 988_900);
        assert!(parts[2] > parts[1] && parts[1] > parts[0] && parts[0] > parts[3]);
        assert_eq!(apportion(10, &[1.0, 1.0, 1.0]), vec![4, 3, 3]);
    }
}
