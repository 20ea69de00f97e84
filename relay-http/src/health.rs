//! `GET /health`: 200 while the NATS connection is up, 503 while it is not. With `?deep=true`
//! it also pings the `ticket-relay` service and counts the workers that answer within a short
//! window (`HEALTH_PING_WINDOW_MS`; 503 when none do), so a load balancer can tell "sidecar up"
//! from "relay works".
//!
//! The deep check makes every worker answer, so it is guarded as `/relay` is: it needs the
//! token when one is set, holds a permit of the concurrency limit while it runs, and its answer
//! is reused for a second, so that a flood of deep checks pings the workers once a second.

use std::{collections::HashSet, future::Future, time::Duration};

use async_nats::{connection::State as Connection, Client};
use axum::{
    extract::{rejection::QueryRejection, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use common::subjects::{ping_subject, SERVICE_NAME};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::{sync::Mutex, time::Instant};

use crate::{error::json_response, request_id, ApiError, AppState};

const VERSION: &str = env!("CARGO_PKG_VERSION");

// The plain check is a load balancer's hot path: its two possible bodies are constants.
const CONNECTED: &str = concat!(
    r#"{"status":"ok","nats":"connected","version":""#,
    env!("CARGO_PKG_VERSION"),
    r#""}"#
);
const DISCONNECTED: &str = concat!(
    r#"{"status":"unavailable","nats":"disconnected","version":""#,
    env!("CARGO_PKG_VERSION"),
    r#""}"#
);

/// Query parameters of `/health`.
#[derive(Debug, Default, Deserialize)]
pub struct HealthQuery {
    /// Also ping the relay workers.
    #[serde(default)]
    pub deep: bool,
}

/// The body of `/health`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: String,
    /// `connected` or `disconnected`.
    pub nats: String,
    /// The sidecar's version.
    pub version: String,
    /// Workers that answered the ping (deep checks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<usize>,
}

/// Handler of `GET /health`.
pub async fn health(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<HealthQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return ApiError::InvalidQuery("deep: must be true or false".to_owned()).into_response();
    };
    if !query.deep {
        return if connected(state.nats()) {
            json_response(StatusCode::OK, CONNECTED)
        } else {
            json_response(StatusCode::SERVICE_UNAVAILABLE, DISCONNECTED)
        };
    }
    // The token first: an unauthenticated caller spends no permit.
    let checked = async {
        state.authorize(&headers)?;
        let _permit = state.admit()?;
        Ok::<_, ApiError>(state.0.deep_health.get(|| deep_check(&state)).await)
    };
    match checked.await {
        Ok(checked) => checked.into_response(),
        Err(err) => {
            err.log(request_id(&headers));
            err.into_response()
        }
    }
}

fn connected(client: &Client) -> bool {
    client.connection_state() == Connection::Connected
}

async fn deep_check(state: &AppState) -> Checked {
    let client = state.nats();
    let connected = connected(client);
    let workers = if connected {
        count_workers(client, state.health_ping_window()).await
    } else {
        0
    };
    Checked { connected, workers }
}

/// What a deep check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Checked {
    connected: bool,
    workers: usize,
}

impl IntoResponse for Checked {
    fn into_response(self) -> Response {
        let healthy = self.connected && self.workers > 0;
        let body = Health {
            status: if healthy { "ok" } else { "unavailable" }.to_owned(),
            nats: if self.connected {
                "connected"
            } else {
                "disconnected"
            }
            .to_owned(),
            version: VERSION.to_owned(),
            workers: Some(self.workers),
        };
        let status = if healthy {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        json_response(
            status,
            serde_json::to_vec(&body).expect("a health body always serializes"),
        )
    }
}

/// The last deep check's answer, reused while it is younger than the cache's age limit.
/// Callers that arrive while a check runs wait for its answer instead of pinging again.
#[derive(Debug)]
pub(crate) struct DeepCache {
    max_age: Duration,
    last: Mutex<Option<(Instant, Checked)>>,
}

impl DeepCache {
    pub(crate) fn new(max_age: Duration) -> Self {
        Self {
            max_age,
            last: Mutex::new(None),
        }
    }

    /// The cached answer while it is fresh, else what `check` finds (then cached).
    async fn get<F>(&self, check: impl FnOnce() -> F) -> Checked
    where
        F: Future<Output = Checked>,
    {
        let mut last = self.last.lock().await;
        match *last {
            Some((at, checked)) if at.elapsed() < self.max_age => checked,
            _ => {
                let checked = check().await;
                *last = Some((Instant::now(), checked));
                checked
            }
        }
    }
}

/// Publishes `$SRV.PING.ticket-relay` and counts distinct instances answering within `window`.
/// Failures count as no workers (and are logged): the check is then rightly unhealthy.
pub async fn count_workers(client: &Client, window: Duration) -> usize {
    let mut instances = HashSet::new();
    let collect = async {
        let inbox = client.new_inbox();
        let mut answers = client.subscribe(inbox.clone()).await?;
        client
            .publish_with_reply(ping_subject(SERVICE_NAME), inbox, Bytes::new())
            .await?;
        client.flush().await?;
        while let Some(answer) = answers.next().await {
            if let Some(id) = instance_id(&answer.payload) {
                instances.insert(id);
            }
        }
        Ok::<_, async_nats::Error>(())
    };
    // The window always runs out (answers never "end"); an error inside ends it early.
    if let Ok(Err(err)) = tokio::time::timeout(window, collect).await {
        tracing::warn!(error = %err, "cannot ping the relay workers");
    }
    instances.len()
}

fn instance_id(payload: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Ping {
        id: String,
    }
    serde_json::from_slice::<Ping>(payload)
        .ok()
        .map(|ping| ping.id)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_deep_check_is_reused_for_its_age_limit_then_redone() {
        let cache = DeepCache::new(Duration::from_secs(1));
        let checks = AtomicUsize::new(0);
        let check = || async {
            Checked {
                connected: true,
                workers: checks.fetch_add(1, Ordering::SeqCst) + 1,
            }
        };
        assert_eq!(cache.get(check).await.workers, 1);
        tokio::time::advance(Duration::from_millis(999)).await;
        assert_eq!(cache.get(check).await.workers, 1, "still fresh");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(cache.get(check).await.workers, 2, "a second old: redone");
        assert_eq!(checks.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn constant_bodies_are_the_documented_json() {
        let ok: Health = serde_json::from_str(CONNECTED).unwrap();
        assert_eq!(ok.status, "ok");
        assert_eq!(ok.nats, "connected");
        assert_eq!(ok.version, VERSION);
        let down: Health = serde_json::from_str(DISCONNECTED).unwrap();
        assert_eq!(down.nats, "disconnected");
        assert_eq!(down.workers, None);
    }
}
