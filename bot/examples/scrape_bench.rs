//! How long one `GET /metrics` takes with `WORKERS` relay workers (8) and `BOTS` bot
//! processes' `ticket-bot` services (2) on one private nats-server: the real worker, the real
//! bot metrics service with a realistic page (8 shards, REST calls over 20 route groups), and
//! relay-http's router, each process on its own NATS connection. Prints the first scrape (it
//! waits the whole `METRICS_WINDOW_MS`, knowing no process yet) and the following ones (they end
//! as soon as every known process answered), with the plain `/health` beside them.
//!
//! ```sh
//! NATS_SERVER_BIN=... cargo run --release --example scrape_bench -p bot
//! WORKERS=8 BOTS=2 SCRAPES=200 ...
//! ```

use std::time::{Duration, Instant};

use axum::{body::Body, http::Request, Router};
use bot::metrics::{BotMetrics, Live};
use common::test_util::NatsServer;
use http_body_util::BodyExt as _;
use relay_worker::{
    test_util::{spawn_worker_with, SUBJECT},
    Placeholder, WorkerSettings,
};
use tower::ServiceExt as _;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// One GET on the router: its time and body size.
async fn get(app: &Router, path: &str) -> (Duration, usize) {
    let started = Instant::now();
    let response = app
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (started.elapsed(), body.len())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

#[tokio::main]
async fn main() {
    let (workers, bots, scrapes) = (env("WORKERS", 8), env("BOTS", 2), env("SCRAPES", 200));
    let nats = NatsServer::start();
    let settings = nats.settings();
    let mut running = Vec::new();
    for _ in 0..workers {
        running.push(spawn_worker_with(&settings, WorkerSettings::new(SUBJECT), Placeholder).await);
    }
    let mut services = Vec::new();
    for bot in 0..bots {
        let client = common::nats::connect(&settings, "bench-bot").await.unwrap();
        let metrics = BotMetrics::new(&format!("bench-bot-{bot}"));
        for call in 0..2_000u16 {
            metrics.rest().call(
                &format!("/api/v10/channels/1/messages/{}", call % 20),
                [200, 200, 200, 204, 429][usize::from(call % 5)],
            );
            metrics.relayed();
            metrics.replied(Duration::from_millis(u64::from(call % 900)));
        }
        let live = Live {
            open_tickets: Box::new(|| 120),
            shards: None,
        };
        services.push(bot::metrics::serve(&client, metrics, live).await.unwrap());
    }
    let client = common::nats::connect(&settings, "relay-http")
        .await
        .unwrap();
    client.flush().await.unwrap();
    let app = relay_http::app(relay_http::AppState::new(
        client,
        SUBJECT,
        &relay_http::HttpSettings::default(),
    ));

    let (first, size) = get(&app, "/metrics").await;
    let mut times = Vec::with_capacity(scrapes);
    let mut healths = Vec::with_capacity(scrapes);
    for _ in 0..scrapes {
        times.push(get(&app, "/metrics").await.0);
        healths.push(get(&app, "/health").await.0);
    }
    times.sort();
    healths.sort();
    println!(
        "{workers} workers, {bots} bot processes: first scrape {first:?} ({size} bytes), then \
         p50 {:?} p99 {:?} over {scrapes} scrapes; GET /health p50 {:?}",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        percentile(&healths, 0.5),
    );
    for worker in running {
        worker.stop().await.unwrap();
    }
    for service in services {
        service.abort();
    }
}
