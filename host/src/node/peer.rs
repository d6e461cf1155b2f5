//! The node's requests on the peer channel: what one member asks another, typed.
//!
//! Only members reach these (mutual TLS). Even so, a follower can forward nothing but plugin
//! commands as entries: installs, configs, checkpoints and membership changes are requests the
//! leader validates and decides on itself.

use std::collections::BTreeMap;
use std::future::Future;

use openraft::async_runtime::WatchReceiver;
use serde::{Deserialize, Serialize};

use super::membership::{Members, MembershipError, MembershipRequest};
use super::plugin_admin::{AdminError, Installed};
use super::read::ReadIndexAnswer;
use super::write::ForwardAnswer;
use super::Node;
use crate::raft::transport::PeerService;
use crate::raft::typ::Entry;
use crate::raft::{MachineConfig, Member, RequestKey};

/// A request from one member to another.
#[derive(Debug, Serialize, Deserialize)]
pub enum NodeRequest {
    /// A follower's plugin command, for the leader to append.
    Write {
        /// The command bytes.
        command: Vec<u8>,
        /// The client's idempotency key, if any.
        key: Option<RequestKey>,
    },
    /// The leader's read index.
    ReadIndex,
    /// A membership change, run by the leader.
    Membership(MembershipRequest),
    /// A plugin install: the leader validates the component, then appends it.
    Install {
        /// The component.
        bytes: Vec<u8>,
    },
    /// A machine config change: the leader checks its bounds, then appends it.
    Configure(MachineConfig),
    /// A checkpoint entry (a snapshot on every replica at its index).
    Checkpoint,
    /// Who are you and what cluster do you see.
    Info,
    /// You were removed from the cluster: stop taking part.
    Retire,
}

impl NodeRequest {
    /// True when sending it again to another leader cannot act twice: a read index, or a write
    /// whose idempotency key makes a second copy replay the first answer.
    pub fn is_retry_safe(&self) -> bool {
        matches!(
            self,
            NodeRequest::ReadIndex | NodeRequest::Write { key: Some(_), .. } | NodeRequest::Info
        )
    }
}

/// A member's answer.
#[derive(Debug, Serialize, Deserialize)]
pub enum NodeResponse {
    /// To [`NodeRequest::Write`].
    Written(ForwardAnswer),
    /// To [`NodeRequest::ReadIndex`].
    ReadIndex(ReadIndexAnswer),
    /// To [`NodeRequest::Membership`].
    Membership(Result<Members, MembershipError>),
    /// To [`NodeRequest::Install`].
    Installed(Result<Installed, AdminError>),
    /// To [`NodeRequest::Configure`].
    Configured(Result<MachineConfig, AdminError>),
    /// To [`NodeRequest::Checkpoint`]: the checkpoint's index.
    Checkpointed(Result<u64, AdminError>),
    /// To [`NodeRequest::Info`].
    Info(NodeInfo),
    /// To [`NodeRequest::Retire`].
    Retired(Result<(), String>),
}

/// What a member says about itself and the cluster it sees.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Its id.
    pub id: u64,
    /// Its addresses as configured.
    pub member: Member,
    /// Its cluster's name.
    pub cluster: String,
    /// True when it belongs to a cluster (its log holds a membership).
    pub initialized: bool,
    /// The leader it knows.
    pub leader: Option<u64>,
    /// Voters by id.
    pub voters: BTreeMap<u64, Member>,
    /// Learners by id.
    pub learners: BTreeMap<u64, Member>,
    /// Its own incarnation.
    pub incarnation: u64,
    /// The members' incarnations it knows.
    pub incarnations: BTreeMap<u64, u64>,
}

impl Node {
    /// This node's [`NodeInfo`].
    pub(crate) async fn info(&self) -> NodeInfo {
        let metrics = self.inner.raft.metrics().borrow_watched().clone();
        let membership = metrics.membership_config.membership();
        let collect = |ids: &mut dyn Iterator<Item = u64>| -> BTreeMap<u64, Member> {
            ids.filter_map(|id| membership.get_node(&id).map(|m| (id, m.clone())))
                .collect()
        };
        let voters = collect(&mut membership.voter_ids());
        let learners = collect(&mut membership.learner_ids());
        NodeInfo {
            id: self.inner.id,
            member: self.inner.member.clone(),
            cluster: self.inner.raft.config().cluster_name.clone(),
            initialized: self.inner.raft.is_initialized().await.unwrap_or(false),
            leader: metrics.current_leader,
            voters,
            learners,
            incarnation: self.inner.incarnations.own(),
            incarnations: self.inner.incarnations.known(),
        }
    }

    async fn handle_peer(&self, sender: Option<u64>, request: NodeRequest) -> NodeResponse {
        match request {
            NodeRequest::Write { command, key } => {
                NodeResponse::Written(self.handle_forwarded_write(command, key).await)
            }
            NodeRequest::ReadIndex => NodeResponse::ReadIndex(self.handle_read_index().await),
            NodeRequest::Membership(change) => {
                NodeResponse::Membership(self.handle_forwarded_membership(change).await)
            }
            NodeRequest::Install { bytes } => {
                NodeResponse::Installed(self.install_as_leader(bytes).await)
            }
            NodeRequest::Configure(config) => {
                NodeResponse::Configured(self.configure_as_leader(config).await)
            }
            NodeRequest::Checkpoint => {
                NodeResponse::Checkpointed(self.checkpoint_as_leader().await)
            }
            NodeRequest::Info => NodeResponse::Info(self.info().await),
            NodeRequest::Retire => NodeResponse::Retired(self.retire(sender).await),
        }
    }
}

/// The node as the peer listener's service.
pub(super) struct Service {
    pub(super) node: Node,
}

impl PeerService for Service {
    type Request = NodeRequest;
    type Response = NodeResponse;

    fn handle(
        &self,
        sender: Option<u64>,
        request: NodeRequest,
    ) -> impl Future<Output = NodeResponse> + Send {
        let node = self.node.clone();
        async move { node.handle_peer(sender, request).await }
    }

    fn appended(&self, entries: &[Entry]) {
        self.node.precompile_installs(entries);
    }

    fn allowed_when_refused(&self, sender: Option<u64>, request: &NodeRequest) -> bool {
        match request {
            NodeRequest::Info => true,
            NodeRequest::Membership(MembershipRequest::Join { id, .. }) => sender == Some(*id),
            _ => false,
        }
    }
}
