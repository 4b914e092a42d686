//! Reading a request body within a size limit, the in-flight budget and a deadline.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::CONTENT_LENGTH;
use http::HeaderMap;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;

use super::budget::{BodyBudget, Reservation};
use super::problem::{Problem, Reason};

/// Reads the whole body, rejecting it as soon as it is known to exceed `max` bytes (up front
/// from `Content-Length`, else while reading a chunked body) or not to fit in `budget` (before
/// the bytes that would not fit are read). The reservation returned holds the body's bytes
/// against the budget until it is dropped.
pub async fn read_limited(
    headers: &HeaderMap,
    body: Incoming,
    max: u64,
    deadline: Duration,
    budget: &BodyBudget,
) -> Result<(Bytes, Reservation), Problem> {
    let too_large = || {
        Problem::new(
            Reason::TooLarge,
            format!("the body exceeds this source's limit of {max} bytes"),
        )
    };
    let busy = || {
        Problem::new(
            Reason::Busy,
            "too many request bodies are being received at once; retry later",
        )
    };
    let mut reservation = budget.reservation();
    if let Some(len) = headers.get(CONTENT_LENGTH) {
        let len: u64 = len
            .to_str()
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Problem::new(Reason::Malformed, "Content-Length is not a number"))?;
        if len > max {
            return Err(too_large());
        }
        if !reservation.grow(len) {
            return Err(busy());
        }
    }
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    let read = async {
        let mut body = Limited::new(body, limit);
        let mut data = BytesMut::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                if e.is::<LengthLimitError>() {
                    too_large()
                } else {
                    Problem::new(Reason::Malformed, format!("could not read the body: {e}"))
                }
            })?;
            let Ok(chunk) = frame.into_data() else {
                continue; // trailers carry nothing hookbox keeps
            };
            let total = (data.len() + chunk.len()) as u64;
            // A chunked body reserves as it grows; a Content-Length one reserved it all.
            if total > reservation.held() && !reservation.grow(total - reservation.held()) {
                return Err(busy());
            }
            data.extend_from_slice(&chunk);
        }
        Ok(data.freeze())
    };
    match tokio::time::timeout(deadline, read).await {
        Err(_) => Err(Problem::new(
            Reason::BodyTimeout,
            format!("the body did not arrive within {}s", deadline.as_secs()),
        )),
        Ok(Err(e)) => Err(e),
        Ok(Ok(data)) => Ok((data, reservation)),
    }
}
