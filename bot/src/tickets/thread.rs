//! Thread mode: a ticket is a private thread (type 12, not invitable: only the bot adds people)
//! in the `#tickets` channel `/setup mode:threads` made. Its owner and the members added to it
//! are thread members; the Support role sees every thread there by Manage Threads on the
//! parent. A topic's own Support role has no such permission (it would show it every topic's
//! tickets), and a role mention from a bot adds nobody to a thread, so the role's members are
//! read from the server's member list (which needs the Server Members intent) and added one by
//! one. Everything else (relay, history, catch-up, the close and its transcript) is the same
//! as for a channel, since a thread's messages are a channel's; only the ends differ: a closed
//! thread is locked and archived instead of deleted, and a reopening unarchives it, so the
//! ticket goes on in the same thread under the same entry, its conversation in place.

use std::future::Future;

use serenity::all::{
    AutoArchiveDuration, ChannelId, ChannelType, CreateAllowedMentions, CreateMessage,
    CreateThread, EditThread, GuildId, Member, PermissionOverwriteType, RoleId, Timestamp, UserId,
};

use super::{open::close_buttons, ReopenError, Reopening, Tickets};
use crate::{
    guild::{
        overwrites::member_overwrite,
        refusal::{code, Refusal, THREAD_ARCHIVED},
        ticket_channel_name,
    },
    registry::{set_listed, TicketEntry, TicketStatus},
    reopen::{self, Refused},
};

/// What a reopened thread's first new message starts with; who reopened it follows.
pub const THREAD_REOPENED: &str = "Ticket reopened";

/// The most members of a topic's Support role added to one ticket thread, the first by user
/// ID: each is a call of its own, out of the 50 a second Discord allows the whole bot.
pub const MAX_TEAM_IN_THREAD: usize = 50;
/// Members in one page of Discord's member list, its largest.
const MEMBER_PAGE: u64 = 1000;
/// The most pages read to find a role's members: a server of more than 10,000 members is read
/// no further, so that finding them costs a ticket at most this many calls.
const MAX_MEMBER_PAGES: usize = 10;

/// Why a topic's Support role could not be added to a ticket thread.
#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    /// Discord refuses to list the members: the bot has no Server Members intent.
    #[error(
        "listing the server's members needs the Server Members intent (Discord Developer \
         Portal, the application's Bot page, Privileged Gateway Intents)"
    )]
    NoMembersIntent,
    /// Any other failure to list them.
    #[error(transparent)]
    Discord(#[from] serenity::Error),
}

impl TeamError {
    /// Missing Access (50001, a 403) is Discord's answer without the intent.
    fn of(err: serenity::Error) -> Self {
        if Refusal::of(&err) == Refusal::MissingPermissions {
            Self::NoMembersIntent
        } else {
            Self::Discord(err)
        }
    }
}

/// The members found to have a role, and whether the whole member list was read.
struct Team {
    members: Vec<UserId>,
    complete: bool,
}

/// Reads a member list through `page(after)` (each page: user ID and whether they have the
/// role, in Discord's order, at most [`MEMBER_PAGE`] of them) until it ends, holds
/// [`MAX_TEAM_IN_THREAD`] who have the role, or [`MAX_MEMBER_PAGES`] pages were read.
async fn members_with_role<F, Fut>(mut page: F) -> Result<Team, TeamError>
where
    F: FnMut(Option<UserId>) -> Fut,
    Fut: Future<Output = Result<Vec<(UserId, bool)>, TeamError>>,
{
    let mut members = Vec::new();
    let mut after = None;
    for _ in 0..MAX_MEMBER_PAGES {
        let read = page(after).await?;
        let ended = (read.len() as u64) < MEMBER_PAGE;
        after = read.last().map(|(id, _)| *id);
        members.extend(read.iter().filter(|(_, has)| *has).map(|(id, _)| *id));
        if members.len() >= MAX_TEAM_IN_THREAD || ended {
            members.truncate(MAX_TEAM_IN_THREAD);
            return Ok(Team {
                members,
                complete: true,
            });
        }
    }
    Ok(Team {
        members,
        complete: false,
    })
}

impl Tickets {
    /// The members of `role` in `guild`, by user ID, at most [`MAX_TEAM_IN_THREAD`] (the bot
    /// itself left out), read from the server's member list a page at a time.
    async fn role_members(&self, guild: GuildId, role: RoleId) -> Result<Vec<UserId>, TeamError> {
        let bot = self.bot_id();
        let found = members_with_role(|after| async move {
            let page = guild
                .members(self.http(), Some(MEMBER_PAGE), after)
                .await
                .map_err(TeamError::of)?;
            // The bot stays in the page (a page short of full is the last one), as no member.
            let has = |m: &Member| m.roles.contains(&role) && m.user.id != bot;
            Ok(page.iter().map(|m| (m.user.id, has(m))).collect())
        })
        .await?;
        if !found.complete {
            tracing::warn!(
                guild_id = %guild,
                role_id = %role,
                read = MAX_MEMBER_PAGES as u64 * MEMBER_PAGE,
                "the server has more members than are read to find a topic's Support role; the rest are not added to its tickets"
            );
        }
        Ok(found.members)
    }

    /// Whether the bot may read `guild`'s member list, as adding a topic's Support role to its
    /// ticket threads needs (one call for one member).
    pub async fn can_list_members(&self, guild: GuildId) -> Result<(), TeamError> {
        guild
            .members(self.http(), Some(1), None)
            .await
            .map(|_| ())
            .map_err(TeamError::of)
    }

    /// The members of a topic's own Support role to add to its new ticket thread (none when
    /// they cannot be listed: the ticket opens without them, and the log says why).
    pub(super) async fn topic_team(&self, guild: GuildId, role: RoleId) -> Vec<UserId> {
        match self.role_members(guild, role).await {
            Ok(team) => team,
            Err(err) => {
                tracing::warn!(error = %err, guild_id = %guild, role_id = %role, "cannot add the topic's Support role to its ticket thread");
                Vec::new()
            }
        }
    }

    /// Makes `owner`'s ticket thread in `parent` and adds the owner, `members` and `team` (a
    /// topic's Support role, neither the owner nor one of `members`) to it. A thread its owner
    /// cannot be added to is removed again.
    pub(super) async fn create_ticket_thread(
        &self,
        parent: ChannelId,
        owner: UserId,
        members: &[UserId],
        team: &[UserId],
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
        for member in team {
            if let Err(err) = thread.add_thread_member(self.http(), *member).await {
                tracing::warn!(error = %err, channel_id = %thread, member_id = %member, "cannot add a member of the topic's Support role to the ticket thread");
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
    /// overwrite on a channel, a thread member in a thread. The entry remembers who was given
    /// it this way ([`TicketEntry::added`]).
    pub async fn change_member(
        &self,
        channel: ChannelId,
        ticket: &TicketEntry,
        member: UserId,
        adding: bool,
    ) -> serenity::Result<()> {
        self.grant(channel, ticket, member, adding).await?;
        let recorded = self
            .registry()
            .update_ticket(channel, |t| set_listed(&mut t.added, member, adding))
            .await;
        if let Err(err) = recorded {
            tracing::warn!(error = %err, channel_id = %channel, member_id = %member, "cannot record who was added to the ticket");
        }
        Ok(())
    }

    /// [`Tickets::change_member`] on Discord only.
    pub(super) async fn grant(
        &self,
        channel: ChannelId,
        ticket: &TicketEntry,
        member: UserId,
        adding: bool,
    ) -> serenity::Result<()> {
        if ticket.thread {
            self.change_thread_member(channel, member, adding).await
        } else {
            self.change_overwrite(channel, member, adding).await
        }
    }

    /// Adds `member` to `thread` or takes them out. A thread Discord archived while the ticket
    /// was idle takes no such change (50083): it is unarchived for it, and archived again, as
    /// Discord left it.
    async fn change_thread_member(
        &self,
        thread: ChannelId,
        member: UserId,
        adding: bool,
    ) -> serenity::Result<()> {
        let http = self.http();
        let change = || async move {
            if adding {
                thread.add_thread_member(http, member).await
            } else {
                thread.remove_thread_member(http, member).await
            }
        };
        match change().await {
            Err(err) if code(&err) == Some(THREAD_ARCHIVED) => {
                thread
                    .edit_thread(http, EditThread::new().archived(false))
                    .await?;
                let changed = change().await;
                if let Err(err) = thread
                    .edit_thread(http, EditThread::new().archived(true))
                    .await
                {
                    tracing::warn!(error = %err, channel_id = %thread, "cannot archive the idle ticket thread again");
                }
                changed
            }
            other => other,
        }
    }

    /// Gives `member` a member overwrite on `channel`, or deletes it.
    async fn change_overwrite(
        &self,
        channel: ChannelId,
        member: UserId,
        adding: bool,
    ) -> serenity::Result<()> {
        let http = self.http();
        if adding {
            channel
                .create_permission(http, member_overwrite(member))
                .await
        } else {
            let kind = PermissionOverwriteType::Member(member);
            channel.delete_permission(http, kind).await
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

#[cfg(test)]
mod tests {
    use std::{future::Ready, sync::Mutex};

    use super::*;

    /// A member list of `count` members (IDs 1, 2, ...), every `nth` with the role, that
    /// records the `after` of each page asked for.
    struct MemberList {
        count: u64,
        nth: u64,
        asked: Mutex<Vec<Option<u64>>>,
    }

    impl MemberList {
        fn new(count: u64, nth: u64) -> Self {
            let asked = Mutex::default();
            Self { count, nth, asked }
        }

        fn page(&self, after: Option<UserId>) -> Ready<Result<Vec<(UserId, bool)>, TeamError>> {
            self.asked.lock().unwrap().push(after.map(UserId::get));
            let from = after.map_or(1, |id| id.get() + 1);
            let to = (from + MEMBER_PAGE).min(self.count + 1);
            let page = (from..to).map(|id| (UserId::new(id), id % self.nth == 0));
            std::future::ready(Ok(page.collect()))
        }

        fn pages_asked(&self) -> Vec<Option<u64>> {
            self.asked.lock().unwrap().clone()
        }
    }

    #[tokio::test]
    async fn the_member_list_is_read_page_after_page_until_it_ends() {
        let list = MemberList::new(2_500, 100);
        let team = members_with_role(|after| list.page(after)).await.unwrap();
        assert!(team.complete);
        let ids: Vec<u64> = team.members.iter().map(|id| id.get()).collect();
        assert_eq!(ids, (1..=25).map(|n| n * 100).collect::<Vec<_>>());
        assert_eq!(list.pages_asked(), [None, Some(1_000), Some(2_000)]);
    }

    #[tokio::test]
    async fn reading_stops_at_the_most_members_added_or_the_most_pages() {
        let list = MemberList::new(5_000, 2);
        let team = members_with_role(|after| list.page(after)).await.unwrap();
        assert_eq!(team.members.len(), MAX_TEAM_IN_THREAD);
        assert_eq!(list.pages_asked(), [None], "the first page was enough");

        let list = MemberList::new(20_000, 5_000);
        let team = members_with_role(|after| list.page(after)).await.unwrap();
        assert!(!team.complete, "10,000 of 20,000 read");
        assert_eq!(team.members, [UserId::new(5_000), UserId::new(10_000)]);
        assert_eq!(list.pages_asked().len(), MAX_MEMBER_PAGES);
    }

    #[tokio::test]
    async fn a_refused_list_is_the_missing_intent() {
        let refused = members_with_role(|_| async { Err(TeamError::NoMembersIntent) }).await;
        assert!(matches!(refused, Err(TeamError::NoMembersIntent)));
    }
}
