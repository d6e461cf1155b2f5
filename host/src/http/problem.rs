//! RFC 9457 problem details for errors the host itself reports (the plugin writes its own).

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde_json::json;

/// A `application/problem+json` response. `kind` becomes `type: /problems/{kind}`.
pub fn problem(status: StatusCode, kind: &str, title: &str, detail: &str) -> Response<Full<Bytes>> {
    let body = json!({
        "type": format!("/problems/{kind}"),
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/problem+json"),
    );
    response
}
