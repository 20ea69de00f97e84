//! `discord-proxy`: the bot's REST rate limiter as a shared proxy for every bot process
//! (`DISCORD_PROXY_URL=http://discord-proxy:8081` on each), forwarding to Discord within one
//! global budget, until ctrl-c or SIGTERM. Settings in `bot::proxy::ProxySettings`.

use anyhow::Context;
use bot::proxy::ProxySettings;
use common::{config::ConfigSource, shutdown::shutdown_signal, telemetry};

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
    let listener = tokio::net::TcpListener::bind(settings.addr)
        .await
        .with_context(|| format!("listening on DISCORD_PROXY_ADDR {}", settings.addr))?;
    bot::proxy::run(listener, &settings, shutdown_signal())
        .await
        .context("discord-proxy")
}
