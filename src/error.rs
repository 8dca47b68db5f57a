//! The library's one error type. HTTP maps it to status codes in `http::error`; the CLI wraps it
//! with `anyhow` context.

use crate::model::{Layer, ValidationReport};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input data broke a model rule; the report names every offending feature.
    #[error("{0}")]
    Invalid(ValidationReport),

    /// A GeoJSON document could not be read as features of a layer.
    #[error("{layer}: {message}")]
    Format { layer: Layer, message: String },

    /// The store could not be opened, read or written.
    #[error("store {path}: {message}")]
    Store { path: String, message: String },

    /// A tile could not be encoded (a bug, not bad input: it is logged and answered 500).
    #[error("tile {z}/{x}/{y}: {message}")]
    Tile {
        z: u8,
        x: u32,
        y: u32,
        message: String,
    },

    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub fn store(path: impl Into<String>, err: impl std::fmt::Display) -> Self {
        Error::Store {
            path: path.into(),
            message: err.to_string(),
        }
    }
}
