//! The in-flight body budget: how many body bytes all requests together may hold in memory.
//!
//! Bodies are read whole before their signature can be checked, so without a global bound many
//! unsigned senders can make hookbox hold `max_connections × max_body_bytes`. Each request
//! reserves what it will hold before reading it (its `Content-Length`, or each chunk of a
//! chunked body as it arrives); a reservation that does not fit is refused (503) instead.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Body bytes that may be in flight at once, shared by all requests.
#[derive(Debug, Clone)]
pub struct BodyBudget {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    limit: u64,
    used: AtomicU64,
}

impl BodyBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: u64) -> BodyBudget {
        BodyBudget {
            inner: Arc::new(Inner {
                limit,
                used: AtomicU64::new(0),
            }),
        }
    }

    /// Bytes currently reserved.
    pub fn in_use(&self) -> u64 {
        self.inner.used.load(Ordering::Relaxed)
    }

    /// An empty reservation that can grow; released when dropped.
    pub fn reservation(&self) -> Reservation {
        Reservation {
            budget: self.inner.clone(),
            held: 0,
        }
    }
}

/// Bytes one request holds against the budget; given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<Inner>,
    held: u64,
}

impl Reservation {
    /// Reserves `more` bytes, or returns `false` (and reserves nothing) when they do not fit.
    #[must_use]
    pub fn grow(&mut self, more: u64) -> bool {
        let fits = self
            .budget
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(more).filter(|n| *n <= self.budget.limit)
            })
            .is_ok();
        if fits {
            self.held += more;
        }
        fits
    }

    /// Bytes held by this reservation.
    pub fn held(&self) -> u64 {
        self.held
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.held, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_fit_the_limit_and_are_given_back_on_drop() {
        let budget = BodyBudget::new(100);
        let mut a = budget.reservation();
        assert!(a.grow(60));
        let mut b = budget.reservation();
        assert!(!b.grow(50), "60 + 50 is over 100");
        assert_eq!(budget.in_use(), 60, "a refused reservation holds nothing");
        assert!(b.grow(40));
        assert!(!b.grow(1));
        drop(a);
        assert_eq!(budget.in_use(), 40);
        assert!(b.grow(60));
        assert_eq!(b.held(), 100);
        drop(b);
        assert_eq!(budget.in_use(), 0);
        assert!(!budget.reservation().grow(u64::MAX), "no overflow");
    }
}
