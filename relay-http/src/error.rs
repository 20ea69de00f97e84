//! The one error type of the HTTP sidecar: every failure becomes a status and a JSON
//! [`ErrorBody`]. Client mistakes say what to fix; server faults get an opaque body, and the
//! cause goes to the log (with the request id) where the operator can read it.

use std::{any::Any, time::Duration};

use axum::{
    body::Body,
    http::{header, HeaderValue, Method, Response, StatusCode, Uri},
    response::IntoResponse,
};
use common::{
    payload::{ErrorBody, ErrorCode, PayloadError},
    relay_client::RelayError,
};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body breaks the relay contract.
    #[error(transparent)]
    InvalidPayload(#[from] PayloadError),
    /// A query parameter has a value the route does not accept.
    #[error("{0}")]
    InvalidQuery(String),
    /// `RELAY_API_TOKEN` is set and the request did not carry it.
    #[error("missing or wrong bearer token")]
    Unauthorized,
    /// No route has this path.
    #[error("no route {method} {path}")]
    NotFound {
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
    },
    /// The route exists, not with this method.
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed {
        /// The request method.
        method: Method,
        /// The request path.
        path: String,
    },
    /// The body is larger than `HTTP_BODY_LIMIT`.
    #[error("the body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is not declared as JSON.
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    /// The body did not arrive within `HTTP_BODY_TIMEOUT_SECS`.
    #[error("the body did not arrive within {0:?}")]
    BodyTimeout(Duration),
    /// The sidecar is at `HTTP_MAX_CONCURRENT_REQUESTS`.
    #[error("at the limit of {0} concurrent requests")]
    Busy(usize),
    /// The request took longer than `HTTP_REQUEST_TIMEOUT_SECS`.
    #[error("the request took longer than {0:?}")]
    RequestTimeout(Duration),
    /// The relay did not produce an answer.
    #[error(transparent)]
    Relay(#[from] RelayError),
    /// A handler panicked.
    #[error("a handler panicked: {0}")]
    Panic(String),
    /// Anything else unexpected; the text is for the log only.
    #[error("{0}")]
    Internal(String),
}

const OPAQUE: &str =
    "internal error; the server log has the cause under this request's x-request-id";

impl ApiError {
    /// The status and body sent to the client.
    pub fn to_body(&self) -> (StatusCode, ErrorBody) {
        let body = match self {
            Self::InvalidPayload(err) => ErrorBody::from(err),
            Self::InvalidQuery(message) => ErrorBody::new(ErrorCode::InvalidPayload, message),
            Self::Unauthorized => ErrorBody::new(
                ErrorCode::Unauthorized,
                "missing or wrong bearer token: send Authorization: Bearer <RELAY_API_TOKEN>",
            ),
            Self::NotFound { .. } => ErrorBody::new(
                ErrorCode::NotFound,
                format!(
                    "{self}; the routes are POST /relay, GET /health, GET /metrics and GET \
                     /openapi.json"
                ),
            ),
            Self::MethodNotAllowed { .. } => {
                ErrorBody::new(ErrorCode::MethodNotAllowed, self.to_string())
            }
            Self::PayloadTooLarge { limit } => ErrorBody::new(
                ErrorCode::PayloadTooLarge,
                format!("body: must be at most {limit} bytes"),
            ),
            Self::UnsupportedMediaType => ErrorBody::new(
                ErrorCode::UnsupportedMediaType,
                "Content-Type must be application/json",
            ),
            Self::BodyTimeout(timeout) => ErrorBody::new(
                ErrorCode::RequestTimeout,
                format!(
                    "body: did not arrive within {}; send it at once",
                    seconds(*timeout)
                ),
            ),
            Self::Busy(_) => ErrorBody::new(
                ErrorCode::Busy,
                "the sidecar is at its limit of concurrent requests; try again in a moment",
            ),
            Self::RequestTimeout(timeout) => ErrorBody::new(
                ErrorCode::Timeout,
                format!(
                    "the request took longer than {}; try again later",
                    seconds(*timeout)
                ),
            ),
            Self::Relay(err) => return relay_body(err),
            Self::Panic(_) | Self::Internal(_) => ErrorBody::new(ErrorCode::Internal, OPAQUE),
        };
        (status_of(body.error.code.status()), body)
    }

    /// Logs the failure at the level it deserves, with the request id.
    pub fn log(&self, request_id: &str) {
        match self {
            Self::Relay(RelayError::Rejected { status, body }) if *status >= 500 => {
                tracing::warn!(request_id, status, code = ?body.error.code, message = %body.error.message, "the relay worker failed");
            }
            Self::Relay(RelayError::Rejected { status, body }) => {
                tracing::info!(request_id, status, message = %body.error.message, "the relay worker refused the request");
            }
            Self::Relay(err @ (RelayError::InvalidReply(_) | RelayError::Transport(_))) => {
                tracing::error!(request_id, error = %err, "relay failed");
            }
            Self::Relay(err) => tracing::warn!(request_id, error = %err, "relay failed"),
            Self::Panic(_) | Self::Internal(_) => {
                tracing::error!(request_id, error = %self, "request failed");
            }
            Self::Busy(_) | Self::RequestTimeout(_) => {
                tracing::warn!(request_id, error = %self, "request shed");
            }
            client_error => tracing::info!(request_id, error = %client_error, "request refused"),
        }
    }

    /// The 404 of an unknown route.
    pub fn not_found(method: Method, uri: &Uri) -> Self {
        Self::NotFound {
            method,
            path: uri.path().to_owned(),
        }
    }
}

fn relay_body(err: &RelayError) -> (StatusCode, ErrorBody) {
    let message = match err {
        RelayError::NoWorkers => "no relay worker is running; try again later".to_owned(),
        RelayError::Timeout(timeout) => format!(
            "no relay worker answered within {}; try again later",
            seconds(*timeout)
        ),
        RelayError::Busy => {
            "every relay worker asked is at its limit; try again in a moment".to_owned()
        }
        RelayError::Disconnected => {
            "the relay is unavailable (no connection to NATS); try again later".to_owned()
        }
        // The worker's own status and message are the most precise answer there is; a status
        // outside 4xx/5xx cannot describe a failure, so it counts as unexpected.
        RelayError::Rejected { status, body } if (400..=599).contains(status) => {
            return (status_of(*status), body.clone());
        }
        RelayError::Rejected { .. } | RelayError::InvalidReply(_) | RelayError::Transport(_) => {
            OPAQUE.to_owned()
        }
    };
    let code = match err {
        RelayError::Rejected { .. } => ErrorCode::Internal,
        other => other.code(),
    };
    (status_of(code.status()), ErrorBody::new(code, message))
}

fn seconds(duration: Duration) -> String {
    format!("{}s", duration.as_secs_f64())
}

fn status_of(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A JSON response with this status and body bytes.
pub fn json_response(status: StatusCode, body: impl Into<Body>) -> Response<Body> {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response<Body> {
        let (status, body) = self.to_body();
        let mut response = json_response(status, body.to_json());
        if matches!(self, Self::Unauthorized) {
            // RFC 6750: a 401 names the scheme the client should use.
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Fallback of the router: JSON 404.
pub async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(method, &uri)
}

/// Fallback for a known path with the wrong method: JSON 405.
pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed {
        method,
        path: uri.path().to_owned(),
    }
}

/// Turns a caught panic into the opaque JSON 500, logging what the panic said.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    let err = ApiError::Panic(message);
    // The request id is not reachable from here; the panic hook's own output already went to
    // stderr, and the PropagateRequestId layer still puts the id on this response.
    tracing::error!(error = %err, "handler panicked");
    err.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_errors_map_to_statuses_and_codes() {
        let cases = [
            (RelayError::NoWorkers, 503, ErrorCode::NoWorkers),
            (
                RelayError::Timeout(Duration::from_secs(10)),
                504,
                ErrorCode::Timeout,
            ),
            (RelayError::Disconnected, 503, ErrorCode::Unavailable),
            (
                RelayError::InvalidReply("x".into()),
                500,
                ErrorCode::Internal,
            ),
            (RelayError::Transport("x".into()), 500, ErrorCode::Internal),
            (
                RelayError::Rejected {
                    status: 200,
                    body: ErrorBody::new(ErrorCode::InvalidPayload, "odd"),
                },
                500,
                ErrorCode::Internal,
            ),
        ];
        for (err, status, code) in cases {
            let (got_status, body) = ApiError::Relay(err.clone()).to_body();
            assert_eq!(got_status.as_u16(), status, "{err:?}");
            assert_eq!(body.error.code, code, "{err:?}");
        }
    }

    #[test]
    fn server_faults_do_not_leak_their_cause() {
        for err in [
            ApiError::Internal("password=hunter2".into()),
            ApiError::Panic("password=hunter2".into()),
            ApiError::Relay(RelayError::Transport("password=hunter2".into())),
        ] {
            let (status, body) = err.to_body();
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
            assert!(!body.error.message.contains("hunter2"));
        }
    }

    #[test]
    fn timeout_message_names_the_timeout() {
        let (_, body) = ApiError::Relay(RelayError::Timeout(Duration::from_millis(250))).to_body();
        assert!(
            body.error.message.contains("0.25s"),
            "{}",
            body.error.message
        );
    }
}
