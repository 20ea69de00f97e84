//! The ticket's conversation sent with each relay request (`history`): the channel's earlier
//! messages, oldest first, each with its role (the bot's own answers `assistant`, staff
//! `staff` (by their roles, also for messages read over REST), everyone else `user`).
//!
//! The messages come from serenity's message cache, which keeps the latest
//! [`CACHED_MESSAGES_PER_CHANNEL`] of every channel the bot sees. The cache only knows what
//! arrived since the bot connected, so the first time a channel's history is needed, the cache
//! cannot fill it and the channel is older than the bot's start, the earlier messages are fetched once over REST
//! (`GET /channels/{id}/messages?before=..&limit=..`) and kept in the [`Backfill`]; later
//! requests merge the two. The message being answered, the bot's notices, other bots and empty
//! messages are left out; a reopened ticket's history starts with the conversation it carried
//! over ([`super::carried`]); then the oldest are dropped until the contract's bounds hold.

use std::collections::{BTreeMap, HashMap, VecDeque};

use common::payload::{History, HistoryEntry, HistoryRole, MessageContent, Snowflake};
use parking_lot::Mutex;
use serenity::all::{ChannelId, GetMessages, Message, MessageId, MessageType, Timestamp};

use super::{notices::is_notice, Inner};

/// Messages serenity's cache keeps per channel: the longest history, plus room for what is left
/// out of it (notices, the message being answered and the ones queued after it).
pub const CACHED_MESSAGES_PER_CHANNEL: usize = 2 * History::MAX_MESSAGES;

/// Channels whose fetched messages are kept: far more tickets than are active at once, each
/// with at most [`History::MAX_MESSAGES`] messages, so a few MiB at worst.
const BACKFILL_CHANNELS: usize = 1024;

/// A channel created this long after the relay started has been seen whole by the cache: more
/// than any clock difference between this host and Discord's snowflakes.
const CLOCK_MARGIN_SECS: i64 = 60;

/// Messages fetched over REST for channels the cache was cold for, oldest channel evicted first.
pub(super) struct Backfill {
    channels: Mutex<BackfillMap>,
    /// When the relay (and so the cache) started, as a Unix time in seconds.
    started: i64,
}

impl Default for Backfill {
    fn default() -> Self {
        Self {
            channels: Mutex::default(),
            started: Timestamp::now().unix_timestamp(),
        }
    }
}

#[derive(Default)]
struct BackfillMap {
    messages: HashMap<ChannelId, Vec<Message>>,
    order: VecDeque<ChannelId>,
}

impl Backfill {
    /// Whether the cache may lack earlier messages of `channel_id`: it was created before the
    /// relay started (a ticket opened since then was seen whole, and needs no fetch).
    fn may_be_cold(&self, channel_id: ChannelId) -> bool {
        channel_id.created_at().unix_timestamp() <= self.started + CLOCK_MARGIN_SECS
    }

    fn get(&self, channel_id: ChannelId) -> Option<Vec<Message>> {
        self.channels.lock().messages.get(&channel_id).cloned()
    }

    /// Remembers what catch-up read of a channel at connect, so that the history of its next
    /// message needs no second fetch (the history keeps only the messages before that one).
    pub(super) fn seed(&self, channel_id: ChannelId, mut messages: Vec<Message>) {
        messages.sort_unstable_by_key(|m| m.id);
        self.insert(channel_id, messages);
    }

    fn insert(&self, channel_id: ChannelId, messages: Vec<Message>) {
        let mut map = self.channels.lock();
        if map.messages.insert(channel_id, messages).is_none() {
            map.order.push_back(channel_id);
        }
        while map.order.len() > BACKFILL_CHANNELS {
            if let Some(old) = map.order.pop_front() {
                map.messages.remove(&old);
            }
        }
    }
}

impl Inner {
    /// The conversation before `message` in its channel, oldest first, within the bounds.
    pub(super) async fn history(&self, message: &Message) -> Vec<HistoryEntry> {
        let limit = self
            .settings
            .history_max_messages
            .min(History::MAX_MESSAGES);
        if limit == 0 {
            return Vec::new();
        }
        let mut earlier: BTreeMap<MessageId, Message> = self
            .cache
            .channel_messages(message.channel_id)
            .map(|cached| {
                cached
                    .values()
                    .filter(|m| m.id < message.id)
                    .map(|m| (m.id, m.clone()))
                    .collect()
            })
            .unwrap_or_default();
        if earlier.len() < limit {
            // The cache may not reach far enough back: add what was fetched, fetching once.
            for fetched in self.backfill(message, limit).await {
                earlier.entry(fetched.id).or_insert(fetched);
            }
        }
        let mut entries = Vec::with_capacity(earlier.len());
        for earlier in earlier.into_values().filter(|m| m.id < message.id) {
            entries.extend(self.entry(&earlier).await);
        }
        if entries.len() < limit {
            // A reopened ticket's conversation began in the channel it reopened.
            let mut carried = self.carried_history(message.channel_id).await;
            carried.append(&mut entries);
            entries = carried;
        }
        bounded(entries, limit)
    }

    /// The messages before `message` fetched over REST, once per channel.
    async fn backfill(&self, message: &Message, limit: usize) -> Vec<Message> {
        if !self.backfill.may_be_cold(message.channel_id) {
            return Vec::new();
        }
        if let Some(known) = self.backfill.get(message.channel_id) {
            return known;
        }
        let request = GetMessages::new()
            .before(message.id)
            .limit(u8::try_from(limit).unwrap_or(u8::MAX));
        match message.channel_id.messages(&*self.http, request).await {
            Ok(messages) => {
                tracing::debug!(
                    fetched = messages.len(),
                    "ticket history fetched (cache cold)"
                );
                // Keep only what the request asked for, whatever the server sent.
                let mut messages: Vec<Message> =
                    messages.into_iter().filter(|m| m.id < message.id).collect();
                messages.sort_unstable_by_key(|m| m.id);
                let skip = messages.len().saturating_sub(limit);
                let messages = messages.split_off(skip);
                self.backfill.insert(message.channel_id, messages.clone());
                messages
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot fetch the ticket's history; answering without the earlier messages");
                Vec::new()
            }
        }
    }

    /// The history entry of an earlier message, or `None` when it is not part of the
    /// conversation. Its author's standing comes from the member cache when the message
    /// carries no member (read over REST).
    async fn entry(&self, message: &Message) -> Option<HistoryEntry> {
        if !matches!(
            message.kind,
            MessageType::Regular | MessageType::InlineReply
        ) || message.webhook_id.is_some()
            || message.author.system
            || message.content.trim().is_empty()
        {
            return None;
        }
        let role = if message.author.id == self.bot_id {
            if is_notice(&message.content) {
                return None;
            }
            HistoryRole::Assistant
        } else if message.author.bot {
            return None;
        } else if self.is_staff(message).await {
            HistoryRole::Staff
        } else {
            HistoryRole::User
        };
        Some(HistoryEntry {
            role,
            author_id: Snowflake::from(message.author.id.get()),
            content: MessageContent::parse(message.content.clone()).ok()?,
        })
    }
}

/// The last `limit` entries, then fewer, oldest dropped first, until their content fits in
/// [`History::MAX_TOTAL_CHARS`].
fn bounded(mut entries: Vec<HistoryEntry>, limit: usize) -> Vec<HistoryEntry> {
    let skip = entries.len().saturating_sub(limit);
    entries.drain(..skip);
    let mut total: usize = entries
        .iter()
        .map(|e| e.content.as_str().chars().count())
        .sum();
    let mut drop = 0;
    while total > History::MAX_TOTAL_CHARS {
        total -= entries[drop].content.as_str().chars().count();
        drop += 1;
    }
    entries.drain(..drop);
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize, chars: usize) -> HistoryEntry {
        HistoryEntry {
            role: HistoryRole::User,
            author_id: Snowflake::from(n as u64 + 1),
            content: MessageContent::parse("x".repeat(chars)).unwrap(),
        }
    }

    #[test]
    fn only_channels_older_than_the_start_may_be_cold() {
        let backfill = Backfill::default();
        let snowflake_at = |unix_secs: i64| {
            let ms = u64::try_from(unix_secs * 1000).unwrap() - 1_420_070_400_000;
            ChannelId::new(ms << 22)
        };
        assert!(backfill.may_be_cold(snowflake_at(backfill.started - 3600)));
        assert!(
            backfill.may_be_cold(snowflake_at(backfill.started + 10)),
            "clock margin"
        );
        assert!(!backfill.may_be_cold(snowflake_at(backfill.started + 600)));
    }

    #[test]
    fn the_newest_entries_are_kept_within_the_count() {
        let entries: Vec<_> = (0..25).map(|n| entry(n, 1)).collect();
        let kept = bounded(entries, 20);
        assert_eq!(kept.len(), 20);
        assert_eq!(kept[0].author_id.as_str(), "6", "the 5 oldest dropped");
    }

    #[test]
    fn the_oldest_entries_are_dropped_until_the_total_fits() {
        // 9 x 4000 = 36,000 characters: the two oldest must go to fit in 32,000.
        let entries: Vec<_> = (0..9).map(|n| entry(n, 4_000)).collect();
        let kept = bounded(entries, 20);
        assert_eq!(kept.len(), 8);
        assert_eq!(kept[0].author_id.as_str(), "2");
        let total: usize = kept.iter().map(|e| e.content.as_str().len()).sum();
        assert!(total <= History::MAX_TOTAL_CHARS);
    }
}
