//! The sandbox binary's typed settings, read once at start-up from the shared [`ConfigSource`].
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `SANDBOX_HOST` | 127.0.0.1 | address to listen on (the page and the bot's `DISCORD_PROXY_URL`) |
//! | `SANDBOX_PORT` | 3000 | port to listen on (0 picks a free one) |
//! | `SANDBOX_BOT_TOKEN` | `sandbox-token` | the bot token the sandbox accepts (give the bot the same `DISCORD_TOKEN`) |
//! | `SANDBOX_GLOBAL_RATE_LIMIT` | 50 | requests per second across all routes, as Discord; 0 turns it off |
//! | `SANDBOX_ROUTE_RATE_LIMIT` | 5 | requests per window on one route and channel/guild; 0 turns it off |
//! | `SANDBOX_ROUTE_WINDOW_MS` | 5000 | that window, in milliseconds |

use std::{
    net::{IpAddr, SocketAddr},
    time::Duration,
};

use common::config::{ConfigError, ConfigSource};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::{
    rate_limit::{Limit, RateLimits, DISCORD_GLOBAL, DISCORD_ROUTE},
    server::SandboxOptions,
};

/// The token the sandbox accepts unless told otherwise (it guards nothing real).
pub const DEFAULT_TOKEN: &str = "sandbox-token";

/// Everything the `discord-sandbox` binary needs.
#[derive(Debug, Clone)]
pub struct SandboxSettings {
    /// Where to listen.
    pub addr: SocketAddr,
    /// `SANDBOX_BOT_TOKEN`.
    pub token: SecretString,
    /// The limits from `SANDBOX_*_RATE_LIMIT` and `SANDBOX_ROUTE_WINDOW_MS`.
    pub rate_limits: RateLimits,
}

/// The variables as read, before they are checked; a missing one takes its default below.
#[derive(Deserialize)]
#[serde(default)]
struct RawSettings {
    sandbox_host: String,
    sandbox_port: u16,
    sandbox_bot_token: Option<SecretString>,
    sandbox_global_rate_limit: u32,
    sandbox_route_rate_limit: u32,
    sandbox_route_window_ms: u64,
}

impl Default for RawSettings {
    fn default() -> Self {
        Self {
            sandbox_host: "127.0.0.1".to_owned(),
            sandbox_port: 3000,
            sandbox_bot_token: None,
            sandbox_global_rate_limit: DISCORD_GLOBAL.requests,
            sandbox_route_rate_limit: DISCORD_ROUTE.requests,
            sandbox_route_window_ms: DISCORD_ROUTE.per.as_millis().try_into().unwrap_or(u64::MAX),
        }
    }
}

impl SandboxSettings {
    /// Reads and checks the settings; each error names the variable to fix.
    pub fn load(source: &ConfigSource) -> Result<Self, ConfigError> {
        let raw: RawSettings = source.get()?;
        let ip: IpAddr = raw.sandbox_host.trim().parse().map_err(|_| {
            ConfigError::invalid(
                "SANDBOX_HOST",
                format!(
                    "{:?} is not an IP address (e.g. 127.0.0.1)",
                    raw.sandbox_host
                ),
            )
        })?;
        let token = raw
            .sandbox_bot_token
            .filter(|t| !t.expose_secret().trim().is_empty())
            .unwrap_or_else(|| SecretString::from(DEFAULT_TOKEN));
        if raw.sandbox_route_rate_limit > 0 && raw.sandbox_route_window_ms == 0 {
            return Err(ConfigError::invalid(
                "SANDBOX_ROUTE_WINDOW_MS",
                "must be at least 1 when SANDBOX_ROUTE_RATE_LIMIT is set",
            ));
        }
        let rate_limits = RateLimits {
            global: (raw.sandbox_global_rate_limit > 0).then_some(Limit {
                requests: raw.sandbox_global_rate_limit,
                per: Duration::from_secs(1),
            }),
            route: (raw.sandbox_route_rate_limit > 0).then_some(Limit {
                requests: raw.sandbox_route_rate_limit,
                per: Duration::from_millis(raw.sandbox_route_window_ms),
            }),
        };
        Ok(Self {
            addr: SocketAddr::new(ip, raw.sandbox_port),
            token,
            rate_limits,
        })
    }

    /// The options of the sandbox these settings describe (with a #general channel).
    pub fn options(&self) -> SandboxOptions {
        SandboxOptions::new(self.token.expose_secret())
            .rate_limits(self.rate_limits)
            .with_general_channel()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<SandboxSettings, ConfigError> {
        SandboxSettings::load(&ConfigSource::from_vars(vars.iter().copied()))
    }

    #[test]
    fn defaults_are_discords_limits_on_localhost_and_the_token_never_prints() {
        let settings = load(&[]).unwrap();
        assert_eq!(settings.addr, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(settings.rate_limits, RateLimits::discord());
        assert_eq!(settings.token.expose_secret(), DEFAULT_TOKEN);
        let settings = load(&[("SANDBOX_BOT_TOKEN", "hush")]).unwrap();
        assert!(!format!("{settings:?}").contains("hush"));
    }

    #[test]
    fn limits_can_be_changed_or_turned_off_and_bad_values_are_named() {
        let settings = load(&[
            ("SANDBOX_GLOBAL_RATE_LIMIT", "0"),
            ("SANDBOX_ROUTE_RATE_LIMIT", "2"),
            ("SANDBOX_ROUTE_WINDOW_MS", "100"),
            ("SANDBOX_PORT", "0"),
        ])
        .unwrap();
        assert_eq!(settings.rate_limits.global, None);
        assert_eq!(
            settings.rate_limits.route,
            Some(Limit {
                requests: 2,
                per: Duration::from_millis(100)
            })
        );
        for (key, value) in [
            ("SANDBOX_HOST", "localhost"),
            ("SANDBOX_PORT", "70000"),
            ("SANDBOX_ROUTE_WINDOW_MS", "0"),
        ] {
            let err = load(&[(key, value)]).unwrap_err();
            assert!(err.to_string().contains(key), "{key}={value}: {err}");
        }
    }
}
