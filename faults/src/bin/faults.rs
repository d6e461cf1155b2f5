//! `faults`: parses flags, checks the machine, runs the runs and prints the summary.
//! Exit status: 0 all runs clean, 1 an anomaly, 2 a harness or usage error, 130 interrupted.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use faults::run::{self, Config};
use faults::summary::{render_failure, Summary};
use faults::{net, signal};

/// Fault injection against real `--prod` host nodes in network namespaces (needs root, ip and
/// nft): concurrent booking clients, seeded kills, pauses, partitions, a membership change and
/// a plugin swap, then per-seat linearizability and replica checks.
#[derive(Debug, Parser)]
#[command(name = "faults", version)]
struct Cli {
    /// CI mode: 3 runs of 30 s with 3 nodes (unless --runs, --duration or --nodes say otherwise).
    #[arg(long)]
    short: bool,
    /// Runs, each a fresh cluster with seed, seed+1, ... (default 1; 3 with --short).
    #[arg(long)]
    runs: Option<u64>,
    /// Nodes per cluster, 3 to 9 (default 3).
    #[arg(long)]
    nodes: Option<usize>,
    /// Seconds of faults per run, 5 to 3600 (default 60; 30 with --short).
    #[arg(long, value_name = "S")]
    duration: Option<u64>,
    /// The first run's seed (printed; default from the clock). A run's seed replays its fault
    /// schedule and client choices.
    #[arg(long)]
    seed: Option<u64>,
    /// The host binary (default: target/debug/host of this workspace).
    #[arg(long, value_name = "PATH")]
    host: Option<PathBuf>,
    /// The folder holding seat.wasm and seat-v2.wasm (default: plugins/ of this workspace).
    #[arg(long, value_name = "DIR")]
    plugins: Option<PathBuf>,
    /// Concurrent clients, 1 to 64.
    #[arg(long, default_value_t = 6)]
    clients: usize,
    /// Keep every run's directory (logs, data, history), not only failing ones.
    #[arg(long)]
    keep: bool,
    /// Where run directories go (default: a new faults-* folder in the temp dir).
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Configurations the linearizability search may explore per seat.
    #[arg(long, default_value_t = 1_000_000)]
    budget: usize,
    /// Self-test of the checker: clients read with `?consistency=local`, which may be stale
    /// on a partitioned or lagging node, so the linearizability check is expected to fail.
    #[arg(long)]
    stale_reads: bool,
    /// Remove namespaces and links a killed harness left behind (every name starting with
    /// `flt-`), killing processes inside them, and exit.
    #[arg(long)]
    cleanup: bool,
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    signal::install();
    if let Err(problem) = net::preflight() {
        eprintln!("faults: {problem}");
        return ExitCode::from(2);
    }
    if cli.cleanup {
        return match net::cleanup_leftovers() {
            Ok(removed) if removed.is_empty() => {
                println!("faults: nothing to clean up");
                ExitCode::SUCCESS
            }
            Ok(removed) => {
                println!("faults: removed {}", removed.join(", "));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("faults: {e}");
                ExitCode::from(2)
            }
        };
    }
    match run_all(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("faults: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run_all(cli: &Cli) -> anyhow::Result<ExitCode> {
    let runs = cli.runs.unwrap_or(if cli.short { 3 } else { 1 });
    let nodes = cli.nodes.unwrap_or(3);
    let duration = cli.duration.unwrap_or(if cli.short { 30 } else { 60 });
    if !(3..=9).contains(&nodes) {
        anyhow::bail!("--nodes must be 3 to 9, not {nodes}");
    }
    if !(5..=3600).contains(&duration) {
        anyhow::bail!("--duration must be 5 to 3600 seconds, not {duration}");
    }
    if !(1..=64).contains(&cli.clients) {
        anyhow::bail!("--clients must be 1 to 64, not {}", cli.clients);
    }
    if runs == 0 {
        anyhow::bail!("--runs must be at least 1");
    }
    let host = cli
        .host
        .clone()
        .unwrap_or_else(|| workspace().join("target/debug/host"));
    if !host.is_file() {
        anyhow::bail!(
            "no host binary at {}: build it with `cargo build -p host` or pass --host PATH",
            host.display()
        );
    }
    let plugins = cli
        .plugins
        .clone()
        .unwrap_or_else(|| workspace().join("plugins"));
    let config = Config {
        nodes,
        duration: Duration::from_secs(duration),
        clients: cli.clients,
        host: std::fs::canonicalize(&host)?,
        plugin_v1: std::fs::canonicalize(plugins.join("seat.wasm"))
            .map_err(|e| anyhow::anyhow!("{}: {e}", plugins.join("seat.wasm").display()))?,
        plugin_v2: std::fs::canonicalize(plugins.join("seat-v2.wasm"))
            .map_err(|e| anyhow::anyhow!("{}: {e}", plugins.join("seat-v2.wasm").display()))?,
        budget: cli.budget,
        keep: cli.keep,
        request_timeout: Duration::from_secs(3),
        stale_reads: cli.stale_reads,
    };
    let base = match &cli.work_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            dir.clone()
        }
        None => tempfile::Builder::new().prefix("faults-").tempdir()?.keep(),
    };
    // The nodes of this invocation all run this one binary, even if the host is rebuilt
    // meanwhile (a hard link keeps the old file; a copy where links are impossible).
    let snapshot = base.join("host");
    if std::fs::hard_link(&config.host, &snapshot).is_err() {
        std::fs::copy(&config.host, &snapshot).map_err(|e| {
            anyhow::anyhow!(
                "copying {} to {}: {e}",
                config.host.display(),
                snapshot.display()
            )
        })?;
    }
    let config = Config {
        host: snapshot.clone(),
        ..config
    };
    let seed = cli.seed.unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        (nanos ^ u64::from(std::process::id()).rotate_left(32)) % 1_000_000_000
    });
    println!(
        "faults: seed {seed}; {runs} run(s) of {duration} s, {nodes} nodes, {} clients; host {}; work dir {}",
        cli.clients,
        host.display(),
        base.display()
    );
    let mut summary = Summary::default();
    for r in 0..runs {
        if signal::interrupted() {
            break;
        }
        let seed = seed.wrapping_add(r);
        println!("==== run {}/{runs}: seed {seed}", r + 1);
        let report = run::run(seed, &config, &base);
        let count = |class: &str| {
            report
                .ops
                .iter()
                .filter(|op| op.outcome.class() == class)
                .count()
        };
        let failed = report.error.is_some() || !report.anomalies.is_empty();
        println!(
            "==== run {}/{runs} seed {seed}: {} in {:.1} s: {} operations ({} ok, {} refused, {} unknown, {} not sent), {} faults{}, final applied index {}, checked in {:.2} s",
            r + 1,
            if failed { "FAILED" } else { "passed" },
            report.elapsed.as_secs_f64(),
            report.ops.len(),
            count("ok"),
            count("refused"),
            count("unknown"),
            count("not-sent"),
            report.faults.len(),
            if report.swap.is_some() { " + plugin swap" } else { "" },
            report.final_applied.map_or("-".to_string(), |a| a.to_string()),
            report.check_time.as_secs_f64()
        );
        if failed {
            let replay = format!(
                "scripts/faults --seed {seed} --runs 1 --nodes {nodes} --duration {duration} --clients {}{}",
                cli.clients,
                if cli.stale_reads { " --stale-reads" } else { "" }
            );
            print!("{}", render_failure(&report, &replay));
        }
        summary.add(&report);
    }
    print!("{}", summary.render());
    if signal::interrupted() {
        println!(
            "faults: interrupted; run directories are under {}",
            base.display()
        );
        return Ok(ExitCode::from(130));
    }
    if !summary.is_failure() && !cli.keep && cli.work_dir.is_none() {
        // Every run removed its own directory; only the host snapshot is left.
        if let Err(e) = std::fs::remove_file(&snapshot).and_then(|()| std::fs::remove_dir(&base)) {
            eprintln!("faults: removing {}: {e}", base.display());
        }
    }
    let harness_error = !summary.errors.is_empty();
    let anomalies = summary.anomalies.values().sum::<usize>() > 0;
    Ok(match (anomalies, harness_error) {
        (true, _) => ExitCode::from(1),
        (false, true) => ExitCode::from(2),
        (false, false) => ExitCode::SUCCESS,
    })
}
