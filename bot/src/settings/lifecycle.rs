//! How tickets end: the delay before a closed ticket's channel goes, and the auto-close of idle
//! tickets (`TICKET_CLOSE_DELAY_SECS`, `TICKET_AUTO_CLOSE_HOURS`, `TICKET_AUTO_CLOSE_GRACE_HOURS`).

use std::time::Duration;

/// How tickets end.
#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleSettings {
    /// How long a closed ticket's channel stays (so people read the closing message).
    pub close_delay: Duration,
    /// Idle tickets are warned, then closed (`None`: never).
    pub auto_close: Option<AutoClose>,
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
        }
    }
}
