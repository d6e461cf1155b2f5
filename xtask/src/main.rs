//! Developer tasks for the plugins, run as `cargo xtask <task>` (alias in `.cargo/config.toml`).
//!
//! - `build-plugin`: builds every plugin of [`PLUGINS`] for `wasm32-unknown-unknown` with the
//!   `plugin` profile (one Cargo build per crate and feature set), wraps each core module into a
//!   component, checks that the component imports nothing and exports the plugin world, and
//!   writes it: `plugins/seat.wasm` (seat rules 1.0.0), `plugins/seat-v2.wasm` (seat rules
//!   2.0.0, feature `v2`) and the misbehaving test plugins `plugins/test/<name>.wasm`.
//! - `check-plugin`: does the same builds in memory and fails if any committed file differs, so
//!   CI catches a `plugins/*.wasm` that no longer matches its source.
//!
//! The build is reproducible: the same source gives the same bytes whatever folder the workspace
//! sits in and wherever Cargo keeps its registry, because absolute paths that end up in the
//! binary (panic locations of dependencies) are remapped to fixed prefixes.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, ensure, Context, Result};
use wit_component::{ComponentEncoder, DecodedWasm};

/// One plugin to build: a crate, its features, and where its component goes.
#[derive(Debug, Clone, Copy)]
struct Plugin {
    /// Crate built into the plugin.
    package: &'static str,
    /// Cargo features of the build (empty for none).
    features: &'static str,
    /// File name of the core module Cargo produces for `package`.
    module: &'static str,
    /// Where the component goes, relative to the workspace root.
    output: &'static str,
}

/// A test plugin: one feature of `test-plugins`, written to `plugins/test/<feature>.wasm`.
const fn test_plugin(feature: &'static str, output: &'static str) -> Plugin {
    Plugin {
        package: "test-plugins",
        features: feature,
        module: "test_plugins.wasm",
        output,
    }
}

/// Every plugin `build-plugin` writes and `check-plugin` checks, in build order.
const PLUGINS: &[Plugin] = &[
    Plugin {
        package: "guest-seat-logic",
        features: "",
        module: "guest_seat_logic.wasm",
        output: "plugins/seat.wasm",
    },
    Plugin {
        package: "guest-seat-logic",
        features: "v2",
        module: "guest_seat_logic.wasm",
        output: "plugins/seat-v2.wasm",
    },
    test_plugin("trap-restore", "plugins/test/trap-restore.wasm"),
    test_plugin("loop-apply", "plugins/test/loop-apply.wasm"),
    test_plugin("grow-memory", "plugins/test/grow-memory.wasm"),
    test_plugin("loop-restore", "plugins/test/loop-restore.wasm"),
    test_plugin("wrong-info", "plugins/test/wrong-info.wasm"),
    test_plugin("echo", "plugins/test/echo.wasm"),
];

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
       check-plugin   fail if any of them differs from a fresh build"
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

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> Result<PathBuf> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
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
    check_world(&component)?;
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

/// Checks that the component is a plugin: it exports `machine` and `front` and imports nothing
/// the host would have to provide.
///
/// Any function or resource import (a clock, a file, a socket, WASI) is refused. An imported
/// interface of plain types only (which appears when exports `use` a shared type interface) needs
/// nothing from the host, so it is tolerated and reported; `wit/plugin.wit` keeps its types inside
/// the exported interfaces so that the list stays empty.
fn check_world(component: &[u8]) -> Result<()> {
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
    let exports: Vec<String> = world
        .exports
        .keys()
        .map(|key| resolve.name_world_key(key))
        .collect();
    for wanted in ["machine", "front"] {
        ensure!(
            exports
                .iter()
                .any(|e| e.starts_with(&format!("reservoir:plugin/{wanted}"))),
            "the plugin does not export reservoir:plugin/{wanted} (exports: {})",
            exports.join(", ")
        );
    }
    println!(
        "component world: imports no functions or resources (types only: {}), exports {}",
        if types_only.is_empty() {
            "none".to_string()
        } else {
            types_only.join(", ")
        },
        exports.join(", ")
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
    fn committed_plugins_import_nothing_and_export_machine_and_front() -> Result<()> {
        for plugin in PLUGINS {
            let path = workspace_root()?.join(plugin.output);
            let component =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            check_world(&component).with_context(|| plugin.output)?;
        }
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
        let err = check_world(&component)
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
