//! Developer tasks for the plugins, run as `cargo xtask <task>` (alias in `.cargo/config.toml`).
//!
//! - `build-plugin`: builds every plugin of [`PLUGINS`] for `wasm32-unknown-unknown` with the
//!   `plugin` profile (one Cargo build per crate and feature set), wraps each core module into a
//!   component, checks that the component imports nothing and exports exactly the interfaces of
//!   its world of contract [`CONTRACT`], and writes it: `plugins/seat.wasm` (seat rules 1.1.0),
//!   `plugins/seat-v2.wasm` (seat rules 2.1.0, feature `v2`), both of world `plugin`, and the
//!   test plugins `plugins/test/<name>.wasm` (worlds `http-plugin`, `plugin`, `state-machine`).
//! - `check-plugin`: does the same builds in memory and fails if any committed file differs, so
//!   CI catches a `plugins/*.wasm` that no longer matches its source. It also checks that the
//!   frozen fixtures of [`FROZEN`] (components built for an older contract, which no source
//!   here builds any more) still have their recorded SHA-256; it never rebuilds them.
//!
//! The build is reproducible: the same source gives the same bytes whatever folder the workspace
//! sits in and wherever Cargo keeps its registry, because absolute paths that end up in the
//! binary (panic locations of dependencies) are remapped to fixed prefixes.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, ensure, Context, Result};
use sha2::{Digest, Sha256};
use wit_component::{ComponentEncoder, DecodedWasm};

/// The version of the `reservoir:plugin` package (`wit/plugin.wit`) every plugin is built for.
const CONTRACT: &str = "0.2.0";

/// The interfaces a world of the contract exports.
const PLUGIN_WORLD: &[&str] = &["machine", "http", "console"];
/// World `http-plugin`.
const HTTP_PLUGIN_WORLD: &[&str] = &["machine", "http"];
/// World `state-machine`.
const STATE_MACHINE_WORLD: &[&str] = &["machine"];

/// One plugin to build: a crate, its features, its world, and where its component goes.
#[derive(Debug, Clone, Copy)]
struct Plugin {
    /// Crate built into the plugin.
    package: &'static str,
    /// Cargo features of the build (empty for none).
    features: &'static str,
    /// File name of the core module Cargo produces for `package`.
    module: &'static str,
    /// The interfaces of `reservoir:plugin@CONTRACT` the component must export, no more.
    exports: &'static [&'static str],
    /// Where the component goes, relative to the workspace root.
    output: &'static str,
}

/// A test plugin: one feature of `test-plugins`, written to `plugins/test/<feature>.wasm`.
const fn test_plugin(
    feature: &'static str,
    exports: &'static [&'static str],
    output: &'static str,
) -> Plugin {
    Plugin {
        package: "test-plugins",
        features: feature,
        module: "test_plugins.wasm",
        exports,
        output,
    }
}

/// Every plugin `build-plugin` writes and `check-plugin` checks, in build order.
const PLUGINS: &[Plugin] = &[
    Plugin {
        package: "guest-seat-logic",
        features: "",
        module: "guest_seat_logic.wasm",
        exports: PLUGIN_WORLD,
        output: "plugins/seat.wasm",
    },
    Plugin {
        package: "guest-seat-logic",
        features: "v2",
        module: "guest_seat_logic.wasm",
        exports: PLUGIN_WORLD,
        output: "plugins/seat-v2.wasm",
    },
    test_plugin(
        "trap-restore",
        HTTP_PLUGIN_WORLD,
        "plugins/test/trap-restore.wasm",
    ),
    test_plugin(
        "loop-apply",
        HTTP_PLUGIN_WORLD,
        "plugins/test/loop-apply.wasm",
    ),
    test_plugin(
        "grow-memory",
        HTTP_PLUGIN_WORLD,
        "plugins/test/grow-memory.wasm",
    ),
    test_plugin(
        "loop-restore",
        HTTP_PLUGIN_WORLD,
        "plugins/test/loop-restore.wasm",
    ),
    test_plugin(
        "wrong-info",
        HTTP_PLUGIN_WORLD,
        "plugins/test/wrong-info.wasm",
    ),
    test_plugin("echo", PLUGIN_WORLD, "plugins/test/echo.wasm"),
    test_plugin(
        "machine-only",
        STATE_MACHINE_WORLD,
        "plugins/test/machine-only.wasm",
    ),
];

/// A committed component no source here builds any more: a test fixture that must keep its
/// bytes (`check-plugin` compares its SHA-256, `build-plugin` leaves it alone).
#[derive(Debug, Clone, Copy)]
struct Frozen {
    /// Where it is, relative to the workspace root.
    path: &'static str,
    /// Lower-case hex SHA-256 of its bytes.
    sha256: &'static str,
    /// What it is for.
    purpose: &'static str,
}

/// The frozen fixtures.
const FROZEN: &[Frozen] = &[Frozen {
    path: "plugins/test/contract-0.1.wasm",
    sha256: "0d555b6f26a3bb35b8c5c2977727f957cd32bb89a3b29b8d8c9c300de504862c",
    purpose: "the echo plugin built for contract 0.1.0, which hosts of 0.2.0 must refuse",
}];

/// Target triple of the plugin.
const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Cargo profile of the plugin (see the workspace `Cargo.toml`).
const PROFILE: &str = "plugin";

/// Prefix that replaces the workspace root in paths compiled into the plugin.
const REMAPPED_ROOT: &str = "/reservoir";

/// Prefix that replaces `$CARGO_HOME` (registry sources) in paths compiled into the plugin.
const REMAPPED_CARGO_HOME: &str = "/cargo-home";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["build-plugin"] => build_plugin(),
        ["check-plugin"] => check_plugin(),
        [] | ["help"] | ["--help"] | ["-h"] => {
            println!("{}", usage());
            Ok(())
        }
        _ => {
            eprintln!("unknown arguments {args:?}\n{}", usage());
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The help text.
fn usage() -> &'static str {
    "usage: cargo xtask <task>\n\
     \n\
     tasks:\n  \
       build-plugin   build plugins/seat.wasm, plugins/seat-v2.wasm and plugins/test/*.wasm\n  \
       check-plugin   fail if any of them differs from a fresh build, or a frozen fixture\n                 \
       (plugins/test/contract-0.1.wasm) from its recorded hash"
}

/// `build-plugin`: builds every component of [`PLUGINS`] and writes it.
fn build_plugin() -> Result<()> {
    let root = workspace_root()?;
    for plugin in PLUGINS {
        let component = build_component(&root, plugin)?;
        let output = root.join(plugin.output);
        if let Some(dir) = output.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&output, &component)
            .with_context(|| format!("writing {}", output.display()))?;
        println!("wrote {}: {} bytes", plugin.output, component.len());
    }
    Ok(())
}

/// `check-plugin`: builds every component in memory and compares it with the committed file.
///
/// # Errors
///
/// Naming every stale or missing file, after checking them all.
fn check_plugin() -> Result<()> {
    let root = workspace_root()?;
    let mut stale = Vec::new();
    for frozen in FROZEN {
        match check_frozen(&root, frozen) {
            Ok(()) => println!("{} is intact ({})", frozen.path, frozen.purpose),
            Err(e) => stale.push(format!("{e:#}")),
        }
    }
    for plugin in PLUGINS {
        let component = build_component(&root, plugin)?;
        let committed = std::fs::read(root.join(plugin.output)).unwrap_or_default();
        if committed == component {
            println!(
                "{} is up to date ({} bytes)",
                plugin.output,
                component.len()
            );
        } else {
            stale.push(format!(
                "{} (committed {} bytes, fresh build {} bytes)",
                plugin.output,
                committed.len(),
                component.len()
            ));
        }
    }
    ensure!(
        stale.is_empty(),
        "stale plugins: run `cargo xtask build-plugin` and commit them: {}",
        stale.join("; ")
    );
    Ok(())
}

/// Checks a frozen fixture's bytes against its recorded SHA-256.
///
/// # Errors
///
/// When the file is missing or its hash differs.
fn check_frozen(root: &Path, frozen: &Frozen) -> Result<()> {
    let bytes = std::fs::read(root.join(frozen.path))
        .with_context(|| format!("frozen fixture {} is missing", frozen.path))?;
    let hash: String = Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    ensure!(
        hash == frozen.sha256,
        "frozen fixture {} changed (sha256 {hash}, recorded {}); restore it with git",
        frozen.path,
        frozen.sha256
    );
    Ok(())
}

/// The workspace root: the parent of this crate's manifest directory, as `cargo run` names it
/// when it starts xtask (else as it was when xtask was compiled), so that a copy of the
/// checkout builds its own sources even when it shares a target directory with the original.
fn workspace_root() -> Result<PathBuf> {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let root = manifest_dir
        .parent()
        .context("xtask's manifest directory has no parent")?;
    ensure!(
        root.join("Cargo.toml").is_file() && root.join("wit").is_dir(),
        "{} does not look like the workspace root (no Cargo.toml or wit/)",
        root.display()
    );
    Ok(root.to_path_buf())
}

/// Builds a plugin's core module with Cargo and turns it into a checked component.
fn build_component(root: &Path, plugin: &Plugin) -> Result<Vec<u8>> {
    let target_dir = target_dir(root);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .current_dir(root)
        .args([
            "build",
            "--locked",
            "-p",
            plugin.package,
            "--target",
            WASM_TARGET,
        ])
        .args(["--profile", PROFILE])
        .arg("--target-dir")
        .arg(&target_dir)
        // Only the flags below: a developer's RUSTFLAGS must not change the committed bytes.
        .env("CARGO_ENCODED_RUSTFLAGS", remap_flags(root))
        .env_remove("RUSTFLAGS");
    if !plugin.features.is_empty() {
        command.args(["--features", plugin.features]);
    }
    println!(
        "building {} [{}] for {WASM_TARGET} (profile {PROFILE})",
        plugin.package, plugin.features
    );
    let status = command
        .status()
        .with_context(|| format!("running {}", Path::new(&cargo).display()))?;
    ensure!(
        status.success(),
        "cargo build of {} [{}] failed ({status})",
        plugin.package,
        plugin.features
    );

    let module_path = target_dir
        .join(WASM_TARGET)
        .join(PROFILE)
        .join(plugin.module);
    let module = std::fs::read(&module_path)
        .with_context(|| format!("reading {}", module_path.display()))?;
    let component = ComponentEncoder::default()
        .module(&module)
        .context("reading the core module and its component-type section")?
        .validate(true)
        .encode()
        .context("encoding the component")?;
    check_world(&component, plugin.exports)?;
    Ok(component)
}

/// Cargo's target directory: `$CARGO_TARGET_DIR` if set (relative to the root), else `target/`.
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// `--remap-path-prefix` flags for the workspace root and Cargo's home, joined with `\x1f` as
/// `CARGO_ENCODED_RUSTFLAGS` requires.
fn remap_flags(root: &Path) -> String {
    let mut flags = vec![format!(
        "--remap-path-prefix={}={REMAPPED_ROOT}",
        root.display()
    )];
    if let Some(home) = cargo_home() {
        flags.push(format!(
            "--remap-path-prefix={}={REMAPPED_CARGO_HOME}",
            home.display()
        ));
    }
    flags.join("\x1f")
}

/// `$CARGO_HOME`, or `$HOME/.cargo` where Cargo looks by default.
fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
}

/// Checks that the component is a plugin of contract [`CONTRACT`]: it exports exactly the
/// interfaces `exports` of `reservoir:plugin@CONTRACT` and imports nothing the host would have
/// to provide.
///
/// Any function or resource import (a clock, a file, a socket, WASI) is refused. An imported
/// interface of plain types only (which appears when exports `use` a shared type interface) needs
/// nothing from the host, so it is tolerated and reported; `wit/plugin.wit` keeps its types inside
/// the exported interfaces so that the list stays empty.
fn check_world(component: &[u8], exports: &[&str]) -> Result<()> {
    let decoded = wit_component::decode(component).context("decoding the component's world")?;
    let DecodedWasm::Component(resolve, world_id) = decoded else {
        bail!("the encoded plugin is not a component");
    };
    let world = &resolve.worlds[world_id];
    let mut imported = Vec::new();
    let mut types_only = Vec::new();
    for (key, item) in &world.imports {
        let name = resolve.name_world_key(key);
        match item {
            wit_parser::WorldItem::Interface { id, .. } => {
                let interface = &resolve.interfaces[*id];
                let resources = interface.types.values().filter(|&&ty| {
                    matches!(resolve.types[ty].kind, wit_parser::TypeDefKind::Resource)
                });
                if !interface.functions.is_empty() || resources.count() > 0 {
                    imported.push(format!("interface {name}"));
                } else {
                    types_only.push(name);
                }
            }
            wit_parser::WorldItem::Function(_) => imported.push(format!("function {name}")),
            wit_parser::WorldItem::Type { .. } => {}
        }
    }
    ensure!(
        imported.is_empty(),
        "the plugin must import nothing, but it imports: {}",
        imported.join(", ")
    );
    let mut found: Vec<String> = world
        .exports
        .keys()
        .map(|key| resolve.name_world_key(key))
        .collect();
    found.sort();
    let mut wanted: Vec<String> = exports
        .iter()
        .map(|name| format!("reservoir:plugin/{name}@{CONTRACT}"))
        .collect();
    wanted.sort();
    ensure!(
        found == wanted,
        "the plugin exports {} but its world needs exactly {}",
        found.join(", "),
        wanted.join(", ")
    );
    println!(
        "component world: imports no functions or resources (types only: {}), exports {}",
        if types_only.is_empty() {
            "none".to_string()
        } else {
            types_only.join(", ")
        },
        found.join(", ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_encoder::{
        CodeSection, EntityType, ExportKind, ExportSection, Function, FunctionSection,
        ImportSection, Module, TypeSection, ValType,
    };
    use wit_component::{embed_component_metadata, StringEncoding};
    use wit_parser::Resolve;

    /// A component for `world plugin { import wall; export run: func(); }` where `wall` has
    /// `now: func() -> u64`: a core module importing `now` and exporting `run`, plus its WIT.
    fn component_importing_a_clock() -> Result<Vec<u8>> {
        let mut resolve = Resolve::default();
        let package = resolve.push_str(
            "clock.wit",
            "package test:clock;\n\
             interface wall { now: func() -> u64; }\n\
             world plugin { import wall; export run: func(); }\n",
        )?;
        let world = resolve.select_world(&[package], Some("plugin"))?;

        let mut types = TypeSection::new();
        types.ty().function([], [ValType::I64]);
        types.ty().function([], []);
        let mut imports = ImportSection::new();
        imports.import("test:clock/wall", "now", EntityType::Function(0));
        let mut functions = FunctionSection::new();
        functions.function(1);
        let mut exports = ExportSection::new();
        exports.export("run", ExportKind::Func, 1);
        let mut code = CodeSection::new();
        let mut body = Function::new([]);
        body.instructions().end();
        code.function(&body);
        let mut module = Module::new();
        module
            .section(&types)
            .section(&imports)
            .section(&functions)
            .section(&exports)
            .section(&code);
        let mut bytes = module.finish();

        embed_component_metadata(&mut bytes, &resolve, world, StringEncoding::UTF8, false)?;
        ComponentEncoder::default()
            .module(&bytes)?
            .validate(true)
            .encode()
    }

    #[test]
    fn committed_plugins_import_nothing_and_export_their_world() -> Result<()> {
        for plugin in PLUGINS {
            let path = workspace_root()?.join(plugin.output);
            let component =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            check_world(&component, plugin.exports).with_context(|| plugin.output)?;
        }
        Ok(())
    }

    #[test]
    fn the_frozen_contract_0_1_fixture_is_intact_and_of_the_old_contract() -> Result<()> {
        let root = workspace_root()?;
        for frozen in FROZEN {
            check_frozen(&root, frozen)?;
        }
        let old = std::fs::read(root.join("plugins/test/contract-0.1.wasm"))?;
        let err = check_world(&old, PLUGIN_WORLD)
            .err()
            .context("a contract 0.1.0 component passed as 0.2.0")?;
        ensure!(
            format!("{err:#}").contains("reservoir:plugin/front@0.1.0"),
            "unexpected error: {err:#}"
        );
        ensure!(
            !PLUGINS
                .iter()
                .any(|p| FROZEN.iter().any(|f| f.path == p.output)),
            "a frozen fixture must not be rebuilt"
        );
        Ok(())
    }

    #[test]
    fn check_world_refuses_a_plugin_without_its_worlds_exports() -> Result<()> {
        let echo = std::fs::read(workspace_root()?.join("plugins/test/machine-only.wasm"))?;
        ensure!(check_world(&echo, STATE_MACHINE_WORLD).is_ok());
        ensure!(check_world(&echo, PLUGIN_WORLD).is_err());
        Ok(())
    }

    #[test]
    fn every_plugin_has_its_own_output() {
        let outputs: std::collections::BTreeSet<_> = PLUGINS.iter().map(|p| p.output).collect();
        assert_eq!(outputs.len(), PLUGINS.len());
    }

    #[test]
    fn check_world_refuses_a_component_that_imports_a_function() -> Result<()> {
        let component = component_importing_a_clock()?;
        let err = check_world(&component, &["run"])
            .err()
            .context("a clock import was accepted")?;
        ensure!(
            format!("{err:#}").contains("test:clock/wall"),
            "unexpected error: {err:#}"
        );
        Ok(())
    }

    #[test]
    fn remap_flags_cover_the_workspace_root() {
        let flags = remap_flags(Path::new("/some/checkout"));
        assert!(flags
            .split('\x1f')
            .any(|f| f == "--remap-path-prefix=/some/checkout=/reservoir"));
    }
}
