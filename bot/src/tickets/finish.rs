//! Carrying a close to its end, from whatever step its stored record reached, so that a close
//! interrupted anywhere (a restart, a crash, Discord or the archive unavailable, another bot
//! process stopped midway) ends as it should, and a channel is never deleted before the
//! archive holds its transcript:
//!
//! 1. `closing`: the transcript (and the attachments, within the budget) is made and stored in
//!    the archive ([`super::record`]), then the ticket is marked `archived`. A channel that is
//!    gone (404) or that the bot lost access to (403) ends the ticket without a transcript,
//!    recorded with the reason; any other failure leaves it `closing`, to be tried again.
//! 2. `archived`: one process claims the posting (in the record, so two processes do not post
//!    twice), posts in `ticket-logs`, by DM and in the ticket ([`super::deliver`]), and records
//!    where it went; then the channel is deleted once the close delay has passed (a ticket
//!    thread is locked and archived instead, [`super::thread`]), and the ticket is marked
//!    `deleted`.
//!
//! Unfinished closes are carried forward when a guild becomes available (every start) and
//! every `close_retry` after.

use std::time::Duration;

use serenity::all::{ChannelId, Timestamp};

use super::{age, close::Closed, record::Made, ClosingGuard, Tickets};
use crate::{
    guild::refusal::{is_forbidden, is_unknown},
    registry::{RegistryError, TicketEntry, TicketStatus},
};

/// A posting claimed this long ago and not recorded as done was dropped by a process that
/// stopped: another may post instead. Far longer than a posting with its retries takes.
const DELIVERY_TAKEOVER: Duration = Duration::from_secs(5 * 60);

impl Tickets {
    /// Carries the close of `channel` on from its stored step while `guard` is held (the
    /// guard goes with the deletion when one is scheduled).
    pub(super) async fn finish_with(
        &self,
        channel: ChannelId,
        guard: ClosingGuard,
    ) -> Result<Closed, RegistryError> {
        let mut archive_error = None;
        let Some(mut ticket) = self.registry().ticket(channel).await? else {
            return Err(RegistryError::Missing {
                key: channel.to_string(),
            });
        };
        if ticket.status == TicketStatus::Closing {
            match self.make_record(channel, &ticket).await {
                Made::Stored(made) => {
                    let members = self.added_members(channel, &ticket).await;
                    let delete_after = later(self.inner.settings.close_delay);
                    let now = Timestamp::now();
                    let stored = self
                        .registry()
                        .update_ticket(channel, |t| {
                            if t.status != TicketStatus::Closing {
                                return false;
                            }
                            t.status = TicketStatus::Archived;
                            let record = t.close.get_or_insert_with(Default::default);
                            record.archived_at = Some(now);
                            record.messages = made.messages;
                            record.attachments_archived = made.attachments_archived;
                            record.attachments_skipped = made.attachments_skipped;
                            record.delete_after = Some(delete_after);
                            record.members.clone_from(&members);
                            true
                        })
                        .await?;
                    if let Some((entry, changed)) = stored {
                        if changed {
                            self.inner.metrics.ticket_closed();
                        }
                        ticket = entry;
                    }
                }
                Made::Gone(why) => {
                    ticket = self.mark_gone(channel, why).await.unwrap_or(ticket);
                }
                Made::Failed(err) => {
                    tracing::error!(channel_id = %channel, error = %err, "the ticket's transcript could not be archived; its channel stays until it is");
                    archive_error = Some(err);
                }
            }
        }
        if ticket.status == TicketStatus::Archived {
            if ticket.close_record().delivered_at.is_none() {
                ticket = self.deliver_once(channel, ticket).await?;
            }
            if ticket.close_record().delivered_at.is_some() {
                self.schedule_deletion(channel, &ticket, guard);
            }
        }
        Ok(Closed {
            ticket,
            archive_error,
        })
    }

    /// Claims the posting of an archived ticket, posts and records what happened; the ticket
    /// as it is afterwards (unchanged when another process holds the claim).
    async fn deliver_once(
        &self,
        channel: ChannelId,
        ticket: TicketEntry,
    ) -> Result<TicketEntry, RegistryError> {
        let now = Timestamp::now();
        let claimed = self
            .registry()
            .update_ticket(channel, |t| {
                let Some(record) = t.close.as_mut() else {
                    return false;
                };
                let taken = record
                    .delivering_since
                    .is_some_and(|since| age(&since) < DELIVERY_TAKEOVER);
                if t.status != TicketStatus::Archived || record.delivered_at.is_some() || taken {
                    return false;
                }
                record.delivering_since = Some(now);
                true
            })
            .await?;
        let ticket = match claimed {
            Some((ticket, true)) => ticket,
            Some((ticket, false)) => return Ok(ticket),
            None => return Ok(ticket),
        };
        let delivered = self.deliver(channel, &ticket).await;
        let done = Timestamp::now();
        let stored = self
            .registry()
            .update_ticket(channel, |t| {
                let Some(record) = t.close.as_mut() else {
                    return false;
                };
                record.delivered_at = Some(done);
                record.log_channel_id = delivered.log_channel_id;
                record.log_message_id = delivered.log_message_id;
                record.log_failure.clone_from(&delivered.log_failure);
                record.sent_to_owner = Some(delivered.sent_to_owner);
                true
            })
            .await?;
        Ok(stored.map_or(ticket, |(ticket, _)| ticket))
    }

    /// Deletes the channel once the close delay has passed, in the background (holding
    /// `guard` until then), and marks the ticket `deleted`.
    fn schedule_deletion(&self, channel: ChannelId, ticket: &TicketEntry, guard: ClosingGuard) {
        let wait = ticket
            .close_record()
            .delete_after
            .map_or(Duration::ZERO, |at| until(&at));
        let tickets = self.clone();
        self.spawn(async move {
            let _closing = guard;
            tokio::time::sleep(wait).await;
            tickets.delete_channel(channel).await;
        });
    }

    async fn delete_channel(&self, channel: ChannelId) {
        // The one rule of the whole close: no deletion without the archive.
        let thread = match self.registry().ticket(channel).await {
            Ok(Some(ticket)) if ticket.status == TicketStatus::Archived && ticket.is_archived() => {
                ticket.thread
            }
            Ok(_) => return,
            Err(err) => {
                tracing::warn!(error = %err, channel_id = %channel, "cannot check the ticket before deleting its channel; trying later");
                return;
            }
        };
        // A thread is kept, locked and archived: it costs nothing and can be reopened.
        let done = if thread {
            self.lock_thread(channel).await
        } else {
            channel.delete(self.http()).await.map(|_| ())
        };
        let note = match done {
            Ok(()) => {
                tracing::info!(channel_id = %channel, thread, "closed ticket's channel deleted (a thread: locked and archived)");
                None
            }
            Err(err) if is_unknown(&err) => None,
            Err(err) if is_forbidden(&err) => {
                // Deleting again would be refused again: the record ends here, and says so.
                tracing::warn!(error = %err, channel_id = %channel, "the bot may not delete the closed ticket's channel; an administrator can");
                Some(format!("the channel could not be deleted: {err}"))
            }
            Err(err) => {
                tracing::warn!(error = %err, channel_id = %channel, "cannot delete the closed ticket's channel; trying later");
                return;
            }
        };
        let result = self
            .registry()
            .update_ticket(channel, |t| {
                if t.status != TicketStatus::Archived {
                    return false;
                }
                t.status = TicketStatus::Deleted;
                t.close
                    .get_or_insert_with(Default::default)
                    .delete_failure
                    .clone_from(&note);
                true
            })
            .await;
        if let Err(err) = result {
            tracing::warn!(error = %err, channel_id = %channel, "cannot record the channel's deletion; trying later");
        }
    }

    /// Ends the ticket in `channel` without a transcript, for `why` (its channel is gone, or
    /// the bot cannot see it): marked `deleted` with the reason, never reopened (a close that
    /// cannot read the channel would fail the same way at every retry).
    pub(super) async fn mark_gone(&self, channel: ChannelId, why: &str) -> Option<TicketEntry> {
        let now = Timestamp::now();
        let result = self
            .registry()
            .update_ticket(channel, |t| {
                if t.is_done() || t.is_archived() {
                    return false;
                }
                t.status = TicketStatus::Deleted;
                t.closed_at.get_or_insert(now);
                t.reason.get_or_insert_with(|| why.to_owned());
                t.close
                    .get_or_insert_with(Default::default)
                    .without_transcript = Some(why.to_owned());
                true
            })
            .await;
        match result {
            Ok(Some((ticket, changed))) => {
                if changed {
                    self.inner.metrics.ticket_closed();
                    tracing::warn!(channel_id = %channel, why, "ticket closed without a transcript");
                }
                Some(ticket)
            }
            Ok(None) => None,
            Err(err) => {
                tracing::warn!(error = %err, channel_id = %channel, "cannot mark the ticket closed");
                None
            }
        }
    }

    /// Carries forward every unfinished close of `guild` (at its GUILD_CREATE: a close that a
    /// stopped process left midway).
    pub(super) fn carry_forward(&self, guild: serenity::all::GuildId) -> usize {
        let unfinished = self.registry().unfinished(Some(guild));
        for (channel, _) in &unfinished {
            self.carry_forward_one(*channel);
        }
        unfinished.len()
    }

    /// Carries the close of `channel` forward in the background, unless this process already
    /// is.
    pub(super) fn carry_forward_one(&self, channel: ChannelId) {
        let Some(guard) = self.try_closing(channel) else {
            return;
        };
        let tickets = self.clone();
        self.spawn(async move {
            match tickets.finish_with(channel, guard).await {
                Ok(closed) => {
                    tracing::info!(channel_id = %channel, status = ?closed.ticket.status, "an unfinished close was carried forward")
                }
                Err(err) => {
                    tracing::warn!(error = %err, channel_id = %channel, "cannot carry the close forward; trying later")
                }
            }
        });
    }

    /// Every `close_retry`: the unfinished closes of the guilds the sweeps look at, whose last
    /// step is older than that (a live close of another process is left to it).
    pub(super) async fn retry_loop(self) {
        let every = self.inner.settings.close_retry;
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            for (channel, ticket) in self.registry().unfinished(None) {
                let stale = ticket.closed_at.is_none_or(|at| age(&at) >= every);
                if stale && self.is_ready(ticket.guild_id) {
                    self.carry_forward_one(channel);
                }
            }
        }
    }
}

/// `delay` from now.
fn later(delay: Duration) -> Timestamp {
    let now = Timestamp::now();
    let millis = super::millis(&now) + i128::from(u64::try_from(delay.as_millis()).unwrap_or(0));
    i64::try_from(millis)
        .ok()
        .and_then(|millis| Timestamp::from_millis(millis).ok())
        .unwrap_or(now)
}

/// How long until `at` (zero once it passed).
fn until(at: &Timestamp) -> Duration {
    let ahead = super::millis(at) - super::millis(&Timestamp::now());
    Duration::from_millis(u64::try_from(ahead).unwrap_or(0))
}
