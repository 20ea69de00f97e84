//! The HTTP sidecar's own settings, read from the shared configuration sources and checked at
//! start-up so that a bad value fails with the name of its variable.

use std::time::Duration;

use axum::http::HeaderValue;
use common::config::{in_range, ConfigError, ConfigSource};
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
    /// How long `/health?deep=true` collects ping answers (`HEALTH_PING_WINDOW_MS`, 1 to
    /// 60,000, default 250): long enough for every worker of a healthy cluster, short enough
    /// for a probe.
    pub health_ping_window: Duration,
    /// How long a client may take to send a request's headers (`HTTP_HEADER_TIMEOUT_SECS`, 1
    /// to 300, default 10); slower connections are closed.
    pub header_timeout: Duration,
    /// How long a client may take to send a request's body (`HTTP_BODY_TIMEOUT_SECS`, 1 to
    /// 300, default 10); slower ones get 408 `request_timeout`.
    pub body_timeout: Duration,
    /// The most any request may take (`HTTP_REQUEST_TIMEOUT_SECS`, 1 to 3,600, default
    /// `RELAY_TIMEOUT_SECS` + 5); beyond it, 504 `timeout`.
    pub request_timeout: Duration,
    /// `/relay` requests served at once (`HTTP_MAX_CONCURRENT_REQUESTS`, 1 to 65,536, default
    /// 1,024); beyond it, 503 `busy` at once.
    pub max_concurrent_requests: usize,
    /// How long `GET /metrics` waits for the workers' and bots' pages (`METRICS_WINDOW_MS`, 1
    /// to 60,000, default 500); it ends sooner once every process seen before has answered.
    /// A process that has not answered by then is reported down (`ticket_up` 0).
    pub metrics_window: Duration,
    /// How long a deep health check's answer is reused (one second; no variable: tests set
    /// it to tell a cached answer from a fresh one).
    pub health_cache: Duration,
}

/// How long a deep health check's answer is reused: probes every few seconds still see the
/// workers as they are, and a flood of deep checks pings them once a second.
const HEALTH_CACHE: Duration = Duration::from_secs(1);

/// Seconds settings of the sidecar: at least one, at most an hour.
const SECONDS: std::ops::RangeInclusive<u64> = 1..=3_600;
/// Client send timeouts: at least one second, at most five minutes.
const CLIENT_SECONDS: std::ops::RangeInclusive<u64> = 1..=300;
/// How much longer than the relay timeout a request may take by default (reading, answering).
const REQUEST_TIMEOUT_SLACK_SECS: u64 = 5;

/// `HTTP_BODY_LIMIT` when unset: 64 KiB, far above the largest valid request (4,000 characters
/// of content, at most 4 bytes each, plus four IDs).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// `RELAY_TIMEOUT_SECS` when unset.
const DEFAULT_RELAY_TIMEOUT_SECS: u64 = 10;
/// `HTTP_HEADER_TIMEOUT_SECS` and `HTTP_BODY_TIMEOUT_SECS` when unset.
const DEFAULT_CLIENT_TIMEOUT_SECS: u64 = 10;
/// `HEALTH_PING_WINDOW_MS` when unset.
const DEFAULT_HEALTH_PING_WINDOW_MS: u64 = 250;
/// `METRICS_WINDOW_MS` when unset.
const DEFAULT_METRICS_WINDOW_MS: u64 = 500;
/// `HTTP_MAX_CONCURRENT_REQUESTS` when unset.
const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 1_024;

/// The variables as read, before they are checked; a missing one takes its default.
#[derive(Debug, Deserialize)]
#[serde(default)]
struct RawSettings {
    host: String,
    port: u16,
    http_body_limit: usize,
    relay_timeout_secs: u64,
    cors_allowed_origins: Option<String>,
    relay_api_token: Option<SecretString>,
    health_ping_window_ms: u64,
    http_header_timeout_secs: u64,
    http_body_timeout_secs: u64,
    http_request_timeout_secs: Option<u64>,
    http_max_concurrent_requests: usize,
    metrics_window_ms: u64,
}

impl Default for RawSettings {
    fn default() -> Self {
        Self {
            host: "0.0.0.0".to_owned(),
            port: 8000,
            http_body_limit: DEFAULT_BODY_LIMIT,
            relay_timeout_secs: DEFAULT_RELAY_TIMEOUT_SECS,
            cors_allowed_origins: None,
            relay_api_token: None,
            health_ping_window_ms: DEFAULT_HEALTH_PING_WINDOW_MS,
            http_header_timeout_secs: DEFAULT_CLIENT_TIMEOUT_SECS,
            http_body_timeout_secs: DEFAULT_CLIENT_TIMEOUT_SECS,
            http_request_timeout_secs: None,
            http_max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            metrics_window_ms: DEFAULT_METRICS_WINDOW_MS,
        }
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        let raw = RawSettings::default();
        Self {
            host: raw.host,
            port: raw.port,
            body_limit: raw.http_body_limit,
            relay_timeout: Duration::from_secs(raw.relay_timeout_secs),
            allowed_origins: AllowedOrigins::Any,
            api_token: None,
            health_ping_window: Duration::from_millis(raw.health_ping_window_ms),
            header_timeout: Duration::from_secs(raw.http_header_timeout_secs),
            body_timeout: Duration::from_secs(raw.http_body_timeout_secs),
            request_timeout: Duration::from_secs(
                raw.relay_timeout_secs + REQUEST_TIMEOUT_SLACK_SECS,
            ),
            max_concurrent_requests: raw.http_max_concurrent_requests,
            metrics_window: Duration::from_millis(raw.metrics_window_ms),
            health_cache: HEALTH_CACHE,
        }
    }
}

impl HttpSettings {
    /// Reads and checks the sidecar settings.
    pub fn load(source: &ConfigSource) -> Result<Self, ConfigError> {
        let raw: RawSettings = source.get()?;
        if raw.host.trim().is_empty() {
            return Err(ConfigError::invalid("HOST", "must not be empty"));
        }
        let body_limit = in_range("HTTP_BODY_LIMIT", raw.http_body_limit, 1..=16 * 1024 * 1024)?;
        let relay_timeout_secs = in_range("RELAY_TIMEOUT_SECS", raw.relay_timeout_secs, SECONDS)?;
        let health_ping_window_ms = in_range(
            "HEALTH_PING_WINDOW_MS",
            raw.health_ping_window_ms,
            1..=60_000,
        )?;
        let header_timeout_secs = in_range(
            "HTTP_HEADER_TIMEOUT_SECS",
            raw.http_header_timeout_secs,
            CLIENT_SECONDS,
        )?;
        let body_timeout_secs = in_range(
            "HTTP_BODY_TIMEOUT_SECS",
            raw.http_body_timeout_secs,
            CLIENT_SECONDS,
        )?;
        let request_timeout_secs = in_range(
            "HTTP_REQUEST_TIMEOUT_SECS",
            raw.http_request_timeout_secs
                .unwrap_or(relay_timeout_secs + REQUEST_TIMEOUT_SLACK_SECS),
            *SECONDS.start()..=SECONDS.end() + REQUEST_TIMEOUT_SLACK_SECS,
        )?;
        let max_concurrent_requests = in_range(
            "HTTP_MAX_CONCURRENT_REQUESTS",
            raw.http_max_concurrent_requests,
            1..=65_536,
        )?;
        let metrics_window_ms = in_range("METRICS_WINDOW_MS", raw.metrics_window_ms, 1..=60_000)?;
        // An empty token would make `Bearer ` a valid credential; `RELAY_API_TOKEN=` in a .env
        // template means "no authentication", so read it that way.
        let api_token = raw
            .relay_api_token
            .filter(|token| !token.expose_secret().trim().is_empty());
        Ok(Self {
            host: raw.host.trim().to_owned(),
            port: raw.port,
            body_limit,
            relay_timeout: Duration::from_secs(relay_timeout_secs),
            allowed_origins: parse_origins(raw.cors_allowed_origins.as_deref())?,
            api_token,
            health_ping_window: Duration::from_millis(health_ping_window_ms),
            header_timeout: Duration::from_secs(header_timeout_secs),
            body_timeout: Duration::from_secs(body_timeout_secs),
            request_timeout: Duration::from_secs(request_timeout_secs),
            max_concurrent_requests,
            metrics_window: Duration::from_millis(metrics_window_ms),
            health_cache: HEALTH_CACHE,
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
        assert_eq!(settings.header_timeout, Duration::from_secs(10));
        assert_eq!(settings.body_timeout, Duration::from_secs(10));
        assert_eq!(settings.request_timeout, Duration::from_secs(15));
        assert_eq!(settings.max_concurrent_requests, 1024);
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
            ("HTTP_HEADER_TIMEOUT_SECS", "2"),
            ("HTTP_BODY_TIMEOUT_SECS", "3"),
            ("HTTP_MAX_CONCURRENT_REQUESTS", "7"),
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
        assert_eq!(settings.header_timeout, Duration::from_secs(2));
        assert_eq!(settings.body_timeout, Duration::from_secs(3));
        assert_eq!(
            settings.request_timeout,
            Duration::from_secs(8),
            "relay + 5 s"
        );
        assert_eq!(settings.max_concurrent_requests, 7);
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
            ("RELAY_TIMEOUT_SECS", "18446744073709551615"),
            ("HTTP_BODY_LIMIT", "18446744073709551615"),
            ("HTTP_HEADER_TIMEOUT_SECS", "0"),
            ("HTTP_BODY_TIMEOUT_SECS", "100000"),
            ("HTTP_REQUEST_TIMEOUT_SECS", "0"),
            ("HTTP_MAX_CONCURRENT_REQUESTS", "0"),
            ("HTTP_MAX_CONCURRENT_REQUESTS", "99999999999"),
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
