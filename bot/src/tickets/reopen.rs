//! Reopening a closed ticket, by the Reopen button under its summary (its owner from the DM,
//! staff from `ticket-logs`) or by `/ticket-reopen`, within `TICKET_REOPEN_HOURS` of its close.
//! Two steps, so that another way of going on (a thread unarchived) can reuse the first:
//!
//! 1. [`Tickets::claim_reopen`] decides ([`crate::reopen::decide`]) on the closed entry as
//!    stored now and records the reopening on it (a compare-and-set: a second press finds it
//!    and does nothing new);
//! 2. the channel mode ([`Tickets::reopen_in_channel`]) makes the ticket's next channel in a
//!    category with room, registered under the same ticket ID, grants it the members who had
//!    been added, records it on the closed entry, and opens it with a link to the archived
//!    transcript and its last messages quoted. The assistant gets the earlier conversation
//!    from the archive (the relay reads it there), not from that quote;
//! 3. or the thread mode (`reopen_in_thread`, in `super::thread`): the closed thread
//!    unarchived, its own entry open again.

use std::time::Duration;

use serenity::all::{
    ButtonStyle, ChannelId, CreateActionRow, CreateAllowedMentions, CreateButton, CreateMessage,
    GuildId, PermissionOverwriteType, Permissions, Timestamp, UserId,
};

use super::{auto_close::describe, open::close_buttons, Tickets, Wanted};
use crate::{
    archive,
    registry::{RegistryError, Reopened, TicketEntry},
    reopen::{self, Asked, Refused, TranscriptAt},
    transcript::{self, Written},
};

/// A ticket reopened.
#[derive(Debug, Clone)]
pub struct Reopening {
    /// Its new channel.
    pub channel: ChannelId,
    /// Its new entry.
    pub ticket: TicketEntry,
}

/// Why a ticket was not reopened.
#[derive(Debug, thiserror::Error)]
pub enum ReopenError {
    /// The request comes to nothing (reopened already, expired, ...): what to tell, about the
    /// ticket of `owner`.
    #[error("not reopened: {refused:?}")]
    Refused {
        /// Why.
        refused: Refused,
        /// The ticket's owner.
        owner: UserId,
    },
    /// No ticket by that channel.
    #[error("no such ticket")]
    NotFound,
    /// The registry could not be read or written.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Discord refused the new channel.
    #[error(transparent)]
    Discord(#[from] serenity::Error),
}

impl Tickets {
    /// `TICKET_REOPEN_HOURS` (`None`: off).
    pub fn reopen_window(&self) -> Option<Duration> {
        self.inner.settings.reopen_window
    }

    /// The window in words, for what people are told ("72 hours").
    pub fn reopen_window_text(&self) -> String {
        self.reopen_window()
            .map_or_else(|| "0 hours".to_owned(), describe)
    }

    /// The Reopen button under the summary of the ticket closed in `channel` (none while
    /// reopening is off).
    pub(super) fn reopen_buttons(&self, channel: ChannelId) -> Vec<CreateActionRow> {
        if self.reopen_window().is_none() {
            return Vec::new();
        }
        vec![CreateActionRow::Buttons(vec![CreateButton::new(
            reopen::button_id(channel),
        )
        .label("Reopen ticket")
        .style(ButtonStyle::Secondary)])]
    }

    /// The members added to the ticket in `channel` besides its owner (member overwrites that
    /// let them see it), as the cache, else Discord, knows the channel.
    pub(super) async fn added_members(
        &self,
        channel: ChannelId,
        ticket: &TicketEntry,
    ) -> Vec<UserId> {
        let cached = self.cache().guild(ticket.guild_id).and_then(|g| {
            g.channels
                .get(&channel)
                .map(|c| c.permission_overwrites.clone())
        });
        let overwrites = match cached {
            Some(overwrites) => overwrites,
            None => match channel.to_channel(self.http()).await.map(|c| c.guild()) {
                Ok(Some(fetched)) => fetched.permission_overwrites,
                Ok(None) => Vec::new(),
                Err(err) => {
                    tracing::warn!(error = %err, channel_id = %channel, "cannot read who was added to the ticket");
                    Vec::new()
                }
            },
        };
        overwrites
            .into_iter()
            .filter(|o| o.allow.contains(Permissions::VIEW_CHANNEL))
            .filter_map(|o| match o.kind {
                PermissionOverwriteType::Member(user)
                    if user != ticket.owner_id && user != self.bot_id() =>
                {
                    Some(user)
                }
                _ => None,
            })
            .collect()
    }

    /// Reopens the ticket closed in `closed` on behalf of `by` (the owner, or staff of the
    /// ticket's guild as `staff` says), in a new channel, or in its thread unarchived.
    #[tracing::instrument(name = "reopen_ticket", skip_all, fields(closed = %closed, by = %by))]
    pub async fn reopen(
        &self,
        closed: ChannelId,
        by: UserId,
        staff: impl Fn(GuildId) -> bool,
    ) -> Result<Reopening, ReopenError> {
        let Some(stored) = self.registry().ticket(closed).await? else {
            return Err(ReopenError::NotFound);
        };
        let (guild, owner) = (stored.guild_id, stored.owner_id);
        // As for an opening: one at a time per owner, so the owner ends with one open ticket.
        let _guard = self.inner.ticket_locks.lock((guild, owner)).await;
        let allowed = by == owner || staff(guild);
        let claimed = self.claim_reopen(closed, by, allowed).await?;
        if claimed.thread {
            self.reopen_in_thread(closed, &claimed, by).await
        } else {
            self.reopen_in_channel(closed, &claimed, by).await
        }
    }

    /// Decides on the ticket closed in `closed` as stored now and records its reopening by
    /// `by` (`allowed`: the owner or staff); the closed entry as stored after.
    pub async fn claim_reopen(
        &self,
        closed: ChannelId,
        by: UserId,
        allowed: bool,
    ) -> Result<TicketEntry, ReopenError> {
        let now = Timestamp::now();
        let window = self.reopen_window();
        let mut refused = None;
        let stored = self
            .registry()
            .update_stored_ticket(closed, |t| {
                let asked = Asked {
                    window,
                    allowed,
                    owner_open: self.registry().open_ticket_of(t.guild_id, t.owner_id),
                    now,
                };
                refused = reopen::decide(t, asked).err();
                if refused.is_some() {
                    return false;
                }
                t.reopened = Some(Reopened {
                    by,
                    at: now,
                    into: None,
                });
                true
            })
            .await?;
        match (stored, refused) {
            (None, _) => Err(ReopenError::NotFound),
            (Some((ticket, _)), Some(refused)) => {
                tracing::info!(?refused, "the ticket was not reopened");
                Err(ReopenError::Refused {
                    refused,
                    owner: ticket.owner_id,
                })
            }
            (Some((ticket, _)), None) => {
                self.inner.metrics.ticket_opened();
                Ok(ticket)
            }
        }
    }

    /// The channel mode of a reopening claimed on `closed` (its entry as claimed): the next
    /// channel made, registered, recorded on the closed entry and opened. A channel that cannot
    /// be made gives the claim back, so that the reopening can be asked for again.
    pub async fn reopen_in_channel(
        &self,
        closed: ChannelId,
        claimed: &TicketEntry,
        by: UserId,
    ) -> Result<Reopening, ReopenError> {
        let record = claimed.close_record();
        let entry = reopen::next_entry(closed, claimed, Timestamp::now());
        let channel = match self
            .new_ticket_channel(entry.clone(), &record.members)
            .await
        {
            Ok(channel) => channel,
            Err(err) => {
                self.give_back(closed, by).await;
                return Err(err.into());
            }
        };
        let recorded = self
            .registry()
            .update_stored_ticket(closed, |t| match t.reopened.as_mut() {
                Some(reopened) if reopened.into.is_none() => {
                    reopened.into = Some(channel);
                    true
                }
                _ => false,
            })
            .await;
        if let Err(err) = recorded {
            // The new ticket is open: a second request is refused for it all the same.
            tracing::warn!(error = %err, channel_id = %channel, "cannot record the reopened ticket's channel on the closed one");
        }
        let earlier = self.earlier_messages(closed).await;
        let at = TranscriptAt {
            guild: claimed.guild_id,
            channel: closed,
            log: record.log_channel_id.zip(record.log_message_id),
        };
        let opening = CreateMessage::new()
            .content(reopen::opening_message(&entry, by, at, &earlier))
            .components(close_buttons())
            .allowed_mentions(CreateAllowedMentions::new());
        if let Err(err) = channel.send_message(self.http(), opening).await {
            tracing::warn!(error = %err, channel_id = %channel, "cannot post the reopened ticket's first message");
        }
        tracing::info!(
            channel_id = %channel,
            ticket_id = %entry.ticket_id(channel),
            reopen_count = entry.reopen_count,
            members = record.members.len(),
            "ticket reopened"
        );
        Ok(Reopening {
            channel,
            ticket: entry,
        })
    }

    /// Takes back the reopening `by` claimed on `closed` (its channel could not be made, or
    /// its thread unarchived).
    pub(super) async fn give_back(&self, closed: ChannelId, by: UserId) {
        let result = self
            .registry()
            .update_stored_ticket(closed, |t| {
                let ours = t
                    .reopened
                    .as_ref()
                    .is_some_and(|r| r.by == by && r.into.is_none());
                if ours {
                    t.reopened = None;
                }
                ours
            })
            .await;
        if let Err(err) = result {
            tracing::warn!(error = %err, closed = %closed, "cannot take the failed reopening back (it expires by itself)");
        }
    }

    /// The messages of the transcript archived for `closed` (none when it cannot be read).
    async fn earlier_messages(&self, closed: ChannelId) -> Vec<Written> {
        match self.archive().get(&archive::transcript_txt(closed)).await {
            Ok(Some(bytes)) => transcript::read_text(&String::from_utf8_lossy(&bytes)),
            Ok(None) => Vec::new(),
            Err(err) => {
                tracing::warn!(error = %err, closed = %closed, "cannot read the closed ticket's transcript to quote it");
                Vec::new()
            }
        }
    }

    /// The closed ticket `wanted` names in `guild`, for `/ticket-reopen`.
    pub async fn reopenable(
        &self,
        guild: GuildId,
        wanted: Wanted,
    ) -> Result<Option<ChannelId>, String> {
        Ok(self.find(guild, wanted).await?.map(|(channel, _)| channel))
    }
}
