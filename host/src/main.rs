//! The `host` binary: parses flags, sets up logging, and runs one node (with or without a
//! console) or a whole local cluster. Bad input exits with status 2 and one line on stderr.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use host::config::{load_profile, Profile};
use host::console::{self, ConsoleMode};
use host::local::LocalCluster;
use host::plugin::PluginImage;
use host::{Node, NodeOptions, Storage};

/// A replicated log host: Raft orders commands, a WebAssembly plugin applies them.
#[derive(Debug, Parser)]
#[command(name = "host", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    node: NodeArgs,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Start every node of the profile on this machine, with the console on node 0.
    Local(ClusterArgs),
    /// Run one console command against a running node, e.g. `host ctl --node 127.0.0.1:6000 status`.
    Ctl(CtlArgs),
}

#[derive(Debug, clap::Args)]
struct CtlArgs {
    /// The node's HOST:PORT.
    #[arg(long)]
    node: String,
    /// Print the host endpoint's JSON instead of the console's text.
    #[arg(long)]
    json: bool,
    /// The console command and its arguments (`status`, `members`, `logs 1 10`, `add-node
    /// HOST:PORT`, `book 2 a1 alice`, ...).
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

#[derive(Debug, clap::Args)]
struct ClusterArgs {
    /// Profile name in the config file.
    #[arg(long = "config", default_value = "default")]
    profile: String,
    /// The cluster profiles file.
    #[arg(long, default_value = "config.json")]
    config_file: PathBuf,
    /// The plugin component the cluster starts with.
    #[arg(long, default_value = "plugins/seat.wasm")]
    plugin: PathBuf,
    /// Operator console instead of the demo console.
    #[arg(long)]
    dev: bool,
    /// Where the other nodes' logs go.
    #[arg(long, default_value = "data/local")]
    data_dir: PathBuf,
}

#[derive(Debug, clap::Args)]
struct NodeArgs {
    /// This node's id: its index in the profile's node list.
    #[arg(long)]
    id: Option<u64>,
    #[command(flatten)]
    cluster: ClusterArgsNoDir,
    /// Durable mode: log and snapshots on disk under --data-dir, no console, no stdin (for
    /// services and scripts); SIGTERM or Ctrl-C stop the node cleanly.
    #[arg(long, conflicts_with = "dev")]
    prod: bool,
    /// Run the node without a console, in any mode.
    #[arg(long)]
    no_console: bool,
    /// Where a --prod node keeps its log and snapshots (default ./data/node-<id>).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Keep compiled plugins here, so restarts and swaps need not recompile (default: the data
    /// dir's `compiled/` in --prod mode, none otherwise).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Join the running cluster that has a member at HOST:PORT (no config.json edit needed).
    #[arg(long, value_name = "HOST:PORT")]
    join: Option<String>,
    /// This node's own HOST:PORT, for --join when its id is not in the profile.
    #[arg(long, value_name = "HOST:PORT", requires = "join")]
    addr: Option<String>,
}

#[derive(Debug, clap::Args)]
struct ClusterArgsNoDir {
    /// Profile name in the config file.
    #[arg(long = "config", default_value = "default")]
    profile: String,
    /// The cluster profiles file.
    #[arg(long, default_value = "config.json")]
    config_file: PathBuf,
    /// The plugin component this node proposes if the cluster has none yet.
    #[arg(long, default_value = "plugins/seat.wasm")]
    plugin: PathBuf,
    /// Operator console instead of the demo console.
    #[arg(long)]
    dev: bool,
}

/// An error to report as bad usage: exit status 2, one line.
#[derive(Debug)]
struct Usage(String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if let Some(usage) = error.downcast_ref::<Usage>() {
                eprintln!("error: {usage}");
                ExitCode::from(2)
            } else {
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            }
        }
    }
}

fn init_tracing(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .init();
}

fn read_plugin(path: &Path) -> anyhow::Result<PluginImage> {
    let bytes = std::fs::read(path)
        .map_err(|e| Usage(format!("cannot read plugin {}: {e}", path.display())))?;
    Ok(PluginImage::new(bytes))
}

fn profile(path: &Path, name: &str) -> anyhow::Result<Profile> {
    load_profile(path, name).map_err(|e| Usage(e.to_string()).into())
}

/// Options for `--join`: this node's address from `--addr` or the profile; nothing else of the
/// profile's membership is used (the cluster's membership comes from its log).
fn join_options(
    id: u64,
    args: &NodeArgs,
    profile: &Profile,
    plugin: PluginImage,
    via: &str,
) -> anyhow::Result<NodeOptions> {
    let own = match (&args.addr, profile.members().get(&id)) {
        (Some(addr), _) => addr.clone(),
        (None, Some(addr)) => addr.clone(),
        (None, None) => {
            return Err(Usage(format!(
            "--join needs this node's address: --addr HOST:PORT (node {id} is not in the profile)"
        ))
            .into())
        }
    };
    if host::node::resolve(&own).is_err() {
        return Err(Usage(format!(
            "--addr {own:?} is not a HOST:PORT this machine can bind"
        ))
        .into());
    }
    if !via.contains(':') || host::node::resolve(via).is_err() {
        return Err(Usage(format!("--join {via:?} is not a HOST:PORT")).into());
    }
    let members = std::collections::BTreeMap::from([(id, own)]);
    let mut options = NodeOptions::new(id, members, plugin);
    options.timing = profile.timing();
    options.write_timeout = profile.write_timeout();
    options.snapshots = profile.snapshots();
    options.limits = profile.limits();
    options.cluster_name = args.cluster.profile.clone();
    options.join = Some(via.to_string());
    Ok(options)
}

fn options(
    id: u64,
    name: &str,
    profile: &Profile,
    plugin: PluginImage,
) -> anyhow::Result<NodeOptions> {
    let members = profile.members();
    if !members.contains_key(&id) {
        return Err(Usage(format!(
            "--id {id} is out of range: the profile has {} nodes (ids 0..={})",
            members.len(),
            members.len().saturating_sub(1)
        ))
        .into());
    }
    let mut options = NodeOptions::new(id, members, plugin);
    options.timing = profile.timing();
    options.write_timeout = profile.write_timeout();
    options.snapshots = profile.snapshots();
    options.limits = profile.limits();
    options.cluster_name = name.to_string();
    Ok(options)
}

/// `host ctl`: prints the answer; a node that cannot be reached or refuses is an error.
fn run_ctl(args: CtlArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let output = runtime.block_on(host::ctl::run(&args.node, &args.command, args.json))?;
    println!("{output}");
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Cmd::Local(args)) => run_local(args),
        Some(Cmd::Ctl(args)) => run_ctl(args),
        None => run_node(cli.node),
    }
}

async fn start(options: NodeOptions) -> anyhow::Result<Node> {
    Node::start(options)
        .await
        .map_err(|e| Usage(e.to_string()).into())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn termination() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                // Without a SIGTERM handler, Ctrl-C still works; failing to listen is not fatal.
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn run_node(args: NodeArgs) -> anyhow::Result<()> {
    let id = args
        .id
        .ok_or_else(|| Usage("--id N is required (or use `host local`)".into()))?;
    let headless = args.prod || args.no_console;
    init_tracing(if headless {
        "info,openraft=warn,fjall=warn,lsm_tree=warn"
    } else {
        "error"
    });
    let profile = profile(&args.cluster.config_file, &args.cluster.profile)?;
    let plugin = read_plugin(&args.cluster.plugin)?;
    let mut options = match &args.join {
        None => options(id, &args.cluster.profile, &profile, plugin)?,
        Some(via) => join_options(id, &args, &profile, plugin, via)?,
    };
    let mode = if args.cluster.dev {
        ConsoleMode::Dev
    } else {
        ConsoleMode::Demo
    };
    if args.prod {
        let dir = args
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("data/node-{id}")));
        tracing::info!(dir = %dir.display(), "durable storage");
        options.compiled_cache = Some(dir.join("compiled"));
        options.storage = Storage::Durable(dir);
    } else if let Some(dir) = &args.data_dir {
        tracing::warn!(dir = %dir.display(), "--data-dir is only used with --prod; this node keeps its log in memory");
    }
    if let Some(dir) = &args.cache_dir {
        options.compiled_cache = Some(dir.clone());
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let node = start(options).await?;
        tracing::info!(id, addr = %node.addr(), "node started");
        if headless {
            termination().await;
        } else {
            console::run(node.clone(), mode, termination()).await?;
        }
        node.shutdown().await;
        Ok(())
    })
}

fn run_local(args: ClusterArgs) -> anyhow::Result<()> {
    init_tracing("error");
    let profile = profile(&args.config_file, &args.profile)?;
    let plugin = read_plugin(&args.plugin)?;
    let options = options(0, &args.profile, &profile, plugin)?;
    let cluster = LocalCluster {
        config_file: args.config_file.clone(),
        profile: args.profile.clone(),
        plugin: args.plugin.clone(),
        nodes: profile.nodes.len() as u64,
        log_dir: args.data_dir.clone(),
        extra_args: if args.dev {
            vec!["--dev".into()]
        } else {
            Vec::new()
        },
    };
    let mode = if args.dev {
        ConsoleMode::Dev
    } else {
        ConsoleMode::Demo
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let node = start(options).await?;
        let _children = cluster.spawn_others()?;
        println!(
            "local cluster: {} nodes ({}), logs of nodes 1.. in {}",
            profile.nodes.len(),
            profile.nodes.join(", "),
            cluster
                .log_path(1)
                .parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
        console::run(node.clone(), mode, termination()).await?;
        node.shutdown().await;
        Ok(())
    })
}
