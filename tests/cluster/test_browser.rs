//! The web page in a real browser: headless Chromium (Debian's `chromium`) driven by
//! Playwright (`tests/browser/seat_picker.mjs`) against a real 3-node cluster. The page keeps
//! the tokens of what it booked (API 1.1), so after a reload it still lists and cancels them.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::util::*;

#[test]
fn a_visitor_books_two_seats_sees_them_after_a_reload_and_cancels_them_with_the_stored_token() {
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
    let reloaded_shot = screenshots.join("seat-picker-reloaded.png");
    // Screenshots left by an earlier run must not pass for this one.
    for path in [&shot, &reloaded_shot] {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("remove {}: {e}", path.display()),
        }
    }

    let mut driver = Command::new("node")
        .arg(browser_dir.join("seat_picker.mjs"))
        .args(["--base", &format!("http://{}", cluster.addrs[0])])
        .args(["--other", &format!("http://{}", cluster.addrs[1])])
        .args(["--showtime", "2"])
        .arg("--screenshot")
        .arg(&shot)
        .arg("--reload-screenshot")
        .arg(&reloaded_shot)
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node is installed");
    let status = wait_until(Duration::from_secs(150), "the browser script ends", || {
        driver.try_wait().expect("poll browser script")
    });
    assert!(status.success(), "the browser script failed: {status}");
    for path in [&shot, &reloaded_shot] {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        assert!(
            size > 10_000,
            "screenshot {} is {size} bytes",
            path.display()
        );
        println!("seat picker screenshot: {}", path.display());
    }

    // The page's booking was real (made from a hold; the script's other booking of alice is a
    // direct API call) and the page cancelled it after the reload: every node has it cancelled,
    // its seats free, and the direct booking untouched.
    settled_state(&cluster.addrs, Duration::from_secs(10));
    let operator = operator();
    for addr in &cluster.addrs {
        let bookings = request(
            "GET",
            addr,
            "/api/bookings?user=alice&showtime=2",
            None,
            &[(operator.0, &operator.1)],
        )
        .json();
        let listed = bookings["bookings"].as_array().expect("bookings");
        let (from_holds, direct): (Vec<&Value>, Vec<&Value>) =
            listed.iter().partition(|b| b["hold_id"].is_u64());
        assert_eq!(from_holds.len(), 1, "{addr}: {bookings}");
        assert_eq!(direct.len(), 1, "{addr}: {bookings}");
        let page_booking = from_holds[0];
        assert_eq!(page_booking["status"], "cancelled", "{addr}: {bookings}");
        assert_eq!(direct[0]["status"], "confirmed", "{addr}: {bookings}");
        assert!(
            !bookings.to_string().contains("\"token\""),
            "{addr}: {bookings}"
        );
        let seats = page_booking["seats"].as_array().expect("seats");
        assert_eq!(seats.len(), 2, "{addr}: {bookings}");
        let map = get(addr, "/api/showtimes/2/seats?consistency=local").json();
        for seat in seats {
            let state = map["seats"]
                .as_array()
                .expect("seats")
                .iter()
                .find(|s| s["seat"] == *seat)
                .map(|s| s["state"].clone());
            assert_eq!(state, Some(Value::from("free")), "{addr}: seat {seat}");
        }
        // Cancelled by its owner (the page, with the token), not by an operator.
        let activity = get(addr, "/api/showtimes/2/activity").json();
        let cancel = activity["activity"]
            .as_array()
            .expect("activity")
            .iter()
            .find(|c| c["action"] == "cancelled" && c["booking_id"] == page_booking["id"])
            .cloned();
        assert_eq!(
            cancel.map(|c| c["user"].clone()),
            Some(Value::from("alice")),
            "{addr}: {activity}"
        );
    }
}
