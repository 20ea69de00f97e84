//! How the relay behaves: the timeouts, retries and bounds of each ticket channel's queue, and
//! the ticket conversation's settings (history, handoff, per-user limit). [`RelaySettings::new`]
//! holds the production values; the variables of [`super::BotSettings`] change some of them.

use std::time::Duration;

use common::payload::History;

/// Three attempts in all: enough to ride out a worker restarting, few enough that the user is
/// not kept waiting for long.
const MAX_RETRIES: usize = 2;
/// Long enough for a restarted worker to subscribe again, short next to the request timeout.
const RETRY_DELAY: Duration = Duration::from_millis(500);
/// More than a person types while waiting for one answer; beyond it is a flood, told to resend.
const QUEUE_CAPACITY: usize = 16;
/// A conversation's pauses keep its task; an abandoned ticket frees it.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// An hour: long enough for a restart or a deploy, short enough that nobody gets a bot answer
/// to a question staff have long dealt with.
pub(super) const CATCH_UP_MAX_AGE: Duration = Duration::from_secs(60 * 60);
/// Long enough for a conversation with staff to pause.
pub(super) const HANDOFF_QUIET: Duration = Duration::from_secs(30 * 60);
/// More than a person asks in a minute, few enough that one user cannot keep the workers busy.
pub(super) const USER_RATE_LIMIT_PER_MINUTE: u32 = 6;

/// How the relay behaves; [`RelaySettings::new`] gives the production values.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// How long one request waits for a reply (`RELAY_TIMEOUT_SECS`).
    pub timeout: Duration,
    /// Retries after the first attempt, on transient failures only.
    pub max_retries: usize,
    /// Delay before the first retry; it doubles for each later one.
    pub retry_delay: Duration,
    /// Messages one channel may have waiting before new ones are turned away.
    pub queue_capacity: usize,
    /// An idle channel task ends after this long (a new message starts another).
    pub idle_timeout: Duration,
    /// How far back catch-up looks after a (re)connect (`CATCHUP_MAX_AGE_MINUTES`; zero: no
    /// catch-up).
    pub catch_up_max_age: Duration,
    /// Earlier ticket messages sent with each request (`HISTORY_MAX_MESSAGES`).
    pub history_max_messages: usize,
    /// How long the assistant stays quiet after staff wrote (`HANDOFF_QUIET_MINUTES`).
    pub handoff_quiet: Duration,
    /// Messages relayed per user per minute, 0 for no limit (`USER_RATE_LIMIT_PER_MINUTE`).
    pub user_rate_limit_per_minute: u32,
    /// Whether answers carry the Talk to a human and 👍/👎 buttons (`ANSWER_BUTTONS`).
    pub answer_buttons: bool,
}

impl RelaySettings {
    /// Production values with the given request timeout.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            max_retries: MAX_RETRIES,
            retry_delay: RETRY_DELAY,
            queue_capacity: QUEUE_CAPACITY,
            idle_timeout: IDLE_TIMEOUT,
            catch_up_max_age: CATCH_UP_MAX_AGE,
            history_max_messages: History::MAX_MESSAGES,
            handoff_quiet: HANDOFF_QUIET,
            user_rate_limit_per_minute: USER_RATE_LIMIT_PER_MINUTE,
            answer_buttons: true,
        }
    }

    /// The longest the relay can work on one message's request: every attempt's timeout and
    /// the longest waits between them (each wait doubles the one before, and its jitter adds
    /// up to as much again).
    pub fn budget(&self) -> Duration {
        let attempts = u32::try_from(self.max_retries + 1).unwrap_or(u32::MAX);
        let mut waits = Duration::ZERO;
        let mut wait = self.retry_delay;
        for _ in 0..self.max_retries {
            waits = waits.saturating_add(wait.saturating_mul(2));
            wait = wait.saturating_mul(2);
        }
        self.timeout.saturating_mul(attempts).saturating_add(waits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_every_attempt_and_the_longest_waits_between_them() {
        let settings = RelaySettings::new(Duration::from_secs(10));
        // Three attempts of 10 s; waits of at most 2 x 0.5 s and 2 x 1 s.
        assert_eq!(settings.budget(), Duration::from_secs(33));
        let once = RelaySettings {
            max_retries: 0,
            ..RelaySettings::new(Duration::from_secs(4))
        };
        assert_eq!(once.budget(), Duration::from_secs(4));
    }
}
