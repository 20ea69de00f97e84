//! The tickets and the guilds they live in: setting a guild up (and repairing it), opening a
//! ticket (by command or panel button) in a category with room (`overflow`: "Tickets 2", ...
//! past Discord's 50 channels per category), closing it (`close`) and carrying the close to
//! its end (`finish`: the transcript made and archived first (`record`), then posted
//! (`deliver`), then the channel deleted), reopening it (`reopen`), adopting the ticket
//! channels of a guild this bot set up, closing idle tickets, reading an archived transcript
//! again (`archived`), what the buttons under an answer do (asking for a human, rating), and
//! thread mode, where a ticket is a private thread locked and archived at its close
//! (`thread`). The [`Tickets`] service holds what these share:
//! the REST client, the [`Registry`], the archive, the member cache, the recent answers, the
//! settings, the per-guild and per-user locks, and which guilds may be swept.

mod adopt;
mod answer_buttons;
mod archived;
mod auto_close;
mod blocks;
mod claim;
mod close;
mod deliver;
mod finish;
mod open;
mod overflow;
mod priority;
mod rating;
mod record;
mod reopen;
mod setup;
mod team;
mod thread;

use std::{collections::HashSet, future::Future, sync::Arc, time::Duration};

use parking_lot::Mutex;
use serenity::all::{Cache, ChannelId, GuildId, Http, Member, Timestamp, UserId};
use tokio::sync::Notify;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    answers::RecentAnswers,
    archive::Archive,
    guild::staff::Standing,
    locks::KeyedLocks,
    members::Members,
    metrics::BotMetrics,
    registry::{Registry, TicketEntry},
    settings::LifecycleSettings,
};

pub use answer_buttons::Escalation;
pub use archived::{ArchivedTranscript, Wanted};
pub use blocks::BlockChange;
pub use claim::{ClaimChange, ClaimMoved, ClaimRefusal, CLAIM_BUTTON};
pub use close::{CloseError, Closed, CLOSE_BUTTON, CLOSE_CONFIRM_BUTTON};
pub use open::{staff_away_notice, Opened, OPEN_BUTTON};
pub use overflow::SERVER_FULL_NOTICE;
pub use priority::PriorityChange;
pub use rating::Rated;
pub use reopen::{ReopenError, Reopening};
pub use setup::{Found, Outcome, SetupError};
pub use thread::{TeamError, MAX_TEAM_IN_THREAD, THREAD_REOPENED};

/// What the tickets work with, built before the gateway connects.
pub struct Parts {
    /// The REST client.
    pub http: Arc<Http>,
    /// The gateway's cache.
    pub cache: Arc<Cache>,
    /// The record of guilds and tickets.
    pub registry: Arc<Registry>,
    /// The archive of transcripts.
    pub archive: Arc<Archive>,
    /// The members' roles, by REST.
    pub members: Arc<Members>,
    /// What the relay remembers of its answers, for their buttons.
    pub answers: Arc<RecentAnswers>,
    /// The bot's own user.
    pub bot_id: UserId,
    /// The most one download of an attachment may take.
    pub http_timeout: Duration,
    /// This process's metrics.
    pub metrics: BotMetrics,
}

/// The lifecycle service; cheap to clone.
#[derive(Clone)]
pub struct Tickets {
    inner: Arc<Inner>,
}

struct Inner {
    http: Arc<Http>,
    cache: Arc<Cache>,
    registry: Arc<Registry>,
    archive: Arc<Archive>,
    members: Arc<Members>,
    /// Downloads of attachments for the archive (Discord's CDN, not the API).
    downloads: reqwest::Client,
    /// The answers the relay posted lately, for their buttons.
    answers: Arc<RecentAnswers>,
    metrics: BotMetrics,
    settings: LifecycleSettings,
    bot_id: UserId,
    /// Tickets whose close this process is carrying, until their channel is deleted: nothing
    /// else here (adoption, the retries) starts the same close twice.
    closing: Mutex<HashSet<ChannelId>>,
    /// Guilds whose tickets the sweeps look at: available, adopted and caught up (a ticket
    /// written in while the bot was away is not idle).
    ready: Mutex<HashSet<GuildId>>,
    /// Guilds the bot was removed from (until it is added again).
    left: Mutex<HashSet<GuildId>>,
    /// Wakes the auto-close sweep early: a guild became ready, its first look is due now.
    sweep_now: Notify,
    /// One set-up at a time per guild (`/setup` and the panel's record of itself).
    setup_locks: KeyedLocks<GuildId>,
    /// One ticket opening at a time per (guild, user): command and button alike.
    ticket_locks: KeyedLocks<(GuildId, UserId)>,
    /// One change of a guild's ticket categories at a time: a ticket placed, an overflow
    /// category made or deleted, `/setup`'s repair.
    category_locks: KeyedLocks<GuildId>,
    /// Delayed channel deletions and the auto-close sweep, ended by [`Tickets::shutdown`].
    tasks: TaskTracker,
    cancel: CancellationToken,
}

impl std::fmt::Debug for Tickets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tickets").finish_non_exhaustive()
    }
}

impl Tickets {
    /// The service over `parts`, ending tickets as `settings` say.
    pub fn new(parts: Parts, settings: LifecycleSettings) -> Self {
        let downloads = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(parts.http_timeout)
            .build()
            .unwrap_or_else(|err| {
                tracing::error!(error = %err, "cannot build the attachments' HTTP client with a timeout");
                reqwest::Client::new()
            });
        let tickets = Self {
            inner: Arc::new(Inner {
                http: parts.http,
                cache: parts.cache,
                registry: parts.registry,
                archive: parts.archive,
                members: parts.members,
                answers: parts.answers,
                metrics: parts.metrics,
                downloads,
                settings,
                bot_id: parts.bot_id,
                closing: Mutex::new(HashSet::new()),
                ready: Mutex::new(HashSet::new()),
                left: Mutex::new(HashSet::new()),
                sweep_now: Notify::new(),
                setup_locks: KeyedLocks::default(),
                ticket_locks: KeyedLocks::default(),
                category_locks: KeyedLocks::default(),
                tasks: TaskTracker::new(),
                cancel: CancellationToken::new(),
            }),
        };
        if let Some(auto_close) = tickets.inner.settings.auto_close {
            tickets.spawn(tickets.clone().auto_close_loop(auto_close));
        }
        tickets.spawn(tickets.clone().retry_loop());
        tickets.spawn(tickets.clone().overflow_loop());
        tickets
    }

    /// The registry.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The REST client.
    pub fn http(&self) -> &Http {
        &self.inner.http
    }

    /// The gateway's cache (channel names without a REST call).
    pub fn cache(&self) -> &Cache {
        &self.inner.cache
    }

    /// The archive of transcripts.
    pub fn archive(&self) -> &Archive {
        &self.inner.archive
    }

    /// Whether this process is carrying the close of `channel` (its deletion still to come).
    pub fn is_closing(&self, channel: ChannelId) -> bool {
        self.inner.closing.lock().contains(&channel)
    }

    /// Marks `channel` as being closed by this process until the returned guard is dropped;
    /// `None` when it already is.
    fn try_closing(&self, channel: ChannelId) -> Option<ClosingGuard> {
        self.inner
            .closing
            .lock()
            .insert(channel)
            .then(|| ClosingGuard {
                tickets: self.clone(),
                channel,
            })
    }

    /// Whether the sweeps may look at `guild`'s tickets.
    fn is_ready(&self, guild: GuildId) -> bool {
        self.inner.ready.lock().contains(&guild)
    }

    /// `guild` (re)connected: its tickets wait for `caught_up` (the relay's catch-up of what
    /// was written meanwhile, which records that activity) before the sweeps look at them
    /// again.
    pub fn sweep_after(
        &self,
        guild: GuildId,
        caught_up: impl Future<Output = ()> + Send + 'static,
    ) {
        self.inner.ready.lock().remove(&guild);
        self.inner.left.lock().remove(&guild);
        let tickets = self.clone();
        self.spawn(async move {
            caught_up.await;
            if !tickets.inner.left.lock().contains(&guild) {
                tickets.inner.ready.lock().insert(guild);
                tickets.inner.sweep_now.notify_one();
                tracing::debug!(guild_id = %guild, "the guild's tickets are swept from now on");
            }
        });
    }

    /// The bot is no longer in `guild` (removed, or the guild deleted): its tickets are no
    /// longer swept nor carried forward (they stay as they are in the registry).
    pub fn left_guild(&self, guild: GuildId) {
        self.inner.left.lock().insert(guild);
        self.inner.ready.lock().remove(&guild);
        tracing::info!(guild_id = %guild, "the bot was removed from the guild: its tickets are no longer swept");
    }

    /// The guild is unavailable (a Discord outage): its tickets are left alone until it is
    /// back (its GUILD_CREATE).
    pub fn guild_unavailable(&self, guild: GuildId) {
        self.inner.ready.lock().remove(&guild);
        tracing::warn!(guild_id = %guild, "the guild is unavailable (a Discord outage): its tickets wait until it is back");
    }

    /// The bot's own user ID.
    pub fn bot_id(&self) -> UserId {
        self.inner.bot_id
    }

    /// `guild`'s support hours, ready to ask; `None` without (or when they no longer read).
    pub fn support_hours(&self, guild: GuildId) -> Option<crate::hours::Schedule> {
        self.inner.registry.guild(guild)?.staff.hours?.schedule()
    }

    /// Now, in Unix seconds, by the bot's clock (the one a test may shift).
    pub fn now(&self) -> i64 {
        self.inner.settings.clock.now()
    }

    /// Stops the sweep and waits up to `grace` for pending closes (a close left undone is
    /// carried forward from its stored step by the next start, or by another bot process).
    pub async fn shutdown(&self, grace: Duration) {
        self.inner.cancel.cancel();
        self.inner.tasks.close();
        if tokio::time::timeout(grace, self.inner.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("ticket tasks still busy at shutdown, abandoning them");
        }
    }

    fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        let cancel = self.inner.cancel.clone();
        self.inner.tasks.spawn(async move {
            tokio::select! {
                () = task => {}
                () = cancel.cancelled() => {}
            }
        });
    }

    /// Whether `member` (of an interaction) is staff in `guild` ([`Standing::is_staff`]).
    pub fn is_staff(&self, guild: GuildId, member: Option<&Member>) -> bool {
        let support = self.inner.registry.guild(guild).map(|g| g.support_role_id);
        member.is_some_and(|m| Standing::of_member(m).is_staff(support))
    }

    /// Whether `member` is staff of `ticket`: staff of its guild, or a holder of its topic's
    /// Support role ([`Standing::is_staff_of_topic`]).
    pub fn is_staff_of(&self, ticket: &TicketEntry, member: Option<&Member>) -> bool {
        let guild = self.inner.registry.guild(ticket.guild_id);
        let support = guild.as_ref().map(|g| g.support_role_id);
        let topic_role = guild.as_ref().and_then(|g| g.topic_role(ticket.topic_id));
        member.is_some_and(|m| Standing::of_member(m).is_staff_of_topic(support, topic_role))
    }

    /// Whether `user` is staff in `guild`, by their roles (asked of the member cache) and the
    /// guild's roles in the gateway's cache: for a member named in a command, not the asker.
    pub async fn is_staff_user(&self, guild: GuildId, user: UserId) -> bool {
        let roles = self.inner.members.roles(guild, user).await;
        let support = self.inner.registry.guild(guild).map(|g| g.support_role_id);
        let Some(guild) = self.inner.cache.guild(guild) else {
            return false;
        };
        Standing::in_guild(&guild, user, roles).is_staff(support)
    }

    /// The channel of `channel`'s ticket was deleted by someone else: an open ticket, or one
    /// whose transcript was not archived yet, is over without a transcript; an archived one
    /// is carried to its end (its transcript posted, if it was not yet).
    pub async fn forget_channel(&self, channel: ChannelId) {
        let Some(ticket) = self.inner.registry.live_ticket(channel) else {
            return;
        };
        if self.is_closing(channel) {
            // This process's close meets the missing channel at its next step.
            return;
        }
        if ticket.is_archived() {
            self.carry_forward_one(channel);
        } else {
            self.mark_gone(channel, record::CHANNEL_DELETED).await;
        }
    }
}

/// Holds a channel in [`Inner::closing`]; dropped when the close stopped or the channel is gone.
struct ClosingGuard {
    tickets: Tickets,
    channel: ChannelId,
}

impl Drop for ClosingGuard {
    fn drop(&mut self) {
        self.tickets.inner.closing.lock().remove(&self.channel);
    }
}

/// Milliseconds since the Unix epoch of a timestamp.
fn millis(at: &Timestamp) -> i128 {
    at.unix_timestamp_nanos() / 1_000_000
}

/// How long ago `at` was (zero for a time in the future).
fn age(at: &Timestamp) -> Duration {
    let elapsed = millis(&Timestamp::now()) - millis(at);
    Duration::from_millis(u64::try_from(elapsed).unwrap_or(0))
}
