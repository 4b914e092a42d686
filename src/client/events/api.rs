//! The admin API client behind `hookbox events`: one hookbox, its token, JSON answers, and the
//! failures that map to exit codes.

use std::time::Duration;

use bytes::Bytes;
use http::Method;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::Value;

use crate::client::{Client, Reply, Target};

/// Time allowed for one request to hookbox.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// What went wrong, and the exit code it maps to.
pub enum Failure {
    /// Bad arguments or environment: exit 2.
    Usage(String),
    /// No answer, or an error answer, from hookbox: exit 1.
    Server(String),
}

/// `path?k=v&…`, values percent-encoded.
fn with_query(path: &str, params: &[(&str, String)]) -> String {
    let pairs: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

/// The body of `reply` as JSON, or a `Server` failure.
pub fn reply_json(reply: &Reply) -> Result<Value, Failure> {
    reply
        .json()
        .ok_or_else(|| Failure::Server("hookbox answered with something other than JSON".into()))
}

/// The admin API of one hookbox, with the token.
pub struct Api {
    client: Client,
    target: Target,
    token: String,
}

impl Api {
    /// The hookbox at `server`, with the token from `HOOKBOX_ADMIN_TOKEN`.
    pub fn new(server: &str, ca_file: Option<&std::path::Path>) -> Result<Api, Failure> {
        let target =
            Target::parse("--server", server).map_err(|e| Failure::Usage(e.to_string()))?;
        let token = std::env::var("HOOKBOX_ADMIN_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Failure::Usage("set HOOKBOX_ADMIN_TOKEN to the admin token".into()))?;
        Ok(Api {
            client: Client::new(REQUEST_TIMEOUT, ca_file)
                .map_err(|e| Failure::Usage(format!("--ca-file: {e}")))?,
            target,
            token,
        })
    }

    /// One call of a cursor-paged route with `params` (and `cursor`, if any), as JSON.
    pub async fn page(
        &self,
        method: Method,
        path: &str,
        params: &[(&str, String)],
        cursor: Option<String>,
    ) -> Result<Value, Failure> {
        let mut query = params.to_vec();
        query.extend(cursor.map(|c| ("cursor", c)));
        reply_json(&self.call(method, &with_query(path, &query)).await?)
    }

    /// Sends a request; any answer but 2xx becomes a `Server` failure naming its detail.
    pub async fn call(&self, method: Method, path: &str) -> Result<Reply, Failure> {
        let url = self.target.url(path);
        let auth = vec![("authorization".to_owned(), format!("Bearer {}", self.token))];
        let reply = self
            .client
            .send(method, &url, &auth, Bytes::new())
            .await
            .map_err(|e| Failure::Server(format!("{}: {e}", self.target.url(""))))?;
        if reply.status.is_success() {
            return Ok(reply);
        }
        let detail = reply
            .json()
            .and_then(|p| p["detail"].as_str().map(str::to_owned))
            .unwrap_or_default();
        Err(Failure::Server(format!("{}: {detail}", reply.status)))
    }
}
