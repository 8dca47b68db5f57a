//! Events (事件): problems reported at a place, routed to the grid, post and people responsible,
//! and followed until closed and evaluated. `categories` holds what can be reported and the
//! deadlines; `routing` where a report goes; `model` the event, its steps and its case;
//! `lifecycle` which step may follow which, by whom; `book` the in-memory index of every case.

pub mod book;
pub mod categories;
pub mod intake;
pub mod lifecycle;
pub mod model;
pub mod photos;
pub mod routing;

pub use book::{Book, Filter};
pub use categories::{Categories, Category, Severity};
pub use lifecycle::{Action, Status};
pub use model::{Case, Clock, Entry, Event, ManualClock, Reporter, Source, Step, SystemClock};
pub use routing::{Routing, route};
