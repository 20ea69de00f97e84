//! How tickets end: the delay before a closed ticket's channel goes, the auto-close of idle
//! tickets (`TICKET_CLOSE_DELAY_SECS`, `TICKET_AUTO_CLOSE_HOURS`, `TICKET_AUTO_CLOSE_GRACE_HOURS`),
//! how much of the files people attached is archived with a transcript
//! (`TRANSCRIPT_MAX_ATTACHMENT_MB`), how often an unfinished close is tried again, how long a
//! closed ticket may be reopened (`TICKET_REOPEN_HOURS`), and how long an empty overflow
//! category stays.

use std::time::Duration;

use crate::clock::Clock;

/// `TICKET_REOPEN_HOURS` when unset: three days, a long weekend.
pub const REOPEN_WINDOW: Duration = Duration::from_secs(72 * 3600);
/// An empty overflow category is deleted after this long: long enough that a category
/// emptied and filled again within minutes is not made over and over.
pub const OVERFLOW_QUIET: Duration = Duration::from_secs(10 * 60);

/// How tickets end.
#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleSettings {
    /// How long a closed ticket's channel stays (so people read the closing message).
    pub close_delay: Duration,
    /// Idle tickets are warned, then closed (`None`: never).
    pub auto_close: Option<AutoClose>,
    /// The most bytes of attachments archived per ticket (in message order; the rest are
    /// listed by link).
    pub attachment_budget: u64,
    /// How often closes that could not finish (the archive or Discord unavailable, a bot
    /// process stopped midway) are tried again.
    pub close_retry: Duration,
    /// How long after its close a ticket may be reopened (`None`: never).
    pub reopen_window: Option<Duration>,
    /// How long an overflow category ("Tickets 2", ...) stays once it is empty.
    pub overflow_quiet: Duration,
    /// "Now" for the support hours (tests shift it).
    pub clock: Clock,
}

/// When idle tickets are warned and closed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutoClose {
    /// A ticket nobody wrote in for this long gets the warning.
    pub idle: Duration,
    /// It closes this long after the warning, unless someone writes first.
    pub grace: Duration,
}

impl Default for LifecycleSettings {
    fn default() -> Self {
        Self {
            close_delay: Duration::from_secs(5),
            auto_close: None,
            attachment_budget: 25 * 1024 * 1024,
            close_retry: Duration::from_secs(60),
            reopen_window: Some(REOPEN_WINDOW),
            overflow_quiet: OVERFLOW_QUIET,
            clock: Clock::default(),
        }
    }
}
