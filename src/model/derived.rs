//! Geometry derived from other layers: an alliance's footprint (the union of its member villages)
//! and where a member without a point of its own stands (an interior point of its village).
//!
//! One function for every consumer: the in-memory index and so the HTTP API and tiles, and both
//! stores, which materialise the result for other tools (QGIS) to see. Pure, no I/O.

use std::collections::HashMap;

use geo::{InteriorPoint, MultiPolygon, Point, unary_union};

use super::{Dataset, MemberKind};

/// What `derive` computes, by position in the dataset it was given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Derived {
    /// By alliance position: the union of its member villages' polygons; `None` without any.
    pub alliance_footprints: Vec<Option<MultiPolygon>>,
    /// By member position: its own point, else an interior point of its village.
    pub member_locations: Vec<Option<Point>>,
    /// By village position: the positions of the alliances it is a member of, in member-id order.
    pub alliances_of_village: Vec<Vec<usize>>,
}

/// Derive the alliance footprints and member points of `data`. References that do not resolve
/// (a dataset that failed validation) are skipped, not trusted.
///
/// Members are visited in id order whatever the dataset's order, so the union's input order (and
/// with it the exact ring order of the result) is the same in a store mid-import and in the
/// key-sorted snapshot: what a store holds equals, coordinate for coordinate, what the API serves.
pub fn derive(data: &Dataset) -> Derived {
    let village: HashMap<&str, usize> = data
        .villages
        .iter()
        .enumerate()
        .map(|(i, v)| (v.code.as_str(), i))
        .collect();
    let alliance: HashMap<u64, usize> = data
        .alliances
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id, i))
        .collect();
    let village_of = |code: Option<&str>| code.and_then(|c| village.get(c).copied());

    let member_locations = data
        .members
        .iter()
        .map(|m| {
            m.location.or_else(|| {
                let v = village_of(m.village_code.as_deref())?;
                data.villages[v].geometry.interior_point()
            })
        })
        .collect();

    let mut by_id: Vec<usize> = (0..data.members.len()).collect();
    by_id.sort_by_key(|&i| data.members[i].id);
    let mut villages_of_alliance: Vec<Vec<usize>> = vec![Vec::new(); data.alliances.len()];
    let mut alliances_of_village: Vec<Vec<usize>> = vec![Vec::new(); data.villages.len()];
    for m in by_id.iter().map(|&i| &data.members[i]) {
        if m.kind != MemberKind::Village {
            continue;
        }
        let (Some(&a), Some(v)) = (
            alliance.get(&m.alliance_id),
            village_of(m.village_code.as_deref()),
        ) else {
            continue;
        };
        villages_of_alliance[a].push(v);
        if !alliances_of_village[v].contains(&a) {
            alliances_of_village[v].push(a);
        }
    }
    let alliance_footprints = villages_of_alliance
        .iter()
        .map(|vs| {
            (!vs.is_empty()).then(|| unary_union(vs.iter().map(|&v| &data.villages[v].geometry)))
        })
        .collect();

    Derived {
        alliance_footprints,
        member_locations,
        alliances_of_village,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Alliance, Member, Village};
    use geo::{Area, Contains, polygon};

    fn village(code: &str, x0: f64) -> Village {
        Village {
            code: code.into(),
            name: code.into(),
            kind: String::new(),
            geometry: MultiPolygon(vec![polygon![
                (x: x0, y: 0.0), (x: x0 + 1.0, y: 0.0), (x: x0 + 1.0, y: 1.0), (x: x0, y: 1.0),
            ]]),
        }
    }

    fn member(id: u64, alliance_id: u64, village_code: Option<&str>, at: Option<Point>) -> Member {
        Member {
            id,
            alliance_id,
            kind: if at.is_some() {
                MemberKind::Bank
            } else {
                MemberKind::Village
            },
            name: format!("m{id}"),
            village_code: village_code.map(str::to_string),
            location: at,
        }
    }

    #[test]
    fn footprints_unite_member_villages_and_members_stand_inside_theirs() {
        let alliance = |id| Alliance {
            id,
            name: format!("a{id}"),
            theme: String::new(),
            founded: "2024-01-01".into(),
        };
        let data = Dataset {
            villages: crate::model::share(vec![
                village("321181001001", 0.0),
                village("321181001002", 1.0),
            ]),
            alliances: crate::model::share(vec![alliance(1), alliance(2)]),
            members: crate::model::share(vec![
                member(3, 1, None, Some(Point::new(5.0, 5.0))),
                member(2, 1, Some("321181001002"), None),
                member(1, 1, Some("321181001001"), None),
            ]),
            ..Dataset::default()
        };
        let d = derive(&data);
        let footprint = d.alliance_footprints[0].as_ref().unwrap();
        assert!((footprint.unsigned_area() - 2.0).abs() < 1e-12);
        assert_eq!(
            d.alliance_footprints[1], None,
            "no village member, no footprint"
        );
        assert_eq!(d.member_locations[0], Some(Point::new(5.0, 5.0)));
        assert!(
            data.villages[1]
                .geometry
                .contains(&d.member_locations[1].unwrap())
        );
        assert_eq!(d.alliances_of_village, vec![vec![0], vec![0]]);

        // The dataset's order does not change the result, only its positions.
        let mut sorted = data.clone();
        sorted.sort_by_key();
        let s = derive(&sorted);
        assert_eq!(s.alliance_footprints, d.alliance_footprints);
        assert_eq!(s.member_locations[2], d.member_locations[0]);
    }
}
