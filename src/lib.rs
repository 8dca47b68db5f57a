//! gridmap: a GIS service for grid-based local governance.
//!
//! Modules point inward: `model` and `geodesy` know nothing of the others; `index` builds on
//! `model`; `store` persists `model`; `follow` keeps an index caught up with a store; `generate` makes the
//! sample; `http` and `cli` sit on top.
//! See ARCHITECTURE.md for the module map and the request path.

pub mod access;
pub mod analysis;
pub mod cli;
pub mod desk;
pub mod error;
pub mod events;
pub mod follow;
pub mod formats;
pub mod generate;
pub mod geodesy;
pub mod http;
pub mod index;
pub mod model;
pub mod sample;
pub mod store;
pub mod tiles;

pub use error::{Error, Result, StoreFailure};
