//! `bot`: loads the settings, starts logging, connects to NATS and runs the Discord bot
//! until ctrl-c or SIGTERM.

use anyhow::Context;
use bot::BotSettings;
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
    let nats = source.nats()?;
    let settings = BotSettings::load(&source, &nats)?;
    let client = common::nats::connect(&nats, "bot")
        .await
        .context("connecting to NATS")?;
    bot::run(settings, client, shutdown_signal())
        .await
        .context("discord bot")
}
