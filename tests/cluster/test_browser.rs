//! The web page in a real browser: headless Chromium (Debian's `chromium`) driven by
//! Playwright (`tests/browser/seat_picker.mjs`) against a real 3-node cluster.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::*;

#[test]
fn a_visitor_holds_and_confirms_two_seats_and_another_browser_sees_them_taken_live() {
    let browser_dir = workspace().join("tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").exists(),
        "playwright-core is not installed: run `npm ci --prefix tests/browser` (.ci/run does)"
    );
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is not installed: `apt-get install chromium` (.ci/run does)"
    );
    let cluster = Cluster::start(3);
    let screenshots = workspace().join("target/browser");
    std::fs::create_dir_all(&screenshots).expect("screenshot dir");
    let shot = screenshots.join("seat-picker.png");
    // A screenshot left by an earlier run must not pass for this one.
    let _ = std::fs::remove_file(&shot);

    let mut driver = Command::new("node")
        .arg(browser_dir.join("seat_picker.mjs"))
        .args(["--base", &format!("http://{}", cluster.addrs[0])])
        .args(["--other", &format!("http://{}", cluster.addrs[1])])
        .args(["--showtime", "2"])
        .arg("--screenshot")
        .arg(&shot)
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node is installed");
    let status = wait_until(Duration::from_secs(120), "the browser script ends", || {
        driver.try_wait().expect("poll browser script")
    });
    assert!(status.success(), "the browser script failed: {status}");
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "screenshot {} is {size} bytes",
        shot.display()
    );
    println!("seat picker screenshot: {}", shot.display());

    // The page's booking is real (made from a hold; the script's other booking of alice is a
    // direct API call): every node has it.
    for addr in &cluster.addrs {
        let bookings = get(addr, "/api/bookings?user=alice").json();
        let from_holds: Vec<&serde_json::Value> = bookings["bookings"]
            .as_array()
            .expect("bookings")
            .iter()
            .filter(|b| b["hold"].is_string())
            .collect();
        assert_eq!(from_holds.len(), 1, "{addr}: {bookings}");
        assert_eq!(from_holds[0]["seats"].as_array().expect("seats").len(), 2);
    }
}
