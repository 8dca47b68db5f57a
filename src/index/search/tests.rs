//! The search index against the scan, and what search finds.

use super::*;
use crate::sample;

fn snapshot() -> Snapshot {
    Snapshot::build(sample::dataset().unwrap())
}

fn builtin() -> Vec<AnyLayer> {
    [Layer::Towns, Layer::Villages, Layer::Grids, Layer::Stations]
        .map(AnyLayer::Builtin)
        .to_vec()
}

#[test]
fn codes_names_and_order() {
    let snap = snapshot();
    let d = snap.dataset();
    let village = &d.villages[7];
    // The exact code finds that village first, then its grids (codes starting with it).
    let hits = snap.search(&village.code, &builtin(), 50);
    assert_eq!(
        (hits[0].layer, hits[0].index),
        (AnyLayer::Builtin(Layer::Villages), 7)
    );
    assert!(
        hits[1..]
            .iter()
            .all(|h| h.layer == AnyLayer::Builtin(Layer::Grids)
                && d.grids[h.index].code.starts_with(&village.code))
    );
    let grids = d
        .grids
        .iter()
        .filter(|g| g.code.starts_with(&village.code))
        .count();
    assert_eq!(hits.len(), 1 + grids);
    // The whole name ranks the feature first, with spaces around ignored.
    let hits = snap.search(&format!("  {} ", village.name), &builtin(), 5);
    assert_eq!(hits[0].matched, Match::Name);
    assert_eq!(d.villages[hits[0].index].name, village.name);
    // Nothing for an empty query or in an unsearched layer.
    assert!(snap.search("   ", &builtin(), 5).is_empty());
    assert!(
        snap.search(&village.code, &[AnyLayer::Builtin(Layer::Towns)], 5)
            .is_empty()
    );
}

#[test]
fn ascii_case_is_ignored_and_other_text_compared_as_is() {
    let q = Query::new(" AbC ");
    assert_eq!(q.matches("1", "abc"), Some(Match::Name));
    assert_eq!(q.matches("1", "ABCD 村"), Some(Match::NamePrefix));
    assert_eq!(q.matches("1", "村abc"), Some(Match::NameContains));
    assert_eq!(q.matches("abc", "x"), Some(Match::Key));
    assert_eq!(q.matches("1", "ab c"), None);
    let q = Query::new("第3网格");
    assert_eq!(q.matches("1", "南村第3网格驿站"), Some(Match::NameContains));
    assert_eq!(q.matches("1", "南村第13网格"), None);
}

/// Against a brute-force filter written the plain way: every feature whose name contains the
/// query, or whose key starts with it, and nothing else.
#[test]
fn finds_exactly_what_a_brute_force_filter_finds() {
    let snap = snapshot();
    let d = snap.dataset();
    let keyed = |key: &str, name: &str| (key.to_string(), name.to_string());
    let mut every: Vec<(&str, Vec<(String, String)>)> = vec![
        (
            "towns",
            d.towns.iter().map(|t| keyed(&t.code, &t.name)).collect(),
        ),
        (
            "villages",
            d.villages.iter().map(|v| keyed(&v.code, &v.name)).collect(),
        ),
        (
            "grids",
            d.grids.iter().map(|g| keyed(&g.code, &g.name)).collect(),
        ),
        (
            "stations",
            d.stations
                .iter()
                .map(|s| keyed(&s.id.to_string(), &s.name))
                .collect(),
        ),
    ];
    // Declared layers by their search field, read the plain way from their GeoJSON.
    for layer in &d.declared {
        let Some(field) = layer.def.search else {
            continue;
        };
        let features = crate::model::records::read_declared(
            layer.def,
            &crate::model::geojson::write_collection(
                &layer
                    .features
                    .iter()
                    .map(|r| r.feature(layer.def, crate::model::schema::Visibility::Public))
                    .collect::<Vec<_>>(),
            ),
        )
        .unwrap();
        every.push((
            layer.def.name,
            features
                .features
                .iter()
                .map(|r| keyed(&r.key, r.value(layer.def, field).as_str().unwrap()))
                .collect(),
        ));
    }
    assert!(every.len() > 4, "the sample declares searchable layers");
    for query in [
        "丹",
        "村",
        "驿站",
        "3211",
        "321181001",
        "镇",
        "1",
        "zz",
        "党支部",
        "BN0",
    ] {
        let mut expected: Vec<(&str, usize)> = Vec::new();
        for (layer, features) in &every {
            for (i, (key, name)) in features.iter().enumerate() {
                if name.contains(query) || key.starts_with(query) {
                    expected.push((*layer, i));
                }
            }
        }
        let mut found: Vec<(&str, usize)> = snap
            .search(query, &snap.searchable(), usize::MAX)
            .into_iter()
            .map(|h| (h.layer.name(), h.index))
            .collect();
        expected.sort();
        found.sort();
        assert_eq!(found, expected, "query {query}");
    }
}

/// The sample with a staff layer "cases" (searched by title) in every seventh grid; titles
/// are Chinese, odd ones with Latin letters too. With the keys of the cases.
fn with_cases() -> (Snapshot, AnyLayer, Vec<String>) {
    use crate::model::declared::Declarations;
    use crate::model::records::{complete, read_declared};
    let decls = Declarations::parse(
        r#"
[[layer]]
name = "cases"
geometry = "point"
key = "code"
search = "title"
parent = "grids"
visibility = "staff"
fields = [
  { name = "code", type = "text" },
  { name = "title", type = "text" },
]
"#,
        "cases.toml",
    )
    .unwrap();
    let def = decls.get("cases").unwrap();
    let mut d = sample::dataset().unwrap();
    let features: Vec<serde_json::Value> = d
        .grids
        .iter()
        .step_by(7)
        .enumerate()
        .map(|(n, g)| {
            let at = crate::model::label_point(&g.geometry).unwrap();
            let title = if n % 2 == 0 {
                format!("求助{n}")
            } else {
                format!("求助{n} SOS Case")
            };
            serde_json::json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [at.x(), at.y()]},
                "properties": {"code": format!("{}001", g.code), "title": title},
            })
        })
        .collect();
    let text = serde_json::json!({"type": "FeatureCollection", "features": features});
    let mut cases = read_declared(def, &text.to_string()).unwrap();
    assert!(complete(&mut cases, &d).is_ok());
    let keys: Vec<String> = cases.features.iter().map(|r| r.key.clone()).collect();
    d.declared.push(cases.into());
    (Snapshot::build(d), AnyLayer::Declared(def), keys)
}

/// The index answers exactly as the scan of every name: the same hits in the same order,
/// for queries cut from the names and codes themselves (one to four characters, anywhere
/// in them, in either ASCII case), with limits from 1 to unlimited, subsets of the layers,
/// and a staff layer seen in part.
#[test]
fn the_index_answers_as_the_scan_does() {
    let (snap, cases, _) = with_cases();
    assert!(
        snap.text.load().is_none(),
        "a snapshot alone builds no index"
    );
    snap.prepare_search();
    index_answers_as_the_scan(&snap, cases, Vec::new());
}

/// Renames in place keep the previous snapshot's index with the renamed entries laid over it
/// (`text_edits`), twice in a row: it answers as the scan does, the new names, the old ones,
/// names made equal to others, features renamed twice and renamed back included.
#[test]
fn an_index_carried_over_renames_answers_as_the_scan_does() {
    let (snap, cases, _) = with_cases();
    snap.prepare_search();
    let mut queries = Vec::new();
    let mut rename = |d: &mut crate::model::Dataset, round: usize| {
        let others: Vec<String> = d.grids.iter().map(|g| g.name.clone()).collect();
        for (n, i) in (round..d.grids.len()).step_by(53).enumerate() {
            let g = &mut d.grids[i];
            queries.push(g.name.clone());
            g.name = match n % 4 {
                0 => format!("{}改{round}", g.name),
                1 => format!("Zhang Grid {n} of {round}"),
                2 => "网".to_string(),
                _ => others[(i + 1) % others.len()].clone(),
            };
            queries.push(g.name.clone());
        }
        for (n, i) in (round..d.stations.len()).step_by(17).enumerate() {
            let s = &mut d.stations[i];
            queries.push(s.name.clone());
            s.name = format!("新驿站{n} Post {round}");
        }
        for i in (round..d.villages.len()).step_by(11) {
            d.villages[i].name.insert(0, '大');
        }
        d.towns[round].name = format!("TOWN {round}");
        // The staff layer's titles, a declared layer's searched field.
        let cases = d
            .declared
            .iter_mut()
            .find(|l| l.def.name == "cases")
            .unwrap();
        let title = cases.def.position("title").unwrap();
        for (n, i) in (round..cases.features.len()).step_by(5).enumerate() {
            let v = &mut cases.features[i].values[title];
            queries.push(v.as_str().unwrap().to_string());
            *v = serde_json::Value::String(format!("新求助{n} Case {round}"));
        }
        queries.extend(
            [
                "改",
                "zhang grid",
                "GRID 1",
                "新驿站",
                "post",
                "大",
                "town",
                "新求助",
                "case 1",
            ]
            .map(String::from),
        );
    };
    let mut d = snap.dataset().clone();
    rename(&mut d, 0);
    let next = Snapshot::build_after(Some(&snap), d);
    let stale = next.search_index_stale();
    assert!(
        stale.is_some_and(|n| n > 50),
        "carried, renames over it: {stale:?}"
    );
    let mut d = next.dataset().clone();
    rename(&mut d, 1);
    // Some of the first round's renamed again, a grid and a post back to their first names.
    for i in (0..d.grids.len()).step_by(53).take(6) {
        d.grids[i].name = format!("再改 {i}");
    }
    let first = snap.dataset();
    d.grids[53].name = first.grids[53].name.clone();
    d.stations[0].name = first.stations[0].name.clone();
    queries.extend([
        "再改".to_string(),
        "再改 0".to_string(),
        first.grids[53].name.clone(),
        first.stations[0].name.clone(),
    ]);
    let third = Snapshot::build_after(Some(&next), d);
    let more = third.search_index_stale();
    assert!(
        more > stale,
        "renames gather over the same built index: {more:?}"
    );
    assert!(std::ptr::eq(
        third.text_index().built(),
        snap.text_index().built()
    ));
    index_answers_as_the_scan(&next, cases, queries.clone());
    index_answers_as_the_scan(&third, cases, queries);
}

/// `snap` (its index built) with 200 grids more than `MAX_STALE` renamed "… 新", and how many.
fn renamed_past_max_stale(snap: &Snapshot) -> (Snapshot, usize) {
    snap.prepare_search();
    let mut d = snap.dataset().clone();
    let renamed = MAX_STALE + 200;
    assert!(d.grids.len() > renamed, "the sample has enough grids");
    for g in d.grids.iter_mut().take(renamed) {
        g.name = format!("{} 新", g.name);
    }
    (Snapshot::build_after(Some(snap), d), renamed)
}

/// Past `MAX_STALE` renames the snapshot keeps answering from the renames laid over the old
/// index (not the scan), and `Index`'s thread builds its own index behind it.
#[test]
fn past_max_stale_renames_the_index_laid_over_answers_until_a_new_one_is_built() {
    let (snap, cases, _) = with_cases();
    let (next, renamed) = renamed_past_max_stale(&snap);
    assert_eq!(next.search_index_stale(), Some(renamed), "laid over");
    index_answers_as_the_scan(&next, cases, vec!["新".into(), "网格 新".into()]);

    let index = super::super::Index::new(snap);
    index.replace(next);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while index.load().search_index_stale() != Some(0) {
        assert!(
            std::time::Instant::now() < deadline,
            "Index's thread built no index for a snapshot past MAX_STALE: {:?}",
            index.load().search_index_stale()
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    index_answers_as_the_scan(&index.load(), cases, vec!["新".into()]);
}

/// When the thread's build of a snapshot past `MAX_STALE` lands after a successor replaced it,
/// the successor's renames are laid over the new build (only those since that snapshot), not
/// left over the old one.
#[test]
fn a_successor_lays_its_renames_over_its_predecessor_s_new_build() {
    let (snap, cases, _) = with_cases();
    let (first, renamed) = renamed_past_max_stale(&snap);
    let mut d = first.dataset().clone();
    for g in d.grids.iter_mut().skip(renamed).take(30) {
        g.name = format!("{} 又", g.name);
    }
    d.grids[0].name = snap.dataset().grids[0].name.clone();
    d.grids[1].name = "再改".into();
    let second = Snapshot::build_after(Some(&first), d);
    assert_eq!(second.search_index_stale(), Some(renamed + 30));

    first.refresh_search_index(&second);
    assert_eq!(first.search_index_stale(), Some(0), "built");
    // The 30 new renames and the two grids renamed again.
    assert_eq!(
        second.search_index_stale(),
        Some(32),
        "laid over the new build"
    );
    assert!(std::ptr::eq(
        second.text.load().as_ref().unwrap().built(),
        first.text.load().as_ref().unwrap().built()
    ));
    let more = ["又", "新", "再改", &snap.dataset().grids[0].name].map(String::from);
    index_answers_as_the_scan(&second, cases, more.to_vec());
}

/// Queries cut from `snap`'s names and codes, and `more`, answered by the index and the scan.
fn index_answers_as_the_scan(snap: &Snapshot, cases: AnyLayer, more: Vec<String>) {
    let searchable = snap.searchable();
    assert!(searchable.contains(&cases));
    let mut queries: Vec<String> = [
        "丹",
        "村",
        "驿站",
        "第3网格",
        "3211",
        "321181",
        "1",
        "zz",
        "BN0",
        "bn0",
        "sos",
        "SOS c",
        "  村 ",
        "求助1",
        "\u{0}",
        "%",
        "a",
    ]
    .map(String::from)
    .to_vec();
    let mut n = 0usize;
    for &layer in &searchable {
        let d = snap.dataset();
        let count = match layer {
            AnyLayer::Builtin(Layer::Towns) => d.towns.len(),
            AnyLayer::Builtin(Layer::Villages) => d.villages.len(),
            AnyLayer::Builtin(Layer::Grids) => d.grids.len(),
            AnyLayer::Builtin(Layer::Stations) => d.stations.len(),
            AnyLayer::Builtin(_) => 0,
            AnyLayer::Declared(def) => snap.declared_layer(def.name).unwrap().features.len(),
        };
        for i in (0..count).step_by(41) {
            n += 1;
            let name: Vec<char> = snap.search_name(layer, i).chars().collect();
            if name.is_empty() {
                continue;
            }
            let start = n % name.len();
            let len = 1 + n % 4;
            let cut: String = name[start..(start + len).min(name.len())].iter().collect();
            queries.push(if n.is_multiple_of(3) {
                cut.to_uppercase()
            } else {
                cut
            });
            queries.push(name.iter().collect());
        }
    }
    let d = snap.dataset();
    for g in d.grids.iter().step_by(97) {
        queries.push(g.code.clone());
        queries.push(g.code[..(g.code.len() - 3)].to_string());
    }
    for s in d.stations.iter().step_by(13) {
        queries.push(s.id.to_string().chars().take(2).collect());
    }
    queries.extend(more);
    let sees = |_: AnyLayer, i: usize| !i.is_multiple_of(3);
    let subsets = [
        searchable.clone(),
        vec![cases, AnyLayer::Builtin(Layer::Grids)],
        vec![AnyLayer::Builtin(Layer::Stations)],
    ];
    let mut compared = 0;
    for q in &queries {
        for layers in &subsets {
            for limit in [1, 3, 10, usize::MAX] {
                let indexed = snap.search_where(q, layers, limit, &sees);
                let scanned = snap.search_scan(q, layers, limit, &sees);
                assert_eq!(
                    indexed, scanned,
                    "query {q:?}, limit {limit}, layers {layers:?}"
                );
                compared += usize::from(!scanned.is_empty());
            }
        }
    }
    assert!(
        compared > queries.len(),
        "most comparisons find something: {compared}"
    );
}

/// A staff layer's features are found only by callers whose area holds them: checked
/// against a brute-force filter on the key's prefix, for a town and for the public.
#[test]
fn a_staff_layer_is_searched_only_inside_the_callers_area() {
    use crate::access::{Account, Role};
    let (snap, layer, keys) = with_cases();
    let town = snap.dataset().towns[1].code.clone();
    let account = Account::new("t", Role::Town, vec![town.clone()], 0, None).unwrap();
    let found = |scope: &crate::index::access::Scope| -> Vec<String> {
        let mut keys: Vec<String> = snap
            .search_where("求助", &[layer], usize::MAX, &|l, i| {
                scope.sees(&snap, l, i)
            })
            .into_iter()
            .map(|h| {
                snap.dataset().declared(layer.name()).unwrap().features[h.index]
                    .key
                    .clone()
            })
            .collect();
        keys.sort();
        keys
    };
    let mut mine: Vec<String> = keys
        .iter()
        .filter(|k| k.starts_with(&town))
        .cloned()
        .collect();
    mine.sort();
    assert!(!mine.is_empty() && mine.len() < keys.len());
    assert_eq!(found(&snap.scope(Some(&account))), mine);
    assert!(found(&crate::index::access::Scope::public()).is_empty());
    assert_eq!(
        snap.search("求助", &[layer], usize::MAX).len(),
        keys.len(),
        "unfiltered"
    );
}
