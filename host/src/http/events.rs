//! Server-Sent Events for the plugin's `watch` routes: the rendering of a query, sent once on
//! connect and again whenever a committed entry changes the watched topic.
//!
//! Each event's id is the log index of the topic's last change, so a client reconnecting with
//! `Last-Event-ID` gets no repeat of what it already has, and anything newer at once. Streams are
//! state, not a change log: a client that missed several changes gets the latest state once.
//!
//! Streams are capped in total and per client address (429/503 beyond), and streams watching
//! the same view share one rendering per change: a thousand open streams of one topic cost one
//! plugin call per change, not a thousand.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::{Response, StatusCode};
use tokio::sync::mpsc;

use super::limits::{Counter, Full as CapReached};
use super::problem::{problem, Reply};
use super::server::{boxed, serve_error, to_reply, ApiBody};
use crate::metrics::GaugeGuard;
use crate::node::{Consistency, Node};
use crate::plugin::{HttpRequest, WatchRequest};

/// A comment line this often keeps proxies and browsers from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Events buffered per stream before a slow client holds the stream's task back.
const BUFFERED_EVENTS: usize = 16;

/// What streams of one view share.
type Shared = Arc<tokio::sync::Mutex<Option<(u64, Result<Bytes, Bytes>)>>>;

/// The event streams of a node: their counter and their shared renderings.
pub(super) struct Streams {
    open: Arc<Counter>,
    views: Mutex<HashMap<(String, WatchRequest), Shared>>,
}

impl Streams {
    pub(super) fn new(max_total: usize, max_per_ip: usize) -> Arc<Streams> {
        Arc::new(Streams {
            open: Counter::new(max_total, max_per_ip),
            views: Mutex::new(HashMap::new()),
        })
    }

    /// The shared rendering slot of a view; drops the slots nobody watches any more.
    fn view(&self, path: &str, watch: &WatchRequest) -> Shared {
        let mut views = self.views.lock().unwrap_or_else(|p| p.into_inner());
        if views.len() > 1000 {
            views.retain(|_, shared| Arc::strong_count(shared) > 1);
        }
        views
            .entry((path.to_string(), watch.clone()))
            .or_default()
            .clone()
    }
}

/// Answers a watch route: the first answer as a normal response if it is an error, otherwise
/// an open `text/event-stream`.
pub(super) async fn stream(
    node: Node,
    ip: IpAddr,
    streams: Arc<Streams>,
    request: HttpRequest,
    watch: WatchRequest,
) -> Response<ApiBody> {
    let slot = match streams.open.acquire(ip) {
        Ok(slot) => slot,
        Err(CapReached::Total) => {
            return boxed(retry_later(
                StatusCode::SERVICE_UNAVAILABLE,
                "this node has as many open event streams as it allows",
            ))
        }
        Err(CapReached::PerClient) => {
            return boxed(retry_later(
                StatusCode::TOO_MANY_REQUESTS,
                "too many open event streams from your address",
            ))
        }
    };
    let changes = node.topic_changes();
    // Subscribe before reading the version, so a change in between still wakes the stream.
    let mut wake = changes.subscribe();
    let version = changes.last_change(&watch.topic);
    let consistency = crate::node::consistency_of(&request.query);
    let data = match node
        .render_watch(request.clone(), watch.clone(), consistency)
        .await
    {
        Ok((_, response)) if (200..300).contains(&response.status) => Bytes::from(response.body),
        Ok((_, response)) => return boxed(to_reply(response)),
        Err(e) => return boxed(serve_error(&e)),
    };
    let resume_from = request
        .header("last-event-id")
        .and_then(|value| value.trim().parse::<u64>().ok());
    let mut opening = String::from("retry: 1000\n\n");
    if resume_from.is_none_or(|seen| version > seen) {
        opening.push_str(&event_text(version, &watch.event, &data));
    }
    let view = streams.view(&request.path, &watch);

    let (tx, rx) = mpsc::channel::<Bytes>(BUFFERED_EVENTS);
    let stop = node.shutdown_signal();
    let open = GaugeGuard::hold(&node.metrics().http.event_streams);
    tokio::spawn(async move {
        let _slot = slot;
        let _open = open;
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
                    match rendered(&node, &view, &request, &watch, now).await {
                        Ok(data) => event_text(now, &watch.event, &data),
                        Err(body) => {
                            // The watched thing is gone or the plugin failed: say so and end.
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

fn retry_later(status: StatusCode, detail: &str) -> Reply {
    let mut reply = problem(status, "too-many-streams", "Too many event streams", detail);
    reply.headers_mut().insert(
        hyper::header::RETRY_AFTER,
        hyper::header::HeaderValue::from_static("5"),
    );
    reply
}

/// The view's rendering at `index` or later: taken from the shared slot when another stream
/// rendered it already, else rendered here (this node's state is at `index` already: the change
/// was announced after it was applied).
async fn rendered(
    node: &Node,
    view: &Shared,
    request: &HttpRequest,
    watch: &WatchRequest,
    index: u64,
) -> Result<Bytes, Bytes> {
    let mut shared = view.lock().await;
    if let Some((at, result)) = shared.as_ref() {
        if *at >= index {
            return result.clone();
        }
    }
    let result = match node
        .render_watch(request.clone(), watch.clone(), Consistency::Local)
        .await
    {
        Ok((at, response)) => {
            let ok = (200..300).contains(&response.status);
            let body = Bytes::from(response.body);
            let result = if ok { Ok(body) } else { Err(body) };
            *shared = Some((at.max(index), result.clone()));
            result
        }
        Err(e) => Err(Bytes::from(e.to_string())),
    };
    result
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
