//! `GET /metrics`: one Prometheus scrape for the whole system. The sidecar's own metrics (requests
//! by route and status, their latency), and the pages of every relay worker, bot process and
//! `discord-proxy`, gathered over NATS from the `data` of their `$SRV.STATS` answers (the workers
//! stay HTTP-free), merged into one OpenMetrics page. Each process that has answered a scrape in
//! the last [`FORGET_AFTER`] is listed in `ticket_up` (1 when it answered this scrape within
//! `METRICS_WINDOW_MS`, 0 when not), so that a stopped worker shows as down, not as a gap.
//!
//! The route follows `/relay`'s rules: the token when `RELAY_API_TOKEN` is set, and a
//! concurrency slot.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use common::{
    metrics::{
        encode, latency_histogram, merge, to_prometheus, Counter, Family, Gauge, Histogram,
        Registry, CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE, STATS_FIELD,
    },
    subjects::{stats_subject, BOT_SERVICE_NAME, PROXY_SERVICE_NAME, SERVICE_NAME},
};
use futures::StreamExt;
use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use serde::Deserialize;
use tokio::time::Instant;

use crate::{request_id, ApiError, AppState};

/// The service label of the sidecar's own series.
pub(crate) const HTTP_SERVICE: &str = "relay-http";

/// How long a process that stopped answering stays listed (as down) in `ticket_up`: long enough
/// for an alert to fire, short enough that a rolling deploy's old instances leave the page.
pub const FORGET_AFTER: Duration = Duration::from_secs(10 * 60);

/// The services whose every instance a scrape asks for its page.
const SCRAPED: [&str; 3] = [SERVICE_NAME, BOT_SERVICE_NAME, PROXY_SERVICE_NAME];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteStatus {
    route: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Route {
    route: &'static str,
}

/// One route's latency and its requests by the statuses the API answers.
#[derive(Debug)]
struct RouteSeries {
    route: &'static str,
    latency: Histogram,
    by_status: Vec<(u16, Counter)>,
}

/// The routes of the page's `route` label, and [`OTHER`] for every other path.
const ROUTES: [&str; 5] = ["/relay", "/health", "/metrics", "/openapi.json", OTHER];
const OTHER: &str = "other";

/// The statuses the API answers (see `openapi.json`), resolved once per route.
const USUAL_STATUSES: [u16; 13] = [
    200, 400, 401, 404, 405, 408, 413, 415, 500, 502, 503, 504, 429,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Process {
    service: String,
    instance: String,
}

/// The sidecar's own metrics, and what it remembers of the processes it scrapes.
#[derive(Debug)]
pub(crate) struct HttpMetrics {
    registry: Registry,
    requests: Family<RouteStatus, Counter>,
    /// Each route's series, resolved once: a request bumps atomics and looks nothing up
    /// (a statuses not listed in [`USUAL_STATUSES`] goes through `requests`).
    routes: Vec<RouteSeries>,
    window: Duration,
    /// Every process that answered a scrape, and when it last did.
    seen: Mutex<HashMap<Process, Instant>>,
}

impl HttpMetrics {
    /// The sidecar `instance`'s metrics; scrapes wait up to `window` for the other processes.
    pub(crate) fn new(instance: &str, window: Duration) -> Self {
        let mut registry = common::metrics::registry(HTTP_SERVICE, instance);
        let requests = Family::<RouteStatus, Counter>::default();
        let latency =
            Family::<Route, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register(
            "relay_http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "relay_http_request_duration_seconds",
            "Time from a request's arrival to its response's headers, by route",
            latency.clone(),
        );
        let routes = ROUTES
            .iter()
            .map(|&route| RouteSeries {
                route,
                latency: latency.get_or_create(&Route { route }).clone(),
                by_status: USUAL_STATUSES
                    .iter()
                    .map(|&status| {
                        let labels = RouteStatus { route, status };
                        (status, requests.get_or_create(&labels).clone())
                    })
                    .collect(),
            })
            .collect();
        Self {
            registry,
            requests,
            routes,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn record(&self, route: &'static str, status: StatusCode, seconds: f64) {
        let status = status.as_u16();
        let Some(series) = self.routes.iter().find(|series| series.route == route) else {
            return;
        };
        series.latency.observe(seconds);
        match series.by_status.iter().find(|(usual, _)| *usual == status) {
            Some((_, counter)) => {
                counter.inc();
            }
            None => {
                self.requests
                    .get_or_create(&RouteStatus { route, status })
                    .inc();
            }
        }
    }

    /// The whole system's page: this sidecar's, then every process's that answers within the
    /// window, and `ticket_up` for every process known.
    async fn scrape(&self, client: &async_nats::Client) -> String {
        let expected: HashSet<Process> = {
            let now = Instant::now();
            let mut seen = self.seen.lock();
            seen.retain(|_, at| now.duration_since(*at) < FORGET_AFTER);
            seen.keys().cloned().collect()
        };
        let mut pages: Vec<String> = Vec::new();
        let mut answered: HashSet<Process> = HashSet::new();
        let gather = async {
            let inbox = client.new_inbox();
            let mut answers = client.subscribe(inbox.clone()).await?;
            for service in SCRAPED {
                client
                    .publish_with_reply(stats_subject(service), inbox.clone(), Bytes::new())
                    .await?;
            }
            client.flush().await?;
            while let Some(answer) = answers.next().await {
                if let Some((process, page)) = read_stats(&answer.payload) {
                    pages.push(page);
                    answered.insert(process);
                    // Every process seen before has answered: nothing left to wait for but
                    // new ones, which the next scrape waits for anyway.
                    if !expected.is_empty() && expected.is_subset(&answered) {
                        break;
                    }
                }
            }
            Ok::<_, async_nats::Error>(())
        };
        if let Ok(Err(err)) = tokio::time::timeout(self.window, gather).await {
            tracing::warn!(error = %err, "cannot gather the metrics of the workers and bots");
        }
        let up = {
            let now = Instant::now();
            let mut seen = self.seen.lock();
            for process in &answered {
                seen.insert(process.clone(), now);
            }
            up_page(seen.keys(), &answered)
        };
        let own = encode(&self.registry);
        merge(
            std::iter::once(own.as_str())
                .chain(std::iter::once(up.as_str()))
                .chain(pages.iter().map(String::as_str)),
        )
    }
}

/// `ticket_up` for each of `known`: 1 when it is among `answered`.
fn up_page<'a>(known: impl Iterator<Item = &'a Process>, answered: &HashSet<Process>) -> String {
    let mut registry = Registry::default();
    let up = Family::<Process, Gauge>::default();
    for process in known {
        up.get_or_create(process)
            .set(i64::from(answered.contains(process)));
    }
    registry.register(
        "ticket_up",
        "Whether a worker or bot process answered the last scrape within METRICS_WINDOW_MS (1) or not (0)",
        up,
    );
    encode(&registry)
}

/// The process and its page, from a `$SRV.STATS` answer.
fn read_stats(payload: &[u8]) -> Option<(Process, String)> {
    #[derive(Deserialize)]
    struct Stats {
        name: String,
        id: String,
        #[serde(default)]
        endpoints: Vec<Endpoint>,
    }
    #[derive(Deserialize)]
    struct Endpoint {
        #[serde(default)]
        data: Option<serde_json::Value>,
    }
    let stats: Stats = serde_json::from_slice(payload).ok()?;
    let page = stats
        .endpoints
        .into_iter()
        .filter_map(|endpoint| endpoint.data)
        .find_map(|data| data.get(STATS_FIELD)?.as_str().map(str::to_owned))
        .unwrap_or_default();
    // The process's series carry its own `instance` label; `ticket_up` takes the same value,
    // so that the two join. A bot process names itself before its service (and the id the
    // services API gives it) exists; the id stands in for a page without the label.
    let instance = page_instance(&page).map_or(stats.id, str::to_owned);
    Some((
        Process {
            service: stats.name,
            instance,
        },
        page,
    ))
}

/// The value of the first `instance` label on `page`.
fn page_instance(page: &str) -> Option<&str> {
    const LABEL: &str = "instance=\"";
    let start = page.find(LABEL)? + LABEL.len();
    let length = page[start..].find('"')?;
    Some(&page[start..start + length]).filter(|value| !value.is_empty())
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let scraped = async {
        state.authorize(&headers)?;
        let _permit = state.admit()?;
        Ok::<_, ApiError>(state.0.metrics.scrape(state.nats()).await)
    };
    match scraped.await {
        // Prometheus asks for OpenMetrics; curl and older scrapers get the classic format.
        Ok(page) if wants_openmetrics(&headers) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], page).into_response()
        }
        Ok(page) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE)],
            to_prometheus(&page),
        )
            .into_response(),
        Err(err) => {
            err.log(request_id(&headers));
            err.into_response()
        }
    }
}

/// Whether the client's `Accept` names OpenMetrics.
fn wants_openmetrics(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains("application/openmetrics-text"))
}

/// The route label of a path: the API's routes, and `other` for the rest (a label per unknown
/// path would let any client add series).
fn route_of(path: &str) -> &'static str {
    ROUTES
        .iter()
        .find(|route| **route == path)
        .copied()
        .unwrap_or(OTHER)
}

/// Counts every request by route and status, and times it to its response's headers.
pub(crate) async fn count(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = route_of(request.uri().path());
    let response = next.run(request).await;
    state
        .0
        .metrics
        .record(route, response.status(), started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stats_answer_yields_its_process_and_page() {
        let answer = br#"{"name":"ticket-relay","id":"W1","endpoints":[{"name":"relay","data":{"busy":0,"metrics":"a_total 1\n"}}]}"#;
        let (process, page) = read_stats(answer).unwrap();
        assert_eq!(process.service, "ticket-relay");
        assert_eq!(process.instance, "W1");
        assert_eq!(page, "a_total 1\n");
        assert!(read_stats(b"not json").is_none());
    }

    #[test]
    fn up_names_a_process_as_its_own_series_do() {
        let answer = br##"{"name":"ticket-bot","id":"SRV1","endpoints":[{"name":"metrics","data":{"metrics":"# TYPE a counter\na_total{service=\"ticket-bot\",instance=\"B7\"} 1\n"}}]}"##;
        let (process, _page) = read_stats(answer).unwrap();
        assert_eq!(process.instance, "B7");
        assert_eq!(page_instance(r#"x{instance=""} 1"#), None);
        assert_eq!(page_instance("# EOF\n"), None);
    }

    #[test]
    fn known_processes_that_did_not_answer_are_down() {
        let a = Process {
            service: "ticket-relay".to_owned(),
            instance: "A".to_owned(),
        };
        let b = Process {
            service: "ticket-bot".to_owned(),
            instance: "B".to_owned(),
        };
        let answered = HashSet::from([a.clone()]);
        let page = up_page([&a, &b].into_iter(), &answered);
        assert!(
            page.contains(r#"ticket_up{service="ticket-relay",instance="A"} 1"#),
            "{page}"
        );
        assert!(
            page.contains(r#"ticket_up{service="ticket-bot",instance="B"} 0"#),
            "{page}"
        );
    }

    #[test]
    fn unknown_paths_share_one_label() {
        assert_eq!(route_of("/relay"), "/relay");
        assert_eq!(route_of("/wp-admin"), "other");
    }
}
