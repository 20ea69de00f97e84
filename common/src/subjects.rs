//! NATS names shared by every service: the relay subject, the queue group, the service name
//! registered with the NATS services API, and the header names of the contract.
//!
//! These are part of the product's API (other clients publish to them), so they only change
//! with a major version.

/// Default subject the relay requests are published on; `RELAY_SUBJECT` overrides it.
pub const DEFAULT_RELAY_SUBJECT: &str = "tickets.relay";

/// Queue group every relay worker joins, so that each request is answered by exactly one of
/// them. It is the services API's default group (`q`), which `nats micro info` shows.
pub const QUEUE_GROUP: &str = "q";

/// Name of the service in the NATS services API (`$SRV.PING.ticket-relay`).
pub const SERVICE_NAME: &str = "ticket-relay";

/// Name of the bot's service in the NATS services API (`$SRV.STATS.ticket-bot`): each bot
/// process answers with its metrics, for relay-http's `GET /metrics`.
pub const BOT_SERVICE_NAME: &str = "ticket-bot";

/// The shared REST rate limiter's name in the services API (`discord-proxy`): its metrics
/// page, gathered by relay-http's `GET /metrics` as the bots' are.
pub const PROXY_SERVICE_NAME: &str = "discord-proxy";

/// Name of the one endpoint of [`SERVICE_NAME`].
pub const ENDPOINT_NAME: &str = "relay";

/// Header names carried on relay messages.
pub mod headers {
    /// Set on error replies: a human readable description (services API convention).
    pub const SERVICE_ERROR: &str = "Nats-Service-Error";
    /// Set on error replies: the HTTP-like status code, e.g. `400` (services API convention).
    pub const SERVICE_ERROR_CODE: &str = "Nats-Service-Error-Code";
    /// Correlates one request across the sidecar, the worker and their logs.
    pub const REQUEST_ID: &str = "X-Request-Id";
    /// When the requester stops waiting for the answer, in milliseconds since the Unix epoch.
    /// A worker drops a request whose deadline has passed (nobody would read the answer) and
    /// never works on one beyond it.
    pub const DEADLINE: &str = "X-Relay-Deadline";
    /// On a request: the subject where the requester wants the worker's events (ack,
    /// heartbeat, chunks of the answer); see [`crate::relay_stream`]. Without it the request
    /// is answered with the one reply alone.
    pub const STREAM: &str = "X-Relay-Stream";
    /// On a stream event: what it is, `ack`, `heartbeat` or `chunk`.
    pub const EVENT: &str = "X-Relay-Event";
    /// On a stream event: its number, 0, 1, 2... across all events of one request.
    pub const SEQ: &str = "X-Relay-Seq";
    /// On a request, when traces are on: the W3C trace context of the requester's span
    /// (`00-<trace id>-<span id>-<flags>`), which the worker's span of the request takes as its
    /// parent; see [`crate::trace_context`].
    pub const TRACEPARENT: &str = "traceparent";
    /// Beside [`TRACEPARENT`] when the trace carries vendor state (W3C `tracestate`).
    pub const TRACESTATE: &str = "tracestate";
}

/// `$SRV.PING.<name>`: every running instance of the named service answers it.
pub fn ping_subject(service: &str) -> String {
    format!("$SRV.PING.{service}")
}

/// `$SRV.STATS.<name>`: every running instance answers with its request and error counts.
pub fn stats_subject(service: &str) -> String {
    format!("$SRV.STATS.{service}")
}
