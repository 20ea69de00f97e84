//! `POST /relay`: takes a permit of the concurrency limit, checks the caller (bearer token), the
//! media type and the size, validates the body against the relay contract, then forwards the
//! original bytes to a worker over NATS and returns its answer.
//!
//! This is the hot path. It takes no lock, and its allocations are the ones the work needs:
//! the body, the parse that validates it, the NATS request and the reply. There is no tracing
//! span per request (the fmt layer would format its fields into a new `String` each time);
//! instead every log line carries `request_id` as a field. Success is logged at DEBUG since
//! the worker already logs each request at INFO under the same id. With traces on (and only
//! then), each request is a span, without fields, continuing the caller's `traceparent`.

use axum::{
    body::{to_bytes, Body},
    extract::{Request, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use common::{
    payload::{PayloadError, RelayRequest},
    trace_context::{self, HeaderExtractor},
};
use http_body_util::LengthLimitError;
use subtle::ConstantTimeEq;
use tracing::Instrument as _;

use crate::{
    error::{json_response, ApiError},
    request_id, stream, AppState,
};

/// Handler of `POST /relay`.
pub async fn relay(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let request_id = request_id(&parts.headers);
    let streamed = stream::requested(parts.uri.query());
    let span = trace_context::server_span(&HeaderExtractor(&parts.headers), || {
        tracing::info_span!("POST /relay")
    });
    let outcome = async {
        // A streamed answer gives its permit back once its headers are out (its body is
        // paced by the worker, not by this process).
        let _permit = state.admit()?;
        forward(&state, &parts.headers, body, request_id, streamed).await
    };
    match outcome.instrument(span).await {
        Ok(response) => {
            tracing::debug!(request_id, "relay answered");
            response
        }
        Err(err) => {
            err.log(request_id);
            err.into_response()
        }
    }
}

async fn forward(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    request_id: &str,
    streamed: bool,
) -> Result<Response, ApiError> {
    let inner = &state.0;
    state.authorize(headers)?;
    if !is_json(headers) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let limit = inner.body_limit;
    // Refusing on the declared length spares reading a body that will be refused anyway.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let bytes = tokio::time::timeout(inner.body_timeout, to_bytes(body, limit))
        .await
        .map_err(|_| ApiError::BodyTimeout(inner.body_timeout))?
        .map_err(|err| body_error(&err, limit))?;

    // Parsed only to validate: the worker gets the original bytes, so fields this version
    // does not know still reach it.
    RelayRequest::parse(&bytes)?;
    if streamed {
        let events = inner.relay.send_json_streaming(bytes, Some(request_id));
        return Ok(stream::respond(events, request_id.to_owned()));
    }
    let reply = inner.relay.send_json(bytes, Some(request_id)).await?;
    let json = serde_json::to_vec(&reply).map_err(|err| ApiError::Internal(err.to_string()))?;
    Ok(json_response(StatusCode::OK, json))
}

/// Checks `Authorization: Bearer <token>` in constant time (for a given token length).
pub(crate) fn authorize(headers: &HeaderMap, token: &[u8]) -> Result<(), ApiError> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| bearer(value.as_bytes()));
    match presented {
        Some(presented) if bool::from(presented.ct_eq(token)) => Ok(()),
        _ => Err(ApiError::Unauthorized),
    }
}

/// The credentials of a `Bearer` authorization value (scheme matched case-insensitively).
fn bearer(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(6)?;
    let rest = rest.strip_prefix(b" ")?;
    scheme
        .eq_ignore_ascii_case(b"bearer")
        .then(|| rest.trim_ascii())
}

/// `application/json` or any `application/*+json`, with or without parameters.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case("application/json") {
        return true;
    }
    let lower_starts = essence
        .get(..12)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("application/"));
    let lower_ends = essence
        .len()
        .checked_sub(5)
        .and_then(|start| essence.get(start..))
        .is_some_and(|suffix| suffix.eq_ignore_ascii_case("+json"));
    lower_starts && lower_ends
}

fn body_error(err: &axum::Error, limit: usize) -> ApiError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = source {
        if cause.is::<LengthLimitError>() {
            return ApiError::PayloadTooLarge { limit };
        }
        source = cause.source();
    }
    ApiError::InvalidPayload(PayloadError {
        field: "body".into(),
        problem: format!("could not be read ({err})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(name: header::HeaderName, value: &'static str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(name, HeaderValue::from_static(value));
        map
    }

    #[test]
    fn json_media_types_are_recognised() {
        for ok in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/vnd.api+json",
        ] {
            assert!(is_json(&headers(header::CONTENT_TYPE, ok)), "{ok}");
        }
        for bad in ["text/plain", "application/jsonx", "json", "+json", ""] {
            assert!(!is_json(&headers(header::CONTENT_TYPE, bad)), "{bad}");
        }
        assert!(!is_json(&HeaderMap::new()));
    }

    #[test]
    fn bearer_tokens_are_compared_exactly() {
        let check = |value| authorize(&headers(header::AUTHORIZATION, value), b"s3cret").is_ok();
        assert!(check("Bearer s3cret"));
        assert!(check("bearer s3cret"));
        assert!(!check("Bearer s3cre"));
        assert!(!check("Bearer s3cret2"));
        assert!(!check("Basic s3cret"));
        assert!(!check("Bearers3cret"));
        assert!(!check("s3cret"));
        assert!(authorize(&HeaderMap::new(), b"s3cret").is_err());
    }
}
