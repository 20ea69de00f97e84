//! The `discord-proxy` binary's library: the bot's REST rate limiter run on its own, so that
//! every process of a sharded bot (which share one token, and so one budget of
//! [`crate::GLOBAL_REST_PER_SECOND`] calls a second) sends its calls through one limiter. The
//! bot processes reach it through `DISCORD_PROXY_URL`; it forwards to `DISCORD_API_URL`.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DISCORD_PROXY_ADDR` | `0.0.0.0:8081` | where it listens |
//! | `DISCORD_API_URL` | `https://discord.com` | where it forwards (a sandbox's URL to try it locally) |
//! | `DISCORD_HTTP_TIMEOUT_SECS` | 15 (1–300) | the most one forwarded call may take |
//!
//! It also connects to NATS (`NATS_URL` and the other NATS settings, as user `proxy` under
//! `nats/least-privilege.conf`) to answer as the `discord-proxy` service with its metrics
//! page, which relay-http's `GET /metrics` gathers. Calls are forwarded whether NATS is up or
//! not: the connection is made in the background.

use std::{future::Future, net::SocketAddr, time::Duration};

use common::config::{in_range, ConfigError, ConfigSource};
use serde::Deserialize;

use crate::metrics::ProxyMetrics;

/// The proxy's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxySettings {
    /// `DISCORD_PROXY_ADDR`.
    pub addr: SocketAddr,
    /// `DISCORD_API_URL`, without a trailing slash.
    pub upstream: String,
    /// `DISCORD_HTTP_TIMEOUT_SECS`.
    pub timeout: Duration,
}

#[derive(Deserialize)]
#[serde(default)]
struct RawProxySettings {
    discord_proxy_addr: Option<String>,
    discord_api_url: Option<String>,
    discord_http_timeout_secs: u64,
}

impl Default for RawProxySettings {
    fn default() -> Self {
        Self {
            discord_proxy_addr: None,
            discord_api_url: None,
            discord_http_timeout_secs: 15,
        }
    }
}

impl ProxySettings {
    /// Reads and checks the settings; each error names the variable to fix.
    pub fn load(source: &ConfigSource) -> Result<Self, ConfigError> {
        let raw: RawProxySettings = source.get()?;
        let set = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
        let addr_text = set(raw.discord_proxy_addr).unwrap_or_else(|| "0.0.0.0:8081".to_owned());
        let addr = addr_text.trim().parse().map_err(|_| {
            ConfigError::invalid(
                "DISCORD_PROXY_ADDR",
                format!("{addr_text:?} is not an address like 0.0.0.0:8081"),
            )
        })?;
        let upstream = set(raw.discord_api_url).unwrap_or_else(|| "https://discord.com".to_owned());
        let upstream = upstream.trim();
        if !(upstream.starts_with("http://") || upstream.starts_with("https://")) {
            return Err(ConfigError::invalid(
                "DISCORD_API_URL",
                format!("{upstream:?} must be a base URL like https://discord.com"),
            ));
        }
        let timeout = in_range(
            "DISCORD_HTTP_TIMEOUT_SECS",
            raw.discord_http_timeout_secs,
            1..=300,
        )?;
        Ok(Self {
            addr,
            upstream: upstream.trim_end_matches('/').to_owned(),
            timeout: Duration::from_secs(timeout),
        })
    }
}

/// Forwards every call received on `listener` to `settings.upstream` until `shutdown`,
/// counting them in `metrics` (which the `discord-proxy` NATS service publishes:
/// [`crate::metrics::serve_proxy`]).
pub async fn run(
    listener: tokio::net::TcpListener,
    settings: &ProxySettings,
    metrics: &ProxyMetrics,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (upstream, timeout) = (&settings.upstream, settings.timeout);
    crate::rate_limit::serve(listener, upstream, timeout, metrics.rest(), shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<ProxySettings, ConfigError> {
        ProxySettings::load(&ConfigSource::from_vars(vars.iter().copied()))
    }

    #[test]
    fn defaults_forward_to_discord_and_bad_values_name_their_variable() {
        let settings = load(&[]).unwrap();
        assert_eq!(settings.addr, "0.0.0.0:8081".parse().unwrap());
        assert_eq!(settings.upstream, "https://discord.com");
        assert_eq!(settings.timeout, Duration::from_secs(15));
        let settings = load(&[
            ("DISCORD_PROXY_ADDR", "127.0.0.1:9000"),
            ("DISCORD_API_URL", "http://sandbox:3000/"),
        ])
        .unwrap();
        assert_eq!(settings.upstream, "http://sandbox:3000");
        for (key, value) in [
            ("DISCORD_PROXY_ADDR", "port 80"),
            ("DISCORD_API_URL", "discord.com"),
            ("DISCORD_HTTP_TIMEOUT_SECS", "0"),
        ] {
            let err = load(&[(key, value)]).unwrap_err();
            assert!(err.to_string().contains(key), "{key}={value}: {err}");
        }
    }
}
