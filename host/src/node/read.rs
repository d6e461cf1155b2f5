//! The read path: how fresh a read must be, and making this node's state that fresh.
//!
//! A linearizable read asks the leader for its read index (the leader confirms with a quorum
//! that it still leads, so every write acknowledged before the read is at or below that
//! index), then waits until this node has applied that far; a local read takes the node's state
//! as it is. Either way the query runs on a node-local instance, never on the canonical one.

use std::time::Duration;

use openraft::errors::RaftError;
use openraft::ReadPolicy;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::peer::{NodeRequest, NodeResponse};
use super::write::OnLeader;
use super::Node;

/// How fresh a read must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Consistency {
    /// Reflects every write acknowledged before the read started (read index via the leader).
    #[default]
    Linearizable,
    /// This node's state as is: fast, possibly stale, works without a leader.
    Local,
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
    /// The cluster has no plugin yet.
    #[error("no plugin has been installed in the cluster yet")]
    NoPlugin,
}

/// The leader's answer to a read-index request.
#[derive(Debug, Serialize, Deserialize)]
pub enum ReadIndexAnswer {
    /// Every write acknowledged before the request is at or below this index.
    Index(u64),
    /// The node asked does not lead.
    NotLeader,
}

impl Node {
    /// Brings this node's state to `consistency` and returns the log index reads must reflect.
    ///
    /// # Errors
    /// [`ReadError`] when the state cannot be made fresh enough in time.
    pub async fn prepare_read(&self, consistency: Consistency) -> Result<u64, ReadError> {
        let timeout = self.inner.write_timeout;
        let deadline = Instant::now() + timeout;
        let mut recovered = self.inner.recovered.subscribe();
        if tokio::time::timeout_at(deadline, recovered.wait_for(|done| *done))
            .await
            .is_err()
        {
            return Err(ReadError::Recovering);
        }
        if self.inner.machine.status().plugin.is_none() && consistency == Consistency::Local {
            return Err(ReadError::NoPlugin);
        }
        let index = match consistency {
            Consistency::Local => self.applied_index(),
            Consistency::Linearizable => {
                let index = self
                    .on_leader(
                        deadline,
                        NodeRequest::ReadIndex,
                        || self.local_read_index(deadline),
                        |response| match response {
                            NodeResponse::ReadIndex(ReadIndexAnswer::Index(i)) => {
                                Some(OnLeader::Done(i))
                            }
                            NodeResponse::ReadIndex(ReadIndexAnswer::NotLeader) => {
                                Some(OnLeader::NotLeader)
                            }
                            _ => None,
                        },
                    )
                    .await
                    .map_err(|_| ReadError::NoQuorum(timeout))?;
                self.wait_applied(index, deadline)
                    .await
                    .map_err(|_| ReadError::NoQuorum(timeout))?;
                index
            }
        };
        if self.inner.machine.status().plugin.is_none() {
            return Err(ReadError::NoPlugin);
        }
        Ok(index)
    }

    /// Waits until this node has applied `index`.
    pub(crate) async fn wait_applied(&self, index: u64, deadline: Instant) -> Result<(), ()> {
        let mut status = self.inner.machine.watch_status();
        let reached = async {
            status
                .wait_for(|s| s.last_applied.is_some_and(|id| id.index >= index))
                .await
                .is_ok()
        };
        match tokio::time::timeout_at(deadline, reached).await {
            Ok(true) => Ok(()),
            _ => Err(()),
        }
    }

    /// As leader, confirms leadership with a quorum and returns the read index.
    async fn local_read_index(&self, deadline: Instant) -> OnLeader<u64> {
        let raft = &self.inner.raft;
        match tokio::time::timeout_at(deadline, raft.get_read_log_id(ReadPolicy::ReadIndex)).await {
            Ok(Ok((read_log_id, _applied))) => OnLeader::Done(read_log_id.index()),
            Ok(Err(RaftError::APIError(_))) | Err(_) => OnLeader::NotLeader,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "read index failed");
                OnLeader::NotLeader
            }
        }
    }

    /// Serves a follower's read-index request.
    pub(crate) async fn handle_read_index(&self) -> ReadIndexAnswer {
        if !self.inner.raft.is_leader() {
            return ReadIndexAnswer::NotLeader;
        }
        match self
            .local_read_index(Instant::now() + self.inner.write_timeout)
            .await
        {
            OnLeader::Done(index) => ReadIndexAnswer::Index(index),
            OnLeader::NotLeader => ReadIndexAnswer::NotLeader,
        }
    }
}
