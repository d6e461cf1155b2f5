//! A 3-node cluster inside one process, through the embedding API: make credentials, start the
//! nodes, book a seat through the plugin's console front on a follower, show the overview on
//! every node, shut down.
//!
//! Run: `cargo run -p host --example embedded_cluster`

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use host::plugin::{ConsoleMode, PluginImage};
use host::raft::Member;
use host::secrets;
use host::{Credentials, Node, NodeOptions};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let plugin_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/seat.wasm");
    let plugin = PluginImage::new(
        std::fs::read(&plugin_path)
            .with_context(|| format!("reading {}", plugin_path.display()))?,
    );
    // The cluster's credentials: a CA every node mints its peer certificate from, and tokens.
    let dir = tempfile::tempdir()?;
    let loaded = secrets::ensure(&dir.path().join("secrets"))?;

    // Ports the OS reports free right now: an API and a peer port per node.
    let probes: Vec<std::net::TcpListener> = (0..6)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()?;
    let ports: Vec<u16> = probes
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<_, _>>()?;
    drop(probes);
    let members: BTreeMap<u64, Member> = (0..3)
        .map(|id| {
            let member = Member {
                api: format!("127.0.0.1:{}", ports[id * 2]),
                peer: format!("127.0.0.1:{}", ports[id * 2 + 1]),
            };
            (id as u64, member)
        })
        .collect();

    let mut nodes = Vec::new();
    for id in members.keys() {
        let mut options = NodeOptions::new(*id, members.clone(), plugin.clone());
        options.credentials = Credentials::from_secrets(loaded.clone())?;
        nodes.push(Node::start(options).await?);
    }
    for node in &nodes {
        node.wait_for_plugin(Duration::from_secs(10))
            .await
            .map_err(anyhow::Error::msg)?;
    }
    let leader = nodes[0]
        .status()
        .leader_id
        .context("a leader was elected")?;
    println!("leader: node {leader}");

    // The host does not know what a seat is: the plugin's console front turns "a1" into a
    // command, which the follower forwards to the leader.
    let follower = nodes
        .iter()
        .find(|n| n.id() != leader)
        .context("a follower")?;
    println!(
        "{}",
        follower
            .console_line("a1", ConsoleMode::Demo, true)
            .await
            .text
    );

    for node in &nodes {
        // The overview shows this node's state as is; a linearizable read first makes it at
        // least as fresh as the leader's commit (a follower learns of it with the next
        // heartbeat).
        node.prepare_read(host::Consistency::Linearizable)
            .await
            .context("a fresh state")?;
        let map = node
            .overview(ConsoleMode::Demo)
            .await
            .context("an overview")?;
        println!("node {}:\n{map}", node.id());
    }
    for node in &nodes {
        node.shutdown().await;
    }
    Ok(())
}
