//! Catch-up: messages sent while the bot was down or reconnecting are answered after all.
//!
//! When a guild becomes available (GUILD_CREATE, which Discord sends after every connect and
//! reconnect) and its tickets are adopted, the bot reads the recent history of each open
//! ticket, at most [`CATCH_UP_LOOK_BACK`] messages and none older than
//! `CATCHUP_MAX_AGE_MINUTES`, and offers
//! every human message that no bot message replies to yet, oldest first. They go through the
//! same queues as live messages, whose de-duplication takes a message that also arrives live
//! only once; one the bot already replied to (an answer, or a notice that it failed) is skipped.
//! Their authors' standing is looked up as for any message read over REST: a Support member's
//! message hands the ticket over, it is not answered.
//!
//! The newest human message read in each ticket is stored as its last activity before the
//! catch-up says it is done: the auto-close sweeps of the guild wait for that, so a ticket
//! written in while the bot was away is not taken for idle.

use std::collections::HashSet;

use futures::StreamExt;
use serenity::all::{ChannelId, GetMessages, GuildId, MessageId};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use super::Relay;

/// Messages read per ticket channel: Discord's largest page, one REST call per channel.
pub const CATCH_UP_LOOK_BACK: u8 = 50;

/// Ticket channels read at once: the REST rate limiter orders the calls anyway; a few at a
/// time keep one slow channel from holding up the rest.
const CHANNELS_AT_ONCE: usize = 4;

impl Relay {
    /// Starts the catch-up of `guild` in the background (tracked, ended by shutdown); the
    /// returned future completes once it has read every ticket and stored their activity (at
    /// once when there is no catch-up; also when it is cut short).
    pub fn catch_up(&self, guild: GuildId) -> WaitForCancellationFutureOwned {
        let done = CancellationToken::new();
        let caught_up = done.clone().cancelled_owned();
        if self.inner.settings.catch_up_max_age.is_zero() || self.inner.tasks.is_closed() {
            done.cancel();
            return caught_up;
        }
        let relay = self.clone();
        let span = tracing::info_span!("catch_up", guild_id = %guild);
        self.inner.tasks.spawn(tracing::Instrument::instrument(
            async move {
                // Dropped when the catch-up ends, however it ends.
                let _done = done.drop_guard();
                relay.catch_up_guild(guild).await;
            },
            span,
        ));
        caught_up
    }

    async fn catch_up_guild(self, guild: GuildId) {
        let channels: Vec<ChannelId> = self
            .inner
            .registry
            .open_tickets(Some(guild))
            .into_iter()
            .map(|(channel, _)| channel)
            .collect();
        let started = std::time::Instant::now();
        let offered: usize = futures::stream::iter(channels.iter().copied())
            .map(|channel| self.catch_up_channel(guild, channel))
            .buffered(CHANNELS_AT_ONCE)
            .fold(0, |sum, count| async move { sum + count })
            .await;
        tracing::info!(
            channels = channels.len(),
            messages = offered,
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "catch-up done"
        );
    }

    /// Offers the unanswered messages of one channel; returns how many.
    async fn catch_up_channel(&self, guild: GuildId, channel: ChannelId) -> usize {
        let query = GetMessages::new().limit(CATCH_UP_LOOK_BACK);
        let mut messages = tokio::select! {
            read = channel.messages(&*self.inner.http, query) => match read {
                Ok(messages) => messages,
                Err(err) => {
                    tracing::warn!(channel_id = %channel, error = %err, "catch-up cannot read the channel");
                    return 0;
                }
            },
            () = self.inner.cancel.cancelled() => return 0,
        };
        // The same read serves the history of the channel's next message.
        self.inner.backfill.seed(channel, messages.clone());
        let bot = self.inner.bot_id;
        // Newest first: the first human message is the latest activity.
        if let Some(latest) = messages.iter().find(|m| !m.author.bot && !m.author.system) {
            if let Err(err) = self.inner.registry.touch(channel, latest.timestamp).await {
                tracing::warn!(channel_id = %channel, error = %err, "catch-up cannot record the ticket's activity");
            }
        }
        let answered: HashSet<MessageId> = messages
            .iter()
            .filter(|m| m.author.id == bot || m.author.bot)
            .filter_map(|m| m.message_reference.as_ref()?.message_id)
            .collect();
        let oldest = cutoff_secs(self.inner.settings.catch_up_max_age);
        // Discord lists the newest first; answer in the order they were written.
        messages.reverse();
        let mut offered = 0;
        for mut message in messages {
            if answered.contains(&message.id) || message.timestamp.unix_timestamp() < oldest {
                continue;
            }
            // Messages read over REST carry no guild; the relay needs it.
            message.guild_id = Some(guild);
            if self.is_relayable(&message) {
                tracing::info!(channel_id = %channel, message_id = %message.id, "catch-up: answering a message sent while the bot was away");
                self.enqueue(&message);
                self.inner.metrics.caught_up();
                offered += 1;
            }
        }
        offered
    }
}

/// Unix seconds of now minus `age`.
fn cutoff_secs(age: std::time::Duration) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    i64::try_from(now.saturating_sub(age.as_secs())).unwrap_or(i64::MAX)
}
