//! A 3-node cluster inside one process, through the embedding API: start the nodes, book a seat
//! through the plugin's console front on a follower, read it back on every node, shut down.
//!
//! Run: `cargo run -p host --example embedded_cluster`

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Context};
use host::plugin::{ConsoleAction, ConsoleMode, Outcome, PluginImage};
use host::{Consistency, Node, NodeOptions};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let plugin_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/seat.wasm");
    let plugin = PluginImage::new(
        std::fs::read(&plugin_path)
            .with_context(|| format!("reading {}", plugin_path.display()))?,
    );

    // Ports the OS reports free right now.
    let probes: Vec<std::net::TcpListener> = (0..3)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()?;
    let members: BTreeMap<u64, String> = probes
        .iter()
        .enumerate()
        .map(|(id, l)| Ok((id as u64, l.local_addr()?.to_string())))
        .collect::<std::io::Result<_>>()?;
    drop(probes);

    let mut nodes = Vec::new();
    for id in members.keys() {
        nodes.push(Node::start(NodeOptions::new(*id, members.clone(), plugin.clone())).await?);
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

    // The host does not know what a seat is: the plugin's front turns "a1" into a command.
    let follower = nodes
        .iter()
        .find(|n| n.id() != leader)
        .context("a follower")?;
    let Some(ConsoleAction::Write(command)) = follower
        .front()
        .call(|p| p.console("a1", ConsoleMode::Demo))?
    else {
        bail!("the seat plugin should turn `a1` into a write");
    };
    let committed = follower.write_command(command).await?;
    println!(
        "committed at index {} in term {}",
        committed.index, committed.term
    );

    for node in &nodes {
        let query = node
            .front()
            .call(|p| p.overview(ConsoleMode::Demo))?
            .context("an overview query")?;
        let result = node.read(&query, Consistency::Linearizable).await?;
        let map = node
            .front()
            .call(|p| p.render_overview(ConsoleMode::Demo, &Outcome::Finished(result)))?;
        println!("node {}:\n{map}", node.id());
    }
    for node in &nodes {
        node.shutdown().await;
    }
    Ok(())
}
