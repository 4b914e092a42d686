//! The open-files limit: every connection, forward and command pipe is a file descriptor, and
//! many systems start a process with a soft limit of 1024 — below `server.max_connections`
//! plus what the worker needs, which fails as "too many open files" only under load.

/// Descriptors beyond connections and forwards: the store, the listener, logs, command pipes.
const MARGIN: u64 = 64;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and answers the soft limit now in force
/// (`None` where the platform has no such limit or it cannot be read).
pub fn raise_to_hard_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit only read and write the struct passed to them.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            // Refused (macOS caps an unlimited hard limit at OPEN_MAX): the old soft one stays.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                limit.rlim_cur = limit.rlim_max;
            }
        }
        // rlim_t is u64 on Linux but not on every Unix.
        #[allow(clippy::useless_conversion)]
        Some(u64::try_from(limit.rlim_cur).unwrap_or(u64::MAX))
    }
    #[cfg(not(unix))]
    None
}

/// Descriptors hookbox may need at once: every allowed connection, one outgoing connection per
/// concurrent delivery, and a margin.
pub fn needed(max_connections: usize, deliveries: usize) -> u64 {
    (max_connections as u64)
        .saturating_add(deliveries as u64)
        .saturating_add(MARGIN)
}

/// Raises the limit at start and warns when it is still below what `needed` says.
pub fn raise_and_check(max_connections: usize, deliveries: usize) {
    let Some(soft) = raise_to_hard_limit() else {
        return;
    };
    let needed = needed(max_connections, deliveries);
    if soft < needed {
        tracing::warn!(
            limit = soft,
            needed,
            "the open-files limit is below server.max_connections plus the worker's \
             deliveries: raise it (systemd: LimitNOFILE=65536; shell: ulimit -n) or lower \
             server.max_connections"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_needed_adds_connections_deliveries_and_a_margin() {
        assert_eq!(needed(1024, 16), 1024 + 16 + MARGIN);
        assert_eq!(needed(usize::MAX, usize::MAX), u64::MAX);
    }

    #[cfg(unix)]
    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let soft = raise_to_hard_limit().expect("a limit");
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        #[allow(clippy::useless_conversion)]
        let current = u64::try_from(limit.rlim_cur).unwrap_or(u64::MAX);
        assert_eq!(soft, current);
        assert!(limit.rlim_cur == limit.rlim_max || cfg!(target_os = "macos"));
    }
}
