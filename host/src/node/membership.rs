//! Runtime membership changes, one at a time, run by the leader (other nodes forward them):
//! `add` makes a running node a learner, waits until it has caught up, then a voter;
//! `remove` takes a node out, handing leadership over first when it is the leader, and refuses
//! a change that would leave fewer reachable voters than a majority unless forced; `join` is
//! how a node started with `--join` asks to be added (and, if its id is still a member from a
//! lost data dir, to have that old incarnation removed first).
//!
//! Membership lives in the replicated log (openraft's membership entries), so it survives
//! restarts; `config.json` only bootstraps a new cluster. Addresses are compared as written or
//! as they resolve (see [`super::addr`]).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use openraft::async_runtime::WatchReceiver;
use openraft::errors::{ClientWriteError, RaftError};
use openraft::{ChangeMembers, Instant as _};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::addr::{is_host_port, same_addr};
use super::peer::{NodeInfo, NodeRequest, NodeResponse};
use super::write::OnLeader;
use super::Node;
use crate::raft::transport::{path, PeerError};
use crate::raft::Member;

/// Default wait for a new node to catch up.
pub const ADD_TIMEOUT: Duration = Duration::from_secs(60);
/// Default wait for a removal to commit.
pub const REMOVE_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a removal that finds too few voters reachable looks again before refusing.
const QUORUM_RECHECK: Duration = Duration::from_secs(3);

/// A membership change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum MembershipRequest {
    /// Add the node listening at `addr` (its API or peer address; it reports its own id).
    Add {
        /// `host:port` of the running node.
        addr: String,
        /// How long it may take to catch up.
        timeout_ms: u64,
    },
    /// Remove the member at `addr` (API or peer address).
    Remove {
        /// `host:port` of the member.
        addr: String,
        /// How long the removal may take.
        timeout_ms: u64,
        /// Remove even if fewer than a majority of the remaining voters are reachable.
        force: bool,
    },
    /// A node started with `--join` asks to be added; an old member with its id is removed
    /// first (it lost its state).
    Join {
        /// Its id.
        id: u64,
        /// Its addresses.
        member: Member,
    },
}

/// The membership, as `members` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Members {
    /// Voting members: id and addresses.
    pub voters: BTreeMap<u64, Member>,
    /// Learners (catching up, not voting): id and addresses.
    pub learners: BTreeMap<u64, Member>,
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
    #[error("cannot reach {addr}: {reason} (is `host --id N` running there, with this cluster's secrets?)")]
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

fn check_address(addr: &str) -> Result<(), MembershipError> {
    if is_host_port(addr) && super::addr::resolve(addr).is_ok() {
        Ok(())
    } else {
        Err(MembershipError::BadAddress(addr.to_string()))
    }
}

/// The member of `set` at `addr` (API or peer address).
fn find(set: &BTreeMap<u64, Member>, addr: &str) -> Option<u64> {
    set.iter()
        .find(|(_, m)| same_addr(&m.api, addr) || same_addr(&m.peer, addr))
        .map(|(id, _)| *id)
}

fn timeout_of(request: &MembershipRequest) -> Duration {
    match request {
        MembershipRequest::Add { timeout_ms, .. }
        | MembershipRequest::Remove { timeout_ms, .. } => Duration::from_millis(*timeout_ms),
        MembershipRequest::Join { .. } => ADD_TIMEOUT + REMOVE_TIMEOUT,
    }
}

impl Node {
    /// The current membership as this node knows it.
    pub fn members(&self) -> Members {
        let metrics = self.inner.raft.metrics().borrow_watched().clone();
        let membership = metrics.membership_config.membership();
        let member = |id: u64| membership.get_node(&id).cloned().map(|m| (id, m));
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
            voters: membership.voter_ids().filter_map(member).collect(),
            learners: membership.learner_ids().filter_map(member).collect(),
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
        if let MembershipRequest::Add { addr, .. } | MembershipRequest::Remove { addr, .. } =
            &request
        {
            check_address(addr)?;
        }
        let deadline = Instant::now() + timeout_of(&request) + Duration::from_secs(10);
        loop {
            let attempt = self
                .on_leader(
                    deadline,
                    NodeRequest::Membership(request.clone()),
                    || async { OnLeader::Done(self.lead_change(request.clone()).await) },
                    |response| match response {
                        NodeResponse::Membership(result) => Some(OnLeader::Done(result)),
                        _ => None,
                    },
                )
                .await
                .map_err(|e| MembershipError::NoLeader(e.to_string()))?;
            match attempt {
                Err(MembershipError::LeaderChanged(reason)) if Instant::now() < deadline => {
                    tracing::info!(%reason, "leadership moved; retrying the membership change");
                    self.wait_for_change(deadline, Duration::from_millis(200))
                        .await;
                }
                Err(MembershipError::LeaderChanged(reason)) => {
                    return Err(MembershipError::NoLeader(reason))
                }
                other => return other,
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
                let info = self.ask_new_node(&addr).await?;
                self.add(
                    info.id,
                    info.member,
                    &addr,
                    Duration::from_millis(timeout_ms),
                )
                .await
            }
            MembershipRequest::Remove {
                addr,
                timeout_ms,
                force,
            } => {
                self.remove(&addr, Duration::from_millis(timeout_ms), force)
                    .await
            }
            MembershipRequest::Join { id, member } => {
                let members = self.members();
                let old = members
                    .voters
                    .get(&id)
                    .or(members.learners.get(&id))
                    .cloned();
                if let Some(old) = old {
                    tracing::warn!(
                        id,
                        "node {id} asks to join again: removing its lost incarnation first"
                    );
                    self.remove(&old.api, REMOVE_TIMEOUT, false).await?;
                }
                let addr = member.api.clone();
                self.add(id, member, &addr, ADD_TIMEOUT).await
            }
        }
    }

    /// Who listens at `addr`: asked over the peer channel, at `addr` itself or, when that is an
    /// API address, at the peer address its `/v1/peer` names.
    async fn ask_new_node(&self, addr: &str) -> Result<NodeInfo, MembershipError> {
        let unreachable = |reason: String| MembershipError::Unreachable {
            addr: addr.to_string(),
            reason,
        };
        let info_at = |peer: String| async move {
            match self
                .inner
                .peers
                .call::<_, NodeResponse>(
                    &peer,
                    path::NODE,
                    &NodeRequest::Info,
                    Duration::from_secs(3),
                )
                .await
            {
                Ok(NodeResponse::Info(info)) => Ok(info),
                Ok(_) => Err("it answered with something else".to_string()),
                Err(e) => Err(e.to_string()),
            }
        };
        if let Ok(info) = info_at(addr.to_string()).await {
            return Ok(info);
        }
        let peer = crate::http::client::peer_address_of(addr)
            .await
            .map_err(unreachable)?;
        info_at(peer).await.map_err(unreachable)
    }

    async fn add(
        &self,
        id: u64,
        member: Member,
        addr: &str,
        timeout: Duration,
    ) -> Result<Members, MembershipError> {
        let members = self.members();
        let resuming = members.learners.get(&id) == Some(&member);
        let others = members
            .voters
            .iter()
            .chain(members.learners.iter().filter(|_| !resuming));
        for (member_id, existing) in others {
            let same_node =
                same_addr(&existing.api, &member.api) || same_addr(&existing.peer, &member.peer);
            if *member_id == id && same_node {
                return Err(MembershipError::AlreadyMember {
                    addr: addr.to_string(),
                    id,
                });
            }
            if *member_id == id {
                return Err(MembershipError::IdTaken {
                    addr: addr.to_string(),
                    id,
                    member: existing.api.clone(),
                });
            }
            if same_node {
                return Err(MembershipError::AlreadyMember {
                    addr: addr.to_string(),
                    id: *member_id,
                });
            }
        }
        // A learner left by an earlier attempt (timed out, or leadership moved) is resumed.
        if !resuming {
            match self.inner.raft.add_learner(id, member.clone(), false).await {
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
        let mut metrics = self.inner.raft.metrics();
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
            let changed = tokio::time::timeout_at(deadline, metrics.changed()).await;
            if changed.is_err() {
                return Err(MembershipError::Timeout {
                    secs: timeout.as_secs(),
                    reached: format!(
                        "node {id} at {addr} is a learner that has replicated {matched} of {target} entries; it stays a learner (remove-node {addr} to drop it)"
                    ),
                });
            }
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
        let members = self.members();
        if let Some(id) = find(&members.learners, addr) {
            self.commit_change(ChangeMembers::RemoveNodes(BTreeSet::from([id])), timeout)
                .await?;
            self.tell_removed(members.learners.get(&id)).await;
            return Ok(self.members());
        }
        let Some(id) = find(&members.voters, addr) else {
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
        let majority = remaining.len() / 2 + 1;
        let count_reachable = || {
            remaining
                .iter()
                .filter(|v| self.recently_heard(**v))
                .count()
        };
        // A busy voter may have gone unheard for a moment: look again for a little while
        // before refusing, so only a majority that stays silent refuses the change.
        let settle_by = tokio::time::Instant::now() + QUORUM_RECHECK;
        let mut reachable = count_reachable();
        while reachable < majority && !force && tokio::time::Instant::now() < settle_by {
            tokio::time::sleep(Duration::from_millis(100)).await;
            reachable = count_reachable();
        }
        if reachable < majority && !force {
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
        self.tell_removed(members.voters.get(&id)).await;
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
        let mut metrics = self.inner.raft.metrics();
        while self.inner.raft.is_leader() || self.members().leader.is_none() {
            if tokio::time::timeout_at(deadline, metrics.changed())
                .await
                .is_err()
            {
                return Err(MembershipError::Timeout {
                    secs: 5,
                    reached: format!("node {successor} did not take over leadership"),
                });
            }
        }
        let request = MembershipRequest::Remove {
            addr: addr.to_string(),
            timeout_ms: timeout.as_millis() as u64,
            force,
        };
        let Some((_, leader)) = self.leader() else {
            return Err(MembershipError::NoLeader(
                "no leader after the hand-over".into(),
            ));
        };
        let answer: Result<NodeResponse, PeerError> = self
            .inner
            .peers
            .call(
                &leader.peer,
                path::NODE,
                &NodeRequest::Membership(request),
                timeout + Duration::from_secs(10),
            )
            .await;
        match answer {
            Ok(NodeResponse::Membership(result)) => result,
            Ok(_) => Err(MembershipError::Raft(
                "the new leader answered with something else".into(),
            )),
            Err(e) => Err(MembershipError::NoLeader(e.to_string())),
        }
    }

    async fn commit_change(
        &self,
        change: ChangeMembers<TypeConfigIds, Member>,
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
    async fn tell_removed(&self, member: Option<&Member>) {
        let Some(member) = member else { return };
        let told: Result<NodeResponse, _> = self
            .inner
            .peers
            .call(
                &member.peer,
                path::NODE,
                &NodeRequest::Retire,
                Duration::from_secs(2),
            )
            .await;
        if let Err(e) = told {
            tracing::info!(addr = %member.api, error = %e, "could not tell the removed node; it will find out");
        }
    }

    /// Stops this node's Raft because `sender` says it was removed: believed only when the
    /// sender is the leader this node follows, and its membership no longer has this node (a
    /// member cannot retire another at will).
    pub(crate) async fn retire(&self, sender: Option<u64>) -> Result<(), String> {
        let Some(sender) = sender.or_else(|| self.members().leader) else {
            return Err("retire refused: the sender is unknown".into());
        };
        // Only the leader this node itself follows (learned from appends it checked) may say so:
        // another member claiming to lead, with a membership that leaves this node out, is not
        // believed.
        if self.members().leader != Some(sender) {
            tracing::warn!(
                sender,
                "a retire request from a node this node does not follow as leader was refused"
            );
            return Err(format!(
                "retire refused: node {sender} is not the leader this node follows"
            ));
        }
        let peer = self
            .inner
            .raft
            .metrics()
            .borrow_watched()
            .membership_config
            .membership()
            .get_node(&sender)
            .map(|m| m.peer.clone())
            .ok_or_else(|| format!("retire refused: node {sender} is not a member here"))?;
        let answer: Result<NodeResponse, PeerError> = self
            .inner
            .peers
            .call(
                &peer,
                path::NODE,
                &NodeRequest::Info,
                Duration::from_secs(2),
            )
            .await;
        let info = match answer {
            Ok(NodeResponse::Info(info)) => info,
            _ => return Err("retire refused: cannot confirm with the sender".into()),
        };
        let still_member =
            info.voters.contains_key(&self.inner.id) || info.learners.contains_key(&self.inner.id);
        if info.leader != Some(sender) || still_member {
            tracing::warn!(
                sender,
                "a retire request that the cluster's membership does not back was refused"
            );
            return Err("retire refused: this node is still a member".into());
        }
        tracing::warn!(
            by = sender,
            "this node was removed from the cluster and stops taking part"
        );
        let raft = self.inner.raft.clone();
        let removed_by = self.inner.removed_by.clone();
        // Shut down after answering, so the leader gets its reply.
        tokio::spawn(async move {
            if let Err(e) = raft.shutdown().await {
                tracing::warn!(error = %e, "raft shutdown");
            }
            removed_by.send_replace(Some(sender));
        });
        Ok(())
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

    /// Whether the leader heard from `id` within the last few heartbeats.
    fn recently_heard(&self, id: u64) -> bool {
        if id == self.inner.id {
            return true;
        }
        let metrics = self.inner.raft.metrics().borrow_watched().clone();
        let Some(heartbeat) = metrics.heartbeat.as_ref() else {
            return false;
        };
        // Heartbeats go out every heartbeat interval; a node silent for several is not counted.
        let window = Duration::from_millis((10 * self.inner.heartbeat_ms).max(1500));
        heartbeat
            .get(&id)
            .cloned()
            .flatten()
            .is_some_and(|at| at.elapsed() < window)
    }
}

/// The node id type openraft's membership changes are keyed by.
type TypeConfigIds = u64;

/// `--join`: asks the cluster (through the member at `via`) to add this node, retrying until
/// it is a member or the node stops. Progress goes to the log.
pub(super) async fn join(
    node: Node,
    via: String,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    tokio::pin!(shutdown);
    let request = NodeRequest::Membership(MembershipRequest::Join {
        id: node.inner.id,
        member: node.inner.member.clone(),
    });
    loop {
        let asked = async {
            let peer = match node
                .inner
                .peers
                .call::<_, NodeResponse>(
                    &via,
                    path::NODE,
                    &NodeRequest::Info,
                    Duration::from_secs(2),
                )
                .await
            {
                Ok(NodeResponse::Info(info)) => (info, via.clone()),
                _ => {
                    let peer = crate::http::client::peer_address_of(&via).await?;
                    match node
                        .inner
                        .peers
                        .call::<_, NodeResponse>(
                            &peer,
                            path::NODE,
                            &NodeRequest::Info,
                            Duration::from_secs(2),
                        )
                        .await
                    {
                        Ok(NodeResponse::Info(info)) => (info, peer),
                        Ok(_) => return Err("the member answered with something else".to_string()),
                        Err(e) => return Err(e.to_string()),
                    }
                }
            };
            let (info, _) = peer;
            let leader = info
                .leader
                .and_then(|id| info.voters.get(&id).cloned())
                .ok_or("the member knows no leader yet")?;
            match node
                .inner
                .peers
                .call::<_, NodeResponse>(
                    &leader.peer,
                    path::NODE,
                    &request,
                    ADD_TIMEOUT + REMOVE_TIMEOUT + Duration::from_secs(10),
                )
                .await
            {
                Ok(NodeResponse::Membership(result)) => result.map_err(|e| e.to_string()),
                Ok(_) => Err("the leader answered with something else".to_string()),
                Err(e) => Err(e.to_string()),
            }
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
