//! The write and read paths: find the leader, stamp and replicate, forward from followers, and
//! linearizable reads by read index.
//!
//! A write is retried only when it certainly never reached a leader (no leader yet, "not leader"
//! answers, connection refused); once a leader may have appended it, a timeout is reported as
//! such, because retrying could apply the command twice.

use std::time::Duration;

use openraft::async_runtime::WatchReceiver;
use openraft::errors::{ClientWriteError, RaftError};
use openraft::{ReadPolicy, ServerState};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::{now_ms, Node};
use crate::http::client::PeerError;
use crate::raft::{ApplyOutcome, Envelope, Payload};

/// Least time an install entry may take to commit.
const INSTALL_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Path a follower forwards writes to on the leader.
pub const FORWARD_WRITE_PATH: &str = "/v1/forward/write";
/// Path a follower asks the leader's read index at.
pub const READ_INDEX_PATH: &str = "/v1/forward/read-index";

/// How fresh a read must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Consistency {
    /// Reflects every write acknowledged before the read started (read index via the leader).
    #[default]
    Linearizable,
    /// This node's state as is: fast, possibly stale, works without a leader.
    Local,
}

/// A committed entry and what applying it produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Committed {
    /// Its log index.
    pub index: u64,
    /// Its leader's term.
    pub term: u64,
    /// The result.
    pub outcome: ApplyOutcome,
}

/// Why a write got no answer.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// No leader could be found in time: the write was not appended.
    #[error("no leader elected within {0:?}: is a majority of the cluster up?")]
    NoLeader(Duration),
    /// A leader took the write but no quorum confirmed it in time: it may still commit.
    #[error("not committed within {0:?}: no quorum confirmed the write (it may still commit)")]
    Timeout(Duration),
    /// The node is shutting down or Raft failed.
    #[error("raft is not running: {0}")]
    Stopped(String),
    /// The leader could not be reached and the outcome is unknown.
    #[error("lost contact with the leader, outcome unknown: {0}")]
    Unknown(String),
}

/// Why a read got no answer.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// Could not confirm the leader's read index in time.
    #[error("cannot confirm a linearizable read within {0:?}: no leader or no quorum (retry, or read with consistency=local)")]
    NoQuorum(Duration),
    /// The node restarted and has not yet re-applied its committed log (it needs a leader).
    #[error("this node is still recovering its log after a restart (no leader reachable yet?)")]
    Recovering,
    /// The state machine could not answer.
    #[error("{0}")]
    Query(#[from] crate::raft::state_machine::QueryError),
}

/// The leader's answer to a forwarded write.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ForwardAnswer {
    Committed(Committed),
    NotLeader,
    Failed(String),
}

/// The leader's answer to a read-index request.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ReadIndexAnswer {
    Index(u64),
    NotLeader,
    Failed(String),
}

impl Node {
    fn leader(&self) -> Option<(u64, String)> {
        let metrics = self.inner.raft.metrics().borrow_watched().clone();
        let leader = metrics.current_leader?;
        let addr = metrics
            .membership_config
            .membership()
            .get_node(&leader)?
            .addr
            .clone();
        Some((leader, addr))
    }

    /// Waits (at most until `deadline`, at most `slice`) for the Raft metrics to change.
    async fn wait_for_change(&self, deadline: Instant, slice: Duration) {
        let mut rx = self.inner.raft.metrics();
        let until = deadline.min(Instant::now() + slice);
        // Either outcome (changed, or slice over) means: look again.
        let _ = tokio::time::timeout_at(until, rx.changed()).await;
    }

    /// Replicates `payload` through the leader and returns once it is applied here or there.
    ///
    /// # Errors
    /// [`WriteError`] when no leader is found or no quorum confirms within the write timeout.
    pub async fn write(&self, payload: Payload) -> Result<Committed, WriteError> {
        let timeout = self.write_timeout_for(&payload).await;
        let deadline = Instant::now() + timeout;
        let mut reached_leader = false;
        loop {
            if Instant::now() >= deadline {
                return Err(if reached_leader {
                    WriteError::Timeout(timeout)
                } else {
                    WriteError::NoLeader(timeout)
                });
            }
            match self.leader() {
                None => {
                    self.wait_for_change(deadline, Duration::from_millis(100))
                        .await
                }
                Some((leader, _)) if leader == self.inner.id => {
                    reached_leader = true;
                    match self.write_as_leader(payload.clone(), deadline).await? {
                        Some(committed) => return Ok(committed),
                        None => {
                            self.wait_for_change(deadline, Duration::from_millis(50))
                                .await
                        }
                    }
                }
                Some((_, addr)) => {
                    let remaining = deadline.saturating_duration_since(Instant::now());
                    let answer: Result<ForwardAnswer, PeerError> = self
                        .inner
                        .peers
                        .call(&addr, FORWARD_WRITE_PATH, &payload, remaining)
                        .await;
                    match answer {
                        Ok(ForwardAnswer::Committed(committed)) => return Ok(committed),
                        Ok(ForwardAnswer::NotLeader) => {
                            self.wait_for_change(deadline, Duration::from_millis(50))
                                .await
                        }
                        Ok(ForwardAnswer::Failed(reason)) => {
                            return Err(WriteError::Unknown(reason))
                        }
                        Err(PeerError::Unreachable { .. }) => {
                            self.wait_for_change(deadline, Duration::from_millis(100))
                                .await
                        }
                        Err(PeerError::Timeout { .. }) => return Err(WriteError::Timeout(timeout)),
                        Err(other) => return Err(WriteError::Unknown(other.to_string())),
                    }
                }
            }
        }
    }

    /// How long a write of `payload` may take. A plugin install is first compiled here (so the
    /// swap on the apply path finds it compiled and other writes are not held up behind a
    /// compile), outside the timeout; its entry is large, so it gets at least 10 s.
    async fn write_timeout_for(&self, payload: &Payload) -> Duration {
        match payload {
            Payload::InstallPlugin { image, .. } => {
                self.precompile(image.clone()).await;
                self.inner.write_timeout.max(INSTALL_WRITE_TIMEOUT)
            }
            _ => self.inner.write_timeout,
        }
    }

    /// Appends on this node as leader. `Ok(None)`: not the leader after all (nothing appended).
    async fn write_as_leader(
        &self,
        payload: Payload,
        deadline: Instant,
    ) -> Result<Option<Committed>, WriteError> {
        let envelope = Envelope {
            leader_time_ms: now_ms(),
            payload,
        };
        let timeout = self.inner.write_timeout;
        match tokio::time::timeout_at(deadline, self.inner.raft.client_write(envelope)).await {
            Err(_) => Err(WriteError::Timeout(timeout)),
            Ok(Ok(response)) => Ok(Some(Committed {
                index: response.log_id.index,
                term: response.log_id.leader_id.term,
                outcome: response.data,
            })),
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_)))) => Ok(None),
            Ok(Err(RaftError::APIError(other))) => Err(WriteError::Unknown(other.to_string())),
            Ok(Err(RaftError::Fatal(fatal))) => Err(WriteError::Stopped(fatal.to_string())),
        }
    }

    /// Serves a write forwarded by a follower: appends only if this node leads, never forwards.
    pub(crate) async fn handle_forwarded_write(&self, payload: Payload) -> ForwardAnswer {
        let deadline = Instant::now() + self.write_timeout_for(&payload).await;
        if !self.inner.raft.is_leader() {
            return ForwardAnswer::NotLeader;
        }
        match self.write_as_leader(payload, deadline).await {
            Ok(Some(committed)) => ForwardAnswer::Committed(committed),
            Ok(None) => ForwardAnswer::NotLeader,
            Err(e) => ForwardAnswer::Failed(e.to_string()),
        }
    }

    /// Runs a plugin query with the requested freshness.
    ///
    /// # Errors
    /// [`ReadError::NoQuorum`] if a linearizable read cannot be confirmed within the write
    /// timeout; [`ReadError::Query`] if the plugin cannot answer.
    pub async fn read(
        &self,
        query: &[u8],
        consistency: Consistency,
    ) -> Result<Result<Vec<u8>, Vec<u8>>, ReadError> {
        let timeout = self.inner.write_timeout;
        let deadline = Instant::now() + timeout;
        let mut recovered = self.inner.recovered.subscribe();
        if tokio::time::timeout_at(deadline, recovered.wait_for(|done| *done))
            .await
            .is_err()
        {
            return Err(ReadError::Recovering);
        }
        if consistency == Consistency::Linearizable {
            let index = self
                .read_index(deadline)
                .await
                .ok_or(ReadError::NoQuorum(timeout))?;
            let remaining = deadline.saturating_duration_since(Instant::now());
            self.inner
                .raft
                .wait(Some(remaining))
                .applied_index_at_least(Some(index), "linearizable read")
                .await
                .map_err(|_| ReadError::NoQuorum(timeout))?;
        }
        Ok(self.inner.machine.query(now_ms(), query)?)
    }

    /// The leader's read index: every write acknowledged before now is at or below it.
    async fn read_index(&self, deadline: Instant) -> Option<u64> {
        loop {
            if Instant::now() >= deadline {
                return None;
            }
            match self.leader() {
                None => {
                    self.wait_for_change(deadline, Duration::from_millis(100))
                        .await
                }
                Some((leader, _)) if leader == self.inner.id => {
                    match self.local_read_index(deadline).await {
                        ReadIndexAnswer::Index(index) => return Some(index),
                        _ => {
                            self.wait_for_change(deadline, Duration::from_millis(50))
                                .await
                        }
                    }
                }
                Some((_, addr)) => {
                    let remaining = deadline.saturating_duration_since(Instant::now());
                    match self
                        .inner
                        .peers
                        .call(&addr, READ_INDEX_PATH, &(), remaining)
                        .await
                    {
                        Ok(ReadIndexAnswer::Index(index)) => return Some(index),
                        _ => {
                            self.wait_for_change(deadline, Duration::from_millis(50))
                                .await
                        }
                    }
                }
            }
        }
    }

    /// As leader, confirms leadership with a quorum and returns the read index.
    pub(crate) async fn local_read_index(&self, deadline: Instant) -> ReadIndexAnswer {
        let raft = &self.inner.raft;
        match tokio::time::timeout_at(deadline, raft.get_read_log_id(ReadPolicy::ReadIndex)).await {
            Err(_) => ReadIndexAnswer::Failed("timeout".into()),
            Ok(Ok((read_log_id, _applied))) => ReadIndexAnswer::Index(read_log_id.index()),
            Ok(Err(RaftError::APIError(_))) => ReadIndexAnswer::NotLeader,
            Ok(Err(e)) => ReadIndexAnswer::Failed(e.to_string()),
        }
    }

    /// Serves a follower's read-index request.
    pub(crate) async fn handle_read_index(&self) -> ReadIndexAnswer {
        if self.inner.raft.metrics().borrow_watched().state != ServerState::Leader {
            return ReadIndexAnswer::NotLeader;
        }
        self.local_read_index(Instant::now() + self.inner.write_timeout)
            .await
    }
}

/// Makes this node's `--plugin` the cluster's plugin if the cluster has none: whenever this node
/// leads and no plugin has been applied, it proposes a bootstrap install (a no-op if another
/// install got there first). Ends once a plugin is in place or on shutdown.
pub(crate) async fn bootstrap_plugin(node: Node, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut plugin_rx = node.inner.machine.watch_plugin();
    let mut metrics_rx = node.inner.raft.metrics();
    loop {
        if plugin_rx.borrow().is_some() {
            return;
        }
        if node.inner.raft.is_leader() {
            let image = node.inner.local_plugin.image.clone();
            match node
                .write(Payload::InstallPlugin {
                    image,
                    bootstrap: true,
                })
                .await
            {
                Ok(committed) => {
                    tracing::info!(index = committed.index, outcome = ?committed.outcome, "bootstrap plugin install")
                }
                Err(e) => tracing::warn!(error = %e, "bootstrap plugin install failed; will retry"),
            }
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = plugin_rx.changed() => {}
            _ = metrics_rx.changed() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}
