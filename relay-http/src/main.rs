//! `relay-http`: the HTTP sidecar of the relay. Run it with
//! `cargo run --release -p relay-http` beside at least one `relay-worker`,
//! then `curl -s localhost:8000/health`.
//!
//! Loads the configuration (`HOST`, `PORT`, the NATS settings and the rest in the README),
//! starts logging as `[API]`, connects to NATS, binds, and serves until ctrl-c or SIGTERM.

use anyhow::Context;
use common::{
    config::ConfigSource,
    shutdown::shutdown_signal,
    telemetry::{self, Service},
};
use relay_http::{AppState, HttpSettings};
use tokio::net::TcpListener;

// glibc's malloc took about a sixth of relay-http's CPU under load (perf); mimalloc, the
// allocator of many Rust servers, costs less per request (see the README's performance figures).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// One thread: every /relay request hands off to the NATS connection task and back, and on a
// multi-threaded runtime those hand-offs are cross-thread wake-ups. Measured with
// benches/http-bench.sh on 2 cores, this halves relay-http's CPU per /relay request and nearly
// doubles its requests/s. The sidecar is stateless: scale it with more processes.
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let source = ConfigSource::load()?;
    let _logs = telemetry::init(Service::Api, env!("CARGO_BIN_NAME"), &source.telemetry()?)?;
    common::open_files::raise_and_log();
    let nats = source.nats()?;
    let settings = HttpSettings::load(&source)?;
    let client = common::nats::connect(&nats, "relay-http")
        .await
        .context("connecting to NATS")?;
    let listener = TcpListener::bind((settings.host.as_str(), settings.port))
        .await
        .with_context(|| format!("binding {}:{}", settings.host, settings.port))?;
    let state = AppState::new(client, &nats.relay_subject, &settings);
    relay_http::run(listener, state, shutdown_signal())
        .await
        .context("HTTP sidecar")
}
