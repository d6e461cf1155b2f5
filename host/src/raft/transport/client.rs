//! Calls to peers: one HTTP/2 connection per peer address, over mutual TLS (or plain TCP on an
//! `--insecure` node), opened on first use and replaced when it breaks. Requests to one peer
//! share the connection (HTTP/2 streams), so replication, votes and forwarded writes never wait
//! for each other's round trips.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http2;
use hyper::StatusCode;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::Mutex as AsyncMutex;
use tokio_rustls::TlsConnector;

use super::incarnations::Incarnations;
use super::limits;
use crate::secrets::tls::{peer_identity, PeerIdentity};
use crate::secrets::PeerTls;

/// The request body type of peer calls: whole bodies and streamed snapshots alike.
pub type PeerBody = BoxBody<Bytes, std::io::Error>;

/// How long opening a connection (TCP and TLS) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);

/// Why a peer call failed. `Unreachable` means the request never reached the peer, so it is
/// safe to retry elsewhere; the others leave the outcome unknown.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PeerError {
    /// Connection refused, TLS refused, or the connection was gone before the request was sent.
    #[error("peer {addr} unreachable: {reason}")]
    Unreachable {
        /// The peer.
        addr: String,
        /// Why.
        reason: String,
    },
    /// The peer did not answer in time.
    #[error("peer {addr} did not answer within {timeout:?}")]
    Timeout {
        /// The peer.
        addr: String,
        /// The deadline that passed.
        timeout: Duration,
    },
    /// The peer answered with a non-success status or an undecodable body.
    #[error("peer {addr}: {reason}")]
    Protocol {
        /// The peer.
        addr: String,
        /// What was wrong.
        reason: String,
    },
}

/// A whole body for a peer call.
pub fn full_body(bytes: impl Into<Bytes>) -> PeerBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// Pooled peer connections. Cheap to clone.
#[derive(Clone)]
pub struct PeerClient {
    inner: Arc<Inner>,
}

/// An open connection and who its server's certificate says it is (`None` in plain TCP).
type Link = (http2::SendRequest<PeerBody>, Option<PeerIdentity>);

/// One peer address's connection; its async lock keeps two callers from dialing at once
/// without holding up calls to other peers.
type Slot = Arc<AsyncMutex<Option<Link>>>;

struct Inner {
    /// `None` on an `--insecure` node: plain TCP.
    tls: Option<PeerTls>,
    /// The members' incarnations: a peer presenting another is not talked to.
    incarnations: Arc<Incarnations>,
    links: std::sync::Mutex<HashMap<String, Slot>>,
}

impl std::fmt::Debug for PeerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerClient")
            .field("tls", &self.inner.tls.is_some())
            .finish()
    }
}

impl PeerClient {
    /// A client that authenticates with `tls` (or, with `None`, talks plain TCP) and checks
    /// every server's incarnation against `incarnations`.
    pub fn new(tls: Option<PeerTls>, incarnations: Arc<Incarnations>) -> Self {
        PeerClient {
            inner: Arc::new(Inner {
                tls,
                incarnations,
                links: std::sync::Mutex::new(HashMap::new()),
            }),
        }
    }

    fn slot(&self, addr: &str) -> Slot {
        // Map operations only; a panic cannot leave it half-updated.
        let mut links = self.inner.links.lock().unwrap_or_else(|p| p.into_inner());
        links.entry(addr.to_string()).or_default().clone()
    }

    fn forget(&self, addr: &str) {
        let mut links = self.inner.links.lock().unwrap_or_else(|p| p.into_inner());
        links.remove(addr);
    }

    async fn link(&self, addr: &str) -> Result<http2::SendRequest<PeerBody>, PeerError> {
        let slot = self.slot(addr);
        let mut link = slot.lock().await;
        if let Some((open, identity)) = link.as_ref() {
            if !open.is_closed() {
                // Checked on every call, not only at connect: an incarnation is recorded once
                // its id is a member, which may be after the connection opened.
                if let Some(identity) = identity {
                    self.inner
                        .incarnations
                        .check(identity.id, identity.incarnation)
                        .map_err(|e| PeerError::Unreachable {
                            addr: addr.to_string(),
                            reason: e.to_string(),
                        })?;
                }
                return Ok(open.clone());
            }
        }
        *link = None;
        let connected = tokio::time::timeout(CONNECT_TIMEOUT, self.connect(addr))
            .await
            .map_err(|_| PeerError::Unreachable {
                addr: addr.to_string(),
                reason: format!("no connection within {CONNECT_TIMEOUT:?}"),
            })
            .and_then(|result| result);
        match connected {
            Ok((sender, identity)) => {
                *link = Some((sender.clone(), identity));
                Ok(sender)
            }
            Err(e) => {
                drop(link);
                self.forget(addr);
                Err(e)
            }
        }
    }

    async fn connect(&self, addr: &str) -> Result<Link, PeerError> {
        let unreachable = |reason: String| PeerError::Unreachable {
            addr: addr.to_string(),
            reason,
        };
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "set_nodelay");
        }
        let mut builder = http2::Builder::new(TokioExecutor::new());
        builder
            .timer(TokioTimer::new())
            .initial_stream_window_size(4 << 20)
            .initial_connection_window_size(16 << 20)
            .max_frame_size(256 << 10)
            .keep_alive_interval(Duration::from_secs(5))
            .keep_alive_timeout(Duration::from_secs(10))
            .keep_alive_while_idle(true);
        let address = addr.to_string();
        match &self.inner.tls {
            Some(tls) => {
                let connector = TlsConnector::from(tls.client.clone());
                let stream = connector
                    .connect(tls.server_name.clone(), tcp)
                    .await
                    .map_err(|e| unreachable(format!("TLS: {e}")))?;
                let identity = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|chain| chain.first())
                    .and_then(peer_identity)
                    .ok_or_else(|| unreachable("its certificate names no member".into()))?;
                self.inner
                    .incarnations
                    .check(identity.id, identity.incarnation)
                    .map_err(|e| unreachable(e.to_string()))?;
                let (sender, connection) = builder
                    .handshake(TokioIo::new(stream))
                    .await
                    .map_err(|e| unreachable(format!("HTTP/2: {e}")))?;
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(peer = %address, error = %e, "peer connection ended");
                    }
                });
                Ok((sender, Some(identity)))
            }
            None => {
                let (sender, connection) = builder
                    .handshake(TokioIo::new(tcp))
                    .await
                    .map_err(|e| unreachable(format!("HTTP/2: {e}")))?;
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(peer = %address, error = %e, "peer connection ended");
                    }
                });
                Ok((sender, None))
            }
        }
    }

    /// POSTs `body` to `path` on the peer at `addr` and returns the body of a 200 answer.
    ///
    /// # Errors
    /// [`PeerError`] saying whether the request may have reached the peer.
    pub async fn post(
        &self,
        addr: &str,
        path: &str,
        body: PeerBody,
        timeout: Duration,
    ) -> Result<Bytes, PeerError> {
        let exchange = async {
            let mut link = self.link(addr).await?;
            if link.ready().await.is_err() {
                // The connection died before anything was sent on it: dial again once.
                *self.slot(addr).lock().await = None;
                link = self.link(addr).await?;
                link.ready().await.map_err(|e| PeerError::Unreachable {
                    addr: addr.to_string(),
                    reason: e.to_string(),
                })?;
            }
            let request = hyper::Request::post(format!("http://peer{path}"))
                .header("content-type", "application/postcard")
                .body(body)
                .map_err(|e| PeerError::Protocol {
                    addr: addr.to_string(),
                    reason: format!("bad request: {e}"),
                })?;
            let response = link
                .send_request(request)
                .await
                .map_err(|e| PeerError::Protocol {
                    addr: addr.to_string(),
                    reason: e.to_string(),
                })?;
            let status = response.status();
            let body = Limited::new(response.into_body(), limits::ANSWER)
                .collect()
                .await
                .map_err(|e| PeerError::Protocol {
                    addr: addr.to_string(),
                    reason: format!("reading the answer: {e}"),
                })?
                .to_bytes();
            if status != StatusCode::OK {
                let text = String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned();
                return Err(PeerError::Protocol {
                    addr: addr.to_string(),
                    reason: format!("HTTP {status}: {text}"),
                });
            }
            Ok(body)
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(PeerError::Timeout {
                addr: addr.to_string(),
                timeout,
            }),
        }
    }

    /// POSTs postcard-encoded `request` and decodes the postcard answer.
    ///
    /// # Errors
    /// [`PeerError`] as for [`PeerClient::post`].
    pub async fn call<Req, Resp>(
        &self,
        addr: &str,
        path: &str,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp, PeerError>
    where
        Req: serde::Serialize,
        Resp: serde::de::DeserializeOwned,
    {
        let body = postcard::to_stdvec(request).map_err(|e| PeerError::Protocol {
            addr: addr.to_string(),
            reason: format!("encode: {e}"),
        })?;
        let bytes = self.post(addr, path, full_body(body), timeout).await?;
        postcard::from_bytes(&bytes).map_err(|e| PeerError::Protocol {
            addr: addr.to_string(),
            reason: format!("decode answer: {e}"),
        })
    }
}
