//! Configuration shared by every binary, read with the `config` crate from, in rising order of
//! precedence: built-in defaults, an optional TOML file, a `.env` file, and environment variables.
//!
//! The TOML file is the one named by `CONFIG_FILE`, else `config.toml` in the working directory
//! when present. Keys are the environment variable names in lower case (`nats_url = "..."`).
//! Each binary reads the settings it needs with [`ConfigSource::get`]; bad values fail at start
//! with a [`ConfigError`] naming the variable.

use std::{collections::HashMap, fmt::Display, ops::RangeInclusive, path::PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::{de::DeserializeOwned, Deserialize};

use crate::subjects::DEFAULT_RELAY_SUBJECT;

/// A configuration value that cannot be used, named by its environment variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// One setting is wrong.
    #[error("invalid configuration: {key}: {message}")]
    Invalid {
        /// The environment variable, e.g. `PORT`.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// The sources could not be read (unreadable or malformed TOML file, for instance).
    #[error("cannot read configuration: {0}")]
    Source(String),
}

impl ConfigError {
    /// An error about the setting `key` (an environment variable name).
    pub fn invalid(key: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.to_uppercase(),
            message: message.into(),
        }
    }
}

/// Checks a numeric setting against its documented range, so that no value from configuration
/// can reach a panic (a `Duration` that overflows an `Instant`, a semaphore too large...).
pub fn in_range<T: PartialOrd + Display>(
    key: &str,
    value: T,
    range: RangeInclusive<T>,
) -> Result<T, ConfigError> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError::invalid(
            key,
            format!(
                "must be between {} and {}, got {value}",
                range.start(),
                range.end()
            ),
        ))
    }
}

/// `url` with the user part (`user:password@`, or a token) replaced by `***`, for log lines
/// and error messages: `nats://bot:s3cret@host:4222` becomes `nats://***@host:4222`.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(at) => url.split_at(at + 3),
        None => ("", url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

/// Why `.env` could not be read, by line number and never by content: the line may hold a
/// secret. `text` is the file, to find the line's number in.
fn dotenv_error(err: &dotenvy::Error, text: Option<&str>) -> ConfigError {
    let problem = match err {
        dotenvy::Error::LineParse(line, _) => {
            let number = text.and_then(|text| {
                text.lines()
                    .position(|candidate| candidate.trim_end() == line.trim_end())
                    .map(|index| index + 1)
            });
            let at = number.map_or_else(|| "a line".to_owned(), |n| format!("line {n}"));
            format!("{at} cannot be parsed (expected KEY=value; the line is not shown, it may hold a secret)")
        }
        dotenvy::Error::Io(io) => io.to_string(),
        // The others (a variable that is not Unicode...) may quote a value: say no more.
        _ => "cannot be read".to_owned(),
    };
    ConfigError::Source(format!(".env: {problem}"))
}

impl From<config::ConfigError> for ConfigError {
    fn from(err: config::ConfigError) -> Self {
        match err {
            config::ConfigError::Type {
                key: Some(key),
                unexpected,
                expected,
                ..
            } => Self::invalid(&key, format!("expected {expected}, got {unexpected}")),
            config::ConfigError::At {
                error,
                key: Some(key),
                ..
            } => match Self::from(*error) {
                Self::Source(message) => Self::invalid(&key, message),
                named => named,
            },
            config::ConfigError::NotFound(key) => Self::invalid(&key, "is required"),
            other => Self::Source(other.to_string()),
        }
    }
}

/// The merged configuration sources of one process.
#[derive(Debug, Clone)]
pub struct ConfigSource(config::Config);

impl ConfigSource {
    /// Reads `.env` (if present), the TOML file (if any), then the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        // A missing .env is the normal case in production; a broken one is worth failing for.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(err) if err.not_found() => {}
            Err(err) => {
                let text = std::fs::read_to_string(".env").ok();
                return Err(dotenv_error(&err, text.as_deref()));
            }
        }
        let file = match std::env::var_os("CONFIG_FILE") {
            Some(path) => Some((PathBuf::from(path), true)),
            None => Some((PathBuf::from("config.toml"), false)),
        };
        Self::build(file, None)
    }

    /// Configuration from these variables only (for tests and embedding).
    pub fn from_vars<'a>(vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let vars = vars
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Self::build(None, Some(vars)).expect("variables alone always build")
    }

    fn build(
        file: Option<(PathBuf, bool)>,
        vars: Option<HashMap<String, String>>,
    ) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder();
        if let Some((path, required)) = file {
            builder = builder.add_source(
                config::File::from(path)
                    .format(config::FileFormat::Toml)
                    .required(required),
            );
        }
        let environment =
            config::Environment::default().source(vars.map(|v| v.into_iter().collect()));
        Ok(Self(builder.add_source(environment).build()?))
    }

    /// Reads one settings struct; fields use `#[serde(default)]` for their built-in defaults.
    pub fn get<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        Ok(self.0.clone().try_deserialize()?)
    }

    /// The NATS settings every binary uses, checked.
    pub fn nats(&self) -> Result<NatsSettings, ConfigError> {
        let mut settings: NatsSettings = self.get()?;
        // `NATS_TOKEN=` (as compose files and .env templates write) means "not set".
        settings.nats_creds = settings.nats_creds.filter(|p| !p.as_os_str().is_empty());
        settings.nats_token = settings
            .nats_token
            .filter(|t| !t.expose_secret().is_empty());
        settings.nats_user = settings.nats_user.filter(|u| !u.is_empty());
        settings.nats_inbox_prefix = settings.nats_inbox_prefix.filter(|p| !p.is_empty());
        settings.nats_password = settings
            .nats_password
            .filter(|p| !p.expose_secret().is_empty());
        settings.check()?;
        Ok(settings)
    }

    /// The log level (`LOG_LEVEL`) and where spans go (`OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub fn telemetry(&self) -> Result<TelemetrySettings, ConfigError> {
        let mut settings: TelemetrySettings = self.get()?;
        // `OTEL_EXPORTER_OTLP_ENDPOINT=` (compose passes it through empty) means "no traces".
        let set = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
        settings.otel_exporter_otlp_endpoint = set(settings.otel_exporter_otlp_endpoint);
        settings.otel_service_name = set(settings.otel_service_name);
        Ok(settings)
    }
}

/// How to reach NATS and where the relay lives.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct NatsSettings {
    /// `NATS_URL`: one server URL, or several separated by commas (nodes of one cluster).
    pub nats_url: String,
    /// `RELAY_SUBJECT`: where relay requests are published.
    pub relay_subject: String,
    /// `NATS_CREDS`: path of a `.creds` file (JWT + NKey).
    pub nats_creds: Option<PathBuf>,
    /// `NATS_TOKEN`: token authentication.
    pub nats_token: Option<SecretString>,
    /// `NATS_USER`: user name for user/password authentication.
    pub nats_user: Option<String>,
    /// `NATS_PASSWORD`: password of `NATS_USER`.
    pub nats_password: Option<SecretString>,
    /// `NATS_INBOX_PREFIX`: where this client receives replies; see [`Self::inbox_prefix`].
    pub nats_inbox_prefix: Option<String>,
}

/// Where `NATS_URL` points when unset: a server on this machine.
const DEFAULT_NATS_URL: &str = "nats://localhost:4222";

impl Default for NatsSettings {
    fn default() -> Self {
        Self::new(DEFAULT_NATS_URL)
    }
}

impl NatsSettings {
    /// Settings for a server at `url` with everything else at its default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            nats_url: url.into(),
            relay_subject: DEFAULT_RELAY_SUBJECT.to_owned(),
            nats_creds: None,
            nats_token: None,
            nats_user: None,
            nats_password: None,
            nats_inbox_prefix: None,
        }
    }

    /// The subject prefix of this client's reply inboxes: `NATS_INBOX_PREFIX`, else
    /// `_INBOX.<NATS_USER>` when a user is set, else NATS's default `_INBOX`.
    ///
    /// A prefix per user lets the server config allow each user its own inboxes only, so that
    /// no requester can subscribe to another's replies (see `nats/least-privilege.conf`).
    pub fn inbox_prefix(&self) -> String {
        match (&self.nats_inbox_prefix, &self.nats_user) {
            (Some(prefix), _) => prefix.clone(),
            (None, Some(user)) => format!("_INBOX.{user}"),
            (None, None) => "_INBOX".to_owned(),
        }
    }

    /// The server addresses of `NATS_URL`, with any `user:password@` taken out: the client
    /// library logs addresses (at DEBUG), so credentials travel as options instead (see
    /// [`Self::url_credentials`]).
    pub fn server_addrs(&self) -> Result<Vec<async_nats::ServerAddr>, ConfigError> {
        Ok(self
            .parsed_urls()?
            .into_iter()
            .map(|(addr, _)| addr)
            .collect())
    }

    /// The user (and password) written into `NATS_URL`, if any: a user alone is a token.
    pub fn url_credentials(&self) -> Result<Option<(String, Option<String>)>, ConfigError> {
        Ok(self
            .parsed_urls()?
            .into_iter()
            .find_map(|(_, credentials)| credentials))
    }

    #[allow(clippy::type_complexity)]
    fn parsed_urls(
        &self,
    ) -> Result<Vec<(async_nats::ServerAddr, Option<(String, Option<String>)>)>, ConfigError> {
        self.nats_url
            .split(',')
            .map(|url| {
                let addr = url
                    .trim()
                    .parse::<async_nats::ServerAddr>()
                    .map_err(|err| {
                        // Neither the URL nor the parser's message (which may quote it) may carry
                        // credentials into a log line.
                        let message = err.to_string().replace(url.trim(), &redact_url(url.trim()));
                        ConfigError::invalid(
                            "NATS_URL",
                            format!("{:?}: {}", redact_url(url.trim()), redact_url(&message)),
                        )
                    })?;
                let credentials = addr
                    .username()
                    .filter(|user| !user.is_empty())
                    .map(|user| (user.to_owned(), addr.password().map(str::to_owned)));
                let mut bare = addr.into_inner();
                // Both only fail for URLs that cannot have credentials, which these did.
                let _ = bare.set_username("");
                let _ = bare.set_password(None);
                let addr = async_nats::ServerAddr::from_url(bare).map_err(|err| {
                    ConfigError::invalid("NATS_URL", format!("{:?}: {err}", redact_url(url.trim())))
                })?;
                Ok((addr, credentials))
            })
            .collect()
    }

    /// `NATS_URL` with the user part of every server redacted, for logs and errors.
    pub fn redacted_url(&self) -> String {
        self.nats_url
            .split(',')
            .map(|url| redact_url(url.trim()))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn check(&self) -> Result<(), ConfigError> {
        self.server_addrs()?;
        let subject = &self.relay_subject;
        if !is_literal_subject(subject) {
            return Err(ConfigError::invalid(
                "RELAY_SUBJECT",
                format!("{subject:?} is not a NATS subject without wildcards (like tickets.relay)"),
            ));
        }
        let prefix = self.inbox_prefix();
        if !is_literal_subject(&prefix) {
            return Err(ConfigError::invalid(
                "NATS_INBOX_PREFIX",
                format!("{prefix:?} is not a NATS subject without wildcards (like _INBOX.bot)"),
            ));
        }
        let methods = [
            self.nats_creds.is_some(),
            self.nats_token.is_some(),
            self.nats_user.is_some(),
        ];
        if methods.iter().filter(|set| **set).count() > 1 {
            return Err(ConfigError::invalid(
                "NATS_CREDS",
                "set only one of NATS_CREDS, NATS_TOKEN and NATS_USER/NATS_PASSWORD",
            ));
        }
        if methods.contains(&true) && self.url_credentials()?.is_some() {
            return Err(ConfigError::invalid(
                "NATS_URL",
                "holds a user, and NATS_CREDS, NATS_TOKEN or NATS_USER is set too: use one",
            ));
        }
        if self.nats_user.is_some() != self.nats_password.is_some() {
            return Err(ConfigError::invalid(
                "NATS_PASSWORD",
                "NATS_USER and NATS_PASSWORD go together",
            ));
        }
        Ok(())
    }
}

/// Dot-separated tokens, none empty, no wildcards, no white space.
fn is_literal_subject(subject: &str) -> bool {
    !subject.is_empty()
        && subject.split('.').all(|token| {
            !token.is_empty()
                && !token.contains(['*', '>'])
                && !token.chars().any(char::is_whitespace)
        })
}

/// Logging settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct TelemetrySettings {
    /// `LOG_LEVEL`: `ERROR`, `WARN`, `INFO`, `DEBUG`, `TRACE`, or an `EnvFilter` directive list.
    pub log_level: String,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: the base URL of an OTLP/HTTP collector
    /// (`http://jaeger:4318`); set, spans are exported to `<it>/v1/traces`, unset (or empty),
    /// no trace is made at all.
    pub otel_exporter_otlp_endpoint: Option<String>,
    /// `OTEL_SERVICE_NAME`: the spans' `service.name`, instead of the binary's name.
    pub otel_service_name: Option<String>,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            log_level: "INFO".to_owned(),
            otel_exporter_otlp_endpoint: None,
            otel_service_name: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let source = ConfigSource::from_vars([]);
        let nats = source.nats().unwrap();
        assert_eq!(nats.nats_url, "nats://localhost:4222");
        assert_eq!(nats.relay_subject, "tickets.relay");
        assert!(nats.nats_token.is_none());
        assert_eq!(source.telemetry().unwrap().log_level, "INFO");
    }

    #[test]
    fn environment_names_map_to_fields() {
        let source = ConfigSource::from_vars([
            ("NATS_URL", "nats://a:1,nats://b:2"),
            ("RELAY_SUBJECT", "acme.tickets"),
            ("NATS_TOKEN", "s3cret"),
            ("LOG_LEVEL", "debug"),
        ]);
        let nats = source.nats().unwrap();
        assert_eq!(nats.server_addrs().unwrap().len(), 2);
        assert_eq!(nats.relay_subject, "acme.tickets");
        assert_eq!(nats.nats_token.as_ref().unwrap().expose_secret(), "s3cret");
        assert_eq!(source.telemetry().unwrap().log_level, "debug");
    }

    #[test]
    fn empty_auth_variables_mean_unset() {
        let source = ConfigSource::from_vars([
            ("NATS_TOKEN", ""),
            ("NATS_USER", ""),
            ("NATS_PASSWORD", ""),
            ("NATS_CREDS", ""),
        ]);
        let nats = source.nats().unwrap();
        assert!(nats.nats_token.is_none() && nats.nats_user.is_none());
        assert!(nats.nats_password.is_none() && nats.nats_creds.is_none());
    }

    #[test]
    fn traces_are_off_unless_an_endpoint_is_set() {
        let read = |endpoint, name| {
            let mut vars = vec![];
            for (key, value) in [
                ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
                ("OTEL_SERVICE_NAME", name),
            ] {
                if let Some(value) = value {
                    vars.push((key, value));
                }
            }
            let settings = ConfigSource::from_vars(vars).telemetry().unwrap();
            (
                settings.otel_exporter_otlp_endpoint,
                settings.otel_service_name,
            )
        };
        assert_eq!(read(None, None), (None, None));
        assert_eq!(read(Some(""), Some(" ")), (None, None), "empty means unset");
        assert_eq!(
            read(Some("http://jaeger:4318"), Some("worker-eu")),
            (
                Some("http://jaeger:4318".to_owned()),
                Some("worker-eu".to_owned())
            )
        );
    }

    #[test]
    fn each_user_gets_its_own_inbox_prefix_unless_one_is_set() {
        let nats = ConfigSource::from_vars([]).nats().unwrap();
        assert_eq!(nats.inbox_prefix(), "_INBOX");
        let source = ConfigSource::from_vars([("NATS_USER", "bot"), ("NATS_PASSWORD", "p")]);
        assert_eq!(source.nats().unwrap().inbox_prefix(), "_INBOX.bot");
        let source = ConfigSource::from_vars([("NATS_INBOX_PREFIX", "_R.acme")]);
        assert_eq!(source.nats().unwrap().inbox_prefix(), "_R.acme");
        let err = ConfigSource::from_vars([("NATS_INBOX_PREFIX", "_INBOX.>")])
            .nats()
            .unwrap_err();
        assert!(err.to_string().contains("NATS_INBOX_PREFIX"), "{err}");
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let source = ConfigSource::from_vars([("NATS_USER", "bot"), ("NATS_PASSWORD", "hunter2")]);
        let nats = source.nats().unwrap();
        let debug = format!("{nats:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("bot"));
    }

    #[test]
    fn bad_values_name_their_variable() {
        let err = ConfigSource::from_vars([("RELAY_SUBJECT", "tickets.*")])
            .nats()
            .unwrap_err();
        assert!(err.to_string().contains("RELAY_SUBJECT"), "{err}");

        let err = ConfigSource::from_vars([("NATS_URL", "nats://host:notaport")])
            .nats()
            .unwrap_err();
        assert!(err.to_string().contains("NATS_URL"), "{err}");

        let err = ConfigSource::from_vars([("NATS_USER", "bot")])
            .nats()
            .unwrap_err();
        assert!(err.to_string().contains("NATS_PASSWORD"), "{err}");

        let err = ConfigSource::from_vars([("NATS_TOKEN", "t"), ("NATS_CREDS", "/x.creds")])
            .nats()
            .unwrap_err();
        assert!(err.to_string().contains("only one"), "{err}");
    }

    #[test]
    fn ranges_name_the_variable_and_the_bounds() {
        assert_eq!(in_range("X", 5_u64, 1..=10).unwrap(), 5);
        let err = in_range("RELAY_TIMEOUT_SECS", u64::MAX, 1..=3600).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "invalid configuration: RELAY_TIMEOUT_SECS: must be between 1 and 3600, got {}",
                u64::MAX
            )
        );
        assert!(in_range("X", 0_u64, 1..=10).is_err());
    }

    #[test]
    fn urls_lose_their_user_part() {
        assert_eq!(
            redact_url("nats://bot:s3cret@host:4222"),
            "nats://***@host:4222"
        );
        assert_eq!(redact_url("nats://tok3n@host"), "nats://***@host");
        assert_eq!(redact_url("nats://host:4222"), "nats://host:4222");
        assert_eq!(redact_url("user:pw@host:4222"), "***@host:4222");
        assert_eq!(redact_url("nats://host/p@th"), "nats://host/p@th");
        assert_eq!(redact_url("nats://a:b@c@host"), "nats://***@host");
        let source = ConfigSource::from_vars([("NATS_URL", "nats://u:hunter2@a:1, nats://b:2")]);
        let nats = source.nats().unwrap();
        assert_eq!(nats.redacted_url(), "nats://***@a:1,nats://b:2");
        let addrs = nats.server_addrs().unwrap();
        assert!(addrs.iter().all(|addr| !addr.has_user_pass()), "{addrs:?}");
        assert_eq!(
            nats.url_credentials().unwrap(),
            Some(("u".to_owned(), Some("hunter2".to_owned())))
        );
    }

    #[test]
    fn a_broken_env_line_is_named_by_number_not_content() {
        let text = "A=1\n# comment\nSECRET=\"hunter2\n";
        let err = dotenv_error(
            &dotenvy::Error::LineParse("SECRET=\"hunter2".to_owned(), 7),
            Some(text),
        )
        .to_string();
        assert!(err.contains(".env: line 3 cannot be parsed"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn a_bad_nats_url_with_credentials_is_refused_without_them() {
        let err = ConfigSource::from_vars([("NATS_URL", "nats://u:hunter2@host:notaport")])
            .nats()
            .unwrap_err()
            .to_string();
        assert!(err.contains("NATS_URL"), "{err}");
        assert!(!err.contains("hunter2") && !err.contains("u:"), "{err}");
    }

    #[test]
    fn type_errors_name_their_variable() {
        #[derive(Debug, Deserialize)]
        struct Port {
            #[allow(dead_code)]
            port: u16,
        }
        let err = ConfigSource::from_vars([("PORT", "eighty")])
            .get::<Port>()
            .unwrap_err();
        assert!(err.to_string().contains("PORT"), "{err}");
        let err = ConfigSource::from_vars([]).get::<Port>().unwrap_err();
        assert_eq!(err.to_string(), "invalid configuration: PORT: is required");
    }
}
