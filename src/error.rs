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

    /// The store could not be opened, read or written; `failure` says which way.
    #[error("store {path}: {message}")]
    Store {
        path: String,
        failure: StoreFailure,
        message: String,
    },

    /// A PMTiles archive could not be opened or read.
    #[error("archive {path}: {message}")]
    Archive { path: String, message: String },

    /// A tile could not be encoded (a bug, not bad input: it is logged and answered 500).
    #[error("tile {z}/{x}/{y}: {message}")]
    Tile {
        z: u8,
        x: u32,
        y: u32,
        message: String,
    },

    /// A write's precondition failed inside its transaction (`If-Match` named an older version
    /// of the feature); nothing was written.
    #[error("{0}")]
    Stale(String),

    /// A create of a feature that exists; nothing was written.
    #[error("{0}")]
    Exists(String),

    /// A write the data's state refuses (a tenth photo of an event, a photo of a closed case);
    /// nothing was written.
    #[error("{0}")]
    Refused(String),

    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// How a store operation failed, which decides what a client is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreFailure {
    /// The store could not be reached (connection refused or lost, file locked or missing): try
    /// again later; nothing was written.
    Unreachable,
    /// The store refused the write (a constraint of its schema); nothing was written.
    Rejected,
    /// The store holds something gridmap cannot read (a row another tool wrote).
    Unreadable,
    /// Anything else (a schema gridmap did not expect, a bad configuration).
    Failed,
    /// The connection was lost while the write was committing: it may or may not have been
    /// applied. Never retried; read the data back before trying again.
    Uncertain,
}

impl Error {
    /// A store failure of a kind other than the ones below.
    pub fn store(path: impl Into<String>, err: impl std::fmt::Display) -> Self {
        Error::store_failure(path, StoreFailure::Failed, err)
    }

    pub fn store_failure(
        path: impl Into<String>,
        failure: StoreFailure,
        err: impl std::fmt::Display,
    ) -> Self {
        Error::Store {
            path: path.into(),
            failure,
            message: err.to_string(),
        }
    }
}
