//! Request bodies: read whole, capped in size (with `http_body_util::Limited`) and in time.
//!
//! A body over the cap is answered 413. Up to [`MAX_DRAIN`] bytes of it are read and dropped
//! first, so a client that writes its whole body before reading the answer gets the 413
//! instead of a reset connection; a larger one is cut off at once.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper::StatusCode;

use super::problem::{problem, Reply};

/// Most bytes of an oversized body read and discarded before answering 413.
pub const MAX_DRAIN: usize = 8 << 20;

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
}

fn too_large(limit: usize) -> Reply {
    problem(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body-too-large",
        "Request body too large",
        &format!("the limit is {limit} bytes"),
    )
}

fn too_slow(timeout: Duration) -> Reply {
    problem(
        StatusCode::REQUEST_TIMEOUT,
        "body-timeout",
        "Request body too slow",
        &format!("the whole body must arrive within {timeout:?}"),
    )
}

/// Reads the whole body of `request`, at most `limit` bytes within `timeout`.
///
/// # Errors
/// A problem reply: 413 over the limit, 408 too slow, 400 unreadable.
pub async fn read(
    headers: &HeaderMap,
    mut body: Incoming,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, Reply> {
    if declared_length(headers).is_some_and(|len| len > MAX_DRAIN.max(limit)) {
        return Err(too_large(limit));
    }
    let read = async {
        let mut collected = Vec::new();
        let mut over = false;
        let mut seen = 0usize;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                problem(
                    StatusCode::BAD_REQUEST,
                    "bad-body",
                    "Unreadable request body",
                    &e.to_string(),
                )
            })?;
            let Ok(data) = frame.into_data() else {
                continue; // trailers
            };
            seen = seen.saturating_add(data.len());
            if seen > limit {
                over = true;
                collected = Vec::new();
                if seen > MAX_DRAIN {
                    break;
                }
            } else {
                collected.extend_from_slice(&data);
            }
        }
        if over {
            Err(too_large(limit))
        } else {
            Ok(Bytes::from(collected))
        }
    };
    match tokio::time::timeout(timeout, read).await {
        Ok(result) => result,
        Err(_) => Err(too_slow(timeout)),
    }
}

/// Reads a large body (a plugin component) with `Limited`, without draining: the limit is the
/// cap on what may be held in memory.
///
/// # Errors
/// As for [`read`].
pub async fn read_large(
    headers: &HeaderMap,
    body: Incoming,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, Reply> {
    if declared_length(headers).is_some_and(|len| len > limit) {
        return Err(too_large(limit));
    }
    match tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large(limit)),
        Ok(Err(e)) => Err(problem(
            StatusCode::BAD_REQUEST,
            "bad-body",
            "Unreadable request body",
            &e.to_string(),
        )),
        Err(_) => Err(too_slow(timeout)),
    }
}
