//! Finding fixtures on disk: bodies, their optional `.headers` sidecars, and their source.
//!
//! A fixture is a request body in a file (`fixtures/stripe/invoice.paid.json`). The folder it
//! sits in names its source unless `--source` says otherwise. Headers the provider would send
//! besides the signature (`X-GitHub-Event`, `X-Shopify-Topic`, …) live next to it in a file with
//! the same name ending in `.headers` (`fixtures/github/push.headers`), one `Name: value` a
//! line; blank lines and lines starting with `#` are ignored. `fixtures/README.md` describes it.

use std::path::{Path, PathBuf};

use http::{HeaderMap, HeaderName, HeaderValue};

/// Extension of the body files picked up when a folder is given.
const BODY_EXTENSION: &str = "json";
/// Extension of the header sidecar.
const SIDECAR_EXTENSION: &str = "headers";

/// One request to replay, as read from disk.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The body file, as found (relative paths stay relative, for readable output).
    pub path: PathBuf,
    /// The source it is sent to (`/webhooks/<source>`).
    pub source: String,
    /// The body, byte for byte.
    pub body: Vec<u8>,
    /// Headers from the sidecar, if there is one.
    pub headers: HeaderMap,
}

/// Why fixtures could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// A file or folder could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The path.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A sidecar line is not a valid `Name: value` header.
    #[error("{path}:{line}: {reason}")]
    Sidecar {
        /// The sidecar file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The source cannot be told from the path.
    #[error("{0}: cannot tell the source; put it in a folder named after it or pass --source")]
    NoSource(String),
    /// A folder holds no `*.json` file.
    #[error("{0}: no *.json fixtures found")]
    Empty(String),
}

/// Reads every fixture named by `paths`: files as given, folders recursively (their `*.json`
/// files, in path order). `source` overrides the source implied by each file's folder.
pub fn collect(paths: &[PathBuf], source: Option<&str>) -> Result<Vec<Fixture>, FixtureError> {
    let mut fixtures = Vec::new();
    for path in paths {
        let files = if path.is_dir() {
            let mut files = Vec::new();
            body_files(path, &mut files)?;
            if files.is_empty() {
                return Err(FixtureError::Empty(path.display().to_string()));
            }
            files.sort();
            files
        } else {
            vec![path.clone()]
        };
        for file in files {
            fixtures.push(load(&file, source)?);
        }
    }
    Ok(fixtures)
}

/// Reads one fixture and its sidecar.
pub fn load(path: &Path, source: Option<&str>) -> Result<Fixture, FixtureError> {
    let source = match source {
        Some(name) => name.to_owned(),
        None => source_of(path).ok_or_else(|| FixtureError::NoSource(display(path)))?,
    };
    let body = std::fs::read(path).map_err(|e| read_error(path, e))?;
    let sidecar = path.with_extension(SIDECAR_EXTENSION);
    let headers = match std::fs::read_to_string(&sidecar) {
        Ok(text) => parse_sidecar(&text).map_err(|(line, reason)| FixtureError::Sidecar {
            path: display(&sidecar),
            line,
            reason,
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => HeaderMap::new(),
        Err(e) => return Err(read_error(&sidecar, e)),
    };
    Ok(Fixture {
        path: path.to_path_buf(),
        source,
        body,
        headers,
    })
}

/// The name of the folder holding `path`, made absolute first so `./push.json` works too.
fn source_of(path: &Path) -> Option<String> {
    let absolute = std::path::absolute(path).ok()?;
    let name = absolute.parent()?.file_name()?.to_str()?;
    Some(name.to_owned())
}

/// Parses `Name: value` lines; the error is (1-based line, reason).
pub fn parse_sidecar(text: &str) -> Result<HeaderMap, (usize, String)> {
    let mut headers = HeaderMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fail = |reason: String| (n + 1, reason);
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| fail("expected 'Name: value'".into()))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|e| fail(format!("header name: {e}")))?;
        let value =
            HeaderValue::from_str(value.trim()).map_err(|e| fail(format!("header value: {e}")))?;
        headers.append(name, value);
    }
    Ok(headers)
}

fn body_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), FixtureError> {
    let entries = std::fs::read_dir(dir).map_err(|e| read_error(dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| read_error(dir, e))?.path();
        if path.is_dir() {
            body_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == BODY_EXTENSION) {
            out.push(path);
        }
    }
    Ok(())
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

fn read_error(path: &Path, source: std::io::Error) -> FixtureError {
    FixtureError::Read {
        path: display(path),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecars_allow_comments_and_report_bad_lines() {
        let headers = parse_sidecar("# why\n\nX-GitHub-Event: push\nx-a:  b c \n").unwrap();
        assert_eq!(headers["x-github-event"], "push");
        assert_eq!(headers["x-a"], "b c");
        assert_eq!(parse_sidecar("ok: 1\nno colon").unwrap_err().0, 2);
        assert_eq!(parse_sidecar("bad name: 1").unwrap_err().0, 1);
    }

    #[test]
    fn folders_are_walked_in_order_and_name_the_source() {
        let fixtures = collect(&["fixtures".into()], None).unwrap();
        let paths: Vec<_> = fixtures.iter().map(|f| f.path.clone()).collect();
        let mut sorted = paths.clone();
        sorted.sort();
        assert_eq!(paths, sorted);
        assert!(paths.iter().all(|p| p.extension().unwrap() == "json"));
        let push = fixtures
            .iter()
            .find(|f| f.path.ends_with("github/push.json"))
            .unwrap();
        assert_eq!(push.source, "github");
        assert_eq!(push.headers["x-github-event"], "push");
        let paid = fixtures
            .iter()
            .find(|f| f.path.ends_with("stripe/invoice.paid.json"))
            .unwrap();
        assert_eq!(paid.source, "stripe");
        assert!(paid.headers.is_empty());
    }

    #[test]
    fn every_fixture_is_json_and_every_source_is_a_shipped_one() {
        let shipped = crate::config::load_str(
            &crate::config::examples::shipped_with_examples(),
            "config.toml",
            &|_| None,
        )
        .unwrap();
        for fixture in collect(&["fixtures".into()], None).unwrap() {
            assert!(shipped.source(&fixture.source).is_some(), "{fixture:?}");
            serde_json::from_slice::<serde_json::Value>(&fixture.body)
                .unwrap_or_else(|e| panic!("{}: {e}", fixture.path.display()));
        }
    }

    #[test]
    fn source_override_and_missing_files() {
        let one = collect(&["fixtures/github/ping.json".into()], Some("other")).unwrap();
        assert_eq!(one[0].source, "other");
        assert!(matches!(
            collect(&["fixtures/nope.json".into()], None),
            Err(FixtureError::Read { .. })
        ));
    }
}
