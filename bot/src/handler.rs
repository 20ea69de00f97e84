//! The serenity event handler: registers the commands and the relay's in-order message
//! collector when the gateway session is ready, adopts a guild's tickets and then starts the
//! relay's catch-up when the guild becomes available (after every connect; the auto-close
//! sweeps of that guild wait for the catch-up), stops a guild's sweeps when the bot leaves it
//! or it becomes unavailable, and routes interactions, messages, channel (and thread)
//! deletions and members' role changes (with the Server Members intent). It owns the relay
//! and the tickets, built before the gateway connects, so every event finds them.
//!
//! With several shards, each shard's session has its own collector, and only the guilds of this
//! process's shards ([`ShardPlan::holds`]) get adoption, catch-up and sweeps here.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use parking_lot::Mutex;

use serenity::{
    all::{
        Context, EventHandler, Guild, GuildChannel, GuildId, GuildMemberUpdateEvent, Interaction,
        Member, Message, PartialGuildChannel, Ready, UnavailableGuild,
    },
    async_trait,
    gateway::CollectorCallback,
    model::event::Event,
};

use crate::{commands, relay::Relay, shards::ShardPlan, tickets::Tickets};

/// Routes gateway events to the commands, the tickets and the relay.
pub struct Handler {
    relay: Relay,
    tickets: Tickets,
    guild_id: Option<GuildId>,
    plan: ShardPlan,
    /// Per shard, the session whose collector is current.
    collector_generations: Mutex<HashMap<u32, Arc<AtomicU64>>>,
}

impl Handler {
    /// A handler registering its commands in `guild_id` (or globally), for the shards of
    /// `plan`.
    pub fn new(relay: Relay, tickets: Tickets, guild_id: Option<GuildId>, plan: ShardPlan) -> Self {
        Self {
            relay,
            tickets,
            guild_id,
            plan,
            collector_generations: Mutex::new(HashMap::new()),
        }
    }

    /// serenity runs each event handler call in its own task, so two messages sent quickly can
    /// reach `message` out of order. A collector runs inside the shard loop, in gateway order:
    /// the relay takes messages from it. A new session gets a new shard runner, so each `ready`
    /// installs a fresh collector and retires the previous one of the same shard.
    fn install_collector(&self, ctx: &Context) {
        let relay = self.relay.clone();
        let current = Arc::clone(
            self.collector_generations
                .lock()
                .entry(ctx.shard_id.0)
                .or_default(),
        );
        let generation = current.fetch_add(1, Ordering::SeqCst) + 1;
        ctx.shard
            .add_collector(CollectorCallback(Box::new(move |event| {
                if current.load(Ordering::SeqCst) != generation {
                    return false;
                }
                if let Event::MessageCreate(event) = event {
                    relay.offer(&event.message);
                }
                true
            })));
    }
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        tracing::info!(
            user = %ready.user.name,
            guilds = ready.guilds.len(),
            "connected to Discord"
        );
        self.install_collector(&ctx);
        // Once per process (on its first shard's session), not once per shard.
        if ctx.shard_id.0 != *self.plan.shards().start() {
            return;
        }
        if let Err(err) = commands::register(&ctx.http, self.guild_id).await {
            tracing::error!(error = %err, "cannot register the slash commands");
        }
    }

    async fn guild_create(&self, _ctx: Context, guild: Guild, _is_new: Option<bool>) {
        if !self.plan.holds(guild.id) {
            // Discord sends a shard its own guilds only: another process's work.
            tracing::warn!(guild_id = %guild.id, shards = %self.plan, "a guild of another shard arrived; leaving it to its process");
            return;
        }
        // Adopted first, so that catch-up knows every ticket. Discord sends it after every
        // connect: what was written meanwhile gets its answer, and counts as activity before
        // the guild's tickets are swept again.
        self.tickets.adopt(&guild).await;
        let caught_up = self.relay.catch_up(guild.id);
        self.tickets.sweep_after(guild.id, caught_up);
        // A topic's role taken away while the bot was away takes its holder out of the
        // topic's threads now.
        self.tickets.check_teams(guild.id).await;
    }

    async fn guild_delete(&self, _ctx: Context, guild: UnavailableGuild, _full: Option<Guild>) {
        if guild.unavailable {
            self.tickets.guild_unavailable(guild.id);
        } else {
            // Removed from the guild (or the guild deleted): nothing there to sweep any more.
            self.tickets.left_guild(guild.id);
        }
    }

    async fn channel_delete(
        &self,
        _ctx: Context,
        channel: GuildChannel,
        _messages: Option<Vec<Message>>,
    ) {
        // An admin deleted a ticket channel by hand: the ticket is over.
        self.tickets.forget_channel(channel.id).await;
    }

    async fn thread_delete(
        &self,
        _ctx: Context,
        thread: PartialGuildChannel,
        _full: Option<GuildChannel>,
    ) {
        // The same for a ticket thread (thread mode).
        self.tickets.forget_channel(thread.id).await;
    }

    async fn guild_member_update(
        &self,
        _ctx: Context,
        _old: Option<Member>,
        _new: Option<Member>,
        event: GuildMemberUpdateEvent,
    ) {
        if !self.plan.holds(event.guild_id) {
            return;
        }
        // Their roles now, compared with the tickets' records: the cache's `old` is often
        // absent (large guilds list few members) and never survives a restart.
        self.tickets
            .member_roles_changed(event.guild_id, event.user.id, &event.roles)
            .await;
    }

    async fn message(&self, _ctx: Context, message: Message) {
        // Only matters for messages that arrived before the collector was installed; the
        // relay ignores a message it has already taken.
        self.relay.offer(&message);
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        match interaction {
            Interaction::Command(command) => {
                commands::dispatch(&ctx, &self.tickets, &command).await;
            }
            Interaction::Component(component) => {
                commands::dispatch_component(&ctx, &self.tickets, &component).await;
            }
            Interaction::Modal(modal) => {
                commands::dispatch_modal(&ctx, &self.tickets, &modal).await;
            }
            _ => {}
        }
    }
}
