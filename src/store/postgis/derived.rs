//! Derived geometry in PostGIS: alliance footprints in `alliances.geom`, and the points of members
//! without a location of their own in `members.geom` (with `geom_derived`), computed by
//! `model::derive` and written in the writing transaction (see `migrations/0003_*.sql`).
//!
//! Each table gets one UPDATE statement touching only rows whose value differs: one change-log
//! row at most, and none when nothing derived changed, so followers see no spurious change.

use postgres::GenericClient;

use super::rows::hex_ewkb;
use crate::model::{Dataset, Derived};
use geo::Geometry;

fn hex(g: Option<Geometry>) -> Option<String> {
    g.map(|g| {
        let mut out = String::new();
        hex_ewkb(&g, &mut out);
        out
    })
}

/// Write the alliance footprints of `derived` (by position in `data`) into `alliances.geom`.
pub fn write_footprints(
    client: &mut impl GenericClient,
    data: &Dataset,
    derived: &Derived,
) -> Result<u64, postgres::Error> {
    let ids: Vec<i64> = data.alliances.iter().map(|a| a.id as i64).collect();
    let geoms: Vec<Option<String>> = derived
        .alliance_footprints
        .iter()
        .map(|f| hex(f.clone().map(Geometry::MultiPolygon)))
        .collect();
    client.execute(
        "UPDATE alliances t SET geom = d.geom
         FROM (SELECT unnest($1::bigint[]) AS id, unnest($2::text[])::geometry AS geom) d
         WHERE t.id = d.id AND t.geom IS DISTINCT FROM d.geom",
        &[&ids, &geoms],
    )
}

/// Give every member of `data` without a location of its own its derived point in `table`
/// (`members`, or the staging copy an import merges from, so that an unchanged member compares
/// equal to its stored row).
pub fn place_members(
    client: &mut impl GenericClient,
    table: &str,
    data: &Dataset,
    derived: &Derived,
) -> Result<u64, postgres::Error> {
    let (ids, geoms): (Vec<i64>, Vec<Option<String>>) = data
        .members
        .iter()
        .zip(&derived.member_locations)
        .filter(|(m, _)| m.location.is_none())
        .map(|(m, p)| (m.id as i64, hex(p.map(Geometry::Point))))
        .unzip();
    client.execute(
        &format!(
            "UPDATE {table} t SET geom = d.geom, geom_derived = true
             FROM (SELECT unnest($1::bigint[]) AS id, unnest($2::text[])::geometry AS geom) d
             WHERE t.id = d.id AND (t.geom IS DISTINCT FROM d.geom OR NOT t.geom_derived)"
        ),
        &[&ids, &geoms],
    )
}

/// Both, on the layer tables: the last step of every write, from the dataset as committed.
pub fn write_derived(
    client: &mut impl GenericClient,
    data: &Dataset,
    derived: &Derived,
) -> Result<(), postgres::Error> {
    write_footprints(client, data, derived)?;
    place_members(client, "members", data, derived)?;
    Ok(())
}
