//! Work that must run on one instance at a time (a reconciliation pass of one source): a lease
//! is held while its value lives. The embedded backends serve a single instance, so they grant
//! every lease; PostgreSQL holds a session advisory lock (see `postgres::lease`), which the
//! server releases by itself when the instance dies and its connection closes.

/// A held lease; dropping it releases it.
pub struct Lease {
    _held: Option<Box<dyn Send + Sync>>,
}

impl Lease {
    /// A lease of a single-instance backend: nothing else could hold it.
    pub(crate) fn local() -> Lease {
        Lease { _held: None }
    }

    /// A lease kept by `held` until it is dropped.
    pub(crate) fn holding(held: impl Send + Sync + 'static) -> Lease {
        Lease {
            _held: Some(Box::new(held)),
        }
    }
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lease")
    }
}
