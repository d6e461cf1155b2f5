//! openraft's network traits over [`PeerClient`]: one [`PeerConnection`] per target member,
//! postcard bodies, snapshots streamed from their file in bounded chunks.

use std::future::Future;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use openraft::errors::{NetworkError, RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory, RaftNetworkV2};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};
use openraft::OptionalSend;
use tokio_util::io::ReaderStream;

use super::client::{PeerBody, PeerClient, PeerError};
use super::path;
use crate::raft::snapshot_store::SnapshotFile;
use crate::raft::typ::{Snapshot, Vote};
use crate::raft::{Member, TypeConfig};

/// Bytes per chunk of a snapshot stream.
const SNAPSHOT_CHUNK: usize = 256 << 10;

/// Makes one [`PeerConnection`] per peer.
#[derive(Clone)]
pub struct Network {
    client: PeerClient,
}

impl Network {
    /// A factory sharing one pooled client.
    pub fn new(client: PeerClient) -> Self {
        Network { client }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerConnection;

    async fn new_client(&mut self, _target: u64, node: &Member) -> Self::Network {
        PeerConnection {
            addr: node.peer.clone(),
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
        route: &str,
        request: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<TypeConfig>>
    where
        Req: serde::Serialize,
        Resp: serde::de::DeserializeOwned,
    {
        self.client
            .call(&self.addr, route, request, option.hard_ttl())
            .await
            .map_err(to_rpc_error)
    }
}

/// The body of a snapshot stream: the header (the leader's vote), then the file in chunks.
fn snapshot_body(vote: &Vote, snapshot: SnapshotFile) -> Result<PeerBody, std::io::Error> {
    let header = postcard::to_stdvec(vote).map_err(std::io::Error::other)?;
    let mut first = Vec::with_capacity(4 + header.len());
    first.extend_from_slice(&(header.len() as u32).to_le_bytes());
    first.extend_from_slice(&header);
    let file = tokio::fs::File::from_std(snapshot.file);
    let chunks = ReaderStream::with_capacity(file, SNAPSHOT_CHUNK);
    let stream = futures_util::stream::once(async move { Ok(Bytes::from(first)) })
        .chain(chunks)
        .map(|chunk| chunk.map(Frame::data));
    Ok(BodyExt::boxed(StreamBody::new(stream)))
}

impl RaftNetworkV2<TypeConfig> for PeerConnection {
    type SnapshotData = SnapshotFile;

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
        let body = snapshot_body(&vote, snapshot.snapshot)
            .map_err(|e| StreamingError::Network(NetworkError::new(&e)))?;
        let sent = async {
            let bytes = self
                .client
                .post(&self.addr, path::SNAPSHOT, body, option.hard_ttl())
                .await?;
            postcard::from_bytes::<SnapshotResponse<TypeConfig>>(&bytes).map_err(|e| {
                PeerError::Protocol {
                    addr: self.addr.clone(),
                    reason: format!("decode answer: {e}"),
                }
            })
        };
        tokio::select! {
            closed = cancel => Err(StreamingError::Closed(closed)),
            answer = sent => answer.map_err(|e| match to_rpc_error(e) {
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
