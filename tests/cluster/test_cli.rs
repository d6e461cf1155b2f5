//! Bad command-line input: exit status 2 and one clear line on stderr, never a panic; and
//! `host keygen`.

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
    let secrets = secrets_dir().to_str().expect("utf-8 path");
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let empty = empty.to_str().expect("utf-8 path");
    let data = dir.path().join("data");
    let data = data.to_str().expect("utf-8 path");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "--id",
                "0",
                "--config-file",
                config,
                "--prod",
                "--data-dir",
                data,
            ],
            "host keygen",
        ),
        (
            vec![
                "--id",
                "0",
                "--config-file",
                config,
                "--prod",
                "--data-dir",
                data,
                "--secrets",
                empty,
            ],
            "host keygen --out",
        ),
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
                "--secrets",
                secrets,
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

#[test]
fn keygen_makes_private_credentials_rotates_and_revokes_tokens() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("secrets");
    let out_arg = out.to_str().expect("utf-8 path");
    let made = std::process::Command::new(host_bin())
        .args(["keygen", "--out", out_arg])
        .output()
        .expect("run keygen");
    assert!(made.status.success(), "{made:?}");
    let said = String::from_utf8_lossy(&made.stdout);
    assert!(said.contains("admin.token"), "{said}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in ["ca.key", "admin.token", "operator.token", "tokens.json"] {
            let mode = std::fs::metadata(out.join(file))
                .expect(file)
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{file} is private");
        }
    }
    let old = std::fs::read_to_string(out.join("admin.token")).expect("token");
    let rotated = std::process::Command::new(host_bin())
        .args(["keygen", "--out", out_arg, "--token", "admin"])
        .status()
        .expect("rotate");
    assert!(rotated.success());
    let new = std::fs::read_to_string(out.join("admin.token")).expect("token");
    assert_ne!(old, new, "a new token");
    let tokens = std::fs::read_to_string(out.join("tokens.json")).expect("tokens");
    assert!(!tokens.contains(new.trim()), "stored hashed only");
    let revoked = std::process::Command::new(host_bin())
        .args(["keygen", "--out", out_arg, "--revoke", "operator"])
        .status()
        .expect("revoke");
    assert!(revoked.success());
    let (code, stderr) = run_host(&["keygen", "--out", out_arg, "--revoke", "nobody"]);
    assert_eq!(code, 2, "{stderr}");
}
