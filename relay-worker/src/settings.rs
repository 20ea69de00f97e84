//! The relay worker's own settings, read from the shared configuration sources. Every number
//! has a documented range, checked at start with an error naming the variable.

use std::time::Duration;

use common::config::{in_range, ConfigError, ConfigSource};
use serde::Deserialize;

/// How one worker process behaves.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// The relay subject to serve (`RELAY_SUBJECT`).
    pub subject: String,
    /// Most requests answered at once (`RELAY_MAX_IN_FLIGHT`, 1 to 65,536, default 256); a
    /// request beyond it is answered `busy` at once, so that the requester tries another worker.
    pub max_in_flight: usize,
    /// How long shutdown waits for in-flight requests and their replies to go out
    /// (`SHUTDOWN_TIMEOUT_SECS`, 1 to 3,600, default 30); closing the connection may take
    /// [`crate::FLUSH_GRACE`] more.
    pub shutdown_timeout: Duration,
    /// The most one answer may take (`RESPONDER_TIMEOUT_SECS`, 1 to 3,600, default 30); the
    /// request's own deadline cuts it shorter.
    pub responder_timeout: Duration,
}

/// The range of `RELAY_MAX_IN_FLIGHT`: far above what one process can answer at once, far
/// below tokio's semaphore limit.
pub const MAX_IN_FLIGHT_RANGE: std::ops::RangeInclusive<usize> = 1..=65_536;

/// The range of `SHUTDOWN_TIMEOUT_SECS` and `RESPONDER_TIMEOUT_SECS`: at least a second, at
/// most an hour.
pub const SECONDS_RANGE: std::ops::RangeInclusive<u64> = 1..=3_600;

/// The variables as read, before they are checked; a missing one takes its default.
#[derive(Debug, Deserialize)]
#[serde(default)]
struct RawSettings {
    relay_max_in_flight: usize,
    shutdown_timeout_secs: u64,
    responder_timeout_secs: u64,
}

impl Default for RawSettings {
    fn default() -> Self {
        Self {
            relay_max_in_flight: 256,
            shutdown_timeout_secs: 30,
            responder_timeout_secs: 30,
        }
    }
}

impl WorkerSettings {
    /// Defaults for `subject`.
    pub fn new(subject: impl Into<String>) -> Self {
        let raw = RawSettings::default();
        Self {
            subject: subject.into(),
            max_in_flight: raw.relay_max_in_flight,
            shutdown_timeout: Duration::from_secs(raw.shutdown_timeout_secs),
            responder_timeout: Duration::from_secs(raw.responder_timeout_secs),
        }
    }

    /// Reads the worker settings; `subject` comes from the shared NATS settings.
    pub fn load(source: &ConfigSource, subject: &str) -> Result<Self, ConfigError> {
        let raw: RawSettings = source.get()?;
        Ok(Self {
            subject: subject.to_owned(),
            max_in_flight: in_range(
                "RELAY_MAX_IN_FLIGHT",
                raw.relay_max_in_flight,
                MAX_IN_FLIGHT_RANGE,
            )?,
            shutdown_timeout: Duration::from_secs(in_range(
                "SHUTDOWN_TIMEOUT_SECS",
                raw.shutdown_timeout_secs,
                SECONDS_RANGE,
            )?),
            responder_timeout: Duration::from_secs(in_range(
                "RESPONDER_TIMEOUT_SECS",
                raw.responder_timeout_secs,
                SECONDS_RANGE,
            )?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let settings = WorkerSettings::load(&ConfigSource::from_vars([]), "a.b").unwrap();
        assert_eq!(settings.max_in_flight, 256);
        assert_eq!(settings.subject, "a.b");
        assert_eq!(settings.responder_timeout, Duration::from_secs(30));
        let source = ConfigSource::from_vars([
            ("RELAY_MAX_IN_FLIGHT", "8"),
            ("SHUTDOWN_TIMEOUT_SECS", "2"),
            ("RESPONDER_TIMEOUT_SECS", "5"),
        ]);
        let settings = WorkerSettings::load(&source, "a.b").unwrap();
        assert_eq!(settings.max_in_flight, 8);
        assert_eq!(settings.shutdown_timeout, Duration::from_secs(2));
        assert_eq!(settings.responder_timeout, Duration::from_secs(5));
    }

    #[test]
    fn values_out_of_range_are_refused_by_name() {
        let huge = u64::MAX.to_string();
        let cases = [
            ("RELAY_MAX_IN_FLIGHT", "0"),
            ("RELAY_MAX_IN_FLIGHT", "18446744073709551615"),
            ("SHUTDOWN_TIMEOUT_SECS", "0"),
            ("SHUTDOWN_TIMEOUT_SECS", huge.as_str()),
            ("RESPONDER_TIMEOUT_SECS", "0"),
            ("RESPONDER_TIMEOUT_SECS", "-1"),
        ];
        for (key, value) in cases {
            let source = ConfigSource::from_vars([(key, value)]);
            let err = WorkerSettings::load(&source, "a").unwrap_err();
            assert!(err.to_string().contains(key), "{key}={value}: {err}");
        }
    }
}
