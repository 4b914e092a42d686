//! Leases over PostgreSQL: a session advisory lock keyed by the schema and the lease's name,
//! held on a connection taken out of the pool. Dropping the lease closes that connection, which
//! releases the lock — as a crashed instance's closed connection does — so a lease is never
//! left behind and no unlock statement can be forgotten.

use deadpool_postgres::Object;

use super::{PgError, PgStore};
use crate::store::lease::Lease;

/// The connection holding a lock; closed (not returned to the pool) when dropped.
struct Held(Option<Object>);

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            drop(Object::take(client));
        }
    }
}

impl PgStore {
    /// The lease `name` if no instance holds it now; `None` if one does.
    pub async fn try_lease(&self, name: &str) -> Result<Option<Lease>, PgError> {
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                "SELECT pg_try_advisory_lock(hashtext(current_schema() || ':' || $1::text))",
                &[&name],
            )
            .await?;
        Ok(row
            .get::<_, bool>(0)
            .then(|| Lease::holding(Held(Some(client)))))
    }
}
