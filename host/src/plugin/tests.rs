//! Loading and validating components: the bundled plugin passes, and each kind of bad candidate
//! is refused at the step that catches it.

use std::sync::Arc;

use super::*;

fn runtime() -> Runtime {
    Runtime::new(Limits::default()).expect("engine")
}

/// The bundled plugin (`plugins/seat.wasm`), the fixture of the host's unit tests.
pub(crate) fn bundled_plugin() -> PluginImage {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/seat.wasm");
    PluginImage::new(std::fs::read(path).expect("plugins/seat.wasm is committed"))
}

#[test]
fn the_bundled_plugin_loads_and_describes_itself() {
    let runtime = runtime();
    let plugin = runtime
        .load(bundled_plugin())
        .expect("bundled plugin is valid");
    assert!(!plugin.info.name.is_empty());
    assert!(plugin.info.snapshot_format >= plugin.info.min_restore_format);
    // A second load of the same bytes is served from the cache.
    let again = runtime.load(bundled_plugin()).expect("cached");
    assert!(Arc::ptr_eq(&plugin, &again));
}

#[test]
fn bytes_that_are_not_a_component_are_refused_at_compile() {
    let runtime = runtime();
    for bytes in [b"not wasm at all".to_vec(), b"\0asm\x01\0\0\0".to_vec()] {
        let err = runtime.load(PluginImage::new(bytes)).expect_err("refused");
        assert!(matches!(err, LoadError::Compile(_)), "{err}");
        assert!(err.to_string().starts_with("compile:"), "{err}");
        assert_eq!(err.to_string().lines().count(), 1);
    }
}

#[test]
fn a_component_of_another_world_is_refused_at_exports() {
    let bytes = wat::parse_str("(component)").expect("wat");
    let err = runtime()
        .load(PluginImage::new(bytes))
        .expect_err("refused");
    assert!(matches!(err, LoadError::Exports(_)), "{err}");
}

#[test]
fn a_component_with_imports_is_refused_at_imports() {
    let bytes = wat::parse_str(r#"(component (import "wasi:clocks/wall-clock@0.2.0" (instance)))"#)
        .expect("wat");
    let err = runtime()
        .load(PluginImage::new(bytes))
        .expect_err("refused");
    assert!(matches!(err, LoadError::Imports(_)), "{err}");
    assert!(err.to_string().contains("wasi:clocks/wall-clock"), "{err}");
}

#[test]
fn an_image_detects_tampered_bytes() {
    let mut image = bundled_plugin();
    assert!(image.is_intact());
    image.bytes[100] ^= 0xff;
    assert!(!image.is_intact());
}

#[test]
fn instances_round_trip_their_state_through_snapshot_and_restore() {
    let runtime = runtime();
    let plugin = runtime.load(bundled_plugin()).expect("valid");
    let mut first = runtime.instantiate(&plugin).expect("instance");
    let Some(ConsoleAction::Write(command)) =
        first.console("a1", ConsoleMode::Demo).expect("console")
    else {
        panic!("the console line `a1` is a write");
    };
    let ctx = LogContext {
        index: 1,
        term: 1,
        leader_time_ms: 1,
    };
    assert!(first.apply(ctx, &command).expect("apply").is_ok());
    // The same command again is refused by the rules, and the instance stays alive.
    assert!(first
        .apply(LogContext { index: 2, ..ctx }, &command)
        .expect("apply")
        .is_err());
    assert!(!first.is_dead());

    let snapshot = first.snapshot().expect("snapshot");
    let mut second = runtime.instantiate(&plugin).expect("instance");
    second
        .restore(&snapshot)
        .expect("call")
        .expect("restore accepted");
    assert!(
        second
            .apply(LogContext { index: 3, ..ctx }, &command)
            .expect("apply")
            .is_err(),
        "a1 is taken after restore"
    );
    assert!(
        second.restore(b"garbage").expect("call").is_err(),
        "garbage snapshot refused"
    );
}
