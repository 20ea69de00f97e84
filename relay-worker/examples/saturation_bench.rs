//! No hoarding, measured: request latency with one slow, full worker beside a fast one,
//! against two fast workers, in one run.
//!
//! ```sh
//! cargo run --release -p relay-worker --example saturation_bench
//! ```
//!
//! A private nats-server and two in-process workers; one client sends 5,000 requests, 32 at a
//! time, through `RelayClient` (busy answers retried at once on another worker). The slow
//! worker takes 200 ms per answer with an in-flight limit of 2, so it is full nearly always.
//! Before the worker answered `busy`, its share of requests waited in its buffer behind those
//! 200 ms answers.

use std::time::{Duration, Instant};

use common::{
    payload::{RelayReply, RelayRequest},
    relay_client::RelayClient,
    test_util::NatsServer,
};
use futures::{stream::FuturesUnordered, StreamExt};
use relay_worker::{
    test_util::{sample_request, spawn_worker, spawn_worker_with, SUBJECT},
    Placeholder, Responder, ResponderError, WorkerSettings,
};

const REQUESTS: usize = 5_000;
const CONCURRENCY: usize = 32;

struct Slow;

impl Responder for Slow {
    async fn respond(&self, _request: RelayRequest) -> Result<RelayReply, ResponderError> {
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok(RelayReply::new("slow"))
    }
}

async fn measure(server: &NatsServer) -> (Duration, Duration, f64) {
    let client = async_nats::connect(server.url()).await.expect("connect");
    let relay = RelayClient::new(client, SUBJECT, Duration::from_secs(30));
    let request = sample_request();
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(REQUESTS);
    let mut in_flight = FuturesUnordered::new();
    let mut sent = 0;
    while latencies.len() < REQUESTS {
        while sent < REQUESTS && in_flight.len() < CONCURRENCY {
            let (relay, request) = (relay.clone(), request.clone());
            in_flight.push(async move {
                let at = Instant::now();
                relay.send(&request, None).await.expect("answered");
                at.elapsed()
            });
            sent += 1;
        }
        latencies.push(in_flight.next().await.expect("a request"));
    }
    let wall = started.elapsed();
    latencies.sort_unstable();
    let p50 = latencies[REQUESTS / 2];
    let p99 = latencies[REQUESTS * 99 / 100];
    (p50, p99, REQUESTS as f64 / wall.as_secs_f64())
}

#[tokio::main]
async fn main() {
    let fast = {
        let server = NatsServer::start();
        let _a = spawn_worker(&server.settings(), Placeholder).await;
        let _b = spawn_worker(&server.settings(), Placeholder).await;
        measure(&server).await
    };
    let mixed = {
        let server = NatsServer::start();
        let slow_settings = WorkerSettings {
            max_in_flight: 2,
            ..WorkerSettings::new(SUBJECT)
        };
        let _slow = spawn_worker_with(&server.settings(), slow_settings, Slow).await;
        let _fast = spawn_worker(&server.settings(), Placeholder).await;
        measure(&server).await
    };
    println!("{REQUESTS} requests, {CONCURRENCY} at a time:");
    for (name, (p50, p99, rate)) in [
        ("two fast workers", fast),
        ("one slow (full) + one fast", mixed),
    ] {
        println!("{name:>28}: p50 {p50:>9.2?}  p99 {p99:>9.2?}  {rate:>8.0} req/s");
    }
    println!(
        "p99 ratio (slow+fast / fast+fast): {:.2}x",
        mixed.1.as_secs_f64() / fast.1.as_secs_f64()
    );
}
