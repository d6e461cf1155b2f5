//! RFC 9457 problem details for errors the host itself reports (the plugin writes its own).

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde_json::json;

/// A complete response, as every handler but event streams produces.
pub type Reply = Response<Full<Bytes>>;

/// A `application/problem+json` response. `kind` becomes `type: /problems/{kind}`.
pub fn problem(status: StatusCode, kind: &str, title: &str, detail: &str) -> Reply {
    problem_with(status, kind, title, detail, json!({}))
}

/// Like [`problem`], with extension members (an object) merged into the body.
pub fn problem_with(
    status: StatusCode,
    kind: &str,
    title: &str,
    detail: &str,
    extensions: serde_json::Value,
) -> Reply {
    let mut body = json!({
        "type": format!("/problems/{kind}"),
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extensions.as_object()) {
        for (key, value) in extra {
            body.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// A pretty-printed JSON response.
pub fn json_reply<T: serde::Serialize>(value: &T) -> Reply {
    match serde_json::to_vec_pretty(value) {
        Ok(bytes) => {
            let mut response = Response::new(Full::new(Bytes::from(bytes)));
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(e) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "encode",
            "Cannot encode answer",
            &e.to_string(),
        ),
    }
}
