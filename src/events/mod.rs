//! Events (事件): problems reported at a place, routed to the grid, post and people responsible,
//! and followed until closed and evaluated. `categories` holds what can be reported and the
//! deadlines; `routing` where a report goes.

pub mod categories;
pub mod routing;

pub use categories::{Categories, Category, Severity};
pub use routing::{Routing, route};
