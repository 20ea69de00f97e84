//! Room for tickets past Discord's limits. A category holds 50 channels: when the guild's
//! ticket categories are full, the bot makes "Tickets 2" (then 3, ...) with the first one's
//! overwrites, records it in the guild's entry, and puts each new ticket in the first category
//! with room, counted from the cache (Discord's "category full" refusal, for a cache that
//! lags, sends it on to the next). An overflow category left empty for `overflow_quiet` is
//! deleted (never the first). A guild holds 500 channels: past that the member is told so,
//! and staff once in `ticket-logs` until a ticket channel can be made again. `/setup` brings
//! the overflow categories' overwrites in line with the first's and puts the open tickets
//! whose category was deleted back into one with room, making a deleted overflow category
//! again only when they need it.

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

use serenity::all::{
    ChannelId, ChannelType, CreateAllowedMentions, CreateChannel, CreateMessage, GuildChannel,
    GuildId, Http, PermissionOverwrite,
};

use super::Tickets;
use crate::{
    guild::{
        overwrites::StaffPlace,
        refusal::{is_unknown, Refusal},
        ticket_category_name, CATEGORY_CHANNELS,
    },
    registry::Registry,
};

/// What staff read in `ticket-logs` when the server is at Discord's channel limit.
pub const SERVER_FULL_NOTICE: &str = "New tickets cannot be opened: this server has reached \
    Discord's limit of 500 channels, so I cannot make ticket channels. Delete channels that are \
    no longer needed (closed tickets go by themselves). I say this once, until a ticket channel \
    can be made again.";

/// Categories tried for one ticket: the recorded ones with room, and a new one.
const MAX_TRIES: usize = 8;
/// The empty-category sweep looks this often at most, and at least every minute.
const MIN_SWEEP: Duration = Duration::from_millis(100);
const MAX_SWEEP: Duration = Duration::from_secs(60);

impl Tickets {
    /// Makes the channel `builder` describes in the first of `guild`'s ticket categories with
    /// room, making an overflow category when all are full (one placement at a time per guild).
    pub(super) async fn create_ticket_channel(
        &self,
        guild: GuildId,
        builder: CreateChannel<'_>,
    ) -> serenity::Result<GuildChannel> {
        let _placing = self.inner.category_locks.lock(guild).await;
        let mut tried = HashSet::new();
        let mut refused = None;
        for _ in 0..MAX_TRIES {
            let Some(entry) = self.registry().guild(guild) else {
                return Err(serenity::Error::Other("the guild is not set up"));
            };
            let mut next = None;
            for category in entry.categories() {
                if !tried.contains(&category) && self.has_room(guild, category).await {
                    next = Some(category);
                    break;
                }
            }
            let category = match next {
                Some(category) => category,
                None => match self.add_overflow_category(guild).await {
                    Ok(category) => category,
                    Err(err) => {
                        self.note_refusal(guild, &err).await;
                        return Err(err);
                    }
                },
            };
            tried.insert(category);
            let placed = builder.clone().category(category);
            match guild.create_channel(self.http(), placed).await {
                Ok(channel) => {
                    self.room_again(guild).await;
                    return Ok(channel);
                }
                Err(err) if Refusal::of(&err) == Refusal::CategoryFull => {
                    tracing::debug!(category_id = %category, "the ticket category is full (the cache lagged): trying the next");
                    refused = Some(err);
                }
                Err(err) => {
                    self.note_refusal(guild, &err).await;
                    return Err(err);
                }
            }
        }
        Err(refused.unwrap_or(serenity::Error::Other("no ticket category has room")))
    }

    /// Channels in `category` as the cache knows them; `None` when it knows no such category.
    fn children(&self, guild: GuildId, category: ChannelId) -> Option<usize> {
        let cached = self.cache().guild(guild)?;
        cached.channels.contains_key(&category).then(|| {
            cached
                .channels
                .values()
                .filter(|c| c.parent_id == Some(category))
                .count()
        })
    }

    /// Whether a ticket may go in `category`: it has room, or the cache cannot say (Discord
    /// will). A category the cache does not know is asked of Discord: the cache may not have
    /// heard of it yet (made a moment ago), or it was deleted (`/setup` repairs).
    async fn has_room(&self, guild: GuildId, category: ChannelId) -> bool {
        if let Some(children) = self.children(guild, category) {
            return children < CATEGORY_CHANNELS;
        }
        if self.cache().guild(guild).is_none() {
            return true;
        }
        match category.to_channel(self.http()).await {
            Ok(_) => true,
            Err(err) if is_unknown(&err) => {
                tracing::debug!(category_id = %category, "a recorded ticket category was deleted: skipped");
                false
            }
            Err(_) => true,
        }
    }

    /// Makes the next overflow category, with the first category's overwrites, and records it.
    async fn add_overflow_category(&self, guild: GuildId) -> serenity::Result<ChannelId> {
        let Some(entry) = self.registry().guild(guild) else {
            return Err(serenity::Error::Other("the guild is not set up"));
        };
        let (taken, first) = match self.cache().guild(guild) {
            Some(cached) => (
                category_names(cached.channels.values()),
                cached
                    .channels
                    .get(&entry.category_id)
                    .map(|c| c.permission_overwrites.clone()),
            ),
            None => (HashSet::new(), None),
        };
        let overwrites = first.unwrap_or_else(|| {
            StaffPlace::TicketsCategory.overwrites(guild, entry.support_role_id, self.bot_id())
        });
        let least = entry.categories().len() + 1;
        let name = free_name(&taken, least);
        let builder = CreateChannel::new(name.clone())
            .kind(ChannelType::Category)
            .permissions(overwrites);
        let made = guild.create_channel(self.http(), builder).await?.id;
        let recorded = self
            .registry()
            .update_guild(guild, |g| {
                let new = !g.overflow_category_ids.contains(&made);
                if new {
                    g.overflow_category_ids.push(made);
                }
                new
            })
            .await;
        if !matches!(recorded, Ok(Some(_))) {
            // A category the registry does not list would never be used nor cleaned up.
            tracing::error!(result = ?recorded.map(drop), category_id = %made, "cannot record the overflow category; removing it");
            if let Err(err) = made.delete(self.http()).await {
                tracing::error!(error = %err, category_id = %made, "cannot remove the unrecorded overflow category");
            }
            return Err(serenity::Error::Other("the ticket registry is unavailable"));
        }
        tracing::info!(guild_id = %guild, category_id = %made, name, "the ticket categories are full: made an overflow category");
        Ok(made)
    }

    /// Tells staff, once, when Discord refused for the server's channel limit.
    async fn note_refusal(&self, guild: GuildId, err: &serenity::Error) {
        if Refusal::of(err) != Refusal::GuildChannelsFull {
            return;
        }
        let now = serenity::all::Timestamp::now();
        let told = self
            .registry()
            .update_guild(guild, |g| {
                let first = g.server_full_told_at.is_none();
                if first {
                    g.server_full_told_at = Some(now);
                }
                first
            })
            .await;
        let log = match told {
            Ok(Some((entry, true))) => entry.log_channel_id,
            Ok(_) => return,
            Err(err) => {
                tracing::warn!(error = %err, "cannot record that staff were told the server is full");
                return;
            }
        };
        let Some(log) = log else {
            tracing::warn!(guild_id = %guild, "the server is full and no ticket-logs channel is set up to tell staff");
            return;
        };
        let message = CreateMessage::new()
            .content(SERVER_FULL_NOTICE)
            .allowed_mentions(CreateAllowedMentions::new());
        match log.send_message(self.http(), message).await {
            Ok(_) => {
                tracing::warn!(guild_id = %guild, "the server is at Discord's channel limit: staff told in ticket-logs")
            }
            Err(err) => {
                tracing::warn!(error = %err, log_channel = %log, "cannot tell staff the server is full")
            }
        }
    }

    /// A ticket channel was made: the next time the server is full, staff are told again.
    async fn room_again(&self, guild: GuildId) {
        if self
            .registry()
            .guild(guild)
            .is_none_or(|g| g.server_full_told_at.is_none())
        {
            return;
        }
        let cleared = self
            .registry()
            .update_guild(guild, |g| g.server_full_told_at.take().is_some())
            .await;
        if let Err(err) = cleared {
            tracing::warn!(error = %err, "cannot record that the server has room again");
        }
    }

    /// Deletes the overflow categories of the guilds the sweeps look at once they have been
    /// empty for `overflow_quiet` (by this process's clock: a restart starts it again).
    pub(super) async fn overflow_loop(self) {
        let quiet = self.inner.settings.overflow_quiet;
        let mut tick = tokio::time::interval((quiet / 4).clamp(MIN_SWEEP, MAX_SWEEP));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut empty_since: HashMap<ChannelId, Instant> = HashMap::new();
        loop {
            tick.tick().await;
            let guilds: Vec<GuildId> = self.inner.ready.lock().iter().copied().collect();
            let mut recorded = HashSet::new();
            for guild in guilds {
                let Some(entry) = self.registry().guild(guild) else {
                    continue;
                };
                for category in entry.overflow_category_ids {
                    recorded.insert(category);
                    if self.children(guild, category) != Some(0) {
                        empty_since.remove(&category);
                        continue;
                    }
                    let since = *empty_since.entry(category).or_insert_with(Instant::now);
                    if since.elapsed() >= quiet && self.delete_overflow(guild, category).await {
                        empty_since.remove(&category);
                    }
                }
            }
            empty_since.retain(|category, _| recorded.contains(category));
        }
    }

    /// Deletes the empty overflow category `category` (after a last look, under the guild's
    /// category lock); whether it is gone from the record.
    async fn delete_overflow(&self, guild: GuildId, category: ChannelId) -> bool {
        let _placing = self.inner.category_locks.lock(guild).await;
        // Discord, not the cache, which hears of a channel a moment after it is made.
        let channels = match guild.channels(self.http()).await {
            Ok(channels) => channels,
            Err(err) => {
                tracing::warn!(error = %err, category_id = %category, "cannot check the empty overflow category; trying later");
                return false;
            }
        };
        if channels.values().any(|c| c.parent_id == Some(category)) {
            return false;
        }
        // Out of the record first, so that no process puts a ticket in it any more.
        let unrecorded = self
            .registry()
            .update_guild(guild, |g| {
                let before = g.overflow_category_ids.len();
                g.overflow_category_ids.retain(|c| *c != category);
                g.overflow_category_ids.len() != before
            })
            .await;
        if let Err(err) = unrecorded {
            tracing::warn!(error = %err, category_id = %category, "cannot take the empty overflow category out of the record; trying later");
            return false;
        }
        match category.delete(self.http()).await {
            Ok(_) => {
                tracing::info!(guild_id = %guild, category_id = %category, "an empty overflow category was deleted");
            }
            Err(err) if is_unknown(&err) => {}
            Err(err) => {
                tracing::warn!(error = %err, category_id = %category, "cannot delete the empty overflow category (an administrator can)");
            }
        }
        true
    }
}

/// The names of the categories among `channels`.
fn category_names<'a>(channels: impl Iterator<Item = &'a GuildChannel>) -> HashSet<String> {
    channels
        .filter(|c| c.kind == ChannelType::Category)
        .map(|c| c.name.clone())
        .collect()
}

/// The first "Tickets <n>" name not in `taken`, from `least` on (at least 2).
fn free_name(taken: &HashSet<String>, least: usize) -> String {
    (least.max(2)..)
        .map(ticket_category_name)
        .find(|name| !taken.contains(name))
        .unwrap_or_else(|| ticket_category_name(least))
}

/// What `/setup` did to the overflow categories.
#[derive(Debug, Default)]
pub(super) struct Repaired {
    /// The overflow categories to record, in order.
    pub categories: Vec<ChannelId>,
    /// Overflow categories whose overwrites were brought in line, or made again.
    pub fixed: usize,
    /// Open tickets whose category was deleted, and the category each goes to.
    pub moves: HashMap<ChannelId, ChannelId>,
}

/// What `/setup` works from: the guild's channels as it found them, and the ticket categories.
pub(super) struct Found<'a> {
    /// The guild.
    pub guild: GuildId,
    /// Its channels before the set-up made anything.
    pub channels: &'a HashMap<ChannelId, GuildChannel>,
    /// The first ticket category (kept, or made now).
    pub first: ChannelId,
    /// Its overwrites (what the overflow categories get).
    pub overwrites: Vec<PermissionOverwrite>,
    /// The overflow categories recorded before.
    pub recorded: &'a [ChannelId],
}

/// Brings the overflow categories in line with the first, and finds the open tickets whose
/// category was deleted a category with room: the first, the overflow ones, then the deleted
/// overflow categories made again (only as many as they need).
pub(super) async fn repair_categories(
    http: &Http,
    registry: &Registry,
    found: Found<'_>,
) -> serenity::Result<Repaired> {
    let Found {
        guild,
        channels,
        first,
        overwrites,
        recorded,
    } = found;
    let mut done = Repaired::default();
    let live: Vec<ChannelId> = recorded
        .iter()
        .copied()
        .filter(|c| channels.contains_key(c) && *c != first)
        .collect();
    for category in &live {
        if sync_overwrites(http, &channels[category], &overwrites).await {
            done.fixed += 1;
        }
    }
    // Left without a category: at the top, or under one that was deleted.
    let mut orphans: Vec<ChannelId> = registry
        .open_tickets(Some(guild))
        .into_iter()
        .map(|(channel, _)| channel)
        .filter(|channel| {
            channels.get(channel).is_some_and(|c| {
                c.parent_id
                    .is_none_or(|p| p != first && !channels.contains_key(&p))
            })
        })
        .collect();
    orphans.sort_unstable();
    let mut orphans = orphans.into_iter().peekable();
    for category in std::iter::once(&first).chain(&live) {
        fill(*category, channels, &mut orphans, &mut done.moves);
    }
    let mut taken = category_names(channels.values());
    let mut made = HashMap::new();
    for category in recorded.iter().filter(|c| !channels.contains_key(c)) {
        if orphans.peek().is_none() {
            break;
        }
        let name = free_name(&taken, 2);
        let builder = CreateChannel::new(name.clone())
            .kind(ChannelType::Category)
            .permissions(overwrites.clone());
        let again = guild.create_channel(http, builder).await?.id;
        tracing::info!(guild_id = %guild, category_id = %again, name, "made a deleted overflow category again for the tickets it held");
        taken.insert(name);
        made.insert(*category, again);
        done.fixed += 1;
        fill(again, channels, &mut orphans, &mut done.moves);
    }
    if orphans.peek().is_some() {
        tracing::warn!(
            tickets = orphans.count(),
            "open tickets left outside the ticket categories: no room for them"
        );
    }
    done.categories = recorded
        .iter()
        .filter_map(|c| {
            if live.contains(c) {
                Some(*c)
            } else {
                made.get(c).copied()
            }
        })
        .collect();
    Ok(done)
}

/// Sends tickets from `orphans` to `category` while it has room.
fn fill(
    category: ChannelId,
    channels: &HashMap<ChannelId, GuildChannel>,
    orphans: &mut std::iter::Peekable<std::vec::IntoIter<ChannelId>>,
    moves: &mut HashMap<ChannelId, ChannelId>,
) {
    let held = channels
        .values()
        .filter(|c| c.parent_id == Some(category))
        .count();
    for _ in held..CATEGORY_CHANNELS {
        match orphans.next() {
            Some(ticket) => {
                moves.insert(ticket, category);
            }
            None => break,
        }
    }
}

/// Gives `category` exactly `overwrites`; whether anything changed.
async fn sync_overwrites(
    http: &Http,
    category: &GuildChannel,
    overwrites: &[PermissionOverwrite],
) -> bool {
    let mut changed = false;
    for wanted in overwrites {
        if category.permission_overwrites.contains(wanted) {
            continue;
        }
        match category.id.create_permission(http, wanted.clone()).await {
            Ok(()) => changed = true,
            Err(err) => {
                tracing::warn!(error = %err, category_id = %category.id, "cannot repair an overflow category's overwrite")
            }
        }
    }
    for extra in &category.permission_overwrites {
        if overwrites.iter().any(|o| o.kind == extra.kind) {
            continue;
        }
        match category.id.delete_permission(http, extra.kind).await {
            Ok(()) => changed = true,
            Err(err) => {
                tracing::warn!(error = %err, category_id = %category.id, "cannot remove an overflow category's extra overwrite")
            }
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overflow_category_takes_the_first_free_number() {
        let taken: HashSet<String> = ["Tickets", "Tickets 2", "Tickets 4"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(free_name(&taken, 2), "Tickets 3");
        assert_eq!(free_name(&taken, 4), "Tickets 5");
        assert_eq!(free_name(&HashSet::new(), 1), "Tickets 2");
    }
}
