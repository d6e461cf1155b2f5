//! `GET /api/openapi.json`: the OpenAPI 3.1 description of every route, written by hand.
//!
//! The document is the file `guest-seat-logic/openapi.json`, embedded with `include_str!` so that
//! it travels with the plugin (a swap updates it with the routes). A test checks that its paths
//! and methods are exactly [`crate::http::ROUTES`], so the two cannot drift apart silently.

use crate::contract::HttpResponse;

/// The document, as written.
pub const DOCUMENT: &str = include_str!("../openapi.json");

/// The 200 response carrying the document.
pub fn response() -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("cache-control".to_string(), "no-cache".to_string()),
        ],
        body: DOCUMENT.as_bytes().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;
    use crate::contract::{HttpAction, HttpRequest};
    use crate::http::{route, Access, ROUTES};

    /// `(path, METHOD, access)` triples of the route table.
    fn table() -> BTreeSet<(String, String, &'static str)> {
        ROUTES
            .iter()
            .flat_map(|r| {
                r.methods
                    .iter()
                    .map(|(m, access)| (r.path.to_string(), m.to_string(), access.name()))
            })
            .collect()
    }

    fn document() -> Value {
        serde_json::from_str(DOCUMENT).unwrap_or(Value::Null)
    }

    #[test]
    fn document_lists_exactly_the_routed_paths_methods_and_access_rules() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        let mut listed = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, operation) in item.as_object().into_iter().flatten() {
                let access = operation["x-access"].as_str().unwrap_or("(none)");
                let access = ROUTES
                    .iter()
                    .flat_map(|r| r.methods.iter().map(|(_, a)| a.name()))
                    .find(|name| *name == access)
                    .unwrap_or("(unknown)");
                listed.insert((path.clone(), method.to_ascii_uppercase(), access));
                // Every operation that needs a credential declares it and its 401.
                if access != Access::Public.name() {
                    assert!(operation["security"].is_array(), "{method} {path}");
                    assert!(operation["responses"]["401"].is_object(), "{method} {path}");
                }
            }
        }
        assert_eq!(listed, table());
        for schema in [
            "Movie",
            "MovieSummary",
            "Theater",
            "Showtime",
            "ShowtimeSummary",
            "Seat",
            "Hold",
            "Booking",
            "Problem",
            "Change",
            "Settings",
            "Limits",
            "BestSeats",
        ] {
            assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
        }
    }

    #[test]
    fn every_table_entry_is_routed() {
        for (path, method, _) in table() {
            let concrete = path
                .replace("{id}", "2")
                .replace("{token}", "h_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
            let body = match (concrete.as_str(), method.as_str()) {
                ("/api/movies", "POST") => r#"{"title":"Up","year":2009,"duration_minutes":96}"#,
                ("/api/theaters", "POST") => r#"{"name":"Hall","rows":[{"row":"a","seats":3}]}"#,
                ("/api/showtimes", "POST") => {
                    r#"{"movie_id":1,"theater_id":1,"starts_at":"2026-12-01T20:00:00Z","price_cents":900}"#
                }
                ("/api/settings", "PUT") => r#"{"max_seats_per_customer":4}"#,
                (p, "POST") if p.ends_with("/holds") || p.ends_with("/bookings") => {
                    r#"{"seats":["a1"],"user":"alice"}"#
                }
                _ => "",
            };
            let query = if concrete.ends_with("/best") {
                "count=2"
            } else {
                ""
            };
            let request = HttpRequest {
                method: method.clone(),
                path: concrete.clone(),
                query: query.into(),
                headers: vec![("content-type".into(), "application/json".into())],
                body: body.as_bytes().to_vec(),
                role: Some("admin".into()),
                entropy: vec![1; 32],
                ..HttpRequest::default()
            };
            if let HttpAction::Respond(response) = route(&request) {
                assert_eq!(response.status, 200, "{method} {concrete}: {response:?}");
            }
        }
    }
}
