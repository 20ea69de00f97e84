//! Human handoff's memory: until when each ticket is quiet. A ticket message from staff is not
//! a question for the assistant ([`super::decision`]): it is not relayed (it reaches the
//! assistant later as `staff` history), and the assistant stays quiet in that ticket until the
//! quiet period (`HANDOFF_QUIET_MINUTES`) after staff last wrote has passed, saying so once per
//! quiet period.
//!
//! The quiet periods live in memory: after a restart the assistant answers again until staff
//! write once more.

use std::{collections::HashMap, time::Duration};

use parking_lot::Mutex;
use serenity::all::ChannelId;
use tokio::time::Instant;

/// Beyond this many remembered channels, ended quiet periods are forgotten.
const PRUNE_ABOVE: usize = 1024;

/// Until when each ticket channel is quiet.
#[derive(Default)]
pub(super) struct Handoffs {
    quiet_until: Mutex<HashMap<ChannelId, Instant>>,
}

impl Handoffs {
    /// Staff wrote in `channel_id`: it is quiet for `quiet` from now. `true` when this starts a
    /// new quiet period (the assistant should say so).
    pub(super) fn staff_wrote(&self, channel_id: ChannelId, quiet: Duration) -> bool {
        let now = Instant::now();
        let mut quiet_until = self.quiet_until.lock();
        if quiet_until.len() > PRUNE_ABOVE {
            quiet_until.retain(|_, until| *until > now);
        }
        let previous = quiet_until.insert(channel_id, now + quiet);
        previous.is_none_or(|until| until <= now)
    }

    /// Whether staff wrote in `channel_id` within its quiet period.
    pub(super) fn is_quiet(&self, channel_id: ChannelId) -> bool {
        self.quiet_until
            .lock()
            .get(&channel_id)
            .is_some_and(|until| *until > Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_quiet_period_is_announced_once_and_ends() {
        let handoffs = Handoffs::default();
        let channel = ChannelId::new(1);
        let quiet = Duration::from_secs(60);
        assert!(!handoffs.is_quiet(channel));
        assert!(handoffs.staff_wrote(channel, quiet), "a new quiet period");
        assert!(handoffs.is_quiet(channel));
        tokio::time::advance(Duration::from_secs(30)).await;
        assert!(
            !handoffs.staff_wrote(channel, quiet),
            "the same one, extended"
        );
        tokio::time::advance(Duration::from_secs(45)).await;
        assert!(handoffs.is_quiet(channel), "60 s after staff last wrote");
        tokio::time::advance(Duration::from_secs(16)).await;
        assert!(!handoffs.is_quiet(channel));
        assert!(
            handoffs.staff_wrote(channel, quiet),
            "a new quiet period again"
        );
        assert!(!handoffs.is_quiet(ChannelId::new(2)), "per channel");
    }
}
