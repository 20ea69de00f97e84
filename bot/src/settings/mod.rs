//! The bot's typed settings, read once at start-up from the shared [`ConfigSource`]: the
//! variables below, the relay's behaviour ([`RelaySettings`]) and how tickets end
//! ([`LifecycleSettings`]).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DISCORD_TOKEN` | required | the bot token (kept in a [`SecretString`]: never printed) |
//! | `DISCORD_GUILD_ID` | unset | register the slash commands in this guild only (instant) instead of globally |
//! | `DISCORD_PROXY_URL` | unset | send every REST call, gateway discovery included, to this base URL (a shared rate-limit proxy such as twilight-http-proxy) |
//! | `RELAY_TIMEOUT_SECS` | 10 (1–3,600) | how long one relay request waits for a worker's reply |
//! | `DISCORD_HTTP_TIMEOUT_SECS` | 15 (1–300) | the most one Discord REST call may take |
//! | `CATCHUP_MAX_AGE_MINUTES` | 60 (0–10,080; 0 = no catch-up) | after a (re)connect, unanswered ticket messages up to this old are answered |
//! | `NATS_URL`, `RELAY_SUBJECT`, ... | shared | see [`common::config::NatsSettings`] |
//! | `HISTORY_MAX_MESSAGES` | 20 (0–20) | earlier ticket messages sent with each relay request (0: none) |
//! | `HANDOFF_QUIET_MINUTES` | 30 (0–1,440) | the assistant stays quiet in a ticket this long after staff last wrote |
//! | `USER_RATE_LIMIT_PER_MINUTE` | 6 (0–600) | most messages relayed per user per minute (0: no limit) |
//! | `ANSWER_BUTTONS` | true | answers carry Talk to a human and 👍/👎 buttons (false: plain answers; tickets are still counted) |
//! | `TICKET_CLOSE_DELAY_SECS` | 5 (0–3,600) | a closed ticket's channel is deleted this long after the close |
//! | `TICKET_AUTO_CLOSE_HOURS` | unset (off) | a ticket idle this long (hours, fractions allowed, up to 8,760) gets a warning |
//! | `TICKET_AUTO_CLOSE_GRACE_HOURS` | 24 | ... and closes this long after the warning unless someone writes |
//! | `TRANSCRIPT_MAX_ATTACHMENT_MB` | 25 (0–1,024) | the files attached in a ticket are archived with its transcript up to this many MiB in all (0: none); the rest are listed by link |
//! | `TICKET_REOPEN_HOURS` | 72 (0–8,760, fractions allowed; 0 = off) | a closed ticket may be reopened this long after its close |

mod lifecycle;
mod relay;

pub use lifecycle::{AutoClose, LifecycleSettings};
pub use relay::RelaySettings;

use std::time::Duration;

use common::{
    config::{in_range, ConfigError, ConfigSource, NatsSettings},
    payload::History,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serenity::model::id::GuildId;

/// Everything [`crate::run`] needs besides the NATS connection. Its `Debug` shows neither the
/// token nor the proxy URL's `user:password@`.
#[derive(Clone)]
pub struct BotSettings {
    /// `DISCORD_TOKEN`.
    pub discord_token: SecretString,
    /// `DISCORD_GUILD_ID`: register commands in this guild only.
    pub guild_id: Option<GuildId>,
    /// `DISCORD_PROXY_URL`, without a trailing slash.
    pub proxy_url: Option<String>,
    /// `RELAY_TIMEOUT_SECS`.
    pub relay_timeout: Duration,
    /// `RELAY_SUBJECT` (from the shared NATS settings).
    pub relay_subject: String,
    /// `DISCORD_HTTP_TIMEOUT_SECS`: one stalled Discord call cannot hold a channel's queue
    /// longer than this.
    pub discord_http_timeout: Duration,
    /// `CATCHUP_MAX_AGE_MINUTES`: how far back catch-up looks (zero: no catch-up).
    pub catch_up_max_age: Duration,

    // The ticket's conversation.
    /// `HISTORY_MAX_MESSAGES`: earlier messages sent with each request (0 to
    /// [`History::MAX_MESSAGES`]).
    pub history_max_messages: usize,
    /// `HANDOFF_QUIET_MINUTES`, as a duration so that tests can make it short.
    pub handoff_quiet: Duration,
    /// `USER_RATE_LIMIT_PER_MINUTE`: 0 means no limit.
    pub user_rate_limit_per_minute: u32,
    /// `ANSWER_BUTTONS`: answers carry their buttons.
    pub answer_buttons: bool,

    // The ticket lifecycle.
    /// `TICKET_CLOSE_DELAY_SECS`, `TICKET_AUTO_CLOSE_HOURS`, `TICKET_AUTO_CLOSE_GRACE_HOURS`,
    /// `TRANSCRIPT_MAX_ATTACHMENT_MB`.
    pub lifecycle: LifecycleSettings,
}

impl std::fmt::Debug for BotSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotSettings")
            .field("discord_token", &self.discord_token)
            .field("guild_id", &self.guild_id)
            .field(
                "proxy_url",
                &self.proxy_url.as_deref().map(common::config::redact_url),
            )
            .field("relay_timeout", &self.relay_timeout)
            .field("relay_subject", &self.relay_subject)
            .field("discord_http_timeout", &self.discord_http_timeout)
            .field("catch_up_max_age", &self.catch_up_max_age)
            .field("history_max_messages", &self.history_max_messages)
            .field("handoff_quiet", &self.handoff_quiet)
            .field(
                "user_rate_limit_per_minute",
                &self.user_rate_limit_per_minute,
            )
            .field("answer_buttons", &self.answer_buttons)
            .field("lifecycle", &self.lifecycle)
            .finish()
    }
}

/// A year: longer than that is "never", which is leaving the variable unset.
const MAX_AUTO_CLOSE_HOURS: f64 = 24.0 * 365.0;
/// The grace after the idle warning when `TICKET_AUTO_CLOSE_GRACE_HOURS` is unset: a day, so
/// the owner sees the warning whatever their time zone.
const DEFAULT_GRACE_HOURS: f64 = 24.0;

/// The most `HANDOFF_QUIET_MINUTES` may be: a day; longer is a ticket staff have taken over.
const MAX_HANDOFF_QUIET_MINUTES: u64 = 24 * 60;
/// The most `USER_RATE_LIMIT_PER_MINUTE` may be: ten a second is no limit for a person typing.
const MAX_USER_RATE_LIMIT_PER_MINUTE: u32 = 600;
/// The most `TRANSCRIPT_MAX_ATTACHMENT_MB` may be: a GiB per ticket is already an archive
/// problem, not a transcript.
const MAX_TRANSCRIPT_ATTACHMENT_MB: u64 = 1024;

/// The variables as read, before they are checked; a missing one takes its default.
#[derive(Deserialize)]
#[serde(default)]
struct RawSettings {
    discord_token: Option<SecretString>,
    discord_guild_id: Option<String>,
    discord_proxy_url: Option<String>,
    relay_timeout_secs: u64,
    discord_http_timeout_secs: u64,
    catchup_max_age_minutes: u64,
    history_max_messages: usize,
    handoff_quiet_minutes: u64,
    user_rate_limit_per_minute: u32,
    // Text, so that an empty value reads as unset and the error names the variable.
    answer_buttons: Option<String>,
    ticket_close_delay_secs: u64,
    // Text, so that an empty value reads as unset and a fraction of an hour is allowed.
    ticket_auto_close_hours: Option<String>,
    ticket_auto_close_grace_hours: Option<String>,
    transcript_max_attachment_mb: u64,
    ticket_reopen_hours: Option<String>,
}

impl Default for RawSettings {
    fn default() -> Self {
        Self {
            discord_token: None,
            discord_guild_id: None,
            discord_proxy_url: None,
            relay_timeout_secs: 10,
            discord_http_timeout_secs: 15,
            catchup_max_age_minutes: relay::CATCH_UP_MAX_AGE.as_secs() / 60,
            history_max_messages: History::MAX_MESSAGES,
            handoff_quiet_minutes: relay::HANDOFF_QUIET.as_secs() / 60,
            user_rate_limit_per_minute: relay::USER_RATE_LIMIT_PER_MINUTE,
            answer_buttons: None,
            ticket_close_delay_secs: LifecycleSettings::default().close_delay.as_secs(),
            ticket_auto_close_hours: None,
            ticket_auto_close_grace_hours: None,
            transcript_max_attachment_mb: LifecycleSettings::default().attachment_budget
                / (1024 * 1024),
            ticket_reopen_hours: None,
        }
    }
}

/// Hours as a duration, from a number that may have a fraction ("0.5" is half an hour).
fn hours(key: &str, text: &str) -> Result<Duration, ConfigError> {
    let value: f64 = text.trim().parse().map_err(|_| {
        ConfigError::invalid(
            key,
            format!("{text:?} is not a number of hours (like 48 or 0.5)"),
        )
    })?;
    if !(value > 0.0 && value <= MAX_AUTO_CLOSE_HOURS) {
        return Err(ConfigError::invalid(
            key,
            format!("must be more than 0 and at most {MAX_AUTO_CLOSE_HOURS} hours, got {text:?}"),
        ));
    }
    Ok(Duration::from_secs_f64(value * 3600.0))
}

/// A yes or no (`true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`); unset or empty is `default`.
fn flag(key: &str, text: Option<&str>, default: bool) -> Result<bool, ConfigError> {
    match text.map(|t| t.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") => Ok(default),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(other) => Err(ConfigError::invalid(
            key,
            format!("{other:?} is not true or false"),
        )),
    }
}

impl BotSettings {
    /// Reads and checks the bot's settings; each error names the variable to fix.
    pub fn load(source: &ConfigSource, nats: &NatsSettings) -> Result<Self, ConfigError> {
        let raw: RawSettings = source.get()?;
        let lifecycle = lifecycle(&raw)?;
        let discord_token = raw
            .discord_token
            .filter(|token| !token.expose_secret().trim().is_empty())
            .ok_or_else(|| {
                ConfigError::invalid(
                    "DISCORD_TOKEN",
                    "is required: set it to the bot token from the Discord developer portal",
                )
            })?;
        let guild_id = match raw.discord_guild_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(
                text.parse::<u64>()
                    .ok()
                    .filter(|id| *id != 0)
                    .map(GuildId::new)
                    .ok_or_else(|| {
                        ConfigError::invalid(
                            "DISCORD_GUILD_ID",
                            format!("{text:?} is not a Discord server ID (a number)"),
                        )
                    })?,
            ),
        };
        let proxy_url = match raw.discord_proxy_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                Some(url.trim_end_matches('/').to_owned())
            }
            Some(url) => {
                return Err(ConfigError::invalid(
                    "DISCORD_PROXY_URL",
                    format!("{url:?} must be a base URL like http://127.0.0.1:3000"),
                ))
            }
        };
        let relay_timeout_secs = in_range("RELAY_TIMEOUT_SECS", raw.relay_timeout_secs, 1..=3_600)?;
        let discord_http_timeout_secs = in_range(
            "DISCORD_HTTP_TIMEOUT_SECS",
            raw.discord_http_timeout_secs,
            1..=300,
        )?;
        // A week: Discord keeps history longer, but older questions need a person, not a bot.
        let catch_up_max_age_minutes = in_range(
            "CATCHUP_MAX_AGE_MINUTES",
            raw.catchup_max_age_minutes,
            0..=10_080,
        )?;
        Ok(Self {
            discord_token,
            guild_id,
            proxy_url,
            relay_timeout: Duration::from_secs(relay_timeout_secs),
            relay_subject: nats.relay_subject.clone(),
            discord_http_timeout: Duration::from_secs(discord_http_timeout_secs),
            catch_up_max_age: Duration::from_secs(catch_up_max_age_minutes * 60),
            history_max_messages: in_range(
                "HISTORY_MAX_MESSAGES",
                raw.history_max_messages,
                0..=History::MAX_MESSAGES,
            )?,
            handoff_quiet: Duration::from_secs(
                60 * in_range(
                    "HANDOFF_QUIET_MINUTES",
                    raw.handoff_quiet_minutes,
                    0..=MAX_HANDOFF_QUIET_MINUTES,
                )?,
            ),
            user_rate_limit_per_minute: in_range(
                "USER_RATE_LIMIT_PER_MINUTE",
                raw.user_rate_limit_per_minute,
                0..=MAX_USER_RATE_LIMIT_PER_MINUTE,
            )?,
            answer_buttons: flag("ANSWER_BUTTONS", raw.answer_buttons.as_deref(), true)?,
            lifecycle,
        })
    }

    /// After how long a claim on a message whose process has not marked it done was left by a
    /// process that crashed ([`crate::claims`]): the relay's whole budget for the message, and
    /// two Discord calls (the history read before it, the post after it) at their timeout.
    pub fn claim_stale_after(&self) -> Duration {
        self.relay_settings()
            .budget()
            .saturating_add(self.discord_http_timeout.saturating_mul(2))
    }

    /// The relay's settings: production values with this configuration.
    pub(crate) fn relay_settings(&self) -> RelaySettings {
        RelaySettings {
            history_max_messages: self.history_max_messages,
            handoff_quiet: self.handoff_quiet,
            user_rate_limit_per_minute: self.user_rate_limit_per_minute,
            catch_up_max_age: self.catch_up_max_age,
            answer_buttons: self.answer_buttons,
            ..RelaySettings::new(self.relay_timeout)
        }
    }
}

fn lifecycle(raw: &RawSettings) -> Result<LifecycleSettings, ConfigError> {
    let close_delay = in_range(
        "TICKET_CLOSE_DELAY_SECS",
        raw.ticket_close_delay_secs,
        0..=3_600,
    )?;
    fn set(value: &Option<String>) -> Option<&str> {
        value.as_deref().filter(|v| !v.trim().is_empty())
    }
    let auto_close = match set(&raw.ticket_auto_close_hours) {
        None => {
            if set(&raw.ticket_auto_close_grace_hours).is_some() {
                tracing::warn!("TICKET_AUTO_CLOSE_GRACE_HOURS is set but TICKET_AUTO_CLOSE_HOURS is not: tickets are never closed automatically");
            }
            None
        }
        Some(idle) => Some(AutoClose {
            idle: hours("TICKET_AUTO_CLOSE_HOURS", idle)?,
            grace: match set(&raw.ticket_auto_close_grace_hours) {
                Some(grace) => hours("TICKET_AUTO_CLOSE_GRACE_HOURS", grace)?,
                None => Duration::from_secs_f64(DEFAULT_GRACE_HOURS * 3600.0),
            },
        }),
    };
    let attachment_mb = in_range(
        "TRANSCRIPT_MAX_ATTACHMENT_MB",
        raw.transcript_max_attachment_mb,
        0..=MAX_TRANSCRIPT_ATTACHMENT_MB,
    )?;
    let reopen_window = match set(&raw.ticket_reopen_hours).map(str::trim) {
        None => Some(lifecycle::REOPEN_WINDOW),
        Some(off) if off.parse::<f64>().is_ok_and(|h| h == 0.0) => None,
        Some(window) => Some(hours("TICKET_REOPEN_HOURS", window)?),
    };
    Ok(LifecycleSettings {
        close_delay: Duration::from_secs(close_delay),
        auto_close,
        attachment_budget: attachment_mb * 1024 * 1024,
        reopen_window,
        ..LifecycleSettings::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<BotSettings, ConfigError> {
        let source = ConfigSource::from_vars(vars.iter().copied());
        BotSettings::load(&source, &NatsSettings::new("nats://127.0.0.1:4222"))
    }

    #[test]
    fn missing_token_is_an_error_naming_discord_token() {
        let err = load(&[]).unwrap_err();
        assert!(err.to_string().contains("DISCORD_TOKEN"), "{err}");
        let err = load(&[("DISCORD_TOKEN", "  ")]).unwrap_err();
        assert!(err.to_string().contains("DISCORD_TOKEN"), "{err}");
    }

    #[test]
    fn defaults_apply_and_token_never_prints() {
        let settings = load(&[("DISCORD_TOKEN", "very-secret-token")]).unwrap();
        assert_eq!(settings.relay_timeout, Duration::from_secs(10));
        assert_eq!(settings.guild_id, None);
        assert_eq!(settings.proxy_url, None);
        assert_eq!(settings.relay_subject, "tickets.relay");
        assert_eq!(settings.discord_http_timeout, Duration::from_secs(15));
        assert_eq!(settings.catch_up_max_age, Duration::from_secs(3600));
        assert_eq!(settings.history_max_messages, 20);
        assert_eq!(settings.handoff_quiet, Duration::from_secs(30 * 60));
        assert_eq!(settings.user_rate_limit_per_minute, 6);
        assert!(settings.answer_buttons);
        assert_eq!(settings.lifecycle, LifecycleSettings::default());
        assert!(!format!("{settings:?}").contains("very-secret-token"));
        assert_eq!(settings.lifecycle.attachment_budget, 25 * 1024 * 1024);
        let settings = load(&[
            ("DISCORD_TOKEN", "t"),
            ("DISCORD_PROXY_URL", "http://user:pa55@127.0.0.1:3000"),
            ("TRANSCRIPT_MAX_ATTACHMENT_MB", "0"),
        ])
        .unwrap();
        let printed = format!("{settings:?}");
        assert!(
            !printed.contains("pa55") && printed.contains("***@127.0.0.1:3000"),
            "{printed}"
        );
        assert_eq!(settings.lifecycle.attachment_budget, 0);
    }

    #[test]
    fn optional_settings_are_read_and_checked() {
        let settings = load(&[
            ("DISCORD_TOKEN", "t"),
            ("DISCORD_GUILD_ID", "123"),
            ("DISCORD_PROXY_URL", "http://127.0.0.1:3000/"),
            ("RELAY_TIMEOUT_SECS", "3"),
        ])
        .unwrap();
        assert_eq!(settings.guild_id, Some(GuildId::new(123)));
        assert_eq!(settings.proxy_url.as_deref(), Some("http://127.0.0.1:3000"));
        assert_eq!(settings.relay_timeout, Duration::from_secs(3));
        let settings = load(&[
            ("DISCORD_TOKEN", "t"),
            ("HISTORY_MAX_MESSAGES", "0"),
            ("HANDOFF_QUIET_MINUTES", "5"),
            ("USER_RATE_LIMIT_PER_MINUTE", "0"),
            ("ANSWER_BUTTONS", " Off "),
        ])
        .unwrap();
        assert!(!settings.answer_buttons);
        assert_eq!(settings.history_max_messages, 0);
        assert_eq!(settings.handoff_quiet, Duration::from_secs(300));
        assert_eq!(settings.user_rate_limit_per_minute, 0);

        let bad = [
            ("DISCORD_GUILD_ID", "abc"),
            ("DISCORD_PROXY_URL", "127.0.0.1:3000"),
            ("RELAY_TIMEOUT_SECS", "0"),
            ("RELAY_TIMEOUT_SECS", "soon"),
            ("RELAY_TIMEOUT_SECS", "18446744073709551615"),
            ("DISCORD_HTTP_TIMEOUT_SECS", "0"),
            ("DISCORD_HTTP_TIMEOUT_SECS", "99999"),
            ("CATCHUP_MAX_AGE_MINUTES", "-1"),
            ("CATCHUP_MAX_AGE_MINUTES", "18446744073709551615"),
            ("HISTORY_MAX_MESSAGES", "21"),
            ("HANDOFF_QUIET_MINUTES", "1441"),
            ("USER_RATE_LIMIT_PER_MINUTE", "601"),
            ("USER_RATE_LIMIT_PER_MINUTE", "-1"),
            ("ANSWER_BUTTONS", "maybe"),
            ("TICKET_CLOSE_DELAY_SECS", "3601"),
            ("TICKET_AUTO_CLOSE_HOURS", "0"),
            ("TICKET_AUTO_CLOSE_HOURS", "soon"),
            ("TICKET_AUTO_CLOSE_HOURS", "NaN"),
            ("TICKET_AUTO_CLOSE_HOURS", "9000"),
            ("TRANSCRIPT_MAX_ATTACHMENT_MB", "1025"),
            ("TRANSCRIPT_MAX_ATTACHMENT_MB", "-1"),
            ("TICKET_REOPEN_HOURS", "-1"),
            ("TICKET_REOPEN_HOURS", "soon"),
            ("TICKET_REOPEN_HOURS", "9000"),
        ];
        for (key, value) in bad {
            let err = load(&[("DISCORD_TOKEN", "t"), (key, value)]).unwrap_err();
            assert!(err.to_string().contains(key), "{key}={value}: {err}");
        }
    }

    #[test]
    fn reopening_lasts_three_days_unless_set_and_zero_turns_it_off() {
        let hours = |vars: &[(&str, &str)]| {
            let mut all = vec![("DISCORD_TOKEN", "t")];
            all.extend_from_slice(vars);
            load(&all).unwrap().lifecycle.reopen_window
        };
        assert_eq!(hours(&[]), Some(Duration::from_secs(72 * 3600)));
        assert_eq!(
            hours(&[("TICKET_REOPEN_HOURS", "")]),
            Some(Duration::from_secs(72 * 3600))
        );
        assert_eq!(hours(&[("TICKET_REOPEN_HOURS", "0")]), None);
        assert_eq!(
            hours(&[("TICKET_REOPEN_HOURS", "0.5")]),
            Some(Duration::from_secs(1800))
        );
    }

    #[test]
    fn auto_close_takes_fractional_hours_and_a_default_grace() {
        let settings = load(&[
            ("DISCORD_TOKEN", "t"),
            ("TICKET_AUTO_CLOSE_HOURS", "48"),
            ("TICKET_CLOSE_DELAY_SECS", "0"),
        ])
        .unwrap();
        let rule = settings.lifecycle.auto_close.unwrap();
        assert_eq!(rule.idle, Duration::from_secs(48 * 3600));
        assert_eq!(rule.grace, Duration::from_secs(24 * 3600));
        assert_eq!(settings.lifecycle.close_delay, Duration::ZERO);
        let settings = load(&[
            ("DISCORD_TOKEN", "t"),
            ("TICKET_AUTO_CLOSE_HOURS", "0.5"),
            ("TICKET_AUTO_CLOSE_GRACE_HOURS", "0.25"),
        ])
        .unwrap();
        let rule = settings.lifecycle.auto_close.unwrap();
        assert_eq!(rule.idle, Duration::from_secs(1800));
        assert_eq!(rule.grace, Duration::from_secs(900));
        let err = load(&[
            ("DISCORD_TOKEN", "t"),
            ("TICKET_AUTO_CLOSE_HOURS", "1"),
            ("TICKET_AUTO_CLOSE_GRACE_HOURS", "-2"),
        ])
        .unwrap_err();
        assert!(
            err.to_string().contains("TICKET_AUTO_CLOSE_GRACE_HOURS"),
            "{err}"
        );
    }
}
