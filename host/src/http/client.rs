//! The HTTP client nodes use to talk to each other (Raft RPC, forwarded writes and read-index
//! requests): one pooled keep-alive client per node, postcard bodies, a deadline per call.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::StatusCode;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Why a peer call failed. `Unreachable` means the request never reached the peer, so it is
/// safe to retry elsewhere; the others leave the outcome unknown.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PeerError {
    /// Connection refused or reset before the request was sent.
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

/// A pooled HTTP/1.1 client for node-to-node calls. Cheap to clone.
#[derive(Clone, Debug)]
pub struct PeerClient {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Default for PeerClient {
    fn default() -> Self {
        Self::new()
    }
}

impl PeerClient {
    /// A client with Nagle off (Raft messages are small and latency-bound).
    pub fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_millis(500)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        PeerClient { client }
    }

    /// POSTs postcard-encoded `request` to `http://{addr}{path}` and decodes the postcard answer.
    ///
    /// # Errors
    /// [`PeerError`] saying whether the request may have reached the peer.
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
        let bytes = self.post(addr, path, body, timeout).await?;
        postcard::from_bytes(&bytes).map_err(|e| PeerError::Protocol {
            addr: addr.to_string(),
            reason: format!("decode answer: {e}"),
        })
    }

    /// GETs `http://{addr}{path}` and decodes the JSON answer (host endpoints such as
    /// `/v1/status`).
    ///
    /// # Errors
    /// [`PeerError`] as for [`PeerClient::call`].
    pub async fn get_json<Resp: serde::de::DeserializeOwned>(
        &self,
        addr: &str,
        path: &str,
        timeout: Duration,
    ) -> Result<Resp, PeerError> {
        self.json(hyper::Method::GET, addr, path, None, timeout)
            .await
    }

    /// POSTs a JSON body and decodes the JSON answer (host admin endpoints).
    ///
    /// # Errors
    /// [`PeerError`] as for [`PeerClient::call`]; an error status carries the problem text.
    pub async fn post_json<Resp: serde::de::DeserializeOwned>(
        &self,
        addr: &str,
        path: &str,
        body: &serde_json::Value,
        timeout: Duration,
    ) -> Result<Resp, PeerError> {
        self.json(hyper::Method::POST, addr, path, Some(body), timeout)
            .await
    }

    /// One JSON exchange: optional JSON body out, JSON answer in.
    async fn json<Resp: serde::de::DeserializeOwned>(
        &self,
        method: hyper::Method,
        addr: &str,
        path: &str,
        body: Option<&serde_json::Value>,
        timeout: Duration,
    ) -> Result<Resp, PeerError> {
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(format!("http://{addr}{path}"));
        let body = match body {
            Some(json) => {
                builder = builder.header("content-type", "application/json");
                Full::new(Bytes::from(json.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        let request = builder.body(body).map_err(|e| PeerError::Protocol {
            addr: addr.to_string(),
            reason: format!("bad request: {e}"),
        })?;
        let bytes = self.exchange(addr, request, timeout).await?;
        serde_json::from_slice(&bytes).map_err(|e| PeerError::Protocol {
            addr: addr.to_string(),
            reason: format!("decode answer: {e}"),
        })
    }

    /// POSTs raw bytes and returns the raw success body.
    ///
    /// # Errors
    /// [`PeerError`] as for [`PeerClient::call`].
    pub async fn post(
        &self,
        addr: &str,
        path: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Bytes, PeerError> {
        let request = hyper::Request::post(format!("http://{addr}{path}"))
            .header("content-type", "application/postcard")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| PeerError::Protocol {
                addr: addr.to_string(),
                reason: format!("bad request: {e}"),
            })?;
        self.exchange(addr, request, timeout).await
    }

    /// Sends one request and returns the body of a 200 answer.
    async fn exchange(
        &self,
        addr: &str,
        request: hyper::Request<Full<Bytes>>,
        timeout: Duration,
    ) -> Result<Bytes, PeerError> {
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| {
                if e.is_connect() {
                    PeerError::Unreachable {
                        addr: addr.to_string(),
                        reason: e.to_string(),
                    }
                } else {
                    PeerError::Protocol {
                        addr: addr.to_string(),
                        reason: e.to_string(),
                    }
                }
            })?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| PeerError::Protocol {
                    addr: addr.to_string(),
                    reason: format!("reading body: {e}"),
                })?
                .to_bytes();
            if status != StatusCode::OK {
                let text = String::from_utf8_lossy(&body);
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
}
