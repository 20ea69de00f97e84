//! `discord-proxy`: the bot's REST rate limiter as a shared proxy for every bot process
//! (`DISCORD_PROXY_URL=http://discord-proxy:8081` on each), forwarding to Discord within one
//! global budget, until ctrl-c or SIGTERM; its counts go to the one scrape as the NATS service
//! `discord-proxy`. Settings in `bot::proxy`.

use std::time::Duration;

use anyhow::Context;
use bot::{
    metrics::{self, ProxyMetrics},
    proxy::ProxySettings,
};
use common::{config::ConfigSource, shutdown::shutdown_signal, telemetry};

/// How long the NATS drain may take at the stop.
const DRAIN_GRACE: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let source = ConfigSource::load()?;
    let _logs = telemetry::init(
        telemetry::Service::Bot,
        env!("CARGO_BIN_NAME"),
        &source.telemetry()?,
    )?;
    common::open_files::raise_and_log();
    let settings = ProxySettings::load(&source)?;
    let nats_settings = source.nats()?;
    // Returns at once: without a server yet, the client keeps trying in the background.
    let nats = common::nats::connect(&nats_settings, "discord-proxy")
        .await
        .context("connecting to NATS")?;
    let proxy_metrics = ProxyMetrics::new(&metrics::instance_id());
    let _service = metrics::serve_proxy(&nats, proxy_metrics.clone())
        .await
        .map_err(|err| anyhow::anyhow!("answering as the discord-proxy service: {err}"))?;
    let listener = tokio::net::TcpListener::bind(settings.addr)
        .await
        .with_context(|| format!("listening on DISCORD_PROXY_ADDR {}", settings.addr))?;
    bot::proxy::run(listener, &settings, &proxy_metrics, shutdown_signal())
        .await
        .context("discord-proxy")?;
    // Answers to scrapes already received go out before the process ends.
    common::nats::drain_within(&nats, DRAIN_GRACE).await;
    Ok(())
}
