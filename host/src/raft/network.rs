//! Raft RPC to peers: openraft's network traits over [`PeerClient`], postcard bodies, one
//! `/v1/raft/...` path per message kind (served by `http::server`).

use std::future::Future;

use openraft::errors::{NetworkError, RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory, RaftNetworkV2};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};
use openraft::{BasicNode, OptionalSend};

use super::typ::{Snapshot, Vote};
use super::{SnapshotData, TypeConfig};
use crate::http::client::{PeerClient, PeerError};

/// Paths of the Raft RPC endpoints.
pub mod path {
    /// AppendEntries.
    pub const APPEND: &str = "/v1/raft/append";
    /// RequestVote.
    pub const VOTE: &str = "/v1/raft/vote";
    /// Pre-vote (a candidate asks before disrupting the term).
    pub const PRE_VOTE: &str = "/v1/raft/pre-vote";
    /// A whole snapshot in one body.
    pub const SNAPSHOT: &str = "/v1/raft/snapshot";
    /// Leadership hand-over.
    pub const TRANSFER_LEADER: &str = "/v1/raft/transfer-leader";
}

/// Makes one [`PeerConnection`] per peer.
#[derive(Clone, Default)]
pub struct Network {
    client: PeerClient,
}

impl Network {
    /// A factory sharing one pooled HTTP client.
    pub fn new(client: PeerClient) -> Self {
        Network { client }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerConnection;

    async fn new_client(&mut self, _target: u64, node: &BasicNode) -> Self::Network {
        PeerConnection {
            addr: node.addr.clone(),
            client: self.client.clone(),
        }
    }
}

/// The Raft RPC client for one peer.
pub struct PeerConnection {
    addr: String,
    client: PeerClient,
}

fn to_rpc_error(error: PeerError) -> RPCError<TypeConfig> {
    match error {
        PeerError::Unreachable { .. } => RPCError::Unreachable(Unreachable::new(&error)),
        other => RPCError::Network(NetworkError::new(&other)),
    }
}

impl PeerConnection {
    async fn rpc<Req, Resp>(
        &self,
        path: &str,
        request: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<TypeConfig>>
    where
        Req: serde::Serialize,
        Resp: serde::de::DeserializeOwned,
    {
        self.client
            .call(&self.addr, path, request, option.hard_ttl())
            .await
            .map_err(to_rpc_error)
    }
}

impl RaftNetworkV2<TypeConfig> for PeerConnection {
    type SnapshotData = SnapshotData;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.rpc(path::APPEND, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.rpc(path::VOTE, &rpc, &option).await
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.rpc(path::PRE_VOTE, &rpc, &option).await
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let request = (vote, snapshot.meta, snapshot.snapshot.into_inner());
        tokio::select! {
            closed = cancel => Err(StreamingError::Closed(closed)),
            answer = self.rpc(path::SNAPSHOT, &request, &option) => answer.map_err(|e| match e {
                RPCError::Unreachable(u) => StreamingError::Unreachable(u),
                RPCError::Network(n) => StreamingError::Network(n),
                other => StreamingError::Network(NetworkError::from_string(other.to_string())),
            }),
        }
    }

    async fn transfer_leader(
        &mut self,
        request: TransferLeaderRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.rpc(path::TRANSFER_LEADER, &request, &option).await
    }
}
