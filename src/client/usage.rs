//! What the command-line tools share below `cli`: a usage error's exit status, and loading one
//! source from a config file.

use std::process::ExitCode;

/// Reports a usage error on stderr; exit status 2.
pub(crate) fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("hookbox: {message}");
    ExitCode::from(2)
}

/// Loads `path` and the source called `name` from it; a usage error when either fails.
pub(crate) fn load_source(
    path: &std::path::Path,
    name: &str,
) -> Result<(crate::config::Config, crate::config::Source), ExitCode> {
    let config = crate::config::load(path).map_err(usage_error)?;
    let source = config
        .source(name)
        .cloned()
        .ok_or_else(|| usage_error(format!("no source {name:?} in {}", path.display())))?;
    Ok((config, source))
}
