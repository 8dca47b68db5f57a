//! How the PostGIS store words and classifies its failures (`StoreFailure`): what the database
//! said, with the detail, hint and constraint that name what to fix.

use super::rows::ReadError;
use super::{PostGis, access};
use crate::{Error, StoreFailure};

impl PostGis {
    pub(super) fn err(&self, e: impl std::fmt::Display) -> Error {
        Error::store(&self.location, e)
    }

    /// A database error with its detail, hint and constraint, which name what to fix, and its
    /// kind: SQLSTATE class 23 (a constraint) is a rejected write; what a retry can pass (the
    /// connection lost or refused, classes 08, 53, 57 and 40, 25006) is unreachable.
    pub(super) fn db_err(&self, e: postgres::Error) -> Error {
        match e.as_db_error() {
            Some(db) => {
                let mut text = db.message().to_string();
                if let Some(detail) = db.detail() {
                    text.push_str(&format!(" ({detail})"));
                }
                if let Some(hint) = db.hint() {
                    text.push_str(&format!(" hint: {hint}"));
                }
                if let Some(c) = db.constraint() {
                    text.push_str(&format!(" [constraint {c}]"));
                }
                let code = db.code().code();
                let failure = match code.get(..2) {
                    Some("23") => StoreFailure::Rejected,
                    // Connection, resources, shutdown; a deadlock or serialization failure (40)
                    // and a read-only transaction after a failover (25006) pass on a retry too.
                    Some("08" | "53" | "57" | "40") => StoreFailure::Unreachable,
                    _ if code == "25006" => StoreFailure::Unreachable,
                    _ => StoreFailure::Failed,
                };
                Error::store_failure(&self.location, failure, text)
            }
            None => {
                // Connection errors keep the cause (refused, timed out...) in their sources.
                // Without a server answer it is the connection (closed, refused, an I/O error), or
                // the client's own conversion of a value, which no retry mends.
                let mut text = e.to_string();
                let mut io = false;
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    text.push_str(&format!(": {cause}"));
                    io |= cause.is::<std::io::Error>();
                    source = cause.source();
                }
                let failure = if e.is_closed() || io {
                    StoreFailure::Unreachable
                } else {
                    StoreFailure::Failed
                };
                Error::store_failure(&self.location, failure, text)
            }
        }
    }

    pub(super) fn read_err(&self, e: ReadError) -> Error {
        match e {
            ReadError::Db(e) => self.db_err(e),
            ReadError::Row(text) => {
                Error::store_failure(&self.location, StoreFailure::Unreadable, text)
            }
        }
    }

    pub(super) fn access_err(&self, e: access::AccessError) -> Error {
        match e {
            access::AccessError::Db(e) => self.db_err(e),
            access::AccessError::Row(access::Unreadable(text)) => {
                Error::store_failure(&self.location, StoreFailure::Unreadable, text)
            }
        }
    }

    /// A failed COMMIT. When the connection went away meanwhile, the server may have committed
    /// before it did: the outcome is unknown (`Uncertain`), and such a write is never retried.
    pub(super) fn commit_err(&self, e: postgres::Error) -> Error {
        match self.db_err(e) {
            Error::Store {
                path,
                failure: StoreFailure::Unreachable,
                message,
            } => Error::Store {
                path,
                failure: StoreFailure::Uncertain,
                message: format!("the connection was lost while committing: {message}"),
            },
            other => other,
        }
    }
}
