//! The one layer in front of every REST route. In order: the token is checked (a call without
//! the bot's token gets 401 and spends no rate-limit quota), then Discord's rate limits
//! ([`crate::rate_limit`]: 429 with Discord's body and headers), then the route answers; every
//! call is recorded (method, path, JSON body, status) for tests, 429s apart from the others
//! (those of the global limit counted: one limit per token, shared by every bot process).
//! A call a test asked to stall is left unanswered until the sandbox closes, one it holds waits
//! for its release, and one it refuses gets the error instead of the route's answer
//! ([`crate::world::faults`]).

use std::time::{Duration, Instant};

use axum::{
    body::{Body, Bytes},
    extract::{FromRequest, OriginalUri, Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;

use crate::{
    http::extract::RestBody,
    model::error::ApiError,
    rate_limit::Verdict,
    server::Server,
    world::{faults::Fault, record::Recorded},
};

/// Checks, limits, answers and records one REST call.
pub async fn guard(State(server): State<Server>, request: Request, next: Next) -> Response {
    let at = Instant::now();
    let (parts, body) = request.into_parts();
    let bytes = match Bytes::from_request(Request::from_parts(parts.clone(), body), &()).await {
        Ok(bytes) => bytes,
        Err(rejection) => return rejection.into_response(),
    };
    let read = RestBody::read(&parts.headers, bytes).await;
    // The router under `/api/v10` sees its paths without that prefix; the record and the
    // rate limits want the whole path the bot called.
    let path = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |original| &original.0)
        .path()
        .to_owned();
    let method = parts.method.clone();
    let fault = server.world().take_fault(&method, &path);
    let refused = match fault {
        None => None,
        Some(Fault::Stall) => {
            // Like a Discord call that never completes: the caller's own timeout has to end it.
            server.closing().cancelled().await;
            return ApiError::Closing.into_response();
        }
        Some(Fault::Hold(held)) => {
            tokio::select! {
                () = held.wait_for_release() => None,
                () = server.closing().cancelled() => return ApiError::Closing.into_response(),
            }
        }
        Some(Fault::Refuse(error)) => Some(error),
    };
    let authorized = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| server.accepts(v));
    let verdict = authorized.then(|| server.limiter().check(method.as_str(), &path, at));
    let json = read.as_ref().map(|b| b.json.clone()).unwrap_or_default();
    let mut global_limit = false;
    let (response, limited) = match (verdict, read) {
        (None, _) => (ApiError::Unauthorized.into_response(), false),
        (
            Some(Verdict::Limited {
                headers,
                retry_after,
                global,
            }),
            _,
        ) => {
            global_limit = global;
            (too_many_requests(headers, retry_after, global), true)
        }
        (Some(Verdict::Allowed(headers)), read) => {
            let mut response = match (refused, read) {
                (Some(error), _) => error.into_response(),
                (None, Ok(read)) => {
                    let mut request = Request::from_parts(parts, Body::empty());
                    request.extensions_mut().insert(read);
                    next.run(request).await
                }
                (None, Err(refusal)) => refusal.into_response(),
            };
            response.headers_mut().extend(headers);
            (response, false)
        }
    };
    let record = Recorded {
        method,
        path,
        body: json,
        at,
        status: response.status().as_u16(),
    };
    {
        let mut world = server.world();
        if limited {
            world.record.rate_limited.push(record);
            if global_limit {
                world.record.global_rate_limited += 1;
            }
        } else {
            world.record.requests.push(record);
        }
        world.page_changed(None);
    }
    server.notify_recorded();
    response
}

/// The body of Discord's 429.
#[derive(Serialize)]
struct RateLimited {
    message: &'static str,
    /// Seconds, to the millisecond.
    retry_after: f64,
    global: bool,
}

/// Discord's 429: JSON body, `Retry-After` in whole seconds (rounded up).
fn too_many_requests(mut headers: HeaderMap, retry_after: Duration, global: bool) -> Response {
    let seconds = retry_after.as_secs_f64();
    if let Ok(value) = HeaderValue::from_str(&(seconds.ceil() as u64).max(1).to_string()) {
        headers.insert(header::RETRY_AFTER, value);
    }
    let body = RateLimited {
        message: "You are being rate limited.",
        retry_after: (seconds * 1000.0).ceil() / 1000.0,
        global,
    };
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    response.headers_mut().extend(headers);
    response
}
