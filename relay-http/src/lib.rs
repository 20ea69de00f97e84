//! The HTTP sidecar (`relay-http`): `POST /relay` publishes the request on the relay subject and
//! returns a worker's answer; `GET /health` reports the NATS connection (and, with `?deep=true`,
//! the running workers); `GET /openapi.json` documents both.
//!
//! [`app`] builds the router, which tests drive with `tower::ServiceExt::oneshot`; [`run`] serves
//! it on a listener the caller bound, until the caller's shutdown future completes.
//!
//! Middleware, outermost first: an unusable `x-request-id` is dropped, a missing one is
//! generated (UUID v4) and copied onto the response; CORS; panics become a JSON 500; the
//! overall request timeout (504). `/relay` and the deep health check take a permit of the
//! concurrency limit first (503 `busy` at once when none is left).
//! Connections are served by [`server`], which also bounds how long a client may take to send
//! its headers (and the `/relay` handler bounds its body).

mod error;
mod health;
mod layers;
mod metrics;
mod openapi;
mod relay;
mod server;
mod settings;
mod stream;

use std::{future::Future, sync::Arc, time::Duration};

use async_nats::Client;
use axum::{
    body::Body,
    http::{header, HeaderName, Method, Request},
    routing::{get, post},
    Router,
};
use common::{relay_client::RelayClient, subjects::headers};
use secrecy::{ExposeSecret, SecretString};
use tokio::{
    net::TcpListener,
    sync::{Semaphore, SemaphorePermit},
};
use tokio_util::sync::CancellationToken;
use tower::{util::MapRequestLayer, ServiceBuilder};
use tower_http::{
    catch_panic::CatchPanicLayer,
    cors::{AllowOrigin, CorsLayer},
    request_id::{PropagateRequestIdLayer, SetRequestIdLayer},
};

use crate::layers::{DeadlineLayer, MakeUuid};

pub use error::ApiError;
pub use health::count_workers;
pub use openapi::DOCUMENT as OPENAPI_DOCUMENT;
pub use settings::{AllowedOrigins, HttpSettings, DEFAULT_BODY_LIMIT};

/// `x-request-id`: correlates one request across the sidecar, the worker and their logs.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest client-chosen request id kept; longer ones are replaced by a generated id.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// How long in-flight requests may run after shutdown starts, beyond the relay timeout.
const SHUTDOWN_SLACK: Duration = Duration::from_secs(5);

/// How long shutdown waits for the NATS connection to drain.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// What every handler shares; cloning is one reference count.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    relay: RelayClient,
    subject: String,
    body_limit: usize,
    api_token: Option<SecretString>,
    allowed_origins: AllowedOrigins,
    relay_timeout: Duration,
    health_ping_window: Duration,
    header_timeout: Duration,
    body_timeout: Duration,
    request_timeout: Duration,
    max_concurrent: usize,
    in_flight: Semaphore,
    deep_health: health::DeepCache,
    metrics: metrics::HttpMetrics,
}

impl AppState {
    /// State relaying on `relay_subject` through `client`, behaving as `settings` say.
    pub fn new(client: Client, relay_subject: &str, settings: &HttpSettings) -> Self {
        Self(Arc::new(Inner {
            relay: RelayClient::new(client, relay_subject, settings.relay_timeout),
            subject: relay_subject.to_owned(),
            body_limit: settings.body_limit,
            api_token: settings.api_token.clone(),
            allowed_origins: settings.allowed_origins.clone(),
            relay_timeout: settings.relay_timeout,
            health_ping_window: settings.health_ping_window,
            header_timeout: settings.header_timeout,
            body_timeout: settings.body_timeout,
            request_timeout: settings.request_timeout,
            max_concurrent: settings.max_concurrent_requests,
            in_flight: Semaphore::new(settings.max_concurrent_requests),
            deep_health: health::DeepCache::new(settings.health_cache),
            metrics: metrics::HttpMetrics::new(&nuid::next(), settings.metrics_window),
        }))
    }

    /// The NATS connection.
    pub fn nats(&self) -> &Client {
        self.0.relay.nats()
    }

    /// How long a deep health check collects ping answers.
    pub fn health_ping_window(&self) -> Duration {
        self.0.health_ping_window
    }

    /// One of the `HTTP_MAX_CONCURRENT_REQUESTS` permits, held by a request that ties up
    /// resources (`/relay`, the deep health check) while it runs; 503 `busy` at once when none
    /// is left, instead of queueing.
    fn admit(&self) -> Result<SemaphorePermit<'_>, ApiError> {
        self.0
            .in_flight
            .try_acquire()
            .map_err(|_| ApiError::Busy(self.0.max_concurrent))
    }

    /// `Authorization: Bearer <RELAY_API_TOKEN>` when a token is set.
    fn authorize(&self, headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
        match &self.0.api_token {
            Some(token) => relay::authorize(headers, token.expose_secret().as_bytes()),
            None => Ok(()),
        }
    }
}

/// The sidecar's router with all its middleware.
pub fn app(state: AppState) -> Router {
    let routes = Router::new()
        .route("/relay", post(relay::relay))
        .route("/health", get(health::health))
        .route("/openapi.json", get(openapi::openapi))
        .route("/metrics", get(metrics::metrics))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DeadlineLayer(state.0.request_timeout))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::count,
        ))
        .with_state(state.clone());
    with_middleware(routes, &state.0.allowed_origins)
}

/// Wraps `router` in the sidecar's middleware (public so that tests can check it on routes of
/// their own, such as one that panics).
pub fn with_middleware(router: Router, origins: &AllowedOrigins) -> Router {
    router.layer(
        ServiceBuilder::new()
            .layer(MapRequestLayer::new(
                drop_unusable_request_id as fn(Request<Body>) -> Request<Body>,
            ))
            .layer(SetRequestIdLayer::new(X_REQUEST_ID.clone(), MakeUuid))
            .layer(PropagateRequestIdLayer::new(X_REQUEST_ID.clone()))
            .layer(cors(origins))
            .layer(CatchPanicLayer::custom(error::panic_response)),
    )
}

fn cors(origins: &AllowedOrigins) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            X_REQUEST_ID.clone(),
            // A browser in a traced app sends its trace context (W3C trace context).
            HeaderName::from_static(headers::TRACEPARENT),
            HeaderName::from_static(headers::TRACESTATE),
        ])
        .expose_headers([X_REQUEST_ID.clone()])
        .max_age(Duration::from_secs(600));
    match origins {
        AllowedOrigins::Any => layer.allow_origin(AllowOrigin::any()),
        AllowedOrigins::List(list) => layer.allow_origin(AllowOrigin::list(list.iter().cloned())),
    }
}

/// An id is kept when it is 1 to [`MAX_REQUEST_ID_LEN`] visible ASCII characters: it goes into
/// a NATS header and into log lines, where control characters or megabytes do not belong.
pub fn is_usable_request_id(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID_LEN).contains(&id.len()) && id.iter().all(u8::is_ascii_graphic)
}

fn drop_unusable_request_id(mut request: Request<Body>) -> Request<Body> {
    let unusable = request
        .headers()
        .get(&X_REQUEST_ID)
        .is_some_and(|id| !is_usable_request_id(id.as_bytes()));
    if unusable {
        request.headers_mut().remove(&X_REQUEST_ID);
    }
    request
}

/// The request id of a request that went through [`with_middleware`].
pub fn request_id(headers: &axum::http::HeaderMap) -> &str {
    headers
        .get(&X_REQUEST_ID)
        .and_then(|id| id.to_str().ok())
        .unwrap_or("-")
}

/// Serving failed or did not stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Accepting connections failed.
    #[error("HTTP server failed: {0}")]
    Serve(#[from] std::io::Error),
    /// Requests were still running when the shutdown grace period ran out.
    #[error("requests were still in flight {0:?} after shutdown started")]
    ShutdownTimeout(Duration),
    /// The NATS connection could not be drained.
    #[error("cannot drain the NATS connection: {0}")]
    Drain(String),
}

/// Serves the sidecar on `listener` until `shutdown` completes; then stops accepting, lets
/// in-flight requests finish (at most the relay timeout plus a few seconds), and drains NATS.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), HttpError> {
    let address = listener.local_addr()?;
    tracing::info!(
        %address,
        subject = %state.0.subject,
        auth = if state.0.api_token.is_some() { "bearer" } else { "off" },
        cors = ?state.0.allowed_origins,
        "HTTP sidecar listening"
    );
    let nats = state.nats().clone();
    let grace = state.0.relay_timeout + SHUTDOWN_SLACK;
    let header_timeout = state.0.header_timeout;

    let stopping = CancellationToken::new();
    let trigger = stopping.clone();
    let serve = server::serve(listener, app(state), header_timeout, async move {
        shutdown.await;
        tracing::info!("HTTP sidecar stopping: no new connections, finishing in-flight requests");
        trigger.cancel();
    });
    let outcome = tokio::select! {
        served = serve => served.map_err(HttpError::from),
        () = async { stopping.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!(?grace, "requests still in flight after the grace period; closing");
            Err(HttpError::ShutdownTimeout(grace))
        }
    };

    match tokio::time::timeout(DRAIN_TIMEOUT, nats.drain()).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => return Err(HttpError::Drain(err.to_string())),
        Err(_) => return Err(HttpError::Drain("timed out".to_owned())),
    }
    tracing::info!("HTTP sidecar stopped");
    outcome
}
