//! The worker's face in the NATS services API (micro v1): it answers `$SRV.PING`, `$SRV.INFO`
//! and `$SRV.STATS` (for all services, for `ticket-relay`, and for this instance's id), so
//! that `nats micro ls/info/stats` and the sidecar's deep health check find every worker.
//!
//! Why not async-nats's `service` module, which the worker used before: its endpoint hides its
//! subscription, whose only way out is an immediate unsubscribe that drops the requests NATS
//! had already routed to the worker (a lost request per restart or so, under load). The worker
//! now owns its relay subscription (see `service.rs` for the lossless drain) and this module
//! keeps the discovery subjects, with the response types of async-nats itself, so the JSON is
//! the one every `nats` tool already reads. It also counts what the API could not: requests
//! answered `busy` and requests dropped past their deadline (`data` of the endpoint's stats).

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
    time::Duration,
};

use async_nats::{
    service::{endpoint, error::Error as ServiceError, Info, PingResponse, Stats as StatsResponse},
    Client, Message,
};
use common::{
    metrics::Registry,
    payload::ErrorCode,
    subjects::{ENDPOINT_NAME, QUEUE_GROUP, SERVICE_NAME},
};
use futures::StreamExt;
use serde::Serialize;

use crate::{
    metrics::{InFlight, Outcome, WorkerMetrics},
    Responder,
};

/// Counters of one worker's relay endpoint, shared by every request: the services API's own
/// (requests, errors, processing time, last error) and the worker's metrics page.
#[derive(Debug)]
pub(crate) struct Stats {
    requests: AtomicU64,
    errors: AtomicU64,
    processing_nanos: AtomicU64,
    last_error: Mutex<Option<ServiceError>>,
    metrics: WorkerMetrics,
    registry: Registry,
}

impl Stats {
    /// The counters of the worker `instance`, with its answer source's metrics.
    pub(crate) fn new(instance: &str, responder: &impl Responder) -> Self {
        let mut registry = common::metrics::registry(SERVICE_NAME, instance);
        let metrics = WorkerMetrics::register(&mut registry, responder.source());
        responder.register_metrics(&mut registry);
        Self {
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            processing_nanos: AtomicU64::new(0),
            last_error: Mutex::new(None),
            metrics,
            registry,
        }
    }

    /// One request answered (or refused with an error status) after `elapsed`.
    pub(crate) fn record(&self, elapsed: Duration, error: Option<(&ErrorCode, &str)>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.processing_nanos.fetch_add(nanos, Ordering::Relaxed);
        let outcome = match error {
            None => Outcome::Answered,
            Some((&code, message)) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                let status = code.status();
                *self
                    .last_error
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(ServiceError {
                    code: usize::from(status),
                    status: message.to_owned(),
                });
                match code {
                    ErrorCode::Busy => Outcome::Busy,
                    _ if status < 500 => Outcome::ClientError,
                    _ => Outcome::ServerError,
                }
            }
        };
        self.metrics.record(outcome, elapsed.as_secs_f64());
    }

    /// A request dropped because its deadline had passed (no answer, not a request served).
    pub(crate) fn expired(&self) {
        self.metrics.record(Outcome::Expired, 0.0);
    }

    /// Counts a request in the in-flight gauge while the guard lives.
    pub(crate) fn in_flight(&self) -> InFlight {
        self.metrics.in_flight()
    }
}

/// What the `data` of the relay endpoint's stats holds.
#[derive(Debug, Serialize)]
struct ExtraStats {
    /// Requests answered `busy` (503) because the in-flight limit was reached.
    busy: u64,
    /// Requests dropped unanswered because their deadline had passed on arrival.
    expired: u64,
    /// The worker's metrics page (OpenMetrics text without `# EOF`), which relay-http's
    /// `GET /metrics` gathers.
    metrics: String,
}

/// Who this worker is, as the services API tells it.
#[derive(Debug)]
pub(crate) struct Identity {
    pub(crate) id: String,
    pub(crate) subject: String,
    pub(crate) started: async_nats::datetime::DateTime,
}

impl Identity {
    pub(crate) fn new(subject: &str) -> Self {
        Self {
            id: nuid::next().to_string(),
            subject: subject.to_owned(),
            started: async_nats::datetime::now(),
        }
    }

    fn ping(&self) -> PingResponse {
        PingResponse {
            kind: "io.nats.micro.v1.ping_response".to_owned(),
            name: SERVICE_NAME.to_owned(),
            id: self.id.clone(),
            version: VERSION.to_owned(),
            metadata: HashMap::new(),
        }
    }

    fn info(&self) -> Info {
        Info {
            kind: "io.nats.micro.v1.info_response".to_owned(),
            name: SERVICE_NAME.to_owned(),
            id: self.id.clone(),
            description: DESCRIPTION.to_owned(),
            version: VERSION.to_owned(),
            metadata: HashMap::new(),
            endpoints: vec![endpoint::Info {
                name: ENDPOINT_NAME.to_owned(),
                subject: self.subject.clone(),
                queue_group: QUEUE_GROUP.to_owned(),
                metadata: HashMap::new(),
            }],
        }
    }

    fn stats(&self, stats: &Stats) -> StatsResponse {
        let requests = stats.requests.load(Ordering::Relaxed);
        let processing = Duration::from_nanos(stats.processing_nanos.load(Ordering::Relaxed));
        let average = match u32::try_from(requests) {
            Ok(0) => Duration::ZERO,
            Ok(count) => processing / count,
            Err(_) => Duration::from_nanos(
                stats.processing_nanos.load(Ordering::Relaxed) / requests.max(1),
            ),
        };
        let extra = ExtraStats {
            busy: stats.metrics.busy(),
            expired: stats.metrics.expired(),
            metrics: common::metrics::encode(&stats.registry),
        };
        StatsResponse {
            kind: "io.nats.micro.v1.stats_response".to_owned(),
            name: SERVICE_NAME.to_owned(),
            id: self.id.clone(),
            version: VERSION.to_owned(),
            started: self.started,
            endpoints: vec![endpoint::Stats {
                name: ENDPOINT_NAME.to_owned(),
                subject: self.subject.clone(),
                queue_group: QUEUE_GROUP.to_owned(),
                requests: usize::try_from(requests).unwrap_or(usize::MAX),
                errors: usize::try_from(stats.errors.load(Ordering::Relaxed)).unwrap_or(usize::MAX),
                processing_time: processing,
                average_processing_time: average,
                last_error: stats
                    .last_error
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone(),
                data: serde_json::to_value(extra).ok(),
            }],
        }
    }
}

/// The version every instance reports: the crate's.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The service description `nats micro info` shows.
const DESCRIPTION: &str = "Answers ticket messages relayed from Discord";

/// Subscribes to the nine discovery subjects and answers them until the connection drains.
pub(crate) async fn serve(
    client: &Client,
    identity: std::sync::Arc<Identity>,
    stats: std::sync::Arc<Stats>,
) -> Result<tokio::task::JoinHandle<()>, async_nats::SubscribeError> {
    let mut subscriptions = Vec::new();
    for verb in ["PING", "INFO", "STATS"] {
        for subject in [
            format!("$SRV.{verb}"),
            format!("$SRV.{verb}.{SERVICE_NAME}"),
            format!("$SRV.{verb}.{SERVICE_NAME}.{}", identity.id),
        ] {
            subscriptions.push(client.subscribe(subject).await?);
        }
    }
    let client = client.clone();
    let mut messages = futures::stream::select_all(subscriptions);
    Ok(tokio::spawn(async move {
        while let Some(message) = messages.next().await {
            answer(&client, &identity, &stats, message).await;
        }
    }))
}

async fn answer(client: &Client, identity: &Identity, stats: &Stats, message: Message) {
    let Some(reply) = message.reply else { return };
    let verb = message.subject.split('.').nth(1).unwrap_or_default();
    let body = match verb {
        "PING" => serde_json::to_vec(&identity.ping()),
        "INFO" => serde_json::to_vec(&identity.info()),
        "STATS" => serde_json::to_vec(&identity.stats(stats)),
        _ => return,
    };
    match body {
        Ok(body) => {
            if let Err(err) = client.publish(reply, body.into()).await {
                tracing::warn!(error = %err, "cannot answer a service discovery request");
            }
        }
        Err(err) => tracing::error!(error = %err, "cannot encode a service discovery answer"),
    }
}
