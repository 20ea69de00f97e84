//! `bot`: loads the configuration, starts logging, connects to NATS and runs the Discord bot
//! until ctrl-c or SIGTERM.

use anyhow::Context;
use bot::BotConfig;
use common::{config::ConfigSource, shutdown::shutdown_signal, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let source = ConfigSource::load()?;
    let _logs = telemetry::init(telemetry::Service::Bot, &source.telemetry()?)?;
    let nats = source.nats()?;
    let config = BotConfig::load(&source, &nats)?;
    let client = common::nats::connect(&nats, "bot")
        .await
        .context("connecting to NATS")?;
    bot::run(config, client, shutdown_signal())
        .await
        .context("discord bot")
}
