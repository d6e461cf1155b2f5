//! The `host` binary: parses flags, sets up logging, and runs one node (with or without a
//! console), a whole local cluster, a console command against a node, or makes credentials.
//! Bad input exits with status 2 and one line on stderr.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use host::config::{load_profile, Profile, PEER_PORT_OFFSET};
use host::console::{self, ConsoleMode};
use host::local::LocalCluster;
use host::node::addr::{is_host_port, with_port_offset};
use host::plugin::PluginImage;
use host::raft::Member;
use host::secrets::{self, PeerTls, PublicTls, Role, Secrets};
use host::{Credentials, Node, NodeOptions, Storage};

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
    /// Start every node of the profile on this machine, with the console on node 0
    /// (credentials are made under the data dir on first use).
    Local(LocalArgs),
    /// Run one console command against a running node, e.g. `host ctl --node localhost:8001 status`.
    Ctl(CtlArgs),
    /// Make a cluster's credentials (CA, admin and operator tokens), or rotate and revoke tokens.
    Keygen(KeygenArgs),
}

#[derive(Debug, clap::Args)]
struct KeygenArgs {
    /// The secrets folder (created with mode 0700; files 0600).
    #[arg(long)]
    out: PathBuf,
    /// Issue a new token under this name (replacing its old one) and write it to OUT/NAME.token.
    #[arg(long, value_name = "NAME", conflicts_with = "revoke")]
    token: Option<String>,
    /// The role of the token issued with --token.
    #[arg(long, value_enum, default_value = "admin", requires = "token")]
    role: RoleArg,
    /// Revoke the token with this name.
    #[arg(long, value_name = "NAME")]
    revoke: Option<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    Admin,
    Operator,
}

#[derive(Debug, clap::Args)]
struct CtlArgs {
    /// The node's public API, HOST:PORT.
    #[arg(long)]
    node: String,
    /// File holding an admin (or operator) token (default: data/local/secrets/admin.token or
    /// data/secrets/admin.token when present).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Print the host endpoint's JSON instead of the console's text.
    #[arg(long)]
    json: bool,
    /// The console command and its arguments (`status`, `members`, `logs 1 10`, `add-node
    /// HOST:PORT`, `plugin install FILE`, `book 2 a1 alice`, ...).
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

#[derive(Debug, clap::Args)]
struct ProfileArgs {
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

#[derive(Debug, clap::Args)]
struct LocalArgs {
    #[command(flatten)]
    profile: ProfileArgs,
    /// Where the other nodes' logs and the generated credentials go.
    #[arg(long, default_value = "data/local")]
    data_dir: PathBuf,
}

#[derive(Debug, clap::Args)]
struct NodeArgs {
    /// This node's id: its index in the profile's node list.
    #[arg(long)]
    id: Option<u64>,
    #[command(flatten)]
    profile: ProfileArgs,
    /// Durable mode: log and snapshots on disk under --data-dir, no console, no stdin (for
    /// services and scripts); SIGTERM or Ctrl-C stop the node cleanly. Needs --secrets.
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
    /// The cluster's credentials (from `host keygen --out DIR`). Default in demo and dev mode:
    /// data/secrets, made on first use.
    #[arg(long, value_name = "DIR")]
    secrets: Option<PathBuf>,
    /// Run without any credential: plain TCP between nodes and every admin endpoint open. For
    /// benchmarks and throwaway experiments only.
    #[arg(long, conflicts_with = "secrets")]
    insecure: bool,
    /// Serve the public API over TLS with this certificate chain (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Join the running cluster that has a member at HOST:PORT (its API or peer address; no
    /// config.json edit needed).
    #[arg(long, value_name = "HOST:PORT")]
    join: Option<String>,
    /// This node's own public API address, for --join when its id is not in the profile.
    #[arg(long, value_name = "HOST:PORT", requires = "join")]
    addr: Option<String>,
    /// This node's own peer address, for --join (default: --addr's port + 1000).
    #[arg(long, value_name = "HOST:PORT", requires = "addr")]
    peer_addr: Option<String>,
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

fn usage(text: impl Into<String>) -> anyhow::Error {
    Usage(text.into()).into()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if let Some(usage) = error.downcast_ref::<Usage>() {
                eprintln!("error: {usage}");
                ExitCode::from(2)
            } else if let Some(refused) = error.downcast_ref::<Refused>() {
                eprintln!("{refused}");
                ExitCode::FAILURE
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
        .map_err(|e| usage(format!("cannot read plugin {}: {e}", path.display())))?;
    Ok(PluginImage::new(bytes))
}

fn profile(args: &ProfileArgs) -> anyhow::Result<Profile> {
    load_profile(&args.config_file, &args.profile).map_err(|e| usage(e.to_string()))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Cmd::Local(args)) => run_local(args),
        Some(Cmd::Ctl(args)) => run_ctl(args),
        Some(Cmd::Keygen(args)) => run_keygen(args),
        None => run_node(cli.node),
    }
}

fn run_keygen(args: KeygenArgs) -> anyhow::Result<()> {
    if let Some(name) = &args.revoke {
        secrets::revoke(&args.out, name).map_err(|e| usage(e.to_string()))?;
        println!("revoked token {name:?}; nodes stop accepting it within a second");
        return Ok(());
    }
    if let Some(name) = &args.token {
        let role = match args.role {
            RoleArg::Admin => Role::Admin,
            RoleArg::Operator => Role::Operator,
        };
        let path = secrets::rotate(&args.out, name, role).map_err(|e| usage(e.to_string()))?;
        println!(
            "issued a new {} token {name:?} in {} (its previous token, if any, no longer works)",
            role.name(),
            path.display()
        );
        return Ok(());
    }
    let made = secrets::keygen(&args.out).map_err(|e| usage(e.to_string()))?;
    if made.created.is_empty() {
        println!(
            "{} already holds a cluster's credentials; nothing changed",
            made.dir.display()
        );
    } else {
        println!(
            "wrote {} to {}\nnodes: host --id N --prod --secrets {}\nadmin token: {}",
            made.created.join(", "),
            made.dir.display(),
            made.dir.display(),
            made.dir.join(secrets::files::ADMIN_TOKEN).display()
        );
    }
    Ok(())
}

/// The token `host ctl` sends: from `--token-file`, else a local cluster's admin token.
fn ctl_token(file: Option<&Path>) -> anyhow::Result<Option<String>> {
    let read = |path: &Path| -> anyhow::Result<String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            usage(format!(
                "cannot read the token file {}: {e}",
                path.display()
            ))
        })?;
        Ok(text.trim().to_string())
    };
    if let Some(path) = file {
        return read(path).map(Some);
    }
    for default in ["data/local/secrets/admin.token", "data/secrets/admin.token"] {
        let path = Path::new(default);
        if path.exists() {
            return read(path).map(Some);
        }
    }
    Ok(None)
}

/// `host ctl`: prints the answer (a refusal on stderr); a node that cannot be reached, an
/// error status, or a refused command is an error (exit status 1).
fn run_ctl(args: CtlArgs) -> anyhow::Result<()> {
    if args.command.iter().all(|word| word.trim().is_empty()) {
        return Err(usage(
            "host ctl needs a console command, e.g. `host ctl --node localhost:8001 status`",
        ));
    }
    let token = ctl_token(args.token_file.as_deref())?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let answer = runtime.block_on(host::ctl::run(&args.node, &args.command, args.json, token))?;
    if answer.ok {
        println!("{}", answer.text);
        Ok(())
    } else {
        Err(Refused(answer.text).into())
    }
}

/// A command the node refused: its text goes to stderr as is, and `host ctl` exits 1.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM. The handlers are installed when this is called, not
/// when the future is first polled, so a signal during start-up (while `host local` starts its
/// other nodes, say) already ends the process through its clean path. Needs a tokio runtime.
fn termination() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                // Failing to listen for one signal is not fatal: the other still works.
                (Ok(mut only), Err(_)) | (Err(_), Ok(mut only)) => {
                    only.recv().await;
                }
                (Err(_), Err(_)) => std::future::pending().await,
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Resolves when the node's process should stop: `terminated` (Ctrl-C, SIGTERM) or the cluster
/// removed it.
fn stop_signal(
    node: &Node,
    terminated: impl std::future::Future<Output = ()> + Send + 'static,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let removed = node.removed();
    async move {
        tokio::select! {
            _ = terminated => {}
            _ = removed => {}
        }
    }
}

/// Tells the operator why the node stops when it was not asked to by them.
fn say_why_stopping(node: &Node) {
    if let Some(leader) = node.removed_by() {
        // A console's prompt may be on the last line.
        let fresh_line = if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            "\n"
        } else {
            ""
        };
        println!(
            "{fresh_line}node {} was removed from the cluster (the leader, node {leader}, said so); it stops",
            node.id()
        );
        tracing::warn!("removed from the cluster: stopping");
    }
}

/// What a node checks and presents, from its flags.
fn credentials(args: &NodeArgs, id: u64) -> anyhow::Result<Credentials> {
    let public_tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            Some(PublicTls::load(cert, key).map_err(|e| usage(e.to_string()))?)
        }
        _ => None,
    };
    if args.insecure {
        tracing::warn!("--insecure: the peer channel is plain TCP and every admin endpoint is open; anyone who reaches a port owns this cluster");
        let mut credentials = Credentials::insecure();
        credentials.public_tls = public_tls;
        return Ok(credentials);
    }
    let loaded = match (&args.secrets, args.prod) {
        (Some(dir), _) => Secrets::load(dir).map_err(|e| usage(e.to_string()))?,
        (None, true) => {
            return Err(usage(
                "--prod needs the cluster's credentials: --secrets DIR (make them once with `host keygen --out DIR` and copy DIR to every node), or --insecure to run without any",
            ))
        }
        (None, false) => {
            let dir = Path::new("data/secrets");
            let loaded = secrets::ensure(dir).map_err(|e| usage(e.to_string()))?;
            tracing::debug!(dir = %dir.display(), "demo credentials (admin token in admin.token)");
            loaded
        }
    };
    // Fail now, with the file named, rather than when the node mints its certificate.
    PeerTls::new(&loaded, id, 0).map_err(|e| usage(e.to_string()))?;
    let mut credentials = Credentials::from_secrets(loaded).map_err(|e| usage(e.to_string()))?;
    credentials.public_tls = public_tls;
    Ok(credentials)
}

/// Options from a profile (shared by nodes and `host local`).
fn options_from(
    id: u64,
    members: std::collections::BTreeMap<u64, Member>,
    name: &str,
    profile: &Profile,
    plugin: PluginImage,
) -> NodeOptions {
    let mut options = NodeOptions::new(id, members, plugin);
    options.timing = profile.timing();
    options.write_timeout = profile.write_timeout();
    options.config = profile.machine_config();
    options.keep_entries = profile.keep_entries();
    options.local_instances = profile.local_instances();
    options.http = profile.http_limits();
    options.cluster_name = name.to_string();
    options
}

fn node_options(
    args: &NodeArgs,
    id: u64,
    profile: &Profile,
    plugin: PluginImage,
) -> anyhow::Result<NodeOptions> {
    let name = &args.profile.profile;
    let Some(via) = &args.join else {
        let members = profile.members();
        if !members.contains_key(&id) {
            return Err(usage(format!(
                "--id {id} is out of range: the profile has {} nodes (ids 0..={})",
                members.len(),
                members.len().saturating_sub(1)
            )));
        }
        return Ok(options_from(id, members, name, profile, plugin));
    };
    // --join: this node's own addresses from the flags or the profile; nothing else of the
    // profile's membership is used (the cluster's membership comes from its log).
    let own = match (&args.addr, profile.members().get(&id)) {
        (Some(api), _) => {
            if !is_host_port(api) {
                return Err(usage(format!("--addr {api:?} is not HOST:PORT")));
            }
            let peer = match &args.peer_addr {
                Some(peer) if is_host_port(peer) => peer.clone(),
                Some(peer) => return Err(usage(format!("--peer-addr {peer:?} is not HOST:PORT"))),
                None => with_port_offset(api, PEER_PORT_OFFSET).map_err(usage)?,
            };
            Member {
                api: api.clone(),
                peer,
            }
        }
        (None, Some(member)) => member.clone(),
        (None, None) => {
            return Err(usage(format!(
            "--join needs this node's address: --addr HOST:PORT (node {id} is not in the profile)"
        )))
        }
    };
    if !is_host_port(via) {
        return Err(usage(format!("--join {via:?} is not HOST:PORT")));
    }
    let members = std::collections::BTreeMap::from([(id, own)]);
    let mut options = options_from(id, members, name, profile, plugin);
    options.join = Some(via.clone());
    Ok(options)
}

async fn start(options: NodeOptions) -> anyhow::Result<Node> {
    Node::start(options).await.map_err(|e| usage(e.to_string()))
}

fn run_node(args: NodeArgs) -> anyhow::Result<()> {
    let id = args
        .id
        .ok_or_else(|| usage("--id N is required (or use `host local`)"))?;
    let headless = args.prod || args.no_console;
    init_tracing(if headless {
        "info,openraft=warn,fjall=warn,lsm_tree=warn"
    } else {
        "error"
    });
    let profile = profile(&args.profile)?;
    let plugin = read_plugin(&args.profile.plugin)?;
    let mut options = node_options(&args, id, &profile, plugin)?;
    options.credentials = credentials(&args, id)?;
    let mode = if args.profile.dev {
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
        let terminated = termination();
        let node = start(options).await?;
        tracing::info!(id, api = %node.addr(), peer = %node.peer_addr(), "node started");
        let stop = stop_signal(&node, terminated);
        if headless {
            stop.await;
        } else {
            console::run(node.clone(), mode, stop).await?;
        }
        say_why_stopping(&node);
        node.shutdown().await;
        Ok(())
    })
}

fn run_local(args: LocalArgs) -> anyhow::Result<()> {
    init_tracing("error");
    let profile = profile(&args.profile)?;
    let plugin = read_plugin(&args.profile.plugin)?;
    let secrets_dir = args.data_dir.join("secrets");
    let loaded = secrets::ensure(&secrets_dir).map_err(|e| usage(e.to_string()))?;
    let mut options = options_from(
        0,
        profile.members(),
        &args.profile.profile,
        &profile,
        plugin,
    );
    options.credentials = Credentials::from_secrets(loaded).map_err(|e| usage(e.to_string()))?;
    let cluster = LocalCluster {
        config_file: args.profile.config_file.clone(),
        profile: args.profile.profile.clone(),
        plugin: args.profile.plugin.clone(),
        nodes: profile.nodes.len() as u64,
        log_dir: args.data_dir.clone(),
        secrets: secrets_dir.clone(),
        extra_args: if args.profile.dev {
            vec!["--dev".into()]
        } else {
            Vec::new()
        },
    };
    let mode = if args.profile.dev {
        ConsoleMode::Dev
    } else {
        ConsoleMode::Demo
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let terminated = termination();
        let node = start(options).await?;
        let _children = cluster.spawn_others()?;
        println!(
            "local cluster: {} nodes ({}), logs of nodes 1.. in {}; admin token in {}",
            profile.nodes.len(),
            profile.api_addrs().join(", "),
            args.data_dir.display(),
            secrets_dir.join(secrets::files::ADMIN_TOKEN).display()
        );
        console::run(node.clone(), mode, stop_signal(&node, terminated)).await?;
        say_why_stopping(&node);
        node.shutdown().await;
        Ok(())
    })
}
