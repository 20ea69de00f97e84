//! The HTTP sidecar's own settings, read from the shared configuration sources and checked at
//! start-up so that a bad value fails with the name of its variable.

use std::time::Duration;

use axum::http::HeaderValue;
use common::config::{ConfigError, ConfigSource};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Which browser origins may call the sidecar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// Every origin (`CORS_ALLOWED_ORIGINS` unset, empty or `*`).
    Any,
    /// Only these exact origins, e.g. `https://app.example.com`.
    List(Vec<HeaderValue>),
}

/// How the sidecar listens and behaves.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Address to bind (`HOST`, default `0.0.0.0`).
    pub host: String,
    /// Port to bind (`PORT`, default `8000`; `0` picks a free one).
    pub port: u16,
    /// Largest accepted request body in bytes (`HTTP_BODY_LIMIT`, default 65536).
    pub body_limit: usize,
    /// How long `/relay` waits for a worker's answer (`RELAY_TIMEOUT_SECS`, default 10).
    pub relay_timeout: Duration,
    /// `CORS_ALLOWED_ORIGINS`: comma-separated origins; all origins when unset.
    pub allowed_origins: AllowedOrigins,
    /// `RELAY_API_TOKEN`: when set, `/relay` requires `Authorization: Bearer <token>`.
    pub api_token: Option<SecretString>,
    /// How long `/health?deep=true` collects ping answers (`HEALTH_PING_WINDOW_MS`, default
    /// 250): long enough for every worker of a healthy cluster, short enough for a probe.
    pub health_ping_window: Duration,
}

/// `HTTP_BODY_LIMIT` when unset: 64 KiB, far above the largest valid request (4,000 characters
/// of content, at most 4 bytes each, plus four IDs).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

#[derive(Debug, Deserialize)]
struct Raw {
    #[serde(default = "default_host")]
    host: String,
    #[serde(default = "default_port")]
    port: u16,
    #[serde(default = "default_body_limit")]
    http_body_limit: usize,
    #[serde(default = "default_relay_timeout_secs")]
    relay_timeout_secs: u64,
    #[serde(default)]
    cors_allowed_origins: Option<String>,
    #[serde(default)]
    relay_api_token: Option<SecretString>,
    #[serde(default = "default_health_ping_window_ms")]
    health_ping_window_ms: u64,
}

fn default_host() -> String {
    "0.0.0.0".to_owned()
}

fn default_port() -> u16 {
    8000
}

fn default_body_limit() -> usize {
    DEFAULT_BODY_LIMIT
}

fn default_relay_timeout_secs() -> u64 {
    10
}

fn default_health_ping_window_ms() -> u64 {
    250
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            host: default_host(),
            port: default_port(),
            body_limit: DEFAULT_BODY_LIMIT,
            relay_timeout: Duration::from_secs(default_relay_timeout_secs()),
            allowed_origins: AllowedOrigins::Any,
            api_token: None,
            health_ping_window: Duration::from_millis(default_health_ping_window_ms()),
        }
    }
}

impl HttpSettings {
    /// Reads and checks the sidecar settings.
    pub fn load(source: &ConfigSource) -> Result<Self, ConfigError> {
        let raw: Raw = source.get()?;
        if raw.host.trim().is_empty() {
            return Err(ConfigError::invalid("HOST", "must not be empty"));
        }
        if raw.http_body_limit == 0 {
            return Err(ConfigError::invalid(
                "HTTP_BODY_LIMIT",
                "must be at least 1",
            ));
        }
        if raw.relay_timeout_secs == 0 {
            return Err(ConfigError::invalid(
                "RELAY_TIMEOUT_SECS",
                "must be at least 1",
            ));
        }
        if raw.health_ping_window_ms == 0 {
            return Err(ConfigError::invalid(
                "HEALTH_PING_WINDOW_MS",
                "must be at least 1",
            ));
        }
        // An empty token would make `Bearer ` a valid credential; `RELAY_API_TOKEN=` in a .env
        // template means "no authentication", so read it that way.
        let api_token = raw
            .relay_api_token
            .filter(|token| !token.expose_secret().trim().is_empty());
        Ok(Self {
            host: raw.host.trim().to_owned(),
            port: raw.port,
            body_limit: raw.http_body_limit,
            relay_timeout: Duration::from_secs(raw.relay_timeout_secs),
            allowed_origins: parse_origins(raw.cors_allowed_origins.as_deref())?,
            api_token,
            health_ping_window: Duration::from_millis(raw.health_ping_window_ms),
        })
    }
}

/// Reads `CORS_ALLOWED_ORIGINS`: unset, empty or `*` allow all; else a comma-separated list of
/// `scheme://host[:port]` origins, matched exactly as browsers send them.
impl AllowedOrigins {
    /// Reads a `CORS_ALLOWED_ORIGINS` value (see [`parse_origins`]).
    pub fn parse(value: Option<&str>) -> Result<Self, ConfigError> {
        parse_origins(value)
    }
}

fn parse_origins(value: Option<&str>) -> Result<AllowedOrigins, ConfigError> {
    let value = value.map(str::trim).unwrap_or_default();
    if value.is_empty() || value == "*" {
        return Ok(AllowedOrigins::Any);
    }
    let origins = value
        .split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .map(|origin| {
            let bad = |why: &str| {
                ConfigError::invalid(
                    "CORS_ALLOWED_ORIGINS",
                    format!("{origin:?} {why} (like https://app.example.com)"),
                )
            };
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .ok_or_else(|| bad("is not an http:// or https:// origin"))?;
            if rest.is_empty() || rest.contains('/') {
                return Err(bad("must be scheme://host[:port] with no path"));
            }
            HeaderValue::from_str(origin).map_err(|_| bad("is not a valid header value"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AllowedOrigins::List(origins))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let settings = HttpSettings::load(&ConfigSource::from_vars([])).unwrap();
        assert_eq!(settings.host, "0.0.0.0");
        assert_eq!(settings.port, 8000);
        assert_eq!(settings.body_limit, 65536);
        assert_eq!(settings.relay_timeout, Duration::from_secs(10));
        assert_eq!(settings.allowed_origins, AllowedOrigins::Any);
        assert!(settings.api_token.is_none());
        assert_eq!(settings.health_ping_window, Duration::from_millis(250));
    }

    #[test]
    fn variables_override_defaults() {
        let source = ConfigSource::from_vars([
            ("HOST", "127.0.0.1"),
            ("PORT", "9000"),
            ("HTTP_BODY_LIMIT", "1024"),
            ("RELAY_TIMEOUT_SECS", "3"),
            (
                "CORS_ALLOWED_ORIGINS",
                "https://a.example, http://localhost:3000",
            ),
            ("RELAY_API_TOKEN", "s3cret"),
            ("HEALTH_PING_WINDOW_MS", "900"),
        ]);
        let settings = HttpSettings::load(&source).unwrap();
        assert_eq!(settings.host, "127.0.0.1");
        assert_eq!(settings.port, 9000);
        assert_eq!(settings.body_limit, 1024);
        assert_eq!(settings.relay_timeout, Duration::from_secs(3));
        assert_eq!(
            settings.allowed_origins,
            AllowedOrigins::List(vec![
                HeaderValue::from_static("https://a.example"),
                HeaderValue::from_static("http://localhost:3000"),
            ])
        );
        assert_eq!(settings.api_token.unwrap().expose_secret(), "s3cret");
        assert_eq!(settings.health_ping_window, Duration::from_millis(900));
    }

    #[test]
    fn the_token_never_shows_in_debug_and_empty_means_unset() {
        let source = ConfigSource::from_vars([("RELAY_API_TOKEN", "hunter2")]);
        let debug = format!("{:?}", HttpSettings::load(&source).unwrap());
        assert!(!debug.contains("hunter2"), "{debug}");
        let source = ConfigSource::from_vars([("RELAY_API_TOKEN", "")]);
        assert!(HttpSettings::load(&source).unwrap().api_token.is_none());
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (key, value) in [
            ("PORT", "eighty"),
            ("HTTP_BODY_LIMIT", "0"),
            ("RELAY_TIMEOUT_SECS", "0"),
            ("HEALTH_PING_WINDOW_MS", "0"),
            ("CORS_ALLOWED_ORIGINS", "example.com"),
            ("CORS_ALLOWED_ORIGINS", "https://a.example/"),
        ] {
            let err = HttpSettings::load(&ConfigSource::from_vars([(key, value)])).unwrap_err();
            assert!(err.to_string().contains(key), "{key}={value}: {err}");
        }
    }

    #[test]
    fn a_star_or_empty_list_allows_every_origin() {
        assert_eq!(parse_origins(Some("*")).unwrap(), AllowedOrigins::Any);
        assert_eq!(parse_origins(Some(" ")).unwrap(), AllowedOrigins::Any);
        assert_eq!(parse_origins(None).unwrap(), AllowedOrigins::Any);
    }
}
