//! The OpenAPI 3.1 document of the host's own routes, served at `GET /v1/openapi.json`.
//!
//! Its `paths` are made from `admin::ROUTES`, the table authorization uses, so a route cannot
//! be served without being documented nor documented without being served (the tests below
//! check that every route has its details and no detail is left over). What a table cannot
//! say, request bodies and response shapes, lives in `openapi.json` beside this file under
//! `x-operations`, keyed `"METHOD /path"`; the schemas sit in its `components`.
//!
//! The document is built once, on first request, and kept.

use std::sync::OnceLock;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::Response;
use serde_json::{json, Map, Value};

use super::admin::{Access, ROUTES};
use super::problem::Reply;

/// Schemas, shared responses and per-operation details (`x-operations`).
const BASE: &str = include_str!("openapi.json");

/// The document, as JSON text.
fn text() -> &'static Bytes {
    static TEXT: OnceLock<Bytes> = OnceLock::new();
    TEXT.get_or_init(|| {
        // Serializing a `Value` cannot fail (its keys are strings).
        let text = serde_json::to_vec_pretty(&document()).unwrap_or_default();
        Bytes::from(text)
    })
}

/// `GET /v1/openapi.json`.
pub(super) fn reply() -> Reply {
    let mut reply = Response::new(Full::new(text().clone()));
    reply
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    reply
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
    reply
}

/// The whole document: the base file with `paths` made from the route table.
fn document() -> Value {
    // The file is part of the binary and parsed by the tests: it is valid JSON.
    let mut doc: Value = serde_json::from_str(BASE).unwrap_or_else(|_| json!({}));
    let details = doc
        .as_object_mut()
        .and_then(|doc| doc.remove("x-operations"))
        .and_then(|ops| match ops {
            Value::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default();
    let mut paths = Map::new();
    for route in ROUTES {
        let key = format!("{} {}", route.method, route.path);
        let mut operation = match details.get(&key) {
            Some(Value::Object(op)) => op.clone(),
            _ => Map::new(),
        };
        operation.insert("summary".into(), json!(route.summary));
        operation.insert(
            "operationId".into(),
            json!(operation_id(route.method, route.path)),
        );
        let responses = operation.entry("responses").or_insert_with(|| json!({}));
        match route.access {
            Access::Public => {
                operation.insert("security".into(), json!([]));
                operation.insert("x-role".into(), json!("none"));
            }
            Access::Needs(role) => {
                if let Some(responses) = responses.as_object_mut() {
                    responses.insert(
                        "401".into(),
                        json!({ "$ref": "#/components/responses/Unauthorized" }),
                    );
                    responses.insert(
                        "403".into(),
                        json!({ "$ref": "#/components/responses/Forbidden" }),
                    );
                }
                operation.insert("security".into(), json!([{ "bearer": [] }]));
                operation.insert("x-role".into(), json!(role.name()));
            }
        }
        let item = paths
            .entry(route.path.to_string())
            .or_insert_with(|| json!({}));
        if let Some(item) = item.as_object_mut() {
            item.insert(route.method.to_ascii_lowercase(), Value::Object(operation));
        }
    }
    if let Some(doc) = doc.as_object_mut() {
        doc.insert("paths".into(), Value::Object(paths));
    }
    doc
}

/// `getV1Status`-style ids: the method, then each path word capitalised.
fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_ascii_lowercase();
    for word in path.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            id.push(first.to_ascii_uppercase());
            id.extend(chars);
        }
    }
    id
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn documented() -> BTreeSet<(String, String)> {
        let doc = document();
        let mut pairs = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("path item").keys() {
                pairs.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
        pairs
    }

    #[test]
    fn the_document_lists_exactly_the_routes_of_the_authorization_table() {
        let table: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|r| (r.method.to_string(), r.path.to_string()))
            .collect();
        assert_eq!(documented(), table);
        assert_eq!(table.len(), ROUTES.len(), "a route is listed twice");
    }

    #[test]
    fn every_route_has_its_details_and_no_detail_is_left_over() {
        let base: Value = serde_json::from_str(BASE).expect("openapi.json is JSON");
        let keys: BTreeSet<String> = base["x-operations"]
            .as_object()
            .expect("x-operations")
            .keys()
            .cloned()
            .collect();
        let routes: BTreeSet<String> = ROUTES
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert_eq!(keys, routes);
    }

    #[test]
    fn protected_routes_need_the_bearer_scheme_and_public_ones_nothing() {
        let doc = document();
        for route in ROUTES {
            let op = &doc["paths"][route.path][route.method.to_ascii_lowercase()];
            match route.access {
                Access::Public => assert_eq!(op["security"], json!([])),
                Access::Needs(role) => {
                    assert_eq!(op["security"], json!([{ "bearer": [] }]));
                    assert_eq!(op["x-role"], json!(role.name()));
                    assert!(op["responses"]["401"].is_object());
                }
            }
            assert!(op["responses"]["200"].is_object() || op["responses"]["201"].is_object());
        }
        assert!(doc["openapi"].as_str().expect("openapi").starts_with("3.1"));
        assert!(doc.get("x-operations").is_none());
    }

    #[test]
    fn every_reference_resolves() {
        fn refs(value: &Value, out: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    for (key, value) in map {
                        match (key.as_str(), value) {
                            ("$ref", Value::String(target)) => out.push(target.clone()),
                            _ => refs(value, out),
                        }
                    }
                }
                Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let doc = document();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for target in found {
            let pointer = target.strip_prefix('#').expect("local reference");
            assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
        }
    }

    #[test]
    fn operation_ids_are_camel_case_words() {
        assert_eq!(operation_id("GET", "/v1/status"), "getV1Status");
        assert_eq!(operation_id("GET", "/v1/openapi.json"), "getV1OpenapiJson");
        assert_eq!(operation_id("GET", "/metrics"), "getMetrics");
    }
}
