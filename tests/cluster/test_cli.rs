//! Bad command-line input: exit status 2 and one clear line on stderr, never a panic.

use crate::util::*;

#[test]
fn bad_cli_input_exits_2_with_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad_json = dir.path().join("bad.json");
    std::fs::write(&bad_json, "{ not json").expect("write");
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"default":{"nodes":["127.0.0.1:1","127.0.0.1:2","127.0.0.1:3"]}}"#,
    )
    .expect("write");
    let config = config.to_str().expect("utf-8 path");
    let not_wasm = workspace().join("Cargo.toml");
    let not_wasm = not_wasm.to_str().expect("utf-8 path");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--id", "7", "--config-file", config, "--no-console"],
            "out of range",
        ),
        (
            vec![
                "--id",
                "0",
                "--config",
                "nope",
                "--config-file",
                config,
                "--no-console",
            ],
            "unknown profile 'nope'",
        ),
        (
            vec![
                "--id",
                "0",
                "--config-file",
                "/nonexistent/config.json",
                "--no-console",
            ],
            "not found",
        ),
        (
            vec![
                "--id",
                "0",
                "--config-file",
                bad_json.to_str().expect("utf-8"),
                "--no-console",
            ],
            "invalid config file",
        ),
        (
            vec![
                "--id",
                "0",
                "--config-file",
                config,
                "--plugin",
                "/nonexistent.wasm",
                "--no-console",
            ],
            "cannot read plugin",
        ),
        (
            vec![
                "--id",
                "0",
                "--config-file",
                config,
                "--plugin",
                not_wasm,
                "--no-console",
            ],
            "plugin refused at compile",
        ),
        (
            vec!["--config-file", config, "--no-console"],
            "--id N is required",
        ),
    ];
    for (args, expected) in cases {
        let (code, stderr) = run_host(&args);
        assert_eq!(code, 2, "{args:?}: stderr {stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{args:?}: stderr {stderr}"
        );
        assert!(
            stderr.contains(expected),
            "{args:?}: expected {expected:?} in {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
