//! The relay worker's own settings, read from the shared configuration sources.

use std::time::Duration;

use common::config::{ConfigError, ConfigSource};
use serde::Deserialize;

/// How one worker process behaves.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// The relay subject to serve (`RELAY_SUBJECT`).
    pub subject: String,
    /// Most requests answered at once (`RELAY_MAX_IN_FLIGHT`, default 256); beyond that the
    /// worker stops pulling requests until one finishes.
    pub max_in_flight: usize,
    /// How long shutdown waits for in-flight requests (`SHUTDOWN_TIMEOUT_SECS`, default 30).
    pub shutdown_timeout: Duration,
}

#[derive(Debug, Deserialize)]
struct Raw {
    #[serde(default = "default_max_in_flight")]
    relay_max_in_flight: usize,
    #[serde(default = "default_shutdown_timeout_secs")]
    shutdown_timeout_secs: u64,
}

fn default_max_in_flight() -> usize {
    256
}

fn default_shutdown_timeout_secs() -> u64 {
    30
}

impl WorkerSettings {
    /// Defaults for `subject`.
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            max_in_flight: default_max_in_flight(),
            shutdown_timeout: Duration::from_secs(default_shutdown_timeout_secs()),
        }
    }

    /// Reads the worker settings; `subject` comes from the shared NATS settings.
    pub fn load(source: &ConfigSource, subject: &str) -> Result<Self, ConfigError> {
        let raw: Raw = source.get()?;
        if raw.relay_max_in_flight == 0 {
            return Err(ConfigError::invalid(
                "RELAY_MAX_IN_FLIGHT",
                "must be at least 1",
            ));
        }
        Ok(Self {
            subject: subject.to_owned(),
            max_in_flight: raw.relay_max_in_flight,
            shutdown_timeout: Duration::from_secs(raw.shutdown_timeout_secs),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let config = WorkerSettings::load(&ConfigSource::from_vars([]), "a.b").unwrap();
        assert_eq!(config.max_in_flight, 256);
        assert_eq!(config.subject, "a.b");
        let source =
            ConfigSource::from_vars([("RELAY_MAX_IN_FLIGHT", "8"), ("SHUTDOWN_TIMEOUT_SECS", "2")]);
        let config = WorkerSettings::load(&source, "a.b").unwrap();
        assert_eq!(config.max_in_flight, 8);
        assert_eq!(config.shutdown_timeout, Duration::from_secs(2));
    }

    #[test]
    fn zero_in_flight_is_refused_by_name() {
        let source = ConfigSource::from_vars([("RELAY_MAX_IN_FLIGHT", "0")]);
        let err = WorkerSettings::load(&source, "a").unwrap_err();
        assert!(err.to_string().contains("RELAY_MAX_IN_FLIGHT"), "{err}");
    }
}
