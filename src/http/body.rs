//! Reading a request body within a size limit and a deadline.

use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::HeaderMap;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;

use super::problem::Reason;

/// Reads the whole body, rejecting it as soon as it is known to exceed `max` bytes: up front
/// from `Content-Length`, else while reading a chunked body.
pub async fn read_limited(
    headers: &HeaderMap,
    body: Incoming,
    max: u64,
    deadline: Duration,
) -> Result<Bytes, (Reason, String)> {
    let too_large = || {
        (
            Reason::TooLarge,
            format!("the body exceeds this source's limit of {max} bytes"),
        )
    };
    if let Some(len) = headers.get(CONTENT_LENGTH) {
        let len: u64 = len
            .to_str()
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                (
                    Reason::Malformed,
                    "Content-Length is not a number".to_owned(),
                )
            })?;
        if len > max {
            return Err(too_large());
        }
    }
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    match tokio::time::timeout(deadline, Limited::new(body, limit).collect()).await {
        Err(_) => Err((
            Reason::BodyTimeout,
            format!("the body did not arrive within {}s", deadline.as_secs()),
        )),
        Ok(Err(e)) if e.is::<LengthLimitError>() => Err(too_large()),
        Ok(Err(e)) => Err((Reason::Malformed, format!("could not read the body: {e}"))),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}
