//! Where a reported problem goes (智能派单): the grid whose polygon holds its point with that
//! grid's village and town (as `/locate` gives them; outside every grid, the village and town
//! holding it), the post to help (the nearest offering the category's service within 1 km, else the
//! nearest post of any kind), and, when the point lies within 30 m of an edge between grids, the
//! other grids that close (routed to the containing grid, flagged for confirmation). Everything
//! comes from the snapshot's indexes; nothing is stored here.

use geo::Point;

use crate::index::{Nearby, Snapshot};
use crate::model::{Grid, Service, Town, Village};

/// How far the post offering the category's service may be before the nearest post of any kind
/// is taken instead.
pub const SERVICE_RADIUS_M: f64 = 1_000.0;

/// How close to another grid a point must lie for the event to be flagged for confirmation.
pub const NEAR_BOUNDARY_M: f64 = 30.0;

/// Where an event at a point goes.
#[derive(Debug)]
pub struct Routing<'a> {
    pub town: &'a Town,
    pub village: Option<&'a Village>,
    /// The grid responsible (its worker handles the case); `None` only in a gap between grids.
    pub grid: Option<&'a Grid>,
    /// The post to help, with its geodesic distance.
    pub post: Option<Nearby<'a>>,
    /// Whether `post` offers the service asked for (else it is the nearest post of any kind).
    pub post_offers_service: bool,
    /// The other grids within `NEAR_BOUNDARY_M`, nearest first, with their distance in metres.
    /// The county's outer edge has no grid beyond it, so it never flags a point.
    pub near_boundary: Vec<(&'a Grid, f64)>,
}

/// Route an event at `p` whose category fits `service` (if any). `None` when no town of the
/// county holds `p`.
pub fn route(snap: &Snapshot, p: Point, service: Option<Service>) -> Option<Routing<'_>> {
    let at = snap.locate(p);
    let town = at.town?;
    let by_service = service.and_then(|s| {
        snap.nearest(p, 1, Some(SERVICE_RADIUS_M), Some(s))
            .into_iter()
            .next()
    });
    let post_offers_service = by_service.is_some();
    let post = by_service.or(at.nearest);
    let grids = &snap.dataset().grids;
    let near_boundary = snap
        .grids_near(p, NEAR_BOUNDARY_M)
        .into_iter()
        .map(|(i, m)| (&*grids[i], m))
        .filter(|(g, _)| at.grid.is_none_or(|own| own.code != g.code))
        .collect();
    Some(Routing {
        town,
        village: at.village,
        grid: at.grid,
        post,
        post_offers_service,
        near_boundary,
    })
}
