//! Watching processes a command handler started: the pid a script wrote down, and whether that
//! process has ended. Linux only (reads `/proc`).

use std::path::Path;

use super::flow::LIMIT;
use super::target::eventually;

/// Whether process `pid` has ended (gone, or a zombie nobody reaped yet).
pub fn ended(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses: "123 (sleep) S …".
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
        Err(_) => true,
    }
}

/// The pid a script wrote to `file`, once it is there.
pub async fn pid_in(file: &Path) -> u32 {
    eventually("the script to write its pid", LIMIT, || async {
        let text = std::fs::read_to_string(file).ok()?;
        text.trim().parse().ok()
    })
    .await
}

/// Waits (bounded) until process `pid` has ended.
pub async fn until_ended(pid: u32, what: &str) {
    eventually(what, LIMIT, || async { ended(pid).then_some(()) }).await;
}
