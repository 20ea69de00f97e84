//! Thread mode: a ticket is a private thread (type 12, not invitable: only the bot adds people)
//! in the `#tickets` channel `/setup mode:threads` made. Its owner and the members added to it
//! are thread members; the Support role sees every thread there by Manage Threads on the
//! parent. Everything else (relay, history, catch-up, the close and its transcript) is the same
//! as for a channel, since a thread's messages are a channel's; only the ends differ: a closed
//! thread is locked and archived instead of deleted, and a reopening unarchives it, so the
//! ticket goes on in the same thread under the same entry, its conversation in place.

use serenity::all::{
    AutoArchiveDuration, ChannelId, ChannelType, CreateAllowedMentions, CreateMessage,
    CreateThread, EditThread, PermissionOverwriteType, Timestamp, UserId,
};

use super::{open::close_buttons, ReopenError, Reopening, Tickets};
use crate::{
    guild::{overwrites::member_overwrite, ticket_channel_name},
    registry::{TicketEntry, TicketStatus},
    reopen::{self, Refused},
};

/// What a reopened thread's first new message starts with; who reopened it follows.
pub const THREAD_REOPENED: &str = "Ticket reopened";

impl Tickets {
    /// Makes `owner`'s ticket thread in `parent` and adds the owner and `members` to it. A
    /// thread its owner cannot be added to is removed again.
    pub(super) async fn create_ticket_thread(
        &self,
        parent: ChannelId,
        owner: UserId,
        members: &[UserId],
    ) -> serenity::Result<ChannelId> {
        // A week, Discord's longest: an idle ticket is auto-closed (or its thread archived by
        // Discord, which anyone's next message undoes) rather than hidden too soon.
        let builder = CreateThread::new(ticket_channel_name(owner))
            .kind(ChannelType::PrivateThread)
            .invitable(false)
            .auto_archive_duration(AutoArchiveDuration::OneWeek);
        let thread = parent.create_thread(self.http(), builder).await?.id;
        if let Err(err) = thread.add_thread_member(self.http(), owner).await {
            tracing::error!(error = %err, channel_id = %thread, "cannot add the owner to their ticket thread; removing it");
            if let Err(cleanup) = thread.delete(self.http()).await {
                tracing::error!(error = %cleanup, channel_id = %thread, "cannot remove the ticket thread");
            }
            return Err(err);
        }
        for member in members {
            if let Err(err) = thread.add_thread_member(self.http(), *member).await {
                tracing::warn!(error = %err, channel_id = %thread, member_id = %member, "cannot add an earlier member to the ticket thread");
            }
        }
        Ok(thread)
    }

    /// Locks and archives the closed ticket's thread: nobody writes in it any more, and it
    /// stops counting toward Discord's active threads.
    pub(super) async fn lock_thread(&self, thread: ChannelId) -> serenity::Result<()> {
        let edit = EditThread::new().locked(true).archived(true);
        thread.edit_thread(self.http(), edit).await.map(|_| ())
    }

    /// Gives `member` the ticket in `channel` (`adding`), or takes it away: a member
    /// overwrite on a channel, a thread member in a thread.
    pub async fn change_member(
        &self,
        channel: ChannelId,
        ticket: &TicketEntry,
        member: UserId,
        adding: bool,
    ) -> serenity::Result<()> {
        let http = self.http();
        match (ticket.thread, adding) {
            (true, true) => channel.add_thread_member(http, member).await,
            (true, false) => channel.remove_thread_member(http, member).await,
            (false, true) => {
                channel
                    .create_permission(http, member_overwrite(member))
                    .await
            }
            (false, false) => {
                let kind = PermissionOverwriteType::Member(member);
                channel.delete_permission(http, kind).await
            }
        }
    }

    /// The thread mode of a reopening claimed on `thread` (its entry as claimed): the thread
    /// unarchived and unlocked, its entry open again under the same ticket ID (its close
    /// record gives way to the new opening; the archived transcript stays where it is, and
    /// the thread itself holds the conversation), and a first message with the Close button.
    /// A thread whose close is not over yet (still to be locked) is not reopened, and one that
    /// cannot be unarchived gives the claim back.
    pub(super) async fn reopen_in_thread(
        &self,
        thread: ChannelId,
        claimed: &TicketEntry,
        by: UserId,
    ) -> Result<Reopening, ReopenError> {
        if claimed.status != TicketStatus::Deleted {
            self.give_back(thread, by).await;
            return Err(ReopenError::Refused {
                refused: Refused::NotClosed,
                owner: claimed.owner_id,
            });
        }
        let edit = EditThread::new().archived(false).locked(false);
        if let Err(err) = thread.edit_thread(self.http(), edit).await {
            self.give_back(thread, by).await;
            return Err(err.into());
        }
        let entry = TicketEntry {
            // The thread is the same: its history needs nothing carried over.
            reopened_from: None,
            thread: true,
            ..reopen::next_entry(thread, claimed, Timestamp::now())
        };
        let stored = self
            .registry()
            .update_stored_ticket(thread, |t| {
                let ours = t
                    .reopened
                    .as_ref()
                    .is_some_and(|r| r.by == by && r.into.is_none());
                if ours {
                    *t = entry.clone();
                }
                ours
            })
            .await?;
        let Some((entry, true)) = stored else {
            // Someone else's claim took over meanwhile; theirs goes on.
            return Err(ReopenError::Refused {
                refused: Refused::AlreadyReopened(Some(thread)),
                owner: claimed.owner_id,
            });
        };
        let opening = CreateMessage::new()
            .content(format!(
                "{THREAD_REOPENED} by <@{by}>: the conversation goes on here, and the assistant \
                 answers again. Close it with the button below or `/close-ticket` when you are \
                 done."
            ))
            .components(close_buttons())
            .allowed_mentions(CreateAllowedMentions::new());
        if let Err(err) = thread.send_message(self.http(), opening).await {
            tracing::warn!(error = %err, channel_id = %thread, "cannot post the reopened thread's first message");
        }
        tracing::info!(
            channel_id = %thread,
            ticket_id = %entry.ticket_id(thread),
            reopen_count = entry.reopen_count,
            "ticket thread reopened"
        );
        Ok(Reopening {
            channel: thread,
            ticket: entry,
        })
    }
}
