//! The middle floor: the sandbox's state and every action on it. [`World`] holds the guilds
//! (keyed by ID: one, or `SANDBOX_GUILDS` of them), the bot's DM channels, the messages, the
//! interactions and the forms they opened, the uploaded files and the record of what happened;
//! each action (send a message, run a command, press a button, choose in a select menu, submit
//! a form, create or delete a channel, thread or role, set an overwrite, open a DM, type...) is
//! a method that changes typed state, tells the bot over the gateway what Discord would tell it
//! (on the shard of the guild concerned), and tells open pages what to fetch again. The REST
//! routes, the gateway, the page and the tests' handle all act through it, so each action is
//! written once and unit-tested here without a server.
//!
//! The actions live beside the state they touch: [`channels`], [`threads`], [`messages`],
//! [`interactions`], [`components`] (select menus and forms), [`session`] (the gateway
//! sessions, their shards and the identify limit) and [`view`] (what a person sees);
//! [`faults`] holds the failures a test asks for.

pub mod channels;
pub mod components;
pub mod error;
pub mod faults;
pub mod guild;
pub mod interactions;
pub mod messages;
pub mod record;
pub mod session;
pub mod state;
pub mod threads;
pub mod view;

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    time::Instant,
};

pub use session::{GatewaySettings, Identify, IdentifyRefusal, Session, HEARTBEAT_INTERVAL_MS};

use tokio::sync::{broadcast, mpsc};

use crate::{
    model::{
        channel::{ChannelRef, DmChannel},
        command::Command,
        event::{Dispatch, Event},
        ids::{guild_id, ADMIN_ID, FIRST_ID, GUILD_ID},
        member::Member,
    },
    world::{
        error::SandboxError,
        guild::Guild,
        record::Record,
        state::{InteractionState, OpenModal, PageEvent, StoredFile, StoredMessage},
    },
};

/// How many page events may wait for a slow page before it misses some (it then reloads all).
const PAGE_EVENTS_BUFFERED: usize = 256;
/// The guild's name in GUILD_CREATE, when there is one.
const GUILD_NAME: &str = "Fake Guild";

/// The name of guild number `k` (from 0) of `count`: "Fake Guild" alone, "Sandbox 1",
/// "Sandbox 2"... among several.
pub fn guild_name(k: usize, count: usize) -> String {
    if count <= 1 {
        GUILD_NAME.to_owned()
    } else {
        format!("Sandbox {}", k + 1)
    }
}

/// Where dispatch events go: one of the bot's gateway sessions.
pub type GatewaySender = mpsc::UnboundedSender<Dispatch>;

/// The sandbox's state.
#[derive(Debug)]
pub struct World {
    /// The guilds, by ID: [`GUILD_ID`] first, then [`guild_id`]`(1)`...
    guilds: BTreeMap<u64, Guild>,
    /// The DM channels the bot opened.
    dm_channels: Vec<DmChannel>,
    /// The commands the bot registered for every guild.
    global_commands: Vec<Command>,
    /// Each channel's messages in the order they were sent; a deleted channel's stay, for
    /// tests reading what was said.
    messages: HashMap<u64, Vec<StoredMessage>>,
    /// The channel of each message, by message ID.
    message_channels: HashMap<u64, u64>,
    /// The interactions sent to the bot, by token.
    interactions: HashMap<String, InteractionState>,
    /// The forms the bot opened and nobody submitted or closed yet, by interaction ID.
    modals: BTreeMap<u64, OpenModal>,
    /// Files the bot uploaded, by attachment ID.
    files: HashMap<u64, StoredFile>,
    /// Until when the bot shows "typing" in each channel.
    typing_until: HashMap<u64, Instant>,
    /// Users who accept no DMs from the bot (privacy settings, or the bot blocked).
    closed_dms: HashSet<u64>,
    /// Failures a test asked for (stalled, held or refused calls).
    faults: faults::Faults,
    /// The last ID handed out.
    last_id: u64,
    /// The bot's gateway sessions: usually one per shard; two on a shard while a second
    /// process of the bot runs (a rolling deploy), each receiving every event of its shard, as
    /// Discord does.
    gateways: Vec<Session>,
    /// Sharding and the identify limit.
    gateway: GatewaySettings,
    /// When each identify bucket last accepted an IDENTIFY.
    last_identify: HashMap<u32, Instant>,
    /// Whether the bot's application has the Server Members intent (a privileged intent,
    /// switched on in the Developer Portal): without it Discord refuses to list a guild's
    /// members and closes a gateway session that asks for GUILD_MEMBERS (a test may take it
    /// away).
    members_intent: bool,
    /// Open pages.
    page: broadcast::Sender<PageEvent>,
    /// What happened.
    pub record: Record,
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    /// One empty guild ([`GUILD_ID`], owned by the administrator persona) where the bot may
    /// manage channels and roles; no bot connected.
    pub fn new() -> Self {
        Self::with_guilds(1)
    }

    /// `count` empty guilds (at least one) with the same people, [`GUILD_ID`] first and
    /// [`guild_id`]`(k)` next, named as [`guild_name`] says; no bot connected.
    pub fn with_guilds(count: usize) -> Self {
        let count = count.max(1);
        let guilds = (0..count)
            .map(|k| {
                let id = guild_id(k);
                (id, Guild::new(id, &guild_name(k, count), ADMIN_ID))
            })
            .collect();
        Self {
            guilds,
            dm_channels: Vec::new(),
            global_commands: Vec::new(),
            messages: HashMap::new(),
            message_channels: HashMap::new(),
            interactions: HashMap::new(),
            modals: BTreeMap::new(),
            files: HashMap::new(),
            typing_until: HashMap::new(),
            closed_dms: HashSet::new(),
            faults: faults::Faults::default(),
            last_id: FIRST_ID,
            gateways: Vec::new(),
            gateway: GatewaySettings::default(),
            last_identify: HashMap::new(),
            members_intent: true,
            page: broadcast::channel(PAGE_EVENTS_BUFFERED).0,
            record: Record::default(),
        }
    }

    /// A new snowflake, larger than every earlier one (Discord IDs grow with time).
    pub fn next_id(&mut self) -> u64 {
        self.last_id += 1;
        self.last_id
    }

    /// Guild `id`.
    pub fn guild(&self, id: u64) -> Option<&Guild> {
        self.guilds.get(&id)
    }

    /// Guild `id`, to change it.
    pub fn guild_mut(&mut self, id: u64) -> Option<&mut Guild> {
        self.guilds.get_mut(&id)
    }

    /// Every guild, by ID.
    pub fn guilds(&self) -> impl Iterator<Item = &Guild> {
        self.guilds.values()
    }

    /// How many guilds there are.
    pub fn guild_count(&self) -> usize {
        self.guilds.len()
    }

    /// The sandbox's guild ([`GUILD_ID`]), which always exists.
    pub fn home(&self) -> &Guild {
        &self.guilds[&GUILD_ID]
    }

    /// The sandbox's guild, to change it.
    pub fn home_mut(&mut self) -> &mut Guild {
        self.guilds
            .get_mut(&GUILD_ID)
            .expect("the sandbox's guild always exists")
    }

    /// The DM channels the bot opened.
    pub fn dm_channels(&self) -> &[DmChannel] {
        &self.dm_channels
    }

    /// The commands registered for every guild.
    pub fn global_commands(&self) -> &[Command] {
        &self.global_commands
    }

    /// A guild channel or DM channel by ID.
    pub fn channel(&self, id: u64) -> Option<ChannelRef<'_>> {
        self.guilds
            .values()
            .find_map(|g| g.channel(id))
            .map(ChannelRef::Guild)
            .or_else(|| {
                self.dm_channels
                    .iter()
                    .find(|c| c.id == id)
                    .map(ChannelRef::Dm)
            })
    }

    /// The guild holding channel `id`.
    pub fn guild_of(&self, channel: u64) -> Option<&Guild> {
        self.guilds.values().find(|g| g.channel(channel).is_some())
    }

    /// The guild holding channel `id`, to change it.
    pub fn guild_of_mut(&mut self, channel: u64) -> Option<&mut Guild> {
        self.guilds
            .values_mut()
            .find(|g| g.channel(channel).is_some())
    }

    /// The guild an interaction in `channel` comes from: the channel's, or the sandbox's for a
    /// DM (the bot reads the member of every interaction).
    pub fn guild_for(&self, channel: u64) -> &Guild {
        self.guild_of(channel).unwrap_or_else(|| self.home())
    }

    /// The DM channel between the bot and `user`, once the bot opened it.
    pub fn dm_channel_with(&self, user: u64) -> Option<&DmChannel> {
        self.dm_channels
            .iter()
            .find(|c| c.recipient() == Some(user))
    }

    /// Whether `user` may see `channel` (permission overwrites applied, as Discord does; a DM
    /// only by its recipient).
    pub fn can_view(&self, user: u64, channel: ChannelRef<'_>) -> bool {
        match channel {
            ChannelRef::Dm(dm) => dm.recipients.iter().any(|u| u.id == user),
            ChannelRef::Guild(channel) => self
                .guild(channel.guild_id)
                .is_some_and(|g| g.can_view(user, channel)),
        }
    }

    /// Whether `user` may see channel `id`.
    pub fn can_see(&self, user: u64, channel: u64) -> bool {
        self.channel(channel)
            .is_some_and(|c| self.can_view(user, c))
    }

    /// The member object of `user` in the guild of `channel` (the sandbox's for a DM).
    pub fn member_in(&self, channel: u64, user: u64) -> Member {
        self.guild_for(channel).member(user)
    }

    /// Whether the bot has a gateway session.
    pub fn bot_connected(&self) -> bool {
        !self.gateways.is_empty()
    }

    /// Whether the bot has a session on the shard of guild `guild`.
    pub fn guild_connected(&self, guild: u64) -> bool {
        self.gateways.iter().any(|s| s.shard.holds(Some(guild)))
    }

    /// How many gateway sessions the bot has.
    pub fn sessions(&self) -> usize {
        self.gateways.len()
    }

    /// The shard of each gateway session, in the order they identified.
    pub fn session_shards(&self) -> Vec<crate::model::gateway::Shard> {
        self.gateways.iter().map(|s| s.shard).collect()
    }

    /// Sends `event` to the bot's sessions on its guild's shard; `false` when none took it.
    pub fn send_event(&self, event: Event) -> bool {
        self.send_dispatch(Dispatch::from(event))
    }

    /// Sends a dispatch to every session of the bot that receives it (the shard of its guild;
    /// shard 0 for a DM's); `false` when none took it.
    pub fn send_dispatch(&self, dispatch: Dispatch) -> bool {
        let mut sent = false;
        for session in self.gateways.iter().filter(|s| s.receives(&dispatch)) {
            sent |= session.sender.send(dispatch.clone()).is_ok();
        }
        sent
    }

    /// [`World::send_dispatch`], failing when the bot is not connected.
    pub fn dispatch(&self, dispatch: impl Into<Dispatch>) -> Result<(), SandboxError> {
        if self.send_dispatch(dispatch.into()) {
            Ok(())
        } else {
            Err(SandboxError::BotNotConnected)
        }
    }

    /// Tells open pages that something in `channel` (or anywhere, for `None`) changed.
    pub fn page_changed(&self, channel: Option<u64>) {
        // No page open is the normal case: nobody to tell.
        let _ = self.page.send(PageEvent::changed(channel));
    }

    /// A stream of what changes, for one open page.
    pub fn page_events(&self) -> broadcast::Receiver<PageEvent> {
        self.page.subscribe()
    }

    /// From now on `user` accepts no DMs from the bot.
    pub fn close_dms(&mut self, user: u64) {
        self.closed_dms.insert(user);
    }

    /// Takes Manage Channels away from the bot in the sandbox's guild.
    pub fn revoke_manage_channels(&mut self) {
        self.home_mut().bot_can_manage_channels = false;
    }

    /// Takes Manage Roles away from the bot in the sandbox's guild.
    pub fn revoke_manage_roles(&mut self) {
        self.home_mut().bot_can_manage_roles = false;
    }

    /// Guild `guild`, or the page's error naming it.
    pub fn known_guild(&self, guild: u64) -> Result<&Guild, SandboxError> {
        self.guild(guild).ok_or(SandboxError::UnknownGuild(guild))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{event::Event, ids::SUPPORT_ID, role::Role};

    #[test]
    fn ids_grow_and_start_above_every_fixed_id() {
        let mut world = World::new();
        let (a, b) = (world.next_id(), world.next_id());
        assert!(a > SUPPORT_ID && b > a);
    }

    #[test]
    fn events_reach_a_connected_bot_only() {
        let mut world = World::new();
        let role = Event::GuildRoleCreate(Box::new(crate::model::event::RoleCreate {
            guild_id: GUILD_ID,
            role: Role::new(6, "x"),
        }));
        assert!(!world.send_event(role.clone()));
        assert_eq!(
            world.dispatch(role.clone()),
            Err(SandboxError::BotNotConnected)
        );
        let (tx, mut rx) = mpsc::unbounded_channel();
        world.gateways.push(Session::all(tx));
        assert!(world.send_event(role));
        assert_eq!(rx.try_recv().unwrap().name, "GUILD_ROLE_CREATE");
    }

    #[test]
    fn several_guilds_share_the_people_and_keep_the_first_as_home() {
        let world = World::with_guilds(3);
        let ids: Vec<u64> = world.guilds().map(|g| g.id).collect();
        assert_eq!(ids, [guild_id(0), guild_id(1), guild_id(2)]);
        assert_eq!(world.home().id, GUILD_ID);
        assert_eq!(world.guild(guild_id(1)).unwrap().name, "Sandbox 2");
        assert_eq!(World::new().home().name, GUILD_NAME);
        assert!(world
            .guilds()
            .all(|g| g.members.len() == 4 && g.owner_id == ADMIN_ID));
        assert_eq!(
            world.known_guild(1).unwrap_err(),
            SandboxError::UnknownGuild(1)
        );
    }
}
