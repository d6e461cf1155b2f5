//! Loading and validating components: the bundled plugin passes, each kind of bad candidate is
//! refused at the step that catches it, and optional fronts are detected.

use std::sync::Arc;

use super::*;

/// A component from `plugins/`, the fixtures of the host's unit tests.
pub(crate) fn plugin_file(name: &str) -> PluginImage {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins")
        .join(name);
    PluginImage::new(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// The bundled seat plugin (`plugins/seat.wasm`).
pub(crate) fn bundled_plugin() -> PluginImage {
    plugin_file("seat.wasm")
}

fn stack() -> usize {
    Limits::default().stack_bytes
}

#[test]
fn the_bundled_plugin_loads_describes_itself_and_exports_both_fronts() {
    let runtime = Runtime::new();
    let plugin = runtime
        .load(&bundled_plugin(), stack())
        .expect("bundled plugin is valid");
    assert!(!plugin.info.name.is_empty());
    assert!(plugin.info.snapshot_format >= plugin.info.min_restore_format);
    assert_eq!(
        plugin.fronts,
        Fronts {
            http: true,
            console: true
        }
    );
    // A second load of the same bytes is served from the cache.
    let again = runtime.load(&bundled_plugin(), stack()).expect("cached");
    assert!(Arc::ptr_eq(&plugin, &again));
}

#[test]
fn bytes_that_are_not_a_component_are_refused_at_compile() {
    let runtime = Runtime::new();
    for bytes in [b"not wasm at all".to_vec(), b"\0asm\x01\0\0\0".to_vec()] {
        let err = runtime
            .load(&PluginImage::new(bytes), stack())
            .expect_err("refused");
        assert_eq!(err.step(), "compile", "{err}");
        assert_eq!(err.to_string().lines().count(), 1);
    }
}

#[test]
fn a_component_of_another_world_is_refused_at_exports() {
    let bytes = wat::parse_str("(component)").expect("wat");
    let err = Runtime::new()
        .load(&PluginImage::new(bytes), stack())
        .expect_err("refused");
    assert_eq!(err.step(), "exports", "{err}");
    assert!(
        err.to_string().contains("reservoir:plugin/machine@0.2.0"),
        "{err}"
    );
}

#[test]
fn a_component_of_the_old_contract_is_refused_naming_the_version_it_lacks() {
    let err = Runtime::new()
        .load(&plugin_file("test/contract-0.1.wasm"), stack())
        .expect_err("refused");
    assert_eq!(err.step(), "exports", "{err}");
    let text = err.to_string();
    assert!(text.contains("reservoir:plugin@0.1.0"), "{text}");
    assert!(text.contains("reservoir:plugin@0.2.0"), "{text}");
}

#[test]
fn a_component_with_imports_is_refused_at_imports() {
    let bytes = wat::parse_str(r#"(component (import "wasi:clocks/wall-clock@0.2.0" (instance)))"#)
        .expect("wat");
    let err = Runtime::new()
        .load(&PluginImage::new(bytes), stack())
        .expect_err("refused");
    assert_eq!(err.step(), "imports", "{err}");
    assert!(err.to_string().contains("wasi:clocks/wall-clock"), "{err}");
}

#[test]
fn a_machine_only_plugin_loads_without_fronts_and_front_calls_say_so() {
    let runtime = Runtime::new();
    let plugin = runtime
        .load(&plugin_file("test/machine-only.wasm"), stack())
        .expect("valid");
    assert_eq!(plugin.fronts, Fronts::default());
    let mut instance = plugin.instantiate(Limits::default()).expect("instance");
    let request = HttpRequest::default();
    assert_eq!(instance.route(&request).err(), Some(Fault::NoFront("http")));
    assert!(
        !instance.is_dead(),
        "a missing front does not kill the instance"
    );
    let applied = instance
        .apply(
            LogContext {
                index: 1,
                term: 1,
                time_ms: 1,
            },
            b"x",
        )
        .expect("apply");
    assert!(applied.result.is_ok());
}

#[test]
fn instances_round_trip_their_state_through_snapshot_and_restore() {
    let runtime = Runtime::new();
    let plugin = runtime.load(&bundled_plugin(), stack()).expect("valid");
    let mut first = plugin.instantiate(Limits::default()).expect("instance");
    let line = ConsoleLine {
        text: "a1".into(),
        mode: ConsoleMode::Demo,
        entropy: [7; ENTROPY_BYTES],
    };
    let Some(ConsoleAction::Write(command)) = first.console_parse(&line).expect("parse") else {
        panic!("the console line `a1` is a write");
    };
    let ctx = LogContext {
        index: 1,
        term: 1,
        time_ms: 1,
    };
    let applied = first.apply(ctx, &command).expect("apply");
    assert!(applied.result.is_ok(), "{applied:?}");
    assert!(
        !applied.topics.is_empty(),
        "a write that changes the state names the topics it changed"
    );
    // The same command again is refused by the rules, and the instance stays alive.
    assert!(first
        .apply(LogContext { index: 2, ..ctx }, &command)
        .expect("apply")
        .result
        .is_err());
    assert!(!first.is_dead());

    let snapshot = first.snapshot().expect("snapshot");
    let mut second = plugin.instantiate(Limits::default()).expect("instance");
    second
        .restore(&snapshot)
        .expect("call")
        .expect("restore accepted");
    assert_eq!(
        second.snapshot().expect("snapshot"),
        snapshot,
        "same state, same bytes"
    );
    assert!(
        second
            .apply(LogContext { index: 3, ..ctx }, &command)
            .expect("apply")
            .result
            .is_err(),
        "a1 is taken after restore"
    );
    assert!(
        second.restore(b"garbage").expect("call").is_err(),
        "garbage snapshot refused"
    );
}
