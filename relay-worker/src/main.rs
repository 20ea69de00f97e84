//! `relay-worker`: loads the configuration, starts logging, and serves relay requests until
//! ctrl-c or SIGTERM.

use anyhow::Context;
use common::{config::ConfigSource, shutdown::shutdown_signal, telemetry};
use relay_worker::{AnswerSettings, AnswerSource, WorkerSettings};

// Every request allocates its payload, reply and log line; mimalloc costs less per request than
// glibc's malloc (see the README's performance figures).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let source = ConfigSource::load()?;
    let _logs = telemetry::init(
        telemetry::Service::Worker,
        env!("CARGO_BIN_NAME"),
        &source.telemetry()?,
    )?;
    common::open_files::raise_and_log();
    let nats = source.nats()?;
    let settings = WorkerSettings::load(&source, &nats.relay_subject)?;
    let answers = AnswerSource::start(&AnswerSettings::load(&source)?).await?;
    let client = common::nats::connect(&nats, "relay-worker")
        .await
        .context("connecting to NATS")?;
    // On a runtime worker thread, the tasks the loop spawns start on the same thread (tokio's
    // LIFO slot) instead of being handed over from the main thread: measurably faster.
    tokio::spawn(relay_worker::run(
        client,
        settings,
        answers,
        shutdown_signal(),
    ))
    .await
    .context("relay worker task")?
    .context("relay worker")
}
