//! Accounts, roles and areas (issue 13), driven by one table: every role and the public, against
//! features inside and outside its area, on every layer, through one item, the items list,
//! `/locate`, `/nearest`, writes and the audit log. What each answer must hold is computed here
//! from the layer declarations (field visibility) and an area rule written independently of the
//! server's (from the answers' own codes), never hand-written per case.

use std::collections::BTreeSet;

use gridmap::access::Role;
use gridmap::model::schema::{Origin, Visibility};
use gridmap::model::{AnyLayer, Layer};
use serde_json::{Value, json};

use crate::common::{account, backed_state, send};

/// Who asks: a role (or the public) and what its area is.
struct Who {
    label: &'static str,
    role: Option<Role>,
    areas: Vec<String>,
    token: Option<String>,
}

impl Who {
    fn headers(&self) -> Vec<(&'static str, String)> {
        self.token
            .iter()
            .map(|t| ("authorization", format!("Bearer {t}")))
            .collect()
    }
}

/// How much of a feature a caller must see.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Expect {
    Public,
    Masked,
    Full,
}

/// The unit code a feature lies in, read from its full properties (the area rule's input).
fn unit_code(layer: AnyLayer, props: &Value) -> Option<String> {
    let field = match layer.name() {
        "towns" | "villages" | "grids" => "code",
        "stations" => "grid_code",
        "members" => "village_code",
        "alliances" => return None,
        _ => {
            return ["grid_code", "village_code", "town_code"]
                .iter()
                .find_map(|f| props[*f].as_str().map(str::to_string));
        }
    };
    props[field].as_str().map(str::to_string)
}

/// Whether `who`'s area holds a feature: everything for admin and city; a code-prefix rule for
/// units; an alliance's own record, members and their villages for an alliance account.
fn holds(who: &Who, layer: AnyLayer, props: &Value, alliance_villages: &BTreeSet<String>) -> bool {
    let Some(role) = who.role else { return false };
    if matches!(role, Role::Admin | Role::City) {
        return true;
    }
    if role == Role::Alliance {
        // Its alliance, its members and their villages as units; nothing inside them.
        let id = who.areas[0].parse::<u64>().unwrap();
        return match layer.name() {
            "alliances" => props["id"].as_u64() == Some(id),
            "members" => props["alliance_id"].as_u64() == Some(id),
            "villages" => props["code"]
                .as_str()
                .is_some_and(|c| alliance_villages.contains(c)),
            _ => false,
        };
    }
    unit_code(layer, props).is_some_and(|c| who.areas.iter().any(|a| c.starts_with(a.as_str())))
}

fn expect(who: &Who, held: bool) -> Expect {
    match who.role {
        Some(Role::Viewer) if held => Expect::Masked,
        Some(_) if held => Expect::Full,
        _ => Expect::Public,
    }
}

/// A personal value as a viewer must see it: a phone keeps its first three and last four
/// digits, a name its first character.
fn masked(v: &Value) -> Value {
    let Some(s) = v.as_str() else {
        return Value::Null;
    };
    let chars: Vec<char> = s.chars().collect();
    if chars.iter().filter(|c| c.is_ascii_digit()).count() >= 7 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        json!(format!("{head}****{tail}"))
    } else {
        json!(format!("{}{}", chars[0], "*".repeat(chars.len() - 1)))
    }
}

/// Whether the person behind a personal field consented to its publication, read from the
/// stored feature (the declaration names the consent field).
fn consented(f: &gridmap::model::schema::Field, full: &Value) -> bool {
    f.consent.is_some_and(|c| full[c] == json!(true))
}

/// Every field of the declaration is as `expect` says, against the stored values `full`.
fn check_fields(context: &str, layer: AnyLayer, got: &Value, full: &Value, expect: Expect) {
    for f in layer.def().fields {
        let shown = got.get(f.name);
        let stored = &full[f.name];
        if consented(f, full) {
            // Public by consent: everyone gets it in clear.
            assert_eq!(shown, Some(stored), "{context}: {} (consented)", f.name);
            continue;
        }
        match (f.visibility, expect) {
            (Visibility::Public, _) => assert_eq!(shown, Some(stored), "{context}: {}", f.name),
            (Visibility::Staff, Expect::Public) | (Visibility::Personal, Expect::Public) => {
                assert_eq!(shown, None, "{context}: {} must not be served", f.name)
            }
            (Visibility::Staff, _) | (Visibility::Personal, Expect::Full) => {
                assert_eq!(shown, Some(stored), "{context}: {}", f.name)
            }
            (Visibility::Personal, Expect::Masked) => {
                assert_eq!(shown, Some(&masked(stored)), "{context}: {} masked", f.name)
            }
        }
    }
}

/// The status a PATCH by `who` must get (sent with a stale If-Match, so an allowed write is 412
/// and nothing is ever written).
fn write_status(who: &Who, layer: AnyLayer, held: bool) -> u16 {
    let Some(role) = who.role else { return 401 };
    let exists = held || !staff_only(layer);
    // What belongs to a grid: the grid, its posts, and declared features keyed under it.
    let of_a_grid = matches!(layer.name(), "grids" | "stations")
        || layer.def().origin == Origin::DeclaredByPrefix(Layer::Grids);
    let may = match role {
        Role::Viewer => false,
        Role::GridWorker => of_a_grid,
        Role::Alliance => matches!(layer.name(), "alliances" | "members"),
        _ => true,
    };
    match (may, exists, held) {
        (false, _, _) => 403,
        // A staff layer's feature outside the area does not exist for the caller.
        (true, false, _) => 404,
        (true, true, true) => 412,
        (true, true, false) => 403,
    }
}

/// Whether a layer's features exist only for accounts whose area holds them.
fn staff_only(layer: AnyLayer) -> bool {
    layer.def().visibility != Visibility::Public
}

/// Up to three features of a layer: in the grid `g`, in its town but not in `g`, outside its town.
fn samples(all: &[(String, Value, Value)], layer: AnyLayer, g: &str) -> Vec<usize> {
    let town = &g[..9];
    let code = |i: usize| unit_code(layer, &all[i].2);
    let mut out = Vec::new();
    let tests: [Box<dyn Fn(Option<String>) -> bool>; 3] = [
        Box::new(|c| c.is_some_and(|c| c.starts_with(g))),
        Box::new(|c| c.is_some_and(|c| c.starts_with(town) && !c.starts_with(g))),
        Box::new(|c| !c.is_some_and(|c| c.starts_with(town))),
    ];
    for test in &tests {
        if let Some(i) = (0..all.len()).find(|&i| test(code(i))) {
            out.push(i);
        }
    }
    out
}

#[tokio::test]
async fn every_role_sees_and_writes_exactly_what_its_area_and_the_declarations_allow() {
    let (_store, state) = backed_state();
    let snap = state.index.load();
    let d = snap.dataset();
    // A grid with a post, its village and town; an alliance with village members.
    let g = d.stations[0].grid_code.clone();
    let (village, town) = (g[..12].to_string(), g[..9].to_string());
    let alliance = d
        .members
        .iter()
        .find(|m| m.village_code.is_some())
        .unwrap()
        .alliance_id;
    let alliance_villages: BTreeSet<String> = d
        .members
        .iter()
        .filter(|m| m.alliance_id == alliance)
        .filter_map(|m| m.village_code.clone())
        .collect();
    let mut people = vec![Who {
        label: "public",
        role: None,
        areas: vec![],
        token: None,
    }];
    for (label, role, areas) in [
        ("admin", Role::Admin, vec![]),
        ("city", Role::City, vec![]),
        ("town", Role::Town, vec![town.clone()]),
        ("village", Role::Village, vec![village.clone()]),
        ("grid_worker", Role::GridWorker, vec![g.clone()]),
        ("alliance", Role::Alliance, vec![alliance.to_string()]),
        ("viewer", Role::Viewer, vec![town.clone()]),
    ] {
        let a: Vec<&str> = areas.iter().map(String::as_str).collect();
        let token = account(&state, label, role, &a);
        people.push(Who {
            label,
            role: Some(role),
            areas,
            token: Some(token),
        });
    }

    let mut checked = 0;
    for layer in snap.layers() {
        // Every feature of the layer as stored (every field), by key, from the store itself.
        let stored: Vec<(String, Value, Value)> = {
            let count = snap.count_any(layer);
            (0..count)
                .map(|i| {
                    let f = serde_json::to_value(snap.feature_visible_any(
                        layer,
                        i,
                        Visibility::Personal,
                    ))
                    .unwrap();
                    let key = match &f["id"] {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (key, f["geometry"].clone(), f["properties"].clone())
                })
                .collect()
        };
        for i in samples(&stored, layer, &g) {
            let (key, _, full) = &stored[i];
            let item = format!("/collections/{}/items/{key}", layer.name());
            for who in &people {
                let held = holds(who, layer, full, &alliance_villages);
                let want = expect(who, held);
                let context = format!("{} {item} (held: {held})", who.label);
                let headers: Vec<(&str, String)> = who.headers();
                let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();

                // One item: a staff layer's feature outside the area does not exist (404), and
                // is in no list either.
                let (status, rh, got) = send(&state, "GET", &item, &h, "").await;
                if staff_only(layer) && !held {
                    assert_eq!(status, 404, "{context}: {got}");
                    let list = around(layer, &stored[i].1);
                    let (_, _, page) = send(&state, "GET", &list, &h, "").await;
                    assert!(
                        page["features"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .all(
                                |f| f["properties"][layer.def().key].as_str() != Some(key.as_str())
                            ),
                        "{context}: listed in {list}"
                    );
                    let mut wh = h.clone();
                    wh.push(("if-match", "\"stale\""));
                    let (status, _, body) = send(&state, "PATCH", &item, &wh, "{}").await;
                    assert_eq!(
                        status.as_u16(),
                        write_status(who, layer, held),
                        "{context}: {body}"
                    );
                    checked += 1;
                    continue;
                }
                assert_eq!(status, 200, "{context}: {got}");
                check_fields(&context, layer, &got["properties"], full, want);
                assert_eq!(
                    rh.contains_key("etag"),
                    want == Expect::Full,
                    "{context}: ETag"
                );

                // The same feature in a list (a box around its first coordinate).
                let c = first_coordinate(&got["geometry"]);
                let list = around(layer, &got["geometry"]);
                let (status, _, page) = send(&state, "GET", &list, &h, "").await;
                assert_eq!(status, 200, "{context}: {page}");
                let listed = page["features"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|f| f["id"] == got["id"])
                    .unwrap_or_else(|| panic!("{context}: not listed in {list}"));
                assert_eq!(
                    listed["properties"], got["properties"],
                    "{context}: list = item"
                );

                // Who is responsible here: /locate inside a grid names its worker as the view allows.
                if layer.name() == "grids" {
                    let p = interior_point(&got["geometry"]);
                    let (_, _, loc) = send(
                        &state,
                        "GET",
                        &format!("/locate?lon={}&lat={}", p.0, p.1),
                        &h,
                        "",
                    )
                    .await;
                    assert_eq!(loc["grid"]["code"], full["code"], "{context}: {loc}");
                    check_worker(&context, &loc["grid"], full, want);
                    // The nearest feature of a staff layer is the nearest the caller's area holds.
                    for staff in snap.layers().into_iter().filter(|&l| staff_only(l)) {
                        let found = loc["declared"][staff.name()].as_array().unwrap();
                        for f in found {
                            assert!(holds(who, staff, f, &alliance_villages), "{context}: {f}");
                        }
                        let any_held = (0..snap.count_any(staff)).any(|i| {
                            let f = serde_json::to_value(snap.feature_visible_any(
                                staff,
                                i,
                                Visibility::Personal,
                            ))
                            .unwrap();
                            holds(who, staff, &f["properties"], &alliance_villages)
                        });
                        assert_eq!(found.len(), usize::from(any_held), "{context}: {loc}");
                    }
                }
                if layer.name() == "stations" {
                    let (_, _, near) = send(
                        &state,
                        "GET",
                        &format!("/nearest?lon={}&lat={}&k=1", c[0], c[1]),
                        &h,
                        "",
                    )
                    .await;
                    let props = &near["features"][0]["properties"];
                    assert_eq!(props["id"], full["id"], "{context}");
                    let phone = props.get("contact_phone");
                    match want {
                        Expect::Public => assert_eq!(phone, None, "{context}"),
                        Expect::Masked => {
                            assert_eq!(phone, Some(&masked(&full["contact_phone"])), "{context}")
                        }
                        Expect::Full => {
                            assert_eq!(phone, Some(&full["contact_phone"]), "{context}")
                        }
                    }
                }

                // A write: allowed ones meet the stale If-Match (412) and write nothing.
                let patch = json!({"properties": {}}).to_string();
                let mut wh = h.clone();
                wh.push(("if-match", "\"stale\""));
                let (status, _, body) = send(&state, "PATCH", &item, &wh, &patch).await;
                assert_eq!(
                    status.as_u16(),
                    write_status(who, layer, held),
                    "{context}: {body}"
                );
                assert!(
                    body["message"].is_string(),
                    "{context}: a JSON error naming the fix"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 14 * 8 * 2, "only {checked} cases");

    // Counts: a staff layer counts, for each account, what its area holds; the public gets none.
    for layer in snap.layers().into_iter().filter(|&l| staff_only(l)) {
        for who in &people {
            let headers = who.headers();
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (_, _, health) = send(&state, "GET", "/health", &h, "").await;
            let held = (0..snap.count_any(layer))
                .filter(|&i| {
                    let f = serde_json::to_value(snap.feature_visible_any(
                        layer,
                        i,
                        Visibility::Personal,
                    ))
                    .unwrap();
                    holds(who, layer, &f["properties"], &alliance_villages)
                })
                .count();
            match who.role {
                None => assert!(health.get("features").is_none(), "{health}"),
                Some(_) => assert_eq!(
                    health["features"][layer.name()],
                    json!(held),
                    "{} {layer}",
                    who.label
                ),
            }
            // And the items list's numberMatched.
            let (_, _, page) = send(
                &state,
                "GET",
                &format!("/collections/{}/items?limit=1", layer.name()),
                &h,
                "",
            )
            .await;
            assert_eq!(page["numberMatched"], json!(held), "{} {layer}", who.label);
        }
    }

    // Search and coverage hold no staff or personal field: every caller gets the public answer,
    // byte for byte (no account sees less than the public, nor anything beyond it there).
    for uri in [
        "/search?q=%E6%9D%91&limit=50".to_string(),
        format!("/search?q={g}"),
        "/coverage?level=town".to_string(),
        "/coverage/gaps?level=grid&bbox=119.55,31.95,119.62,32.02".to_string(),
    ] {
        let (status, _, public) = send(&state, "GET", &uri, &[], "").await;
        assert_eq!(status, 200, "{uri}: {public}");
        for who in &people {
            let headers = who.headers();
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, _, got) = send(&state, "GET", &uri, &h, "").await;
            assert_eq!(status, 200, "{} {uri}", who.label);
            assert_eq!(got, public, "{} {uri}", who.label);
        }
    }

    // The audit log: admins only; it holds the reads of personal data made above.
    for who in &people {
        let headers = who.headers();
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, _, log) = send(&state, "GET", "/audit?user=town&limit=10000", &h, "").await;
        let want = match who.role {
            None => 401,
            Some(Role::Admin) => 200,
            Some(_) => 403,
        };
        assert_eq!(status.as_u16(), want, "{}: {log}", who.label);
        if want == 200 {
            let rows = log["rows"].as_array().unwrap();
            // The town read posts' duty phones (never published by consent) above.
            assert!(
                rows.iter()
                    .any(|r| r["action"] == "read" && r["layer"] == "stations"),
                "{log}"
            );
            assert!(
                rows.iter().all(|r| r["action"] == "read"),
                "nothing was written: {log}"
            );
        }
    }
}

/// The items of `layer` in a tiny box around the first coordinate of `geometry`.
fn around(layer: AnyLayer, geometry: &Value) -> String {
    let c = first_coordinate(geometry);
    format!(
        "/collections/{}/items?limit=10000&bbox={},{},{},{}",
        layer.name(),
        c[0] - 1e-6,
        c[1] - 1e-6,
        c[0] + 1e-6,
        c[1] + 1e-6
    )
}

fn first_coordinate(geometry: &Value) -> Vec<f64> {
    let mut c = &geometry["coordinates"];
    while c[0].is_array() {
        c = &c[0];
    }
    vec![c[0].as_f64().unwrap(), c[1].as_f64().unwrap()]
}

/// A point inside a polygon geometry (geo's interior point of the GeoJSON).
fn interior_point(geometry: &Value) -> (f64, f64) {
    use geo::InteriorPoint;
    let g: geojson::Geometry = serde_json::from_value(geometry.clone()).unwrap();
    let mp: geo::Geometry<f64> = g.try_into().unwrap();
    let p = mp.interior_point().unwrap();
    (p.x(), p.y())
}

fn check_worker(context: &str, grid: &Value, full: &Value, want: Expect) {
    for field in ["worker_name", "worker_phone"] {
        let shown = grid.get(field);
        if full["publish_contact"] == json!(true) {
            assert_eq!(shown, Some(&full[field]), "{context}: {field} (consented)");
            continue;
        }
        match want {
            Expect::Public => assert_eq!(shown, None, "{context}: {field}"),
            Expect::Masked => assert_eq!(shown, Some(&masked(&full[field])), "{context}: {field}"),
            Expect::Full => assert_eq!(shown, Some(&full[field]), "{context}: {field}"),
        }
    }
}

/// A token is refused once revoked from the CLI, on a running server, within the follower's
/// second (waited for, with a generous deadline); after ten wrong tokens the client gets 429.
#[test]
fn a_revoked_token_stops_working_and_guessing_is_throttled() {
    use crate::common::{Server, add_user, gridmap, http_raw, status_and_body};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("gridmap.gpkg");
    let token = add_user(&store, "town.officer", "city", &[]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&store).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the store is private: {mode:o}");
    }
    let server = Server::start(&store);
    let health = |t: &str| health_with(server.port, t);
    let (status, body) = health(&token);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"features\""), "{body}");

    let out = gridmap(&store, &["user", "list"]);
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        listed.contains("town.officer\tcity\t*\t") && listed.contains("active"),
        "{listed}"
    );
    assert!(!listed.contains(&token), "a listing never shows a token");
    let raw = std::fs::read(&store).unwrap();
    assert!(
        !raw.windows(token.len()).any(|w| w == token.as_bytes()),
        "the store holds no token in clear"
    );
    assert!(
        gridmap(&store, &["user", "revoke", "town.officer"])
            .status
            .success()
    );
    let started = Instant::now();
    loop {
        let (status, body) = health(&token);
        if status == 401 {
            assert!(body.contains("revoked"), "{body}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "still accepted: {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // That was one failure at least; send wrong tokens until the tenth, then even a wrong one
    // is not checked: 429 with Retry-After.
    let mut last = (0, String::new());
    for _ in 0..10 {
        let response = http_raw(
            server.port,
            "GET",
            "/health",
            &[("Authorization", "Bearer gm_wrong")],
            "",
        );
        last = status_and_body(&response);
        if last.0 == 429 {
            assert!(
                response.to_ascii_lowercase().contains("retry-after:"),
                "{response}"
            );
            break;
        }
        assert_eq!(last.0, 401, "{}", last.1);
    }
    assert_eq!(last.0, 429, "{}", last.1);
    // The public is not affected.
    let (status, _) = status_and_body(&http_raw(server.port, "GET", "/health", &[], ""));
    assert_eq!(status, 200);
}

/// `GET /health` with `token`: the status and the body.
fn health_with(port: u16, token: &str) -> (u16, String) {
    let bearer = format!("Bearer {token}");
    crate::common::status_and_body(&crate::common::http_raw(
        port,
        "GET",
        "/health",
        &[("Authorization", &bearer)],
        "",
    ))
}

/// A token made or rotated by the CLI while the server runs works on its very first request (the
/// server re-reads its accounts for a token it does not know, instead of refusing it until the
/// follower's next turn); a rotated-away token stops working within the follower's second, as a
/// revoked one does (waited for, with a generous deadline).
#[test]
fn a_token_made_while_the_server_runs_works_at_once() {
    use crate::common::{Server, add_user, gridmap};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("gridmap.gpkg");
    add_user(&store, "first", "city", &[]);
    let server = Server::start(&store);
    let health = |t: &str| health_with(server.port, t);
    for round in 0..5 {
        let token = add_user(&store, &format!("late.{round}"), "city", &[]);
        let (status, body) = health(&token);
        assert_eq!(status, 200, "round {round}: {body}");
        let out = gridmap(&store, &["user", "rotate", &format!("late.{round}")]);
        assert!(out.status.success());
        let rotated = String::from_utf8(out.stdout).unwrap().trim().to_string();
        let (status, body) = health(&rotated);
        assert_eq!(status, 200, "round {round}, rotated: {body}");
        let started = Instant::now();
        loop {
            let (status, body) = health(&token);
            if status == 401 {
                assert!(body.contains("no account has this token"), "{body}");
                break;
            }
            assert_eq!(status, 200, "round {round}, the old token: {body}");
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "round {round}: the rotated-away token still works"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The retired flag stops the server with a message saying what replaces it.
#[test]
fn write_token_is_gone_with_a_pointer_to_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::common::gridmap(
        &dir.path().join("x.gpkg"),
        &["serve", "--write-token", "0123456789abcdef0123"],
    );
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("gridmap user add"), "{text}");
}

/// The CLI refuses accounts whose area names nothing in the store, with the fix.
#[test]
fn user_add_checks_the_area_against_the_store() {
    let (dir, _state) = crate::common::sample_state();
    let store = dir.path().join("gridmap.gpkg");
    let out = crate::common::gridmap(
        &store,
        &["user", "add", "t", "--role", "town", "--area", "321181999"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no unit coded '321181999'"));
    let out = crate::common::gridmap(&store, &["user", "add", "t", "--role", "mayor"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("grid_worker"));
}

/// The audit log is append-only in both stores, whoever writes: UPDATE and DELETE are refused
/// (PostGIS: TRUNCATE too); gridmap's pruning is the one delete, and only of old rows.
#[test]
fn the_audit_log_refuses_changes_but_gridmap_prunes_old_rows() {
    use gridmap::access::audit::{Action, AuditQuery, AuditRow};
    use gridmap::store::Store;
    let row = |at_s: i64, key: &str| AuditRow {
        id: 0,
        at_s,
        account: "city".into(),
        address: "10.0.0.1".into(),
        action: Action::Patch,
        layer: "grids".into(),
        keys: vec![key.into()],
        count: 1,
        before: Some(json!({"name": "旧"})),
        after: Some(json!({"name": "新"})),
    };
    let now = gridmap::model::date::now_s();
    let check = |store: &dyn Store, sql: &dyn Fn(&str) -> Result<(), String>| {
        store
            .append_audit(&[row(now - 400 * 86_400, "old"), row(now, "new")])
            .unwrap();
        for statement in [
            "UPDATE gridmap_audit SET account = 'someone else'",
            "DELETE FROM gridmap_audit",
        ] {
            let e = sql(statement).expect_err(statement);
            assert!(e.contains("append-only"), "{statement}: {e}");
        }
        let all = store
            .read_audit(&AuditQuery {
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].keys, ["new"], "newest first");
        assert_eq!(all[0].after, Some(json!({"name": "新"})));
        assert_eq!(store.prune_audit(now - 365 * 86_400).unwrap(), 1);
        let left = store
            .read_audit(&AuditQuery {
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].keys, ["new"]);
        // The log still refuses deletes after a prune.
        assert!(sql("DELETE FROM gridmap_audit").is_err());
    };

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.gpkg");
    let gpkg =
        gridmap::store::GeoPackage::open(&path, gridmap::model::declared::Declarations::shipped())
            .unwrap();
    check(&gpkg, &|sql| {
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute(sql, [])
            .map(|_| ())
            .map_err(|e| e.to_string())
    });

    let Some(db) = crate::pg::TestDb::create() else {
        return;
    };
    let pg =
        gridmap::store::PostGis::open(&db.url, gridmap::model::declared::Declarations::shipped())
            .unwrap();
    let url = db.url.clone();
    check(&pg, &|sql| {
        crate::pg::connect(&url)
            .execute(sql, &[])
            .map(|_| ())
            .map_err(|e| format!("{e:?}"))
    });
    let e = crate::pg::connect(&url)
        .execute("TRUNCATE gridmap_audit", &[])
        .unwrap_err();
    assert!(format!("{e:?}").contains("append-only"), "{e:?}");
}

/// Scoped tiles: a town's staff see their own posts' phones and grid workers in tiles; another
/// town's staff (asking right after, with the first town's tile cached) get the public tile, and
/// the public tile is unchanged. Decoded with the independent decoder (mapbox-vector-tile).
#[tokio::test]
async fn a_scoped_tile_carries_its_area_and_never_reaches_another_area() {
    use crate::common::tile_xy;
    let (_store, state) = backed_state();
    let snap = state.index.load();
    let d = snap.dataset();
    // A post in a grid whose worker did not publish their contact (else the public sees it too).
    let unpublished = |s: &&gridmap::model::Shared<gridmap::model::Station>| {
        d.grids
            .iter()
            .any(|g| g.code == s.grid_code && !g.worker.published)
    };
    let station = d
        .stations
        .iter()
        .find(unpublished)
        .unwrap()
        .as_ref()
        .clone();
    let grid = d
        .grids
        .iter()
        .find(|g| g.code == station.grid_code)
        .unwrap()
        .clone();
    let town_a = &station.grid_code[..9];
    // Town B: a town with nothing near the tile (the last by code; the post is in the first).
    let town_b = d.towns.last().unwrap().code.clone();
    assert_ne!(town_b, town_a);
    let a = account(&state, "town.a", Role::Town, &[town_a]);
    let a2 = account(&state, "town.a2", Role::Town, &[town_a]);
    let b = account(&state, "town.b", Role::Town, &[&town_b]);
    let viewer = account(&state, "viewer.a", Role::Viewer, &[town_a]);
    let (x, y) = tile_xy(station.location, 16);
    let uri = format!("/tiles/16/{x}/{y}.mvt");
    let dir = tempfile::tempdir().unwrap();
    let mut bodies = Vec::new();
    for (name, token) in [
        ("a", Some(&a)),
        ("b", Some(&b)),
        ("public", None),
        ("a2", Some(&a2)),
        ("viewer", Some(&viewer)),
    ] {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = bearer
            .iter()
            .map(|b| ("authorization", b.as_str()))
            .collect();
        let raw = crate::common::get_raw(&state, &uri, &headers).await;
        assert_eq!(raw.status, 200, "{name}");
        let private = raw.header("cache-control").starts_with("private");
        assert_eq!(
            private,
            token.is_some(),
            "{name}: {}",
            raw.header("cache-control")
        );
        assert!(raw.header("vary").contains("Authorization"));
        std::fs::write(dir.path().join(format!("16-{x}-{name}.mvt")), &raw.body).unwrap();
        bodies.push((name, raw.body));
    }
    let body = |n: &str| &bodies.iter().find(|(k, _)| *k == n).unwrap().1;
    assert!(
        body("b") == body("public"),
        "another town's staff get the public tile"
    );
    assert!(body("a") == body("a2"), "the same area, the same tile");
    assert!(
        body("a") != body("public"),
        "town A's tile carries its fields"
    );

    let decoded = crate::tiles::decode(dir.path());
    let tile = |n: &str| {
        decoded
            .iter()
            .find(|t| t["tile"].as_str().unwrap().ends_with(&format!("-{n}")))
            .unwrap_or_else(|| panic!("{n} not decoded"))
    };
    let find = |t: &Value, layer: &str, key: &str, value: Value| -> Value {
        t["layers"][layer]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["properties"][key] == value)
            .unwrap_or_else(|| panic!("{layer} {key}={value} not in the tile"))["properties"]
            .clone()
    };
    let post = |n: &str| find(tile(n), "stations", "id", json!(station.id));
    let cell = |n: &str| find(tile(n), "grids", "code", json!(grid.code));
    assert_eq!(post("a")["contact_phone"], json!(station.contact_phone));
    assert_eq!(cell("a")["worker_name"], json!(grid.worker.name));
    for n in ["public", "b"] {
        assert!(post(n).get("contact_phone").is_none(), "{n}: {}", post(n));
        assert!(cell(n).get("worker_name").is_none(), "{n}: {}", cell(n));
    }
    assert_eq!(
        post("viewer")["contact_phone"],
        masked(&json!(station.contact_phone))
    );
    assert_eq!(
        cell("viewer")["worker_phone"],
        masked(&json!(grid.worker.phone))
    );
    // A staff layer (households in care): in town A's tile exactly its own within the tile
    // (counted by brute force over the tile's bounds), in the public's and town B's none.
    let n = 2f64.powi(16);
    let lon = |x: u32| f64::from(x) / n * 360.0 - 180.0;
    let lat = |y: u32| {
        (std::f64::consts::PI * (1.0 - 2.0 * f64::from(y) / n))
            .sinh()
            .atan()
            .to_degrees()
    };
    let care = snap.declared_layer("care_households").unwrap();
    let inside = care
        .features
        .iter()
        .filter(|r| r.key.starts_with(town_a))
        .filter(|r| match r.geometry {
            geo::Geometry::Point(p) => {
                p.x() >= lon(x) && p.x() < lon(x + 1) && p.y() <= lat(y) && p.y() > lat(y + 1)
            }
            _ => false,
        })
        .count();
    assert!(inside > 0, "the tile holds households in care");
    let cared = |n: &str| {
        tile(n)["layers"]["care_households"]
            .as_array()
            .map_or(0, Vec::len)
    };
    assert_eq!(cared("a"), inside);
    assert_eq!((cared("public"), cared("b")), (0, 0));

    // The audit log: town A's tiles carried personal data in clear (counted, per layer), so
    // they were logged; the viewer's (masked) and town B's (public) were not.
    let admin = account(&state, "root", Role::Admin, &[]);
    let bearer = format!("Bearer {admin}");
    let (status, _, log) = send(
        &state,
        "GET",
        "/audit?limit=10000",
        &[("authorization", &bearer)],
        "",
    )
    .await;
    assert_eq!(status, 200, "{log}");
    let rows = log["rows"].as_array().unwrap();
    let of = |who: &str, layer: &str| -> i64 {
        rows.iter()
            .filter(|r| r["account"] == who && r["layer"] == layer && r["action"] == "read")
            .map(|r| r["count"].as_i64().unwrap())
            .sum()
    };
    // The care households' heads and phones are personal: each of town A's is counted.
    assert_eq!(of("town.a", "care_households"), inside as i64, "{log}");
    assert!(of("town.a", "stations") > 0, "{log}");
    assert_eq!(
        of("town.a2", "stations"),
        of("town.a", "stations"),
        "a cached tile is logged too"
    );
    for who in ["town.b", "viewer.a"] {
        assert!(rows.iter().all(|r| r["account"] != who), "{who}: {log}");
    }
    // Features outside town A look the same in its tile as in the public one.
    for f in tile("a")["layers"]["stations"].as_array().unwrap() {
        if f["properties"]["grid_code"]
            .as_str()
            .is_some_and(|c| !c.starts_with(town_a))
        {
            assert!(f["properties"].get("contact_phone").is_none(), "{f}");
        }
    }
}

/// `/locate` names the town's and the village's centres; their duty phones (a staff field) go to
/// the area's staff, never to the public or another town.
#[tokio::test]
async fn locate_gives_the_centres_duty_phones_to_the_areas_staff() {
    let (_store, state) = backed_state();
    let snap = state.index.load();
    let centres = snap.declared_layer("centres").unwrap();
    let value = |r: &gridmap::model::records::Record, f: &str| {
        r.value(centres.def, f)
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    // A village with a centre of its own, and the town centres of its town.
    let village_centre = centres
        .features
        .iter()
        .find(|r| value(r, "level") == "village")
        .unwrap();
    let village = value(village_centre, "village_code");
    let town = village[..9].to_string();
    let mut want: Vec<String> = centres
        .features
        .iter()
        .filter(|r| {
            (value(r, "level") == "town" && value(r, "town_code") == town)
                || (value(r, "level") == "village" && value(r, "village_code") == village)
        })
        .map(|r| r.key.clone())
        .collect();
    want.sort();
    assert!(want.len() >= 3, "{want:?}");
    let v = snap
        .dataset()
        .villages
        .iter()
        .find(|v| v.code == village)
        .unwrap();
    use geo::InteriorPoint;
    let p = v.geometry.interior_point().unwrap();
    let uri = format!("/locate?lon={}&lat={}", p.x(), p.y());
    let staff = account(&state, "town.staff", Role::Town, &[&town]);
    let other_town = snap
        .dataset()
        .towns
        .iter()
        .find(|t| t.code != town)
        .unwrap()
        .code
        .clone();
    let other = account(&state, "other.staff", Role::Town, &[&other_town]);
    for (who, token, sees) in [
        ("public", None, false),
        ("the town's staff", Some(&staff), true),
        ("another town's staff", Some(&other), false),
    ] {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = bearer
            .iter()
            .map(|b| ("authorization", b.as_str()))
            .collect();
        let (status, _, loc) = send(&state, "GET", &uri, &headers, "").await;
        assert_eq!(status, 200, "{loc}");
        assert_eq!(loc["village"]["code"], json!(village), "{loc}");
        let listed = loc["centres"].as_array().unwrap();
        let mut keys: Vec<String> = listed
            .iter()
            .map(|c| c["code"].as_str().unwrap().to_string())
            .collect();
        keys.sort();
        assert_eq!(keys, want, "{who}");
        for c in listed {
            let stored = centres
                .features
                .iter()
                .find(|r| r.key == c["code"])
                .unwrap();
            let phone = c.get("duty_phone");
            if sees {
                assert_eq!(phone, Some(&json!(value(stored, "duty_phone"))), "{who}");
            } else {
                assert_eq!(phone, None, "{who}: {c}");
            }
        }
    }
}

/// The API document says which reads take a token (optional: none is the public view) and so
/// answer a token no account has with 401; every GET is tried with such a token and must do
/// exactly what the document says.
#[tokio::test]
async fn the_api_document_says_which_reads_take_a_token() {
    let (_store, state) = backed_state();
    let (status, _, doc) = send(&state, "GET", "/openapi.json", &[], "").await;
    assert_eq!(status, 200);
    let grid = state.index.load().dataset().grids[0].code.clone();
    let mut tried = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(get) = item.get("get") else { continue };
        let uri = path
            .replace("{collectionId}", "grids")
            .replace("{featureId}", &grid)
            .replace("{z}/{x}/{y}", "14/13650/6640")
            .replace("{path}", "index.html")
            .replace("{id}", "1")
            .replace("{n}", "1");
        assert!(
            !uri.contains('{'),
            "{path}: a template this test does not fill"
        );
        let takes_token = get["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
        let raw = crate::common::get_raw(
            &state,
            &uri,
            &[("authorization", "Bearer gm_no-such-token")],
        )
        .await;
        let (status, body) = (raw.status, String::from_utf8_lossy(&raw.body));
        // After ten refusals the address is throttled (429): still a refused token.
        assert_eq!(
            status == 401 || status == 429,
            takes_token,
            "GET {uri}: {status} {body} (security: {})",
            get["security"]
        );
        tried += 1;
    }
    assert!(tried > 20, "only {tried} paths");
}
