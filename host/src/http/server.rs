//! The public listener: accept loop with connection caps, optional TLS, header and body
//! deadlines, the `Host` allow-list, and routing: `/v1/...` to the host's admin endpoints,
//! everything else to the plugin's HTTP front through the node's one flow.
//!
//! Handlers never panic on input; every failure is a response (`Infallible` service).

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::task::TaskTracker;

use super::events::Streams;
use super::limits::{Counter, Full as CapReached};
use super::problem::{problem, Reply};
use crate::metrics::{ConnectionError, GaugeGuard};
use crate::node::{Node, ServeError, Served};
use crate::plugin::{fresh_entropy, HttpRequest, HttpResponse};

/// The body type the server sends: whole bodies and event streams alike.
pub(super) type ApiBody = BoxBody<Bytes, Infallible>;

/// Widens a complete response to the server's body type.
pub(super) fn boxed(reply: Reply) -> Response<ApiBody> {
    reply.map(BodyExt::boxed)
}

/// How long a stopping node lets its open connections finish the request they are answering
/// (a membership change that removed this very node, for one).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Accepts connections until `shutdown` resolves, then lets the open ones finish their request
/// (at most [`SHUTDOWN_GRACE`]). A failing connection ends only itself.
pub async fn serve(
    node: Node,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    tokio::pin!(shutdown);
    let limits = node.http_limits().clone();
    let connections = Counter::new(limits.max_connections, limits.max_connections_per_ip);
    let streams = super::events::Streams::new(limits.max_streams, limits.max_streams_per_ip);
    let tls = node
        .credentials()
        .public_tls
        .as_ref()
        .map(|tls| TlsAcceptor::from(tls.server.clone()));
    let answering = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Usually EMFILE: back off briefly instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let slot = match connections.acquire(remote.ip()) {
            Ok(slot) => slot,
            Err(full) => {
                let code = match full {
                    CapReached::Total => 503,
                    CapReached::PerClient => 429,
                };
                node.metrics().http.answered(code);
                tokio::spawn(refuse(stream, full));
                continue;
            }
        };
        let open = GaugeGuard::hold(&node.metrics().http.connections);
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "set_nodelay");
        }
        let node = node.clone();
        let tls = tls.clone();
        let streams = streams.clone();
        answering.spawn(async move {
            let _slot = slot;
            let _open = open;
            connection(node, streams, stream, remote, tls).await;
        });
    }
    drop(listener);
    answering.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, answering.wait())
        .await
        .is_err()
    {
        tracing::debug!(
            open = answering.len(),
            "connections still answering at shutdown are cut"
        );
    }
}

/// Answers a connection over the caps with a 503 (or 429 for one client's share) and closes it.
async fn refuse(mut stream: TcpStream, full: CapReached) {
    let (status, detail) = match full {
        CapReached::Total => (
            "503 Service Unavailable",
            "this node has as many open connections as it allows; retry later",
        ),
        CapReached::PerClient => (
            "429 Too Many Requests",
            "too many open connections from your address; close some and retry",
        ),
    };
    let body = format!(
        "{{\"type\":\"/problems/too-many-connections\",\"title\":\"Too many connections\",\"detail\":\"{detail}\"}}"
    );
    let answer = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/problem+json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    // Best effort within a second: the client may not read at all.
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(answer.as_bytes())).await;
}

async fn connection(
    node: Node,
    streams: Arc<Streams>,
    stream: TcpStream,
    remote: SocketAddr,
    tls: Option<TlsAcceptor>,
) {
    let limits = node.http_limits().clone();
    let stop = node.shutdown_signal();
    let metrics = node.inner.metrics.clone();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(64 << 10);
    let ip = remote.ip();
    let service = service_fn(move |request| {
        let node = node.clone();
        let streams = streams.clone();
        async move { Ok::<_, Infallible>(handle(node, streams, ip, request).await) }
    });
    let served = match tls {
        Some(acceptor) => {
            match tokio::time::timeout(limits.header_timeout, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => {
                    let serving = builder.serve_connection(TokioIo::new(stream), service);
                    until_stopped(serving, stop).await
                }
                Ok(Err(e)) => {
                    metrics.http.connection_failed(ConnectionError::Tls);
                    return tracing::debug!(%remote, error = %e, "TLS handshake failed");
                }
                Err(_) => {
                    metrics.http.connection_failed(ConnectionError::Tls);
                    return tracing::debug!(%remote, "TLS handshake timed out");
                }
            }
        }
        None => {
            let serving = builder.serve_connection(TokioIo::new(stream), service);
            until_stopped(serving, stop).await
        }
    };
    if let Err(e) = served {
        let kind = if e.is_parse() || e.is_parse_too_large() {
            ConnectionError::Parse
        } else if e.is_timeout() {
            ConnectionError::HeaderTimeout
        } else {
            ConnectionError::Io
        };
        metrics.http.connection_failed(kind);
        tracing::debug!(%remote, error = %e, "connection ended with an error");
    }
}

/// Serves a connection until it ends or `stop` resolves; then it finishes the request under
/// way (if any) and closes instead of waiting for the next one.
async fn until_stopped<I, S>(
    serving: http1::Connection<I, S>,
    stop: impl std::future::Future<Output = ()>,
) -> hyper::Result<()>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    S: hyper::service::HttpService<Incoming, ResBody = ApiBody>,
{
    tokio::pin!(serving);
    tokio::select! {
        served = serving.as_mut() => served,
        _ = stop => {
            serving.as_mut().graceful_shutdown();
            serving.await
        }
    }
}

/// Answers one request and counts the answer's status code.
async fn handle(
    node: Node,
    streams: Arc<Streams>,
    ip: IpAddr,
    request: Request<Incoming>,
) -> Response<ApiBody> {
    let metrics = node.inner.metrics.clone();
    let response = answer(node, streams, ip, request).await;
    metrics.http.answered(response.status().as_u16());
    response
}

async fn answer(
    node: Node,
    streams: Arc<Streams>,
    ip: IpAddr,
    request: Request<Incoming>,
) -> Response<ApiBody> {
    let host = request
        .headers()
        .get(hyper::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or(request.uri().authority().map(|a| a.as_str()));
    if !node.http_limits().host_allowed(host) {
        return boxed(problem(
            StatusCode::MISDIRECTED_REQUEST,
            "unknown-host",
            "Host not served here",
            "this node serves only the host names of its allow-list",
        ));
    }
    if super::admin::serves(request.uri().path()) {
        boxed(super::admin::route(node, request).await)
    } else {
        plugin_route(node, streams, ip, request).await
    }
}

/// Turns the plugin's response into a hyper response (invalid status or headers become a 500).
pub(super) fn to_reply(response: HttpResponse) -> Reply {
    let Ok(status) = StatusCode::from_u16(response.status) else {
        return problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "plugin-response",
            "Invalid plugin response",
            "bad status code",
        );
    };
    let mut builder = Response::builder().status(status);
    for (name, value) in &response.headers {
        builder = builder.header(name, value);
    }
    builder
        .body(Full::new(Bytes::from(response.body)))
        .unwrap_or_else(|e| {
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "plugin-response",
                "Invalid plugin response",
                &e.to_string(),
            )
        })
}

/// The problem response for a request the node could not serve.
pub(super) fn serve_error(error: &ServeError) -> Reply {
    match error {
        ServeError::NoHttpFront => problem(
            StatusCode::NOT_FOUND,
            "not-found",
            "No such route",
            &error.to_string(),
        ),
        ServeError::Local(_) => {
            let mut reply = problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "Node overloaded",
                &error.to_string(),
            );
            reply.headers_mut().insert(
                hyper::header::RETRY_AFTER,
                hyper::header::HeaderValue::from_static("1"),
            );
            reply
        }
        ServeError::Fault(detail) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "plugin-fault",
            "The plugin failed on this request",
            detail,
        ),
        ServeError::BadKey => problem(
            StatusCode::BAD_REQUEST,
            "invalid-request",
            "Invalid Idempotency-Key",
            &error.to_string(),
        ),
        ServeError::KeyReused(detail) => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency-key-reused",
            "Idempotency key reused",
            detail,
        ),
    }
}

/// The request as the plugin sees it. A verified admin bearer becomes `role` and its header is
/// removed; any other header passes as is. Headers that are not visible ASCII are dropped,
/// except an `Idempotency-Key`, which is then refused (it must not be silently ignored).
fn plugin_request(
    node: &Node,
    parts: &hyper::http::request::Parts,
    body: Bytes,
) -> Result<HttpRequest, ServeError> {
    // An --insecure node checks nothing: every caller is an admin there.
    let role = super::auth::role_of(node, &parts.headers);
    // A verified admin bearer is consumed here; any other (a customer's capability token)
    // reaches the plugin.
    let consumed = super::auth::bearer(&parts.headers)
        .is_some_and(|token| node.credentials().tokens.verify(token).is_some());
    let mut headers = Vec::with_capacity(parts.headers.len());
    for (name, value) in &parts.headers {
        if consumed && name == hyper::header::AUTHORIZATION {
            continue;
        }
        match value.to_str() {
            Ok(value) => headers.push((name.as_str().to_string(), value.to_string())),
            Err(_) if name.as_str() == "idempotency-key" => return Err(ServeError::BadKey),
            Err(_) => {}
        }
    }
    Ok(HttpRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or("").to_string(),
        headers,
        body: body.to_vec(),
        role: role.map(|r| r.name().to_string()),
        entropy: fresh_entropy(),
        now_ms: crate::node::now_ms(),
    })
}

async fn plugin_route(
    node: Node,
    streams: Arc<Streams>,
    ip: IpAddr,
    request: Request<Incoming>,
) -> Response<ApiBody> {
    let (parts, body) = request.into_parts();
    let limits = node.http_limits().clone();
    let body =
        match super::body::read(&parts.headers, body, limits.max_body, limits.body_timeout).await {
            Ok(body) => body,
            Err(reply) => return boxed(reply),
        };
    let request = match plugin_request(&node, &parts, body) {
        Ok(request) => request,
        Err(e) => return boxed(serve_error(&e)),
    };
    match node.serve_http(request.clone()).await {
        Ok(Served::Response { response, replayed }) => {
            let mut reply = to_reply(response);
            if replayed {
                reply.headers_mut().insert(
                    "idempotent-replayed",
                    hyper::header::HeaderValue::from_static("true"),
                );
            }
            boxed(reply)
        }
        Ok(Served::Watch(watch)) => super::events::stream(node, ip, streams, request, watch).await,
        Err(e) => boxed(serve_error(&e)),
    }
}
