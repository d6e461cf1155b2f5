//! The web page in a real browser: headless Chromium (Debian's `chromium`) driven by
//! Playwright (`tests/browser/seat_picker.mjs`) against the cluster of README's quickstart:
//! `host local` with the default profile of `config.json` (ports 8001-8003), its credentials
//! made on first start in a temp dir (the command's working directory, so nothing lands in the
//! repository), and the page opened at README's own address, `http://localhost:8001/`.

use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::util::*;

/// The address README gives for the web page of the default profile.
const README_URL: &str = "http://localhost:8001/";

/// README's quickstart names [`README_URL`] as the page's address: so the test opens the
/// address a newcomer reads, not one of its own.
fn assert_readme_names_the_address() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("README.md");
    assert!(
        readme.contains(&format!("**web page is at {README_URL}**")),
        "README's quickstart no longer gives {README_URL} as the web page's address"
    );
}

/// The nodes of the default profile, as `config.json` lists them.
fn default_profile_nodes() -> Vec<String> {
    let text = std::fs::read_to_string(workspace().join("config.json")).expect("config.json");
    let config: Value = serde_json::from_str(&text).expect("config.json is JSON");
    config["default"]["nodes"]
        .as_array()
        .expect("default profile nodes")
        .iter()
        .map(|n| n.as_str().expect("node address").to_string())
        .collect()
}

/// Panics with a clear message when a port of the profile is taken (another cluster, e.g. a
/// developer's `host local`, would answer the browser instead of ours).
fn assert_port_free(addr: &str) {
    let port: u16 = addr
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let taken = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1))
        .is_ok()
        || matches!(TcpListener::bind(("127.0.0.1", port)), Err(e) if e.kind() == ErrorKind::AddrInUse);
    assert!(
        !taken,
        "port {port} ({addr}) is taken: the browser test starts README's quickstart cluster on \
         the default profile's ports 8001-8003 and opens {README_URL}; stop whatever listens \
         there (e.g. a `host local` left running) and run the test again"
    );
}

/// `host local` as README's quickstart runs it, in a temp working directory; leaving its
/// console (closing stdin) stops all three nodes, as Ctrl-D does.
struct Quickstart {
    /// The console's stdin; dropped first in `Drop`, which ends the console.
    stdin: Option<ChildStdin>,
    /// Node 0 (with the console); it starts and stops nodes 1 and 2.
    child: Child,
    /// The working directory: `data/local` (credentials, logs) lives here.
    dir: tempfile::TempDir,
}

impl Quickstart {
    fn start() -> Quickstart {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = std::fs::File::create(dir.path().join("console.log")).expect("console log");
        let mut child = Command::new(host_bin())
            .arg("local")
            .arg("--config-file")
            .arg(workspace().join("config.json"))
            .arg("--plugin")
            .arg(seat_plugin())
            .current_dir(dir.path())
            .stdin(Stdio::piped())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start host local");
        Quickstart {
            stdin: child.stdin.take(),
            child,
            dir,
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data/local")
    }

    fn admin_token(&self) -> String {
        std::fs::read_to_string(self.data_dir().join("secrets/admin.token"))
            .expect("host local made an admin token")
            .trim()
            .to_string()
    }

    fn console_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("console.log")).unwrap_or_default()
    }
}

impl Drop for Quickstart {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // The console did not leave in time: kill node 0 (its children may then linger).
        eprintln!("host local did not stop within 20 s; killing it");
        // Already gone is fine; the kill is the last resort.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Removes a screenshot an earlier run left, so it cannot pass for this one's.
fn remove_old(path: &Path) {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => panic!("remove {}: {e}", path.display()),
    }
}

/// Every screenshot the script saves: (view, viewport width).
const SHOTS: &[&str] = &[
    "landing-1280.png",
    "landing-390.png",
    "movie-1280.png",
    "movie-390.png",
    "seats-hold-1280.png",
    "seats-hold-390.png",
    "bookings-1280.png",
    "bookings-390.png",
];

#[test]
fn the_quickstart_page_at_readmes_address_books_lists_and_cancels_in_a_real_browser() {
    let browser_dir = workspace().join("tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").exists(),
        "playwright-core is not installed: run `npm ci --prefix tests/browser` (.ci/run does)"
    );
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is not installed: `apt-get install chromium` (.ci/run does)"
    );
    assert_readme_names_the_address();
    let nodes = default_profile_nodes();
    assert_eq!(nodes.len(), 3, "README's quickstart is a 3-node cluster");
    assert_eq!(
        format!("http://{}/", nodes[0]),
        README_URL,
        "README's address is the default profile's first node"
    );
    for addr in &nodes {
        assert_port_free(addr);
    }
    let cluster = Quickstart::start();
    for addr in &nodes {
        wait_until(
            Duration::from_secs(60),
            "every node serves the page",
            || try_get(addr, "/").filter(|a| a.status == 200),
        );
    }
    // A fresh cluster may date its demo showtimes from its first log entry: until then they
    // read as starting at the epoch. Wait until every one has a real date.
    wait_until(
        Duration::from_secs(30),
        "the demo showtimes are dated",
        || {
            let list = try_get(&nodes[0], "/api/showtimes?limit=500")?.json();
            let showtimes = list["showtimes"].as_array()?;
            let dated = !showtimes.is_empty()
                && showtimes.iter().all(|s| {
                    s["starts_at"]
                        .as_str()
                        .is_some_and(|t| !t.starts_with("1970-"))
                });
            dated.then_some(())
        },
    );
    let admin = cluster.admin_token();
    let admin_header = ("authorization", format!("Bearer {admin}"));

    // Rules the page must read from the plugin, not assume: a per-customer limit below the
    // default (the page offered 10 where the running rules allowed fewer).
    wait_until(
        Duration::from_secs(30),
        "a leader takes the settings",
        || {
            try_request(
                "PUT",
                &nodes[0],
                "/api/settings",
                Some(r#"{"max_seats_per_customer":6}"#),
                &[(admin_header.0, &admin_header.1)],
            )
            .filter(|a| a.status == 200)
        },
    );

    let screenshots = workspace().join("target/browser");
    std::fs::create_dir_all(&screenshots).expect("screenshot dir");
    for name in SHOTS {
        remove_old(&screenshots.join(name));
    }

    let mut driver = Command::new("node")
        .arg(browser_dir.join("seat_picker.mjs"))
        .args(["--base", README_URL])
        .args(["--other", &format!("http://{}/", nodes[1])])
        .arg("--shots")
        .arg(&screenshots)
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node is installed");
    let status = wait_until(Duration::from_secs(170), "the browser script ends", || {
        driver.try_wait().expect("poll browser script")
    });
    if !status.success() {
        eprintln!("host local console:\n{}", cluster.console_log());
    }
    assert!(status.success(), "the browser script failed: {status}");
    for name in SHOTS {
        let path = screenshots.join(name);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        assert!(
            size > 10_000,
            "screenshot {} is {size} bytes",
            path.display()
        );
        println!("screenshot: {}", path.display());
    }

    // The page's booking was real (made from a hold; the script's other booking of alice is a
    // direct API call) and the page cancelled it from "My bookings": every node has it
    // cancelled by its owner, and the direct booking untouched.
    for addr in &nodes {
        let bookings = wait_until(
            Duration::from_secs(10),
            "the cancel reaches every node",
            || {
                let answer = try_request(
                    "GET",
                    addr,
                    "/api/bookings?user=alice",
                    None,
                    &[(admin_header.0, &admin_header.1)],
                )?;
                let json = answer.json();
                let page = json["bookings"]
                    .as_array()?
                    .iter()
                    .any(|b| b["hold_id"].is_u64() && b["status"] == "cancelled");
                page.then_some(json)
            },
        );
        let listed = bookings["bookings"].as_array().expect("bookings");
        let (from_holds, direct): (Vec<&Value>, Vec<&Value>) =
            listed.iter().partition(|b| b["hold_id"].is_u64());
        assert_eq!(from_holds.len(), 1, "{addr}: {bookings}");
        assert_eq!(direct.len(), 1, "{addr}: {bookings}");
        assert_eq!(from_holds[0]["status"], "cancelled", "{addr}: {bookings}");
        assert_eq!(direct[0]["status"], "confirmed", "{addr}: {bookings}");
        assert!(
            !bookings.to_string().contains("\"token\""),
            "{addr}: {bookings}"
        );
        let showtime = from_holds[0]["showtime_id"].as_u64().expect("showtime id");
        let activity = get(addr, &format!("/api/showtimes/{showtime}/activity")).json();
        let cancel = activity["activity"]
            .as_array()
            .expect("activity")
            .iter()
            .find(|c| c["action"] == "cancelled" && c["booking_id"] == from_holds[0]["id"])
            .cloned();
        assert_eq!(
            cancel.map(|c| c["user"].clone()),
            Some(Value::from("alice")),
            "{addr}: {activity}"
        );
    }
}
