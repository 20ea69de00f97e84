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
//! | `SANDBOX_GUILDS` | 1 | how many guilds, with the same people (IDs `GUILD_ID + k << 22`, names "Sandbox 1"...) |
//! | `SANDBOX_GUILDS_PER_SHARD` | 1000 | `GET /gateway/bot` recommends one shard per this many guilds |
//! | `SANDBOX_MAX_CONCURRENCY` | 1 | the identify limit's buckets: one IDENTIFY per 5 s each; 0 turns the limit off |

use std::{
    net::{IpAddr, SocketAddr},
    time::Duration,
};

use common::config::{in_range, ConfigError, ConfigSource};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::{
    model::gateway::{IdentifyLimit, GUILDS_PER_SHARD},
    rate_limit::{Limit, RateLimits, DISCORD_GLOBAL, DISCORD_ROUTE},
    server::SandboxOptions,
};

/// The most guilds `SANDBOX_GUILDS` may ask for.
pub const MAX_GUILDS: usize = 100_000;

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
    /// `SANDBOX_GUILDS`.
    pub guilds: usize,
    /// `SANDBOX_GUILDS_PER_SHARD`.
    pub guilds_per_shard: usize,
    /// The identify limit of `SANDBOX_MAX_CONCURRENCY` (none for 0).
    pub identify_limit: Option<IdentifyLimit>,
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
    sandbox_guilds: usize,
    sandbox_guilds_per_shard: usize,
    sandbox_max_concurrency: u32,
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
            sandbox_guilds: 1,
            sandbox_guilds_per_shard: GUILDS_PER_SHARD,
            sandbox_max_concurrency: 1,
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
        let guilds = in_range("SANDBOX_GUILDS", raw.sandbox_guilds, 1..=MAX_GUILDS)?;
        let guilds_per_shard = in_range(
            "SANDBOX_GUILDS_PER_SHARD",
            raw.sandbox_guilds_per_shard,
            1..=MAX_GUILDS,
        )?;
        Ok(Self {
            addr: SocketAddr::new(ip, raw.sandbox_port),
            token,
            rate_limits,
            guilds,
            guilds_per_shard,
            identify_limit: (raw.sandbox_max_concurrency > 0)
                .then(|| IdentifyLimit::discord(raw.sandbox_max_concurrency)),
        })
    }

    /// The options of the sandbox these settings describe (with a #general channel in each
    /// guild, Discord's identify limit unless turned off).
    pub fn options(&self) -> SandboxOptions {
        let mut options = SandboxOptions::new(self.token.expose_secret())
            .rate_limits(self.rate_limits)
            .with_general_channel()
            .guilds(self.guilds)
            .guilds_per_shard(self.guilds_per_shard);
        options.identify_limit = self.identify_limit;
        options
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
        let options = load(&[]).unwrap().options();
        assert_eq!((options.guilds, options.guilds_per_shard), (1, 1000));
        assert_eq!(
            options.identify_limit,
            Some(IdentifyLimit::discord(1)),
            "as Discord"
        );
    }

    #[test]
    fn guilds_shards_and_the_identify_limit_can_be_set_and_bad_values_are_named() {
        let settings = load(&[
            ("SANDBOX_GUILDS", "5"),
            ("SANDBOX_GUILDS_PER_SHARD", "2"),
            ("SANDBOX_MAX_CONCURRENCY", "0"),
        ])
        .unwrap();
        assert_eq!((settings.guilds, settings.guilds_per_shard), (5, 2));
        assert_eq!(settings.identify_limit, None, "0 turns it off");
        for (key, value) in [
            ("SANDBOX_GUILDS", "0"),
            ("SANDBOX_GUILDS", "100001"),
            ("SANDBOX_GUILDS_PER_SHARD", "0"),
            ("SANDBOX_MAX_CONCURRENCY", "x"),
        ] {
            let err = load(&[(key, value)]).unwrap_err();
            assert!(err.to_string().contains(key), "{key}={value}: {err}");
        }
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
