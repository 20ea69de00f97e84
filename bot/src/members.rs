//! Guild members as the REST API knows them, for what the gateway does not say: a message read
//! over REST (catch-up, history, transcripts) carries no member, and Discord sends a bot no
//! member list of a large guild (with the privileged GUILD_MEMBERS intent, asked for only when
//! the application has it, members' changes arrive, not the list). So the roles of such a
//! message's author, and whether a user is a member at all, are asked of
//! `GET /guilds/{id}/members/{user}` and kept for [`KEPT_FOR`] in a bounded cache: a ticket's
//! few authors cost a call every ten minutes, not one per message. A change the gateway tells
//! (GUILD_MEMBER_UPDATE) replaces what the cache holds at once.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use parking_lot::Mutex;
use serenity::all::{GuildId, Http, RoleId, UserId};

use crate::guild::refusal::is_unknown;

/// How long an answer is trusted: a role given or taken away is seen within this.
pub const KEPT_FOR: Duration = Duration::from_secs(10 * 60);
/// At most this many members are remembered (a few hundred bytes each).
const CAPACITY: usize = 10_000;

/// What the REST API says about a user in a guild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    /// A member, with these roles.
    Member(Vec<RoleId>),
    /// Not a member (Discord's Unknown Member).
    NotMember,
}

/// The cache of members' roles, filled by REST.
pub struct Members {
    http: Arc<Http>,
    known: Mutex<HashMap<(GuildId, UserId), (Instant, Membership)>>,
}

impl std::fmt::Debug for Members {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Members").finish_non_exhaustive()
    }
}

impl Members {
    /// An empty cache asking `http`.
    pub fn new(http: Arc<Http>) -> Self {
        Self {
            http,
            known: Mutex::new(HashMap::new()),
        }
    }

    /// `user`'s membership of `guild`: from the cache while fresh, else asked over REST (a
    /// failed call is not remembered).
    pub async fn lookup(&self, guild: GuildId, user: UserId) -> serenity::Result<Membership> {
        let now = Instant::now();
        if let Some((at, known)) = self.known.lock().get(&(guild, user)) {
            if now.duration_since(*at) < KEPT_FOR {
                return Ok(known.clone());
            }
        }
        let membership = match guild.member(&*self.http, user).await {
            Ok(member) => Membership::Member(member.roles),
            Err(err) if is_unknown(&err) => Membership::NotMember,
            Err(err) => return Err(err),
        };
        self.remember(guild, user, membership.clone(), now);
        Ok(membership)
    }

    /// `user`'s roles in `guild`, none when they are not a member or the lookup failed (a
    /// failure is logged: the author then counts as a member without roles).
    pub async fn roles(&self, guild: GuildId, user: UserId) -> Vec<RoleId> {
        match self.lookup(guild, user).await {
            Ok(Membership::Member(roles)) => roles,
            Ok(Membership::NotMember) => Vec::new(),
            Err(err) => {
                tracing::warn!(error = %err, guild_id = %guild, user_id = %user, "cannot look the member's roles up");
                Vec::new()
            }
        }
    }

    /// `user` of `guild` has the roles `roles` now, as the gateway said.
    pub fn update(&self, guild: GuildId, user: UserId, roles: Vec<RoleId>) {
        self.remember(guild, user, Membership::Member(roles), Instant::now());
    }

    fn remember(&self, guild: GuildId, user: UserId, membership: Membership, now: Instant) {
        let mut known = self.known.lock();
        if known.len() >= CAPACITY {
            known.retain(|_, (at, _)| now.duration_since(*at) < KEPT_FOR);
        }
        if known.len() >= CAPACITY {
            // All fresh: the oldest goes (rare: ten thousand authors within ten minutes).
            if let Some(oldest) = known.iter().min_by_key(|(_, (at, _))| *at).map(|(k, _)| *k) {
                known.remove(&oldest);
            }
        }
        known.insert((guild, user), (now, membership));
    }
}
