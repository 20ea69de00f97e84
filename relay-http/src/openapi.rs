//! `GET /openapi.json`: the OpenAPI 3 document of the sidecar, kept in `relay-http/openapi.json`
//! so that it reads (and diffs) as what it is. The `http` integration tests check every
//! documented path, method and status against the real handlers, and every body against its
//! documented schema, so the document cannot drift from the code unnoticed.

use axum::{http::StatusCode, response::Response};

use crate::error::json_response;

/// The document, as served.
pub const DOCUMENT: &str = include_str!("../openapi.json");

/// Handler of `GET /openapi.json`.
pub async fn openapi() -> Response {
    json_response(StatusCode::OK, DOCUMENT)
}
