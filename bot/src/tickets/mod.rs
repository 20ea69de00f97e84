//! The tickets and the guilds they live in: setting a guild up (and repairing it), opening a
//! ticket (by command or panel button), closing it with a transcript, adopting channels from
//! before the registry, closing idle tickets, and what the buttons under an answer do (asking
//! for a human, rating). The [`Tickets`] service holds what these share: the REST client, the
//! [`Registry`], the recent answers, the settings, the per-guild and per-user locks.

mod adopt;
mod answer_buttons;
mod auto_close;
mod close;
mod open;
mod setup;

use std::{collections::HashSet, sync::Arc, time::Duration};

use parking_lot::Mutex;
use serenity::all::{Cache, ChannelId, GuildId, Http, Member, Timestamp, UserId};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    answers::RecentAnswers, guild::staff::Standing, locks::KeyedLocks, registry::Registry,
    settings::LifecycleSettings,
};

pub use answer_buttons::Escalation;
pub use close::{CloseError, CLOSE_BUTTON, CLOSE_CONFIRM_BUTTON};
pub use open::{Opened, OPEN_BUTTON};
pub use setup::{Found, Outcome, SetupError};

/// The lifecycle service; cheap to clone.
#[derive(Clone)]
pub struct Tickets {
    inner: Arc<Inner>,
}

struct Inner {
    http: Arc<Http>,
    cache: Arc<Cache>,
    registry: Arc<Registry>,
    /// The answers the relay posted lately, for their buttons.
    answers: Arc<RecentAnswers>,
    settings: LifecycleSettings,
    bot_id: UserId,
    /// Tickets being closed, from the close until their channel is deleted: adoption must not
    /// delete those channels under a close that is still reading them.
    closing: Mutex<HashSet<ChannelId>>,
    /// One set-up at a time per guild (`/setup` and the panel's record of itself).
    setup_locks: KeyedLocks<GuildId>,
    /// One ticket opening at a time per (guild, user): command and button alike.
    ticket_locks: KeyedLocks<(GuildId, UserId)>,
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
    /// The service for the bot `bot_id`; `answers` is what the relay remembers of its answers.
    pub fn new(
        http: Arc<Http>,
        cache: Arc<Cache>,
        registry: Arc<Registry>,
        answers: Arc<RecentAnswers>,
        settings: LifecycleSettings,
        bot_id: UserId,
    ) -> Self {
        let tickets = Self {
            inner: Arc::new(Inner {
                http,
                cache,
                registry,
                answers,
                settings,
                bot_id,
                closing: Mutex::new(HashSet::new()),
                setup_locks: KeyedLocks::default(),
                ticket_locks: KeyedLocks::default(),
                tasks: TaskTracker::new(),
                cancel: CancellationToken::new(),
            }),
        };
        if let Some(auto_close) = tickets.inner.settings.auto_close {
            tickets.spawn(tickets.clone().auto_close_loop(auto_close));
        }
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

    /// Whether `channel` is being closed by this process (its deletion still to come).
    pub fn is_closing(&self, channel: ChannelId) -> bool {
        self.inner.closing.lock().contains(&channel)
    }

    /// Marks `channel` as being closed until the returned guard is dropped.
    fn closing(&self, channel: ChannelId) -> ClosingGuard {
        self.inner.closing.lock().insert(channel);
        ClosingGuard {
            tickets: self.clone(),
            channel,
        }
    }

    /// The bot's own user ID.
    pub fn bot_id(&self) -> UserId {
        self.inner.bot_id
    }

    /// Stops the sweep and waits up to `grace` for pending deletions (a deletion left undone
    /// is finished by the next start's adoption, which deletes closed tickets' channels).
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

    /// Marks `channel` closed without a transcript (its channel was deleted by someone else).
    pub async fn forget_channel(&self, channel: ChannelId) {
        if !self.inner.registry.is_open_ticket(channel) {
            return;
        }
        let result = self
            .inner
            .registry
            .update_ticket(channel, |t| {
                if !t.is_open() {
                    return false;
                }
                t.status = crate::registry::TicketStatus::Closed;
                t.closed_at = Some(Timestamp::now());
                t.reason = Some("the channel was deleted".to_owned());
                true
            })
            .await;
        match result {
            Ok(_) => {
                tracing::info!(channel_id = %channel, "ticket channel deleted outside the bot; ticket marked closed")
            }
            Err(err) => {
                tracing::warn!(error = %err, channel_id = %channel, "cannot mark the deleted ticket closed")
            }
        }
    }
}

/// Holds a channel in [`Inner::closing`]; dropped when the close failed or the channel is gone.
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
