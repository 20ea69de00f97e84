//! The requesting side of the relay, shared by the bot and the HTTP sidecar: publish a request
//! on the relay subject, wait for one worker's reply, and turn every outcome into a typed result.
//!
//! Every request carries its deadline ([`headers::DEADLINE`], Unix milliseconds), so that a
//! worker never works for a requester that has given up. A `busy` answer (the worker was at
//! its in-flight limit and started nothing) is retried at once, a few times with jitter, so
//! that NATS hands it to another member of the queue group instead of the user waiting.
//! When traces are on, it also carries the requester's trace context ([`headers::TRACEPARENT`]).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use backon::{BackoffBuilder, ExponentialBuilder};

use async_nats::{
    client::{Request, RequestError, RequestErrorKind},
    connection::State,
    Client, HeaderMap, HeaderName, Message, Subject,
};
use bytes::Bytes;

use crate::{
    payload::{ErrorBody, ErrorCode, RelayReply, RelayRequest},
    subjects::headers,
    trace_context,
};

/// Why a relay request got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    /// No worker is subscribed to the relay subject (NATS "no responders").
    #[error("no relay worker is running")]
    NoWorkers,
    /// A worker took the request but did not answer in time.
    #[error("no relay worker answered within {0:?}")]
    Timeout(Duration),
    /// The NATS connection is down; the request was not sent.
    #[error("not connected to NATS")]
    Disconnected,
    /// A worker answered with an error (the request was bad, or the answer source failed).
    #[error("the relay worker refused the request ({status}): {}", .body.error.message)]
    Rejected {
        /// `Nats-Service-Error-Code`.
        status: u16,
        /// The error body the worker sent.
        body: ErrorBody,
    },
    /// Every worker asked was at its in-flight limit, until the deadline or [`BUSY_RETRIES`].
    #[error("every relay worker asked was busy")]
    Busy,
    /// The reply could not be understood.
    #[error("the relay worker sent an unreadable reply: {0}")]
    InvalidReply(String),
    /// Any other client or connection failure.
    #[error("NATS request failed: {0}")]
    Transport(String),
}

impl RelayError {
    /// Worth trying again later: the failure says nothing about the request itself, and no
    /// worker may still be answering it.
    ///
    /// A [`Timeout`](Self::Timeout) is not: the worker that took the request may still be
    /// working on it (a model call, say), and a second attempt would have the answer written
    /// twice. Workers give up before the requester does (the deadline header), so a timeout
    /// means a worker died mid-request: the user is told at once instead.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::NoWorkers | Self::Busy | Self::Disconnected | Self::Transport(_) => true,
            // A worker's 502 says a retry would fail the same way (or answer twice).
            Self::Rejected { status, body } => {
                *status >= 500 && body.error.code != ErrorCode::ResponderUnavailable
            }
            Self::Timeout(_) | Self::InvalidReply(_) => false,
        }
    }

    /// The error code that describes this failure to a client.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NoWorkers => ErrorCode::NoWorkers,
            Self::Busy => ErrorCode::Busy,
            Self::Timeout(_) => ErrorCode::Timeout,
            Self::Disconnected => ErrorCode::Unavailable,
            Self::Rejected { body, .. } => body.error.code,
            Self::InvalidReply(_) | Self::Transport(_) => ErrorCode::Internal,
        }
    }
}

/// Most retries of a `busy` answer within one [`RelayClient::send`], and in any case no later
/// than the request's deadline. Each retry goes to a random member of the queue group, so with
/// one full worker and one free, the chance that every retry misses the free one is 2^-32.
pub const BUSY_RETRIES: usize = 32;

/// The jittered pause before the first `busy` retry: a fraction of a loopback round trip,
/// because a busy answer comes back at once and another worker is likely free right now.
/// It grows by half after each busy answer ([`BUSY_RETRY_FACTOR`])...
const BUSY_RETRY_DELAY: Duration = Duration::from_micros(200);

/// ...up to this, so that requesters facing a saturated cluster back off instead of storming
/// it: 32 busy answers in a row take about a second.
const BUSY_RETRY_MAX_DELAY: Duration = Duration::from_millis(50);

/// How fast the pause grows. Measured with `relay-worker/examples/saturation_bench.rs` (one
/// full worker beside a free one: half the attempts land on the full one, so 1% of requests
/// meet 7 busy answers in a row): starting at 1 ms and doubling put the p99 at 127 ms; 200 us
/// doubling, at 34 ms; 200 us growing by half, at the figure in the README.
const BUSY_RETRY_FACTOR: f32 = 1.5;

/// Sends relay requests on one subject with one timeout.
#[derive(Debug, Clone)]
pub struct RelayClient {
    pub(crate) client: Client,
    /// A `Subject` clones without allocating (it is shared bytes), once per request.
    pub(crate) subject: Subject,
    pub(crate) timeout: Duration,
}

impl RelayClient {
    /// A client for `subject`, giving up on a reply after `timeout`.
    pub fn new(client: Client, subject: impl Into<String>, timeout: Duration) -> Self {
        Self {
            client,
            subject: Subject::from(subject.into()),
            timeout,
        }
    }

    /// The NATS connection underneath.
    pub fn nats(&self) -> &Client {
        &self.client
    }

    /// Sends a parsed request.
    pub async fn send(
        &self,
        request: &RelayRequest,
        request_id: Option<&str>,
    ) -> Result<RelayReply, RelayError> {
        self.send_json(Bytes::from(request.to_json()), request_id)
            .await
    }

    /// Sends JSON bytes already known to hold a valid request, unchanged (fields this version
    /// does not know reach the worker too).
    ///
    /// The whole call, `busy` retries included, ends by the one deadline of the request.
    pub async fn send_json(
        &self,
        payload: Bytes,
        request_id: Option<&str>,
    ) -> Result<RelayReply, RelayError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let deadline_ms = unix_millis(SystemTime::now() + self.timeout);
        // The backoff (and its jitter's generator) is made at the first `busy` answer only:
        // most requests are answered at the first attempt.
        let mut busy_delays = None;
        loop {
            match self
                .attempt(payload.clone(), request_id, deadline, deadline_ms)
                .await
            {
                Err(RelayError::Busy) => {
                    let delays = busy_delays.get_or_insert_with(|| busy_backoff().build());
                    match delays.next() {
                        Some(delay) => tokio::time::sleep(delay).await,
                        None => return Err(RelayError::Busy),
                    }
                }
                answered => return answered,
            }
        }
    }

    async fn attempt(
        &self,
        payload: Bytes,
        request_id: Option<&str>,
        deadline: tokio::time::Instant,
        deadline_ms: u64,
    ) -> Result<RelayReply, RelayError> {
        // A request while disconnected would sit in the client's buffer until the timeout;
        // failing at once lets callers answer "unavailable" right away.
        if self.client.connection_state() != State::Connected {
            return Err(RelayError::Disconnected);
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return Err(RelayError::Timeout(self.timeout));
        }
        let request = Request::new()
            .payload(payload)
            .headers(request_headers(deadline_ms, request_id, None))
            .timeout(Some(left));
        let message = self
            .client
            .send_request(self.subject.clone(), request)
            .await
            .map_err(|err| request_error(&err, self.timeout))?;
        interpret_reply_or_busy(&message)
    }
}

/// The pauses between `busy` retries (see [`BUSY_RETRY_FACTOR`]).
pub(crate) fn busy_backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(BUSY_RETRY_DELAY)
        .with_factor(BUSY_RETRY_FACTOR)
        .with_max_delay(BUSY_RETRY_MAX_DELAY)
        .with_max_times(BUSY_RETRIES)
        .with_jitter()
}

/// The headers every relay request carries: its deadline, its request id when it has one, and
/// when traces are on, the trace context of `trace` (the current span when `None`).
pub(crate) fn request_headers(
    deadline_ms: u64,
    request_id: Option<&str>,
    trace: Option<&tracing::Span>,
) -> HeaderMap {
    // Names made from `&str` would be checked and copied on every request.
    const DEADLINE: HeaderName = HeaderName::from_static(headers::DEADLINE);
    const REQUEST_ID: HeaderName = HeaderName::from_static(headers::REQUEST_ID);
    let mut map = HeaderMap::new();
    map.insert(DEADLINE, deadline_ms.to_string());
    if let Some(id) = request_id {
        map.insert(REQUEST_ID, id);
    }
    trace_context::inject_nats(trace, &mut map);
    map
}

/// What a failed NATS request means for the relay (`timeout` is the request's whole timeout).
pub(crate) fn request_error(err: &RequestError, timeout: Duration) -> RelayError {
    match err.kind() {
        RequestErrorKind::NoResponders => RelayError::NoWorkers,
        RequestErrorKind::TimedOut => RelayError::Timeout(timeout),
        _ => RelayError::Transport(err.to_string()),
    }
}

/// [`interpret_reply`], with a worker's `busy` refusal as [`RelayError::Busy`] (to be retried).
pub(crate) fn interpret_reply_or_busy(message: &Message) -> Result<RelayReply, RelayError> {
    match interpret_reply(message) {
        Err(RelayError::Rejected { body, .. }) if body.error.code == ErrorCode::Busy => {
            Err(RelayError::Busy)
        }
        other => other,
    }
}

/// Milliseconds since the Unix epoch (the unit of [`headers::DEADLINE`]).
pub fn unix_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    })
}

/// Reads a worker's reply: an error when `Nats-Service-Error-Code` is set, else `{"reply"}`.
pub fn interpret_reply(message: &Message) -> Result<RelayReply, RelayError> {
    let error_code = message
        .headers
        .as_ref()
        .and_then(|map| map.get(headers::SERVICE_ERROR_CODE));
    if let Some(code) = error_code {
        let status = code.as_str().trim().parse::<u16>().unwrap_or(500);
        let body = serde_json::from_slice::<ErrorBody>(&message.payload).unwrap_or_else(|_| {
            let description = message
                .headers
                .as_ref()
                .and_then(|map| map.get(headers::SERVICE_ERROR))
                .map_or_else(|| "the worker failed".to_owned(), |v| v.to_string());
            let code = if status < 500 {
                ErrorCode::InvalidPayload
            } else {
                ErrorCode::Internal
            };
            ErrorBody::new(code, description)
        });
        return Err(RelayError::Rejected { status, body });
    }
    serde_json::from_slice(&message.payload)
        .map_err(|err| RelayError::InvalidReply(err.to_string()))
}
