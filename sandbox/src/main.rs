//! `discord-sandbox`: loads the settings, starts logging, and serves the sandbox (Discord's API
//! for the bot, the page for people) until ctrl-c or SIGTERM.

use anyhow::Context;
use common::{config::ConfigSource, shutdown::shutdown_signal, telemetry};
use sandbox::{SandboxSettings, Server};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let source = ConfigSource::load()?;
    let _logs = telemetry::init(
        telemetry::Service::Sandbox,
        env!("CARGO_BIN_NAME"),
        &source.telemetry()?,
    )?;
    common::open_files::raise_and_log();
    let settings = SandboxSettings::load(&source)?;
    let listener = tokio::net::TcpListener::bind(settings.addr)
        .await
        .with_context(|| {
            format!(
                "listening on {} (SANDBOX_HOST, SANDBOX_PORT)",
                settings.addr
            )
        })?;
    let addr = listener.local_addr()?;
    let sandbox = Server::new(settings.options(), addr);
    tracing::info!(
        url = %sandbox.url(),
        rate_limits = ?settings.rate_limits,
        "serving: point the bot's DISCORD_PROXY_URL here, open the page in a browser"
    );
    sandbox::run(listener, sandbox, shutdown_signal())
        .await
        .context("serving the sandbox")?;
    tracing::info!("sandbox stopped");
    Ok(())
}
