//! The web page (seat picker) served at `/`, compiled into the plugin.
//!
//! The files live in `guest-seat-logic/web/` and are embedded with `include_bytes!`, so a plugin
//! swap (a log entry) updates the page on every node at once, with no file on any node's disk.
//! `cache-control: no-cache` makes browsers revalidate, so they notice a swap at the next load.
//!
//! The page routes itself with the History API: each of its views has a real address
//! ([`PAGES`]), and the plugin answers `index.html` for every one of them, so a shared or
//! reloaded deep link opens the same view. Nothing under `/api/` is ever a page.

use crate::contract::HttpResponse;

/// The page's own addresses (route templates; `{id}` a decimal id). Each answers `index.html`,
/// whose script shows the matching view.
pub const PAGES: &[&str] = &[
    "/movies",
    "/movies/{id}",
    "/movies/{id}/seats",
    "/showtimes",
    "/showtimes/{id}",
    "/bookings",
];

/// `(path, content type, bytes)` of every embedded file.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "/",
        "text/html; charset=utf-8",
        include_bytes!("../web/index.html"),
    ),
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../web/app.js"),
    ),
    (
        "/app.css",
        "text/css; charset=utf-8",
        include_bytes!("../web/app.css"),
    ),
];

/// The 200 response for an embedded file, or the page itself for a route template of
/// [`PAGES`]; `None` for any other path.
pub fn asset(path: &str) -> Option<HttpResponse> {
    let file = if PAGES.contains(&path) { "/" } else { path };
    let (_, content_type, bytes) = ASSETS.iter().find(|(p, _, _)| *p == file)?;
    Some(HttpResponse {
        status: 200,
        headers: vec![
            ("content-type".to_string(), (*content_type).to_string()),
            ("cache-control".to_string(), "no-cache".to_string()),
        ],
        body: bytes.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_the_three_files_with_their_types() {
        for (path, kind) in [
            ("/", "text/html"),
            ("/app.js", "text/javascript"),
            ("/app.css", "text/css"),
        ] {
            let Some(response) = asset(path) else {
                panic!("{path} missing")
            };
            assert_eq!(response.status, 200);
            assert!(response
                .header("content-type")
                .is_some_and(|t| t.starts_with(kind)));
            assert_eq!(response.header("cache-control"), Some("no-cache"));
            assert!(!response.body.is_empty());
        }
        assert!(asset("/index.html").is_none());
    }

    #[test]
    fn every_page_route_is_the_page_and_no_api_path_is() {
        let Some(index) = asset("/") else {
            panic!("/ missing")
        };
        for page in PAGES {
            let Some(response) = asset(page) else {
                panic!("{page} missing")
            };
            assert_eq!(response.body, index.body, "{page}");
            assert!(!page.starts_with("/api"), "{page}");
        }
    }

    #[test]
    fn the_page_loads_its_assets_by_absolute_path() {
        let Some(index) = asset("/") else {
            panic!("/ missing")
        };
        let html = String::from_utf8_lossy(&index.body);
        assert!(html.contains(r#"href="/app.css""#), "{html}");
        assert!(html.contains(r#"src="/app.js""#), "{html}");
    }
}
