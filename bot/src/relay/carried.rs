//! The conversation a reopened ticket carries over. Its channel is new, so the history the
//! relay sends of it starts with the last messages of the channel it reopened, read once from
//! that channel's archived transcript (the quote in the new channel's first message is left
//! out: it is a notice). Roles are given as for any message: the bot's answers `assistant`
//! (its notices left out), staff `staff` (by the member cache), everyone else `user`.

use std::{collections::HashMap, sync::Arc};

use common::payload::{History, HistoryEntry, HistoryRole, MessageContent, Snowflake};
use parking_lot::Mutex;
use serenity::all::ChannelId;

use super::{notices::is_notice, Inner};
use crate::{
    archive::{self, Archive},
    transcript::{read_text, Written},
};

/// Closed channels whose messages are kept: reopened tickets being answered at once.
const REMEMBERED: usize = 256;

/// The messages of the closed channels reopened tickets came from, read from the archive.
pub(super) struct Carried {
    archive: Arc<Archive>,
    read: Mutex<HashMap<ChannelId, Arc<Vec<Written>>>>,
}

impl Carried {
    pub(super) fn new(archive: Arc<Archive>) -> Self {
        Self {
            archive,
            read: Mutex::default(),
        }
    }

    /// The last messages (with text) of the transcript archived for `closed`; none when there
    /// is none, or the archive cannot be read now (asked again next time).
    async fn messages(&self, closed: ChannelId) -> Arc<Vec<Written>> {
        if let Some(known) = self.read.lock().get(&closed) {
            return Arc::clone(known);
        }
        let mut messages = match self.archive.get(&archive::transcript_txt(closed)).await {
            Ok(Some(bytes)) => read_text(&String::from_utf8_lossy(&bytes)),
            Ok(None) => Vec::new(),
            Err(err) => {
                tracing::warn!(error = %err, closed = %closed, "cannot read the reopened ticket's earlier conversation; answering without it");
                return Arc::default();
            }
        };
        messages.retain(|m| !m.content.trim().is_empty());
        let skip = messages.len().saturating_sub(History::MAX_MESSAGES);
        let messages = Arc::new(messages.split_off(skip));
        let mut read = self.read.lock();
        if read.len() >= REMEMBERED {
            read.clear();
        }
        read.insert(closed, Arc::clone(&messages));
        messages
    }
}

impl Inner {
    /// The history entries `channel`'s ticket carries over from the channel it reopened,
    /// oldest first (none for a ticket never reopened).
    pub(super) async fn carried_history(&self, channel: ChannelId) -> Vec<HistoryEntry> {
        let Some(ticket) = self.registry.live_ticket(channel) else {
            return Vec::new();
        };
        let Some(closed) = ticket.reopened_from else {
            return Vec::new();
        };
        let messages = self.carried.messages(closed).await;
        let mut entries = Vec::with_capacity(messages.len());
        for message in messages.iter() {
            let role = if message.author_id == self.bot_id {
                if is_notice(&message.content) {
                    continue;
                }
                HistoryRole::Assistant
            } else if message.bot {
                continue;
            } else if self
                .is_staff_in(ticket.guild_id, ticket.topic_id, message.author_id, None)
                .await
            {
                HistoryRole::Staff
            } else {
                HistoryRole::User
            };
            let Ok(content) = MessageContent::parse(message.content.clone()) else {
                continue;
            };
            entries.push(HistoryEntry {
                role,
                author_id: Snowflake::from(message.author_id.get()),
                content,
            });
        }
        entries
    }
}
