//! Server-Sent Events for the plugin's `watch` routes: the answer to a query, sent once on
//! connect and again whenever a committed entry changes the watched topic.
//!
//! Each event's id is the log index of the topic's last change, so a client reconnecting with
//! `Last-Event-ID` gets no repeat of what it already has, and anything newer at once. Streams are
//! state, not a change log: a client that missed several changes gets the latest state once.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::{Response, StatusCode};
use tokio::sync::mpsc;

use super::server::{boxed, consistency_of, to_reply, ApiBody, Reply};
use crate::node::{Consistency, Node};
use crate::plugin::{HttpRequest, Outcome, WatchRequest};

/// A comment line this often keeps proxies and browsers from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Events buffered per stream before a slow client holds the stream's task back.
const BUFFERED_EVENTS: usize = 16;

/// Answers a watch route: the first answer as a normal response if it is an error, otherwise
/// an open `text/event-stream`.
pub(super) async fn stream(
    node: Node,
    request: HttpRequest,
    watch: WatchRequest,
) -> Response<ApiBody> {
    let changes = node.topic_changes();
    // Count the stream before reading anything: from now on commits are attributed to topics.
    let guard = changes.watch();
    changes.catch_up(&node);
    // Subscribe before reading the version, so a change in between still wakes the stream.
    let mut wake = changes.subscribe();
    let version = changes.last_change(&watch.topic);
    let data = match answer(&node, &request, &watch, consistency_of(&request.query)).await {
        Ok(data) => data,
        Err(reply) => return boxed(reply),
    };
    let resume_from = request
        .headers
        .iter()
        .find(|(name, _)| name == "last-event-id")
        .and_then(|(_, value)| value.trim().parse::<u64>().ok());
    let mut opening = String::from("retry: 1000\n\n");
    if resume_from.is_none_or(|seen| version > seen) {
        opening.push_str(&event_text(version, &watch.event, &data));
    }

    let (tx, rx) = mpsc::channel::<Bytes>(BUFFERED_EVENTS);
    let stop = node.shutdown_signal();
    tokio::spawn(async move {
        let _counted = guard;
        tokio::pin!(stop);
        if tx.send(Bytes::from(opening)).await.is_err() {
            return;
        }
        let mut sent = version;
        loop {
            let chunk = tokio::select! {
                _ = &mut stop => return,
                _ = tx.closed() => return,
                changed = wake.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let now = changes.last_change(&watch.topic);
                    if now <= sent {
                        continue;
                    }
                    sent = now;
                    // The change is applied here already: the local state is at least as new.
                    match answer(&node, &request, &watch, Consistency::Local).await {
                        Ok(data) => event_text(now, &watch.event, &data),
                        Err(reply) => {
                            // The watched thing is gone or the plugin failed: say so and end.
                            let body = reply.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                            let _ = tx.send(Bytes::from(event_text(now, "problem", &body))).await;
                            return;
                        }
                    }
                }
                _ = tokio::time::sleep(KEEP_ALIVE) => ": keep-alive\n\n".to_string(),
            };
            if tx.send(Bytes::from(chunk)).await.is_err() {
                return;
            }
        }
    });

    let frames = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, Infallible>(Frame::data(chunk)), rx))
    });
    let mut response = Response::new(StreamBody::new(frames).boxed());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-cache"),
    );
    response
}

/// Runs the watch query and renders it: the body of a 2xx rendering, or the rendering itself
/// as an error reply.
async fn answer(
    node: &Node,
    request: &HttpRequest,
    watch: &WatchRequest,
    consistency: Consistency,
) -> Result<Vec<u8>, Reply> {
    let outcome = match node.read(&watch.query, consistency).await {
        Ok(result) => Outcome::Finished(result),
        Err(e) => Outcome::Unavailable(e.to_string()),
    };
    let rendered = node
        .front()
        .call(|plugin| plugin.render(request, &outcome))
        .map_err(|e| super::server::plugin_fault(&e.to_string()))?;
    if (200..300).contains(&rendered.status) {
        Ok(rendered.body)
    } else {
        Err(to_reply(rendered))
    }
}

/// One event in the SSE wire format; every line of `data` becomes a `data:` line.
fn event_text(id: u64, event: &str, data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    let mut out = format!("id: {id}\nevent: {event}\n");
    for line in text.lines() {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::event_text;

    #[test]
    fn every_data_line_is_prefixed_and_the_event_ends_with_a_blank_line() {
        assert_eq!(
            event_text(7, "state", b"{\"a\":1}\n{\"b\":2}"),
            "id: 7\nevent: state\ndata: {\"a\":1}\ndata: {\"b\":2}\n\n"
        );
    }
}
