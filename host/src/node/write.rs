//! The write path: find the leader, stamp and replicate there; from a follower, forward.
//!
//! Only plugin commands are ever forwarded as entries. Everything else that enters the log
//! (plugin installs, machine config, checkpoints, membership) is forwarded as a *request* that
//! the leader validates itself before it appends anything ([`Node::on_leader`]).
//!
//! A write is retried only when it certainly never reached a leader (no leader yet, "not
//! leader" answers, connection refused); once a leader may have appended it, a timeout is
//! reported as such, because retrying could apply the command twice (clients retry safely with
//! an idempotency key).

use std::future::Future;
use std::time::Duration;

use openraft::async_runtime::WatchReceiver;
use openraft::errors::{ClientWriteError, RaftError};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::peer::{NodeRequest, NodeResponse};
use super::{now_ms, Node};
use crate::raft::transport::{path, PeerError};
use crate::raft::{ApplyOutcome, Envelope, Member, Payload, RequestKey};

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
#[derive(Debug, Clone, thiserror::Error, Serialize, Deserialize)]
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

/// The leader's answer to a forwarded command.
#[derive(Debug, Serialize, Deserialize)]
pub enum ForwardAnswer {
    /// Applied on the leader.
    Committed(Committed),
    /// The node asked does not lead (nothing was appended).
    NotLeader,
    /// Appended but the outcome is unknown.
    Failed(WriteError),
}

/// What trying to run something on the leader found.
pub(crate) enum OnLeader<T> {
    /// It ran (here or on the leader).
    Done(T),
    /// The node asked does not lead after all: look again.
    NotLeader,
}

impl Node {
    /// The leader this node knows of, with its addresses.
    pub(crate) fn leader(&self) -> Option<(u64, Member)> {
        let metrics = self.inner.raft.metrics().borrow_watched().clone();
        let leader = metrics.current_leader?;
        let member = metrics
            .membership_config
            .membership()
            .get_node(&leader)?
            .clone();
        Some((leader, member))
    }

    /// Waits (at most until `deadline`, at most `slice`) for the Raft metrics to change.
    pub(crate) async fn wait_for_change(&self, deadline: Instant, slice: Duration) {
        let mut rx = self.inner.raft.metrics();
        let until = deadline.min(Instant::now() + slice);
        // Either outcome (changed, or slice over) means: look again.
        let _ = tokio::time::timeout_at(until, rx.changed()).await;
    }

    /// Resolves once this node sees a later term than `term` or another leader than `leader`
    /// (a new election, or the leader lost): a request sent to `leader` may then never be
    /// answered. A moment without a known leader in the same term (a pre-vote that fails) is
    /// not a change.
    async fn leader_moved(&self, leader: u64, term: u64) {
        let mut rx = self.inner.raft.metrics();
        loop {
            {
                let metrics = rx.borrow_watched();
                let other_leader = metrics.current_leader.is_some_and(|id| id != leader);
                if metrics.current_term > term || other_leader {
                    return;
                }
            }
            if rx.changed().await.is_err() {
                // Raft stopped: nothing will move any more.
                return std::future::pending().await;
            }
        }
    }

    /// Runs `local` if this node leads, else sends `request` to the leader and reads its answer
    /// with `answer`; looks again while there is no leader or the one asked no longer leads.
    ///
    /// A request forwarded to a leader that loses its place (killed, paused, cut off) is not
    /// waited for until the deadline: once this node sees a new election, a `retry_safe`
    /// request (a read index, a write with an idempotency key) goes to the new leader, any
    /// other ends at once as [`WriteError::Unknown`] (it may still commit at the old leader).
    ///
    /// # Errors
    /// [`WriteError::NoLeader`] when no leader answers before `deadline`; [`WriteError::Unknown`]
    /// when the leader may have acted but did not answer.
    pub(crate) async fn on_leader<T, Fut>(
        &self,
        deadline: Instant,
        request: NodeRequest,
        local: impl Fn() -> Fut,
        answer: impl Fn(NodeResponse) -> Option<OnLeader<T>>,
    ) -> Result<T, WriteError>
    where
        Fut: Future<Output = OnLeader<T>>,
    {
        let started = Instant::now();
        let retry_safe = request.is_retry_safe();
        loop {
            if Instant::now() >= deadline {
                return Err(WriteError::NoLeader(deadline - started));
            }
            match self.leader() {
                None => {
                    self.wait_for_change(deadline, Duration::from_millis(100))
                        .await
                }
                Some((leader, _)) if leader == self.inner.id => match local().await {
                    OnLeader::Done(value) => return Ok(value),
                    OnLeader::NotLeader => {
                        self.wait_for_change(deadline, Duration::from_millis(50))
                            .await
                    }
                },
                Some((leader, member)) => {
                    let term = self.inner.raft.metrics().borrow_watched().current_term;
                    let remaining = deadline.saturating_duration_since(Instant::now());
                    let call = self
                        .inner
                        .peers
                        .call(&member.peer, path::NODE, &request, remaining);
                    let sent: Result<NodeResponse, PeerError> = tokio::select! {
                        sent = call => sent,
                        () = self.leader_moved(leader, term) => {
                            if retry_safe {
                                continue;
                            }
                            return Err(WriteError::Unknown(format!(
                                "node {leader} stopped leading while it had the request"
                            )));
                        }
                    };
                    match sent {
                        Ok(response) => match answer(response) {
                            Some(OnLeader::Done(value)) => return Ok(value),
                            Some(OnLeader::NotLeader) => {
                                self.wait_for_change(deadline, Duration::from_millis(50))
                                    .await
                            }
                            None => {
                                return Err(WriteError::Unknown(
                                    "the leader answered with something else".into(),
                                ))
                            }
                        },
                        Err(PeerError::Unreachable { .. }) => {
                            self.wait_for_change(deadline, Duration::from_millis(100))
                                .await
                        }
                        Err(PeerError::Timeout { timeout, .. }) => {
                            return Err(WriteError::Timeout(timeout))
                        }
                        Err(other) => return Err(WriteError::Unknown(other.to_string())),
                    }
                }
            }
        }
    }

    /// Replicates a plugin command (with the client's idempotency key, if any) through the
    /// leader and returns once it is applied there.
    ///
    /// # Errors
    /// [`WriteError`] when no leader is found or no quorum confirms within the write timeout.
    pub async fn write_command(
        &self,
        command: Vec<u8>,
        key: Option<RequestKey>,
    ) -> Result<Committed, WriteError> {
        let timeout = self.inner.write_timeout;
        let accepted = Instant::now();
        let deadline = accepted + timeout;
        let payload = match &key {
            Some(key) => Payload::KeyedCommand {
                key: key.clone(),
                command: command.clone(),
            },
            None => Payload::Command(command.clone()),
        };
        let request = NodeRequest::Write { command, key };
        let result = self
            .on_leader(
                deadline,
                request,
                || self.propose_checked(payload.clone(), deadline),
                |response| match response {
                    NodeResponse::Written(ForwardAnswer::Committed(c)) => {
                        Some(OnLeader::Done(Ok(c)))
                    }
                    NodeResponse::Written(ForwardAnswer::NotLeader) => Some(OnLeader::NotLeader),
                    NodeResponse::Written(ForwardAnswer::Failed(e)) => Some(OnLeader::Done(Err(e))),
                    _ => None,
                },
            )
            .await;
        // Every answer counts, failures too: a slow "no leader" is latency the client saw.
        self.inner
            .metrics
            .writes
            .observe_duration(accepted.elapsed());
        match result {
            Ok(done) => done,
            Err(WriteError::NoLeader(_)) => Err(WriteError::NoLeader(timeout)),
            Err(e) => Err(e),
        }
    }

    /// Appends `payload` as leader, reporting "not leader" instead of an error so callers look
    /// again.
    async fn propose_checked(
        &self,
        payload: Payload,
        deadline: Instant,
    ) -> OnLeader<Result<Committed, WriteError>> {
        match self.propose(payload, deadline).await {
            Ok(Some(committed)) => OnLeader::Done(Ok(committed)),
            Ok(None) => OnLeader::NotLeader,
            Err(e) => OnLeader::Done(Err(e)),
        }
    }

    /// Appends on this node as leader, stamped with the log clock. `Ok(None)`: not the leader
    /// after all (nothing appended).
    pub(crate) async fn propose(
        &self,
        payload: Payload,
        deadline: Instant,
    ) -> Result<Option<Committed>, WriteError> {
        let envelope = Envelope {
            leader_time_ms: self.inner.clock.stamp(now_ms()),
            payload,
        };
        let waited = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout_at(deadline, self.inner.raft.client_write(envelope)).await {
            Err(_) => Err(WriteError::Timeout(waited)),
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

    /// Serves a command forwarded by a follower: appends only if this node leads, never
    /// forwards again.
    pub(crate) async fn handle_forwarded_write(
        &self,
        command: Vec<u8>,
        key: Option<RequestKey>,
    ) -> ForwardAnswer {
        if !self.inner.raft.is_leader() {
            return ForwardAnswer::NotLeader;
        }
        if let Some(key) = &key {
            if !RequestKey::is_well_formed(&key.key) {
                return ForwardAnswer::Failed(WriteError::Unknown(
                    "malformed idempotency key".into(),
                ));
            }
        }
        let payload = match key {
            Some(key) => Payload::KeyedCommand { key, command },
            None => Payload::Command(command),
        };
        let deadline = Instant::now() + self.inner.write_timeout;
        match self.propose(payload, deadline).await {
            Ok(Some(committed)) => ForwardAnswer::Committed(committed),
            Ok(None) => ForwardAnswer::NotLeader,
            Err(e) => ForwardAnswer::Failed(e),
        }
    }
}

/// Makes this node's `--plugin` the cluster's plugin if the cluster has none: whenever this node
/// leads and no plugin has been applied, it proposes a bootstrap install carrying its proposed
/// machine config (a no-op if another install got there first). Ends once a plugin is in place
/// or on shutdown.
pub(crate) async fn bootstrap_plugin(node: Node, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut status = node.inner.machine.watch_status();
    let mut metrics = node.inner.raft.metrics();
    loop {
        if status.borrow_and_update().plugin.is_some() {
            return;
        }
        if node.inner.raft.is_leader() {
            let payload = Payload::InstallPlugin {
                image: node.inner.own_plugin.image.clone(),
                bootstrap: true,
                config: node.inner.proposed_config,
            };
            let deadline = Instant::now() + node.inner.write_timeout.max(Duration::from_secs(10));
            match node.propose(payload, deadline).await {
                Ok(Some(committed)) => {
                    tracing::info!(index = committed.index, outcome = ?committed.outcome, "bootstrap plugin install")
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "bootstrap plugin install failed; will retry"),
            }
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = status.changed() => {}
            _ = metrics.changed() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}
