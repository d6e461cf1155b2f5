//! Runtime membership changes, one at a time, run by the leader (other nodes forward):
//! `add` makes a running node a learner, waits until it has caught up, then a voter;
//! `remove` takes a node out, handing leadership over first when it is the leader, and refuses
//! a change that would leave fewer reachable voters than a majority unless forced.
//!
//! Membership lives in the replicated log (openraft's membership entries), so it survives
//! restarts; `config.json` only bootstraps a new cluster.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use openraft::async_runtime::WatchReceiver;
use openraft::errors::{ClientWriteError, RaftError};
use openraft::{BasicNode, ChangeMembers, Instant as _};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::{resolve, Node, NodeStatus};

/// Path a node forwards membership requests to on the leader.
pub const FORWARD_MEMBERSHIP_PATH: &str = "/v1/forward/membership";
/// Path the leader tells a removed node that it was removed.
pub const RETIRE_PATH: &str = "/v1/forward/retire";

/// Default wait for a new node to catch up.
pub const ADD_TIMEOUT: Duration = Duration::from_secs(60);
/// Default wait for a removal to commit.
pub const REMOVE_TIMEOUT: Duration = Duration::from_secs(15);

/// A membership change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum MembershipRequest {
    /// Add the node listening at `addr` (it reports its own id).
    Add {
        /// `host:port` of the running node.
        addr: String,
        /// How long it may take to catch up.
        timeout_ms: u64,
    },
    /// Remove the member at `addr`.
    Remove {
        /// `host:port` of the member.
        addr: String,
        /// How long the removal may take.
        timeout_ms: u64,
        /// Remove even if fewer than a majority of the remaining voters are reachable.
        force: bool,
    },
}

/// The membership after a change, as `members` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Members {
    /// Voting members: id and address.
    pub voters: BTreeMap<u64, String>,
    /// Learners (catching up, not voting): id and address.
    pub learners: BTreeMap<u64, String>,
    /// The leader's id, if known.
    pub leader: Option<u64>,
    /// On the leader: the members it heard from within the last few heartbeats (itself
    /// included). Empty on other nodes.
    pub reachable: Vec<u64>,
}

/// Why a membership change was refused or did not finish.
#[derive(Debug, Clone, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum MembershipError {
    /// Not `host:port`.
    #[error("malformed address {0:?}: expected HOST:PORT")]
    BadAddress(String),
    /// The node is in the membership already.
    #[error("{addr} is already a member (node {id})")]
    AlreadyMember {
        /// The address.
        addr: String,
        /// Its node id.
        id: u64,
    },
    /// No member has that address.
    #[error("{0} is not a member of the cluster")]
    NotMember(String),
    /// Two nodes claim the same id.
    #[error("the node at {addr} says it is node {id}, but node {id} is {member} in this cluster")]
    IdTaken {
        /// The new node's address.
        addr: String,
        /// The id it reports.
        id: u64,
        /// The member that has it.
        member: String,
    },
    /// The node to add does not answer.
    #[error("cannot reach {addr}: {reason} (is `host --id N` running there?)")]
    Unreachable {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// Another change is running.
    #[error("another membership change is in progress; try again when it is done")]
    Busy,
    /// The change did not finish in time.
    #[error("timed out after {secs} s: {reached}")]
    Timeout {
        /// The timeout.
        secs: u64,
        /// How far it got.
        reached: String,
    },
    /// Removing would leave the cluster without a reachable majority.
    #[error("removing {addr} would leave {reachable} of {voters} voters reachable, fewer than a majority; pass --force to remove it anyway")]
    NoQuorum {
        /// The address.
        addr: String,
        /// Reachable voters after the change.
        reachable: usize,
        /// Voters after the change.
        voters: usize,
    },
    /// The last voter cannot go.
    #[error("{0} is the last voter; a cluster needs at least one")]
    LastVoter(String),
    /// No leader to run the change.
    #[error("no leader: {0}")]
    NoLeader(String),
    /// Raft refused or failed.
    #[error("raft: {0}")]
    Raft(String),
    /// Leadership moved before the change was proposed (nothing appended): safe to retry.
    #[error("leadership changed: {0}")]
    LeaderChanged(String),
}

impl Node {
    /// The current membership as this node knows it.
    pub fn members(&self) -> Members {
        let metrics = self.inner.raft.metrics().borrow_watched().clone();
        let membership = metrics.membership_config.membership();
        let addr = |id: &u64| {
            membership
                .get_node(id)
                .map(|n| n.addr.clone())
                .unwrap_or_default()
        };
        let is_leader = metrics.current_leader == Some(self.inner.id);
        let reachable = if is_leader {
            membership
                .voter_ids()
                .chain(membership.learner_ids())
                .filter(|id| self.recently_heard(*id))
                .collect()
        } else {
            Vec::new()
        };
        Members {
            voters: membership.voter_ids().map(|id| (id, addr(&id))).collect(),
            learners: membership.learner_ids().map(|id| (id, addr(&id))).collect(),
            leader: metrics.current_leader,
            reachable,
        }
    }

    /// Runs a membership change on the leader (forwarding it there from any other node).
    ///
    /// # Errors
    /// [`MembershipError`] saying what was wrong or how far the change got.
    pub async fn change_membership(
        &self,
        request: MembershipRequest,
    ) -> Result<Members, MembershipError> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.try_change_membership(&request).await {
                Err(MembershipError::LeaderChanged(reason)) if Instant::now() < deadline => {
                    tracing::info!(%reason, "leadership moved; retrying the membership change");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(MembershipError::LeaderChanged(reason)) => {
                    return Err(MembershipError::NoLeader(reason))
                }
                other => return other,
            }
        }
    }

    /// One attempt: run here if this node leads, else forward to the leader.
    async fn try_change_membership(
        &self,
        request: &MembershipRequest,
    ) -> Result<Members, MembershipError> {
        let request = request.clone();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let metrics = self.inner.raft.metrics().borrow_watched().clone();
            match metrics.current_leader {
                Some(leader) if leader == self.inner.id => return self.lead_change(request).await,
                Some(leader) => {
                    let Some(addr) = metrics
                        .membership_config
                        .membership()
                        .get_node(&leader)
                        .map(|n| n.addr.clone())
                    else {
                        return Err(MembershipError::NoLeader("leader address unknown".into()));
                    };
                    let timeout = request_timeout(&request) + Duration::from_secs(10);
                    return self
                        .inner
                        .peers
                        .call::<_, Result<Members, MembershipError>>(
                            &addr,
                            FORWARD_MEMBERSHIP_PATH,
                            &request,
                            timeout,
                        )
                        .await
                        .map_err(|e| MembershipError::NoLeader(e.to_string()))?;
                }
                None if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                None => {
                    return Err(MembershipError::LeaderChanged(
                        "none elected within 5 s".into(),
                    ))
                }
            }
        }
    }

    /// Serves a forwarded change: only the leader runs it.
    pub(crate) async fn handle_forwarded_membership(
        &self,
        request: MembershipRequest,
    ) -> Result<Members, MembershipError> {
        if !self.inner.raft.is_leader() {
            return Err(MembershipError::LeaderChanged(
                "the node asked is not the leader".into(),
            ));
        }
        self.lead_change(request).await
    }

    async fn lead_change(&self, request: MembershipRequest) -> Result<Members, MembershipError> {
        let Ok(_one_at_a_time) = self.inner.membership_lock.try_lock() else {
            return Err(MembershipError::Busy);
        };
        match request {
            MembershipRequest::Add { addr, timeout_ms } => {
                self.add(&addr, Duration::from_millis(timeout_ms)).await
            }
            MembershipRequest::Remove {
                addr,
                timeout_ms,
                force,
            } => {
                self.remove(&addr, Duration::from_millis(timeout_ms), force)
                    .await
            }
        }
    }

    async fn add(&self, addr: &str, timeout: Duration) -> Result<Members, MembershipError> {
        check_address(addr)?;
        let status: NodeStatus = self
            .inner
            .peers
            .get_json(addr, "/v1/status", Duration::from_secs(3))
            .await
            .map_err(|e| MembershipError::Unreachable {
                addr: addr.to_string(),
                reason: e.to_string(),
            })?;
        let id = status.id;
        let members = self.members();
        let resuming = members.learners.get(&id).is_some_and(|a| a == addr);
        let others = members
            .voters
            .iter()
            .chain(members.learners.iter().filter(|_| !resuming));
        for (member_id, member_addr) in others {
            if *member_id == id && member_addr == addr {
                return Err(MembershipError::AlreadyMember {
                    addr: addr.to_string(),
                    id,
                });
            }
            if *member_id == id {
                return Err(MembershipError::IdTaken {
                    addr: addr.to_string(),
                    id,
                    member: member_addr.clone(),
                });
            }
            if member_addr == addr {
                return Err(MembershipError::AlreadyMember {
                    addr: addr.to_string(),
                    id: *member_id,
                });
            }
        }
        let node = BasicNode {
            addr: addr.to_string(),
        };
        // A learner left by an earlier attempt (timed out, or leadership moved) is resumed.
        if !resuming {
            match self.inner.raft.add_learner(id, node, false).await {
                Ok(_) => {}
                Err(RaftError::APIError(ClientWriteError::ForwardToLeader(e))) => {
                    return Err(MembershipError::LeaderChanged(e.to_string()))
                }
                Err(e) => return Err(MembershipError::Raft(e.to_string())),
            }
        }
        let target = self.status().last_log_index.unwrap_or(0);
        tracing::info!(id, addr, target, "new learner; waiting until it catches up");
        let deadline = Instant::now() + timeout;
        let mut last_reported = 0;
        loop {
            let matched = self.matched(id);
            if matched >= target {
                break;
            }
            if matched >= last_reported + 1000 || (matched > 0 && last_reported == 0) {
                tracing::info!(id, matched, target, "learner catching up");
                last_reported = matched;
            }
            if Instant::now() >= deadline {
                return Err(MembershipError::Timeout {
                    secs: timeout.as_secs(),
                    reached: format!(
                        "node {id} at {addr} is a learner that has replicated {matched} of {target} entries; it stays a learner (remove-node {addr} to drop it)"
                    ),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.commit_change(
            ChangeMembers::AddVoterIds(BTreeSet::from([id])),
            REMOVE_TIMEOUT,
        )
        .await?;
        tracing::info!(id, addr, "node is a voter");
        Ok(self.members())
    }

    async fn remove(
        &self,
        addr: &str,
        timeout: Duration,
        force: bool,
    ) -> Result<Members, MembershipError> {
        check_address(addr)?;
        let members = self.members();
        let find = |set: &BTreeMap<u64, String>| {
            set.iter()
                .find(|(_, a)| a.as_str() == addr)
                .map(|(id, _)| *id)
        };
        if let Some(id) = find(&members.learners) {
            self.commit_change(ChangeMembers::RemoveNodes(BTreeSet::from([id])), timeout)
                .await?;
            self.tell_removed(addr).await;
            return Ok(self.members());
        }
        let Some(id) = find(&members.voters) else {
            return Err(MembershipError::NotMember(addr.to_string()));
        };
        let remaining: Vec<u64> = members
            .voters
            .keys()
            .copied()
            .filter(|v| *v != id)
            .collect();
        if remaining.is_empty() {
            return Err(MembershipError::LastVoter(addr.to_string()));
        }
        let reachable = remaining
            .iter()
            .filter(|v| self.recently_heard(**v))
            .count();
        if reachable < remaining.len() / 2 + 1 && !force {
            return Err(MembershipError::NoQuorum {
                addr: addr.to_string(),
                reachable,
                voters: remaining.len(),
            });
        }
        if id == self.inner.id {
            return self
                .hand_over_and_remove(addr, &remaining, timeout, force)
                .await;
        }
        self.commit_change(ChangeMembers::RemoveVoters(BTreeSet::from([id])), timeout)
            .await?;
        // A removed voter is still a learner until removed as a node.
        self.commit_change(ChangeMembers::RemoveNodes(BTreeSet::from([id])), timeout)
            .await?;
        self.tell_removed(addr).await;
        Ok(self.members())
    }

    /// The leader removes itself: first hands leadership to the most up-to-date remaining voter,
    /// then asks the new leader to remove it.
    async fn hand_over_and_remove(
        &self,
        addr: &str,
        remaining: &[u64],
        timeout: Duration,
        force: bool,
    ) -> Result<Members, MembershipError> {
        let Some(successor) = remaining.iter().copied().max_by_key(|v| self.matched(*v)) else {
            return Err(MembershipError::LastVoter(addr.to_string()));
        };
        tracing::info!(
            successor,
            "removing the leader: handing leadership over first"
        );
        self.inner
            .raft
            .trigger()
            .transfer_leader(successor)
            .await
            .map_err(|e| MembershipError::Raft(e.to_string()))?;
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.inner.raft.is_leader() || self.members().leader.is_none() {
            if Instant::now() >= deadline {
                return Err(MembershipError::Timeout {
                    secs: 5,
                    reached: format!("node {successor} did not take over leadership"),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Box::pin(self.change_membership(MembershipRequest::Remove {
            addr: addr.to_string(),
            timeout_ms: timeout.as_millis() as u64,
            force,
        }))
        .await
    }

    async fn commit_change(
        &self,
        change: ChangeMembers<u64, BasicNode>,
        timeout: Duration,
    ) -> Result<(), MembershipError> {
        match tokio::time::timeout(timeout, self.inner.raft.change_membership(change, false)).await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(e)))) => {
                Err(MembershipError::LeaderChanged(e.to_string()))
            }
            Ok(Err(e)) => Err(MembershipError::Raft(e.to_string())),
            Err(_) => Err(MembershipError::Timeout {
                secs: timeout.as_secs(),
                reached: "the membership change was proposed but not committed".into(),
            }),
        }
    }

    /// Best effort: tells a removed node to stop taking part.
    async fn tell_removed(&self, addr: &str) {
        let told: Result<(), _> = self
            .inner
            .peers
            .call(addr, RETIRE_PATH, &self.inner.id, Duration::from_secs(2))
            .await;
        if let Err(e) = told {
            tracing::info!(addr, error = %e, "could not tell the removed node; it will find out");
        }
    }

    /// Stops this node's Raft: it was removed from the cluster.
    pub(crate) async fn retire(&self, by: u64) {
        let members = self.members();
        if members.voters.contains_key(&self.inner.id)
            || members.learners.contains_key(&self.inner.id)
        {
            // Not yet applied here; the leader's word is enough, the log will agree.
            tracing::info!(by, "removed from the cluster by the leader");
        }
        tracing::warn!(
            by,
            "this node was removed from the cluster and stops taking part"
        );
        if let Err(e) = self.inner.raft.shutdown().await {
            tracing::warn!(error = %e, "raft shutdown");
        }
    }

    /// The leader's replication progress for `id` (0 when unknown).
    fn matched(&self, id: u64) -> u64 {
        let metrics = self.inner.raft.metrics().borrow_watched().clone();
        metrics
            .replication
            .as_ref()
            .and_then(|r| r.get(&id).cloned().flatten())
            .map_or(0, |log_id| log_id.index)
    }

    /// Whether the leader heard from `id` within the last few election timeouts.
    fn recently_heard(&self, id: u64) -> bool {
        if id == self.inner.id {
            return true;
        }
        let metrics = self.inner.raft.metrics().borrow_watched().clone();
        let Some(heartbeat) = metrics.heartbeat.as_ref() else {
            return false;
        };
        // Heartbeats go out every heartbeat interval; a node silent for several is not counted.
        let window = Duration::from_millis((5 * self.inner.heartbeat_ms).max(500));
        heartbeat
            .get(&id)
            .cloned()
            .flatten()
            .is_some_and(|at| at.elapsed() < window)
    }
}

/// `--join`: asks the cluster (through the member at `via`) to add this node, retrying until
/// it is a member or the node stops. Progress goes to the log.
pub(super) async fn join(
    node: Node,
    via: String,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    tokio::pin!(shutdown);
    let own = node.inner.addr.to_string();
    loop {
        let asked = async {
            let status: NodeStatus = node
                .inner
                .peers
                .get_json(&via, "/v1/status", Duration::from_secs(2))
                .await
                .map_err(|e| e.to_string())?;
            let leader = status.leader_addr.ok_or("the member knows no leader yet")?;
            let request = MembershipRequest::Add {
                addr: own.clone(),
                timeout_ms: ADD_TIMEOUT.as_millis() as u64,
            };
            node.inner
                .peers
                .call::<_, Result<Members, MembershipError>>(
                    &leader,
                    FORWARD_MEMBERSHIP_PATH,
                    &request,
                    ADD_TIMEOUT + Duration::from_secs(10),
                )
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())
        };
        let outcome = tokio::select! {
            _ = &mut shutdown => return,
            outcome = asked => outcome,
        };
        match outcome {
            Ok(members) => {
                tracing::info!(voters = ?members.voters.keys().collect::<Vec<_>>(), "joined the cluster");
                return;
            }
            Err(reason) if reason.contains("already a member") => return,
            Err(reason) => tracing::warn!(via, %reason, "joining failed; retrying in 2 s"),
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}

fn request_timeout(request: &MembershipRequest) -> Duration {
    match request {
        MembershipRequest::Add { timeout_ms, .. }
        | MembershipRequest::Remove { timeout_ms, .. } => Duration::from_millis(*timeout_ms),
    }
}

fn check_address(addr: &str) -> Result<(), MembershipError> {
    let well_formed = addr
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
    if !well_formed || resolve(addr).is_err() {
        return Err(MembershipError::BadAddress(addr.to_string()));
    }
    Ok(())
}
