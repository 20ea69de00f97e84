//! The sandbox's state: the guild as it is now (channels, roles, members, messages, registered
//! commands, interactions), every REST call and gateway event so far, and the live gateway
//! session, shared by the REST routes, the gateway, the page and the [`crate::Sandbox`] handle.

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    sync::Mutex,
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc, Notify};
use tokio_util::sync::CancellationToken;

use crate::{
    fixtures,
    rate_limit::{Limiter, RateLimits},
    rest::StoredFile,
    users::{Persona, PERSONAS},
    visibility, Dispatched, Recorded,
};

/// The first snowflake handed out is one more than this: larger than every fixed ID.
const FIRST_ID: u64 = 900_000_000_000_000_000;
/// How many page events may wait for a slow page before it misses some (it then reloads all).
const PAGE_EVENTS_BUFFERED: usize = 256;
/// Name of the role whose creation makes the Support persona a member of it.
pub(crate) const SUPPORT_ROLE: &str = "Support";

/// A message as the page shows it: the Discord object plus who may see it.
#[derive(Debug, Clone)]
pub(crate) struct StoredMessage {
    /// The Message object, as Discord would return it.
    pub(crate) message: Value,
    /// An ephemeral interaction answer: only this user sees it.
    pub(crate) only_for: Option<u64>,
    /// When it was created (milliseconds since the Unix epoch), for the page.
    pub(crate) sent_at_ms: u128,
    /// For an interaction's answer: which command, run by whom (shown by the page only).
    pub(crate) interaction: Option<Value>,
}

/// One interaction sent to the bot, by its token.
#[derive(Debug, Clone)]
pub(crate) struct InteractionState {
    /// The interaction's ID.
    pub(crate) id: u64,
    /// The channel it was run in.
    pub(crate) channel: u64,
    /// Who ran it.
    pub(crate) user: u64,
    /// The command's name, or the button's custom ID.
    pub(crate) name: String,
    /// The message created by its response (the deferred "thinking" one, then the answer).
    pub(crate) original: Option<u64>,
    /// The message whose button was pressed (component interactions).
    pub(crate) source_message: Option<u64>,
    /// Whether the bot answered the callback yet.
    pub(crate) acknowledged: bool,
}

/// The guild and the record of what happened to it.
pub(crate) struct World {
    pub(crate) requests: Vec<Recorded>,
    pub(crate) rate_limited: Vec<Recorded>,
    pub(crate) dispatched: Vec<Dispatched>,
    pub(crate) channels: Vec<Value>,
    pub(crate) dm_channels: Vec<Value>,
    pub(crate) roles: Vec<Value>,
    /// The role IDs of each persona (the bot has none).
    pub(crate) member_roles: HashMap<u64, Vec<u64>>,
    pub(crate) messages: Vec<StoredMessage>,
    /// The slash commands as the bot registered them (guild or global).
    pub(crate) commands: Vec<Value>,
    pub(crate) interactions: HashMap<String, InteractionState>,
    /// Until when the bot shows "typing" in each channel.
    pub(crate) typing_until: HashMap<u64, Instant>,
    last_id: u64,
    pub(crate) can_manage_channels: bool,
    pub(crate) can_manage_roles: bool,
    /// Where to send dispatch events for the connected bot.
    pub(crate) gateway: Option<mpsc::UnboundedSender<(String, Value)>>,
    pub(crate) identifies: usize,
    pub(crate) limiter: Limiter,
    /// Files the bot uploaded, by attachment ID.
    pub(crate) files: HashMap<u64, StoredFile>,
    /// REST calls (method, path suffix) to leave unanswered once each, like a stalled Discord.
    pub(crate) stalls: Vec<(String, String)>,
    /// Users who accept no DMs from the bot (privacy settings, or the bot blocked).
    pub(crate) closed_dms: HashSet<u64>,
}

impl World {
    /// An empty guild where the bot may manage channels and roles.
    fn new(limits: RateLimits) -> Self {
        Self {
            requests: Vec::new(),
            rate_limited: Vec::new(),
            dispatched: Vec::new(),
            channels: Vec::new(),
            dm_channels: Vec::new(),
            roles: Vec::new(),
            member_roles: PERSONAS.iter().map(|p| (p.id, Vec::new())).collect(),
            messages: Vec::new(),
            commands: Vec::new(),
            interactions: HashMap::new(),
            typing_until: HashMap::new(),
            last_id: FIRST_ID,
            can_manage_channels: true,
            can_manage_roles: true,
            gateway: None,
            identifies: 0,
            limiter: Limiter::new(limits),
            files: HashMap::new(),
            stalls: Vec::new(),
            closed_dms: HashSet::new(),
        }
    }

    /// A new snowflake, larger than every earlier one (Discord IDs grow with time).
    pub(crate) fn next_id(&mut self) -> u64 {
        self.last_id += 1;
        self.last_id
    }

    /// Sends a dispatch event to the bot when it is connected; `false` when it is not.
    pub(crate) fn send_event(&self, name: &str, data: Value) -> bool {
        self.gateway
            .as_ref()
            .is_some_and(|gateway| gateway.send((name.to_owned(), data)).is_ok())
    }

    /// A guild channel or DM channel by ID.
    pub(crate) fn channel(&self, id: u64) -> Option<&Value> {
        let id = id.to_string();
        self.channels
            .iter()
            .chain(&self.dm_channels)
            .find(|c| c["id"] == id.as_str())
    }

    /// The DM channel between the bot and `user`, once the bot opened it.
    pub(crate) fn dm_channel_with(&self, user: u64) -> Option<&Value> {
        let user = user.to_string();
        self.dm_channels
            .iter()
            .find(|c| c["recipients"][0]["id"] == user.as_str())
    }

    /// Removes guild channel `id` and tells the bot (CHANNEL_DELETE); `None` when there is no
    /// such channel. Its messages stay in the record, for tests reading what was said.
    pub(crate) fn remove_channel(&mut self, id: u64) -> Option<Value> {
        let index = self.channels.iter().position(|c| id_of(c) == id)?;
        let removed = self.channels.remove(index);
        self.typing_until.remove(&id);
        self.send_event("CHANNEL_DELETE", removed.clone());
        Some(removed)
    }

    /// Removes role `id` from the guild and from its members and tells the bot
    /// (GUILD_ROLE_DELETE); `false` when there is no such role.
    pub(crate) fn remove_role(&mut self, id: u64) -> bool {
        let Some(index) = self.roles.iter().position(|r| id_of(r) == id) else {
            return false;
        };
        self.roles.remove(index);
        for roles in self.member_roles.values_mut() {
            roles.retain(|r| *r != id);
        }
        self.send_event("GUILD_ROLE_DELETE", fixtures::role_delete(&id.to_string()));
        true
    }

    /// Stores a message (shown on the page) and returns it.
    pub(crate) fn store_message(&mut self, message: Value, only_for: Option<u64>) -> Value {
        let sent_at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        self.messages.push(StoredMessage {
            message: message.clone(),
            only_for,
            sent_at_ms,
            interaction: None,
        });
        message
    }

    /// The stored message with this ID.
    pub(crate) fn message_mut(&mut self, id: u64) -> Option<&mut StoredMessage> {
        let id = id.to_string();
        self.messages
            .iter_mut()
            .find(|m| m.message["id"] == id.as_str())
    }

    /// Adds a role; the Support persona gets the role named "Support" (as an admin would give it).
    pub(crate) fn add_role(&mut self, role: Value) {
        if role["name"] == SUPPORT_ROLE {
            if let Some(roles) = self.member_roles.get_mut(&crate::SUPPORT_ID) {
                roles.push(id_of(&role));
            }
        }
        self.roles.push(role);
    }

    /// Whether `user` may see `channel` (permission overwrites applied, as Discord does).
    pub(crate) fn can_view(&self, user: u64, channel: &Value) -> bool {
        if channel["type"] == 1 {
            return channel["recipients"]
                .as_array()
                .is_some_and(|r| r.iter().any(|u| u["id"] == user.to_string().as_str()));
        }
        let member_roles = self.member_roles.get(&user).cloned().unwrap_or_default();
        let mut roles = vec![fixtures::everyone_role()];
        roles.extend(self.roles.iter().cloned());
        visibility::can_view(
            channel,
            &roles,
            &member_roles,
            user,
            user == crate::ADMIN_ID,
        )
    }

    /// The persona with this ID, if it is one.
    pub(crate) fn persona(id: u64) -> Option<&'static Persona> {
        PERSONAS.iter().find(|p| p.id == id)
    }

    /// The member object of a persona (or any user), with the roles it has now.
    pub(crate) fn member(&self, user: u64) -> Value {
        let roles: Vec<String> = self
            .member_roles
            .get(&user)
            .map(|r| r.iter().map(u64::to_string).collect())
            .unwrap_or_default();
        json!({
            "user": fixtures::user(user, user == crate::BOT_ID),
            "roles": roles,
            "deaf": false,
            "mute": false,
            "flags": 0,
            "joined_at": fixtures::TIMESTAMP,
        })
    }
}

/// What the server tasks and the handle share.
pub(crate) struct Shared {
    /// The bot token the sandbox accepts.
    pub(crate) token: String,
    /// Where the sandbox listens.
    pub(crate) addr: SocketAddr,
    pub(crate) world: Mutex<World>,
    /// Notified after each recorded REST call, for `wait_for`.
    pub(crate) changed: Notify,
    /// Told to the page after each change, so it can fetch what it shows again.
    pub(crate) page_events: broadcast::Sender<Value>,
    /// Cancelled when the server shuts down: ends the page's event streams and gateway sessions,
    /// which would otherwise keep a graceful shutdown waiting forever.
    pub(crate) closing: CancellationToken,
}

impl Shared {
    pub(crate) fn new(token: &str, addr: SocketAddr, limits: RateLimits) -> Self {
        Self {
            token: token.to_owned(),
            addr,
            world: Mutex::new(World::new(limits)),
            changed: Notify::new(),
            page_events: broadcast::channel(PAGE_EVENTS_BUFFERED).0,
            closing: CancellationToken::new(),
        }
    }

    pub(crate) fn world(&self) -> std::sync::MutexGuard<'_, World> {
        // The world stays usable even if a holder panicked (a test failing inside a lock).
        self.world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Tells open pages that something in `channel` (or the guild, for `None`) changed.
    pub(crate) fn page_changed(&self, channel: Option<u64>) {
        // No page open is the normal case: nobody to tell.
        let _ = self.page_events.send(json!({
            "kind": "changed",
            "channel_id": channel.map(|c| c.to_string()),
        }));
    }
}

/// The snowflake in an object's `id` string.
pub(crate) fn id_of(value: &Value) -> u64 {
    value["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("object with an id")
}
