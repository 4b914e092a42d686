//! What a `command` program runs inside: its own process group, ended as a whole, and an
//! environment built from an allow-list.
//!
//! A program is free to start children of its own (`sh -c '…'`, a script that backgrounds a
//! job). Killing only the program would leave those running after hookbox recorded the attempt
//! as over — writing files after a "timed out … killed", or surviving a shutdown and running
//! next to the retry. So every program leads a new process group and the whole group is ended
//! when the attempt ends, however it ends (exit, timeout, shutdown, a dropped task).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};

/// Variables a program inherits from hookbox's environment without being named.
const INHERITED: &[&str] = &["PATH", "HOME", "LANG", "TZ", "TMPDIR"];

/// The environment of a program, in the order it is applied (later entries win): the
/// allow-listed part of `parent` (`INHERITED` and `LC_*`), the variables named in `pass_env`
/// that are set in `parent`, `env` from the configuration, then hookbox's own `event`
/// variables. Nothing else from hookbox's environment (database URL, secrets, tokens) reaches
/// the program.
pub fn child_env(
    parent: impl IntoIterator<Item = (OsString, OsString)>,
    pass_env: &[String],
    env: &BTreeMap<String, String>,
    event: &[(&str, String)],
) -> Vec<(OsString, OsString)> {
    let passed = |name: &OsStr| {
        let name = name.to_string_lossy();
        INHERITED.contains(&name.as_ref())
            || name.starts_with("LC_")
            || pass_env.iter().any(|p| *p == name)
    };
    let mut vars: Vec<(OsString, OsString)> =
        parent.into_iter().filter(|(n, _)| passed(n)).collect();
    vars.extend(env.iter().map(|(n, v)| (n.into(), v.into())));
    vars.extend(event.iter().map(|(n, v)| ((*n).into(), v.into())));
    vars
}

/// The process group a program leads; dropping it (or [`ProcessGroup::end`]) kills every
/// process still in it.
#[derive(Debug)]
pub struct ProcessGroup {
    /// The group id (the program's pid); `None` once ended or when unknown.
    id: Option<i32>,
}

impl ProcessGroup {
    /// The group led by the process `pid` (started with `process_group(0)`).
    pub fn led_by(pid: Option<u32>) -> ProcessGroup {
        ProcessGroup {
            id: pid.and_then(|p| i32::try_from(p).ok()).filter(|p| *p > 0),
        }
    }

    /// Sends SIGKILL to every process in the group. A group that is already empty is fine.
    ///
    /// Called right after the leader is reaped: a pid cannot be handed out again while a group
    /// with that id still has members, so this reaches the program's leftovers and nothing
    /// else (an empty group answers ESRCH).
    pub fn end(&mut self) {
        let Some(id) = self.id.take() else { return };
        kill_group(id);
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.end();
    }
}

#[cfg(unix)]
fn kill_group(id: i32) {
    // SAFETY: killpg has no memory effects; a stale or empty group only yields ESRCH.
    let rc = unsafe { libc::killpg(id, libc::SIGKILL) };
    if rc != 0 {
        let error = std::io::Error::last_os_error();
        if error.raw_os_error() != Some(libc::ESRCH) {
            tracing::warn!(group = id, error = %error, "could not end the program's process group");
        }
    }
}

#[cfg(not(unix))]
fn kill_group(_id: i32) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(n, v)| ((*n).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn only_allowed_and_named_variables_reach_the_program() {
        let parent = os(&[
            ("PATH", "/bin"),
            ("LC_ALL", "C"),
            ("HOOKBOX_DATABASE_URL", "postgres://u:pw@db/x"),
            ("HOOKBOX_ADMIN_TOKEN", "t"),
            ("STRIPE_WEBHOOK_SECRET", "s"),
            ("AWS_PROFILE", "prod"),
            ("RANDOM", "r"),
        ]);
        let env = BTreeMap::from([("MODE".to_owned(), "live".to_owned())]);
        let vars = child_env(
            parent,
            &["AWS_PROFILE".to_owned()],
            &env,
            &[("HOOKBOX_EVENT_ID", "evt_1".to_owned())],
        );
        let names: Vec<_> = vars.iter().map(|(n, _)| n.to_str().unwrap()).collect();
        assert_eq!(
            names,
            ["PATH", "LC_ALL", "AWS_PROFILE", "MODE", "HOOKBOX_EVENT_ID"]
        );
    }

    #[test]
    fn hookbox_variables_win_over_configured_ones() {
        let env = BTreeMap::from([("HOOKBOX_EVENT_ID".to_owned(), "fake".to_owned())]);
        let vars = child_env(
            Vec::new(),
            &[],
            &env,
            &[("HOOKBOX_EVENT_ID", "real".to_owned())],
        );
        // Applied in order, so the last value is the one the program sees.
        assert_eq!(vars.last().unwrap().1, "real");
    }
}
