//! Auto-close: a ticket nobody wrote in for `TICKET_AUTO_CLOSE_HOURS` gets a warning, and closes
//! (with its transcript) `TICKET_AUTO_CLOSE_GRACE_HOURS` later unless someone writes first.
//! Both decisions read the stored last activity and warning time, so a restart loses nothing:
//! the sweep is only a clock; the registry is the record. The sweep's list is only a hint:
//! each warning and close is decided again on the entry as stored at that moment, so a member
//! who writes while a sweep runs is not closed. A guild's tickets are swept only once the guild
//! is available and caught up (what was written while the bot was away counts as activity),
//! and no longer once the bot has left it.

use std::time::Duration;

use serenity::all::{ChannelId, CreateAllowedMentions, CreateMessage, Timestamp};

use super::{age, CloseError, Tickets};
use crate::{registry::TicketEntry, settings::AutoClose};

/// The sweep looks at most this often, and at least every minute: hours-long limits need no
/// finer clock, and short test limits still get a few looks per period.
const MAX_SWEEP: Duration = Duration::from_secs(60);
const MIN_SWEEP: Duration = Duration::from_millis(100);
/// Looks per (shortest) period.
const SWEEPS_PER_PERIOD: u32 = 10;

/// What to do with one open ticket now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    Nothing,
    Warn,
    Close,
}

fn due(ticket: &TicketEntry, rule: AutoClose) -> Due {
    match ticket.warned_at {
        Some(warned) if age(&warned) >= rule.grace => Due::Close,
        Some(_) => Due::Nothing,
        None if age(&ticket.last_activity) >= rule.idle => Due::Warn,
        None => Due::Nothing,
    }
}

/// The sweep's period for `rule`.
fn period(rule: AutoClose) -> Duration {
    (rule.idle.min(rule.grace) / SWEEPS_PER_PERIOD).clamp(MIN_SWEEP, MAX_SWEEP)
}

/// "2 hours", "90 minutes", "5 seconds": how the warning states a duration.
pub fn describe(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (n, unit) = if secs >= 3600 && secs % 3600 == 0 {
        (secs / 3600, "hour")
    } else if secs >= 60 && secs % 60 == 0 {
        (secs / 60, "minute")
    } else {
        (secs.max(1), "second")
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

impl Tickets {
    pub(super) async fn auto_close_loop(self, rule: AutoClose) {
        let mut tick = tokio::time::interval(period(rule));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = self.inner.sweep_now.notified() => {}
            }
            self.sweep(rule).await;
        }
    }

    /// One look at every open ticket of the guilds that may be swept, oldest ticket first.
    async fn sweep(&self, rule: AutoClose) {
        let mut tickets: Vec<(ChannelId, TicketEntry)> = self
            .registry()
            .open_tickets(None)
            .into_iter()
            .filter(|(_, t)| self.is_ready(t.guild_id))
            .collect();
        tickets.sort_unstable_by_key(|(channel, _)| *channel);
        tracing::debug!(tickets = tickets.len(), "auto-close sweep");
        for (channel, ticket) in tickets {
            // Another close may have taken a while: the guild may have gone meanwhile.
            if !self.is_ready(ticket.guild_id) {
                continue;
            }
            match due(&ticket, rule) {
                Due::Nothing => {}
                Due::Warn => self.warn_idle(channel, rule).await,
                Due::Close => {
                    let reason = format!(
                        "closed automatically: no activity for {}",
                        describe(rule.idle + rule.grace)
                    );
                    let still_due = |t: &TicketEntry| due(t, rule) == Due::Close;
                    match self
                        .close_if(channel, self.bot_id(), Some(reason), still_due)
                        .await
                    {
                        Ok(_) => {}
                        Err(CloseError::NotOpen) => {
                            tracing::debug!(channel_id = %channel, "no longer due for auto-close")
                        }
                        Err(err) => {
                            tracing::error!(error = %err, channel_id = %channel, "auto-close failed; trying again at the next sweep");
                        }
                    }
                }
            }
        }
    }

    async fn warn_idle(&self, channel: ChannelId, rule: AutoClose) {
        // Stored first: a crash after the post must not warn twice, and the stored time is
        // what the close waits from.
        let now = Timestamp::now();
        let stored = self
            .registry()
            .update_stored_ticket(channel, |t| {
                if !t.is_open() || t.warned_at.is_some() || due(t, rule) != Due::Warn {
                    return false;
                }
                t.warned_at = Some(now);
                true
            })
            .await;
        match stored {
            Ok(Some((ticket, true))) => {
                let text = format!(
                    "<@{}> this ticket has had no activity for {}. It will be closed in {} unless someone writes here.",
                    ticket.owner_id,
                    describe(rule.idle),
                    describe(rule.grace)
                );
                // The owner is pinged on purpose: the warning is for them.
                let message = CreateMessage::new()
                    .content(text)
                    .allowed_mentions(CreateAllowedMentions::new().users([ticket.owner_id]));
                if let Err(err) = channel.send_message(self.http(), message).await {
                    tracing::warn!(error = %err, channel_id = %channel, "cannot post the idle warning");
                }
                tracing::info!(channel_id = %channel, "idle ticket warned");
            }
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(error = %err, channel_id = %channel, "cannot record the idle warning")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serenity::all::{GuildId, UserId};

    fn ticket(idle_secs: i64, warned_secs_ago: Option<i64>) -> TicketEntry {
        let now = Timestamp::now().unix_timestamp();
        let mut t = TicketEntry::opened(
            GuildId::new(1),
            UserId::new(2),
            Timestamp::from_unix_timestamp(now - idle_secs).unwrap(),
        );
        t.warned_at = warned_secs_ago.map(|s| Timestamp::from_unix_timestamp(now - s).unwrap());
        t
    }

    #[test]
    fn idle_tickets_are_warned_then_closed_after_the_grace() {
        let rule = AutoClose {
            idle: Duration::from_secs(3600),
            grace: Duration::from_secs(600),
        };
        assert_eq!(due(&ticket(60, None), rule), Due::Nothing);
        assert_eq!(due(&ticket(3601, None), rule), Due::Warn);
        assert_eq!(due(&ticket(4000, Some(100)), rule), Due::Nothing);
        assert_eq!(due(&ticket(5000, Some(601)), rule), Due::Close);
    }

    #[test]
    fn the_sweep_period_follows_the_shortest_limit_within_bounds() {
        let hours = AutoClose {
            idle: Duration::from_secs(48 * 3600),
            grace: Duration::from_secs(24 * 3600),
        };
        assert_eq!(period(hours), MAX_SWEEP);
        let test = AutoClose {
            idle: Duration::from_secs(2),
            grace: Duration::from_secs(1),
        };
        assert_eq!(period(test), Duration::from_millis(100));
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(describe(Duration::from_secs(7200)), "2 hours");
        assert_eq!(describe(Duration::from_secs(3600)), "1 hour");
        assert_eq!(describe(Duration::from_secs(90 * 60)), "90 minutes");
        assert_eq!(describe(Duration::from_secs(5)), "5 seconds");
        assert_eq!(describe(Duration::from_millis(300)), "1 second");
    }
}
