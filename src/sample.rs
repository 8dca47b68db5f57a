//! The committed Danyang sample (`geodata/*.geojson`, written by `gridmap generate`), embedded in
//! the binary so that a first `serve` with no store can load it from anywhere.

use crate::model::declared::{BUILDINGS, Declarations};
use crate::model::points_csv::read as read_csv;
use crate::model::records::{DeclaredData, complete, read_declared};
use crate::model::{Dataset, Layer, geojson::read_layer};
use crate::store::Store;
use crate::{Error, Result};

const FILES: [(Layer, &str); 6] = [
    (Layer::Towns, include_str!("../geodata/towns.geojson")),
    (Layer::Villages, include_str!("../geodata/villages.geojson")),
    (Layer::Grids, include_str!("../geodata/grids.geojson")),
    (Layer::Stations, include_str!("../geodata/stations.geojson")),
    (
        Layer::Alliances,
        include_str!("../geodata/alliances.geojson"),
    ),
    (Layer::Members, include_str!("../geodata/members.geojson")),
];

/// The sample features of the shipped declared layers (`geodata/layers.toml`).
const DECLARED_FILES: [(&str, &str); 7] = [
    ("risk_zones", include_str!("../geodata/risk_zones.geojson")),
    ("shelters", include_str!("../geodata/shelters.geojson")),
    ("party_orgs", include_str!("../geodata/party_orgs.geojson")),
    ("centres", include_str!("../geodata/centres.geojson")),
    (
        "police_beats",
        include_str!("../geodata/police_beats.geojson"),
    ),
    (
        "dedicated_grids",
        include_str!("../geodata/dedicated_grids.geojson"),
    ),
    (
        "care_households",
        include_str!("../geodata/care_households.geojson"),
    ),
];

/// The sample's buildings (`generate::BUILDINGS_FILE`): gzipped CSV.
const BUILDINGS_GZ: &[u8] = include_bytes!("../geodata/buildings.csv.gz");

/// The buildings' CSV text.
fn buildings_text() -> Result<String> {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::GzDecoder::new(BUILDINGS_GZ)
        .read_to_string(&mut text)
        .map_err(|e| Error::Io {
            path: format!("the embedded {}", crate::generate::BUILDINGS_FILE),
            source: e,
        })?;
    Ok(text)
}

/// The embedded sample with the shipped declared layers, parsed.
pub fn dataset() -> Result<Dataset> {
    dataset_for(Declarations::shipped())
}

/// The embedded sample, with the features of each layer of `layers` that the sample has a file
/// for and that fits its declaration there (a layer declared differently starts empty, with a
/// warning).
pub fn dataset_for(layers: &Declarations) -> Result<Dataset> {
    let mut d = Dataset::default();
    for (layer, text) in FILES {
        d.apply(read_layer(layer, text).map_err(Error::Invalid)?, true);
    }
    for &def in &layers.layers {
        let read = if def.name == BUILDINGS {
            read_csv(def, &buildings_text()?)
        } else if let Some((_, text)) = DECLARED_FILES.iter().find(|(name, _)| *name == def.name) {
            read_declared(def, text)
        } else {
            d.declared.push(DeclaredData::empty(def).into());
            continue;
        };
        // The built-in layers' sample is gridmap's own: not fitting is a bug, not a warning.
        let builtin = def.name == BUILDINGS;
        match read {
            Ok(mut data) => {
                let report = complete(&mut data, &d);
                if report.is_ok() {
                    d.declared.push(data.into());
                    continue;
                }
                if builtin {
                    return Err(Error::Invalid(report));
                }
                tracing::warn!(layer = def.name, problems = %report, "the sample's features do not fit this declaration; the layer starts empty");
            }
            Err(report) if builtin => return Err(Error::Invalid(report)),
            Err(report) => {
                tracing::warn!(layer = def.name, problems = %report, "the sample's features do not fit this declaration; the layer starts empty");
            }
        }
        d.declared.push(DeclaredData::empty(def).into());
    }
    d.sort_by_key();
    Ok(d)
}

/// Load the sample into `store` when it holds no features at all. Returns whether it did.
pub fn load_if_empty(store: &dyn Store) -> Result<bool> {
    store.fill_if_empty(&dataset_for(store.declarations())?, &|_, _| {})
}

/// Give a store the sample's year of synthetic events (`generate::events::year`, about one per
/// 20 residents) when its event log is empty: the reports in one transaction, then their steps
/// under the ids the store gave. `serve` calls it right after loading the sample, so a user's
/// own data never gets synthetic events. Returns how many events it added.
pub fn load_events_if_empty(store: &dyn Store, snap: &crate::index::Snapshot) -> Result<usize> {
    if !store.events_since(0, 1)?.is_empty() {
        return Ok(0);
    }
    let entries = crate::generate::events::year(snap, &crate::events::Categories::shipped());
    let (reports, steps): (Vec<_>, Vec<_>) = entries.into_iter().partition(|e| e.event.is_some());
    let stored = store.append_events(&reports)?;
    // Provisional id (1, 2, … in report order) to the store's.
    let ids: std::collections::HashMap<u64, u64> = reports
        .iter()
        .zip(&stored)
        .filter_map(|(r, s)| Some((r.event.as_ref()?.id, s.event.as_ref()?.id)))
        .collect();
    let steps: Vec<_> = steps
        .into_iter()
        .filter_map(|mut e| {
            e.step.event_id = *ids.get(&e.step.event_id)?;
            Some(e)
        })
        .collect();
    for chunk in steps.chunks(50_000) {
        store.append_events(chunk)?;
    }
    Ok(stored.len())
}
