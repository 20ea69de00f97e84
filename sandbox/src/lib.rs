//! A Discord stand-in for one guild, to try the ticket bot without Discord and to test it:
//! the REST routes and gateway events the bot uses, Discord's rate limits, and a web page where
//! you act as an administrator, a Support member or one of two members.
//!
//! Run it with `cargo run -p sandbox --bin discord-sandbox` (settings in [`SandboxSettings`]),
//! then point the bot at it with `DISCORD_PROXY_URL`; `scripts/run` does both when no
//! `DISCORD_TOKEN` is set. The page is at `/`.
//!
//! - `rest`: the REST routes, answered with the statuses and JSON error codes Discord gives
//!   (403 Missing Permissions when a permission was revoked, 50035 when a category holds 50
//!   channels, 30013 at 500 channels, 50007 for a DM to a user who closed them...); every call
//!   is recorded (method, path, JSON body). Uploaded files are served at their attachment URL.
//! - `message_query`: the `limit`/`before`/`after` paging of a channel's messages.
//! - [`rate_limit`]: the global limit and per-route buckets, their headers and 429s.
//! - `gateway`: the websocket gateway; `world`: the guild and the record; [`fixtures`]: the
//!   JSON of Discord's objects and events, unit-tested to deserialize into serenity's types.
//! - `visibility`: who sees which channel, from the permission overwrites.
//! - `page`: the web page (`static/`) and its JSON API, with live updates over SSE.
//!
//! [`Sandbox`] is the handle: tests arrange the guild, inject MESSAGE_CREATE and
//! INTERACTION_CREATE with [`Sandbox::dispatch`], and read what the bot did.

mod gateway;
mod message_query;
mod page;
mod rest;
mod settings;
mod users;
mod visibility;
mod world;

pub mod fixtures;
pub mod rate_limit;

pub use rate_limit::{Limit, RateLimits};
pub use settings::SandboxSettings;
pub use users::{Persona, ADMIN_ID, MEMBER_A_ID, MEMBER_B_ID, PERSONAS, SUPPORT_ID};

use std::{
    future::Future,
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    http::Method,
    routing::{any, get},
    Router,
};
use serde_json::{json, Value};

use fixtures::CommandOption;
use world::{id_of, InteractionState, Shared, World};

/// The guild the bot sits in.
pub const GUILD_ID: u64 = 100_000_000_000_000_001;
/// The bot's application (and user) ID.
pub const APP_ID: u64 = 200_000_000_000_000_002;
/// The bot user's ID (bots share their application's ID).
pub const BOT_ID: u64 = APP_ID;
/// Discord's limit of channels per category.
pub const CATEGORY_LIMIT: usize = 50;
/// Discord's limit of channels per guild.
pub const GUILD_CHANNEL_LIMIT: usize = 500;
/// How long `wait_for` waits before failing the test: with Discord's rate limits, 18 messages
/// in one channel alone take 15 seconds to post (5 per 5 seconds).
pub const WAIT: Duration = Duration::from_secs(60);

/// One REST call the bot made.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET`, `POST`...
    pub method: Method,
    /// The path, starting with `/api/v10/`.
    pub path: String,
    /// The JSON body, `Null` when there was none.
    pub body: Value,
    /// When it arrived.
    pub at: Instant,
    /// The status the fake answered.
    pub status: u16,
}

/// An event the fake sent over the gateway.
#[derive(Debug, Clone)]
pub struct Dispatched {
    /// `MESSAGE_CREATE`...
    pub name: String,
    /// The `id` of its data.
    pub id: String,
    /// When it was written to the socket.
    pub at: Instant,
}

/// How to start a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// The bot token the sandbox accepts.
    pub token: String,
    /// The rate limits it enforces ([`RateLimits::discord`] unless told otherwise).
    pub rate_limits: RateLimits,
    /// Start with a #general channel, as a new guild has (the page needs somewhere to run
    /// commands); tests start with an empty guild.
    pub general_channel: bool,
}

impl SandboxOptions {
    /// An empty guild accepting `token`, with Discord's rate limits.
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            rate_limits: RateLimits::discord(),
            general_channel: false,
        }
    }

    /// These rate limits instead.
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }

    /// Starts with a #general channel.
    pub fn with_general_channel(mut self) -> Self {
        self.general_channel = true;
        self
    }
}

impl From<&str> for SandboxOptions {
    fn from(token: &str) -> Self {
        Self::new(token)
    }
}

/// Why a page action failed; the page shows the message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SandboxError {
    /// The bot has no gateway session: start it with `DISCORD_PROXY_URL` pointing here.
    #[error("the bot is not connected to the sandbox: start it with DISCORD_PROXY_URL set to this sandbox's address")]
    BotNotConnected,
    /// No such channel, or not one this user can see.
    #[error("channel {0} does not exist or this user cannot see it")]
    UnknownChannel(u64),
    /// No such message in that channel.
    #[error("message {0} does not exist")]
    UnknownMessage(u64),
    /// No such user to act as.
    #[error("no such user {0:?}: use admin, support, member-a or member-b")]
    UnknownUser(String),
    /// The bot registered no command of that name (or this user may not use it).
    #[error("the bot has no command /{0} for this user")]
    UnknownCommand(String),
    /// An empty message.
    #[error("write something first: Discord does not send empty messages")]
    EmptyMessage,
    /// A message longer than Discord allows.
    #[error("a message holds at most 2000 characters")]
    MessageTooLong,
}

/// A running sandbox (or one about to be served by [`run`]); clones share it. The one made by
/// [`Sandbox::start`] stops when its last clone is dropped.
#[derive(Clone)]
pub struct Sandbox {
    shared: Arc<Shared>,
    _server: Option<Arc<ServerTask>>,
}

struct ServerTask(tokio::task::JoinHandle<()>);

impl Drop for ServerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The router: Discord's REST API under `/api/v10`, the gateway at `/gateway`, the page at `/`.
pub fn app(sandbox: &Sandbox) -> Router {
    Router::new()
        .route("/gateway", get(gateway::gateway))
        .route("/api/v10/{*rest}", any(rest::rest))
        .merge(page::routes())
        .with_state(Arc::clone(&sandbox.shared))
}

/// Serves `sandbox` on `listener` until `shutdown` completes.
pub async fn run(
    listener: tokio::net::TcpListener,
    sandbox: Sandbox,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let closing = sandbox.shared.closing.clone();
    axum::serve(listener, app(&sandbox))
        .with_graceful_shutdown(async move {
            shutdown.await;
            closing.cancel();
        })
        .await
}

impl Sandbox {
    /// A sandbox whose address will be `addr` (where the caller bound its listener); serve it
    /// with [`run`].
    pub fn new(options: impl Into<SandboxOptions>, addr: SocketAddr) -> Self {
        let options = options.into();
        let sandbox = Self {
            shared: Arc::new(Shared::new(&options.token, addr, options.rate_limits)),
            _server: None,
        };
        if options.general_channel {
            sandbox.add_text_channel("general", None);
        }
        sandbox
    }

    /// Starts a sandbox on 127.0.0.1 (a free port), e.g. `Sandbox::start("token")`: an empty
    /// guild accepting that bot token, with Discord's rate limits.
    pub async fn start(options: impl Into<SandboxOptions>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let mut sandbox = Self::new(options, addr);
        let served = sandbox.clone();
        let server = tokio::spawn(async move {
            if let Err(err) = run(listener, served, std::future::pending()).await {
                tracing::error!(error = %err, "the sandbox stopped serving");
            }
        });
        sandbox._server = Some(Arc::new(ServerTask(server)));
        sandbox
    }

    /// `http://127.0.0.1:PORT`, the bot's `DISCORD_PROXY_URL` and the page's address.
    pub fn url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.shared.world()
    }

    /// Adds a category channel to the guild.
    pub fn add_category(&self, name: &str) -> u64 {
        self.add_channel(name, 4, None)
    }

    /// Adds a text channel to the guild, under `parent` when given.
    pub fn add_text_channel(&self, name: &str, parent: Option<u64>) -> u64 {
        self.add_channel(name, 0, parent)
    }

    fn add_channel(&self, name: &str, kind: u64, parent: Option<u64>) -> u64 {
        let id = {
            let mut world = self.world();
            let id = world.next_id();
            let channel = fixtures::channel(id, kind, name, parent, json!([]));
            world.channels.push(channel);
            id
        };
        self.shared.page_changed(None);
        id
    }

    /// Adds a text channel that only `user` (and administrators, and the bot) can see, as a
    /// ticket channel is.
    pub fn add_private_channel(&self, name: &str, parent: Option<u64>, user: u64) -> u64 {
        let id = self.add_text_channel(name, parent);
        let view = visibility::VIEW_CHANNEL.to_string();
        let overwrites = json!([
            { "id": GUILD_ID.to_string(), "type": 0, "allow": "0", "deny": view },
            { "id": user.to_string(), "type": 1, "allow": view, "deny": "0" },
            { "id": BOT_ID.to_string(), "type": 1, "allow": view, "deny": "0" },
        ]);
        let mut world = self.world();
        if let Some(channel) = world.channels.iter_mut().find(|c| id_of(c) == id) {
            channel["permission_overwrites"] = overwrites;
        }
        id
    }

    /// Adds a role to the guild (the Support persona gets one named "Support").
    pub fn add_role(&self, name: &str) -> u64 {
        let mut world = self.world();
        let id = world.next_id();
        world.add_role(fixtures::role(id, name));
        id
    }

    /// Calls refused with 429 so far (they are not in [`Sandbox::requests`]).
    pub fn rate_limited(&self) -> Vec<Recorded> {
        self.world().rate_limited.clone()
    }

    /// The messages of a channel as stored (ephemeral answers included), oldest first.
    pub fn messages(&self, channel_id: u64) -> Vec<Value> {
        let id = channel_id.to_string();
        self.world()
            .messages
            .iter()
            .filter(|m| m.message["channel_id"] == id.as_str())
            .map(|m| m.message.clone())
            .collect()
    }

    /// Whether `user` can see channel `channel_id` (permission overwrites applied).
    pub fn can_see(&self, user: u64, channel_id: u64) -> bool {
        let world = self.world();
        world
            .channel(channel_id)
            .is_some_and(|channel| world.can_view(user, channel))
    }

    /// The messages the bot posted in its DM channel with `user_id` (attachments included),
    /// oldest first; none when it never opened one.
    pub fn dm_messages(&self, user_id: u64) -> Vec<Value> {
        let world = self.world();
        let Some(channel) = world.dm_channel_with(user_id).map(|c| c["id"].clone()) else {
            return Vec::new();
        };
        let bot = BOT_ID.to_string();
        world
            .messages
            .iter()
            .filter(|m| m.message["channel_id"] == channel && m.message["author"]["id"] == *bot)
            .map(|m| m.message.clone())
            .collect()
    }

    /// From now on `user_id` accepts no DMs from the bot, as when they turned DMs from server
    /// members off or blocked it: the bot may still open the DM channel, but posting in it gets
    /// Discord's 403 `{"code": 50007, "message": "Cannot send messages to this user"}`.
    pub fn close_dms(&self, user_id: u64) {
        self.world().closed_dms.insert(user_id);
    }

    /// The bytes of a file the bot uploaded, by its attachment ID or its URL (as the sandbox
    /// answered them), exactly as they arrived; `None` for an unknown one.
    pub fn attachment_bytes(&self, url_or_id: &str) -> Option<Vec<u8>> {
        // ".../attachments/{id}/{filename}", or the ID alone.
        let id = match url_or_id.split_once("/attachments/") {
            Some((_, rest)) => rest.split('/').next().unwrap_or_default(),
            None => url_or_id,
        };
        let id: u64 = id.parse().ok()?;
        self.world().files.get(&id).map(|file| file.bytes.to_vec())
    }

    /// Deletes channel `id` as a server administrator would: gone from the guild, CHANNEL_DELETE
    /// sent to the bot, the page updated; `false` when there was no such channel.
    pub fn delete_channel(&self, id: u64) -> bool {
        let removed = self.world().remove_channel(id).is_some();
        self.shared.page_changed(None);
        removed
    }

    /// Deletes role `id` as a server administrator would: gone from the guild and from its
    /// members, GUILD_ROLE_DELETE sent to the bot, the page updated; `false` when there was
    /// no such role.
    pub fn delete_role(&self, id: u64) -> bool {
        let removed = self.world().remove_role(id);
        self.shared.page_changed(None);
        removed
    }

    /// Whether the bot has a gateway session.
    pub fn bot_connected(&self) -> bool {
        self.world().gateway.is_some()
    }

    /// Takes Manage Channels away from the bot: creating channels gets 403 Missing Permissions.
    pub fn revoke_manage_channels(&self) {
        self.world().can_manage_channels = false;
    }

    /// Takes Manage Roles away from the bot: creating roles gets 403 Missing Permissions.
    pub fn revoke_manage_roles(&self) {
        self.world().can_manage_roles = false;
    }

    /// The guild's channels now.
    pub fn channels(&self) -> Vec<Value> {
        self.world().channels.clone()
    }

    /// The guild's roles now.
    pub fn roles(&self) -> Vec<Value> {
        self.world().roles.clone()
    }

    /// Every REST call so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.world().requests.clone()
    }

    /// REST calls with this method whose path ends with `suffix`.
    pub fn calls(&self, method: Method, suffix: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method && r.path.ends_with(suffix))
            .collect()
    }

    /// Messages the bot posted in `channel_id`, in order.
    pub fn posted_messages(&self, channel_id: u64) -> Vec<Recorded> {
        self.calls(Method::POST, &format!("/channels/{channel_id}/messages"))
    }

    /// Events sent over the gateway so far.
    pub fn dispatched(&self) -> Vec<Dispatched> {
        self.world().dispatched.clone()
    }

    /// How many times the bot identified.
    pub fn identifies(&self) -> usize {
        self.world().identifies
    }

    /// Waits (without sleeping) until `check` finds what it wants in the recorded calls.
    pub async fn wait_for<T>(&self, what: &str, check: impl Fn(&[Recorded]) -> Option<T>) -> T {
        self.wait_for_within(WAIT, what, check).await
    }

    /// [`Sandbox::wait_for`], failing after `limit` instead of [`WAIT`].
    pub async fn wait_for_within<T>(
        &self,
        limit: Duration,
        what: &str,
        check: impl Fn(&[Recorded]) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if let Some(found) = check(&self.world().requests) {
                return found;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                panic!(
                    "timed out waiting for {what}; calls so far:\n{}",
                    describe(&self.requests())
                );
            }
        }
    }

    /// Waits until the bot has identified and registered its commands (its `ready` ran).
    pub async fn wait_until_ready(&self) {
        self.wait_for("the slash command registration", |calls| {
            calls
                .iter()
                .any(|c| c.method == Method::PUT && c.path.ends_with("/commands"))
                .then_some(())
        })
        .await;
    }

    /// Sends a dispatch event to the connected bot; panics when it is not connected.
    pub fn dispatch(&self, name: &str, data: Value) {
        self.try_dispatch(name, data)
            .expect("the bot is connected to the gateway");
    }

    /// Sends a dispatch event to the connected bot.
    pub fn try_dispatch(&self, name: &str, data: Value) -> Result<(), SandboxError> {
        if self.world().send_event(name, data) {
            Ok(())
        } else {
            Err(SandboxError::BotNotConnected)
        }
    }

    /// Sends an interaction for a slash command and returns its ID.
    pub fn run_command(&self, name: &str, user_id: u64, administrator: bool) -> u64 {
        // Commands are run from some text channel of the guild (or one that is not cached).
        let channel = self
            .world()
            .channels
            .iter()
            .find(|c| c["type"] == 0)
            .map_or(GUILD_ID + 1, id_of);
        let id = self.fresh_id();
        let interaction = fixtures::interaction_create(id, name, user_id, administrator, channel);
        self.register_interaction(id, channel, user_id, name, None);
        self.dispatch("INTERACTION_CREATE", interaction);
        id
    }

    /// Runs slash command `name` as persona `user` in `channel_id`, with string `options`.
    pub fn run_command_as(
        &self,
        user: &Persona,
        name: &str,
        channel_id: u64,
        options: &[(String, String)],
    ) -> Result<u64, SandboxError> {
        let options: Vec<CommandOption> = options
            .iter()
            .map(|(name, value)| CommandOption::String(name.clone(), value.clone()))
            .collect();
        self.run_command_with(user, name, channel_id, &options)
    }

    /// Runs slash command `name` as persona `user` in `channel_id`, with options of any type: a
    /// [`CommandOption::User`] arrives as Discord sends it, the user's ID with the user and their
    /// member object in `data.resolved`.
    pub fn run_command_with(
        &self,
        user: &Persona,
        name: &str,
        channel_id: u64,
        options: &[CommandOption],
    ) -> Result<u64, SandboxError> {
        let (member, resolved) = {
            let world = self.world();
            if world.gateway.is_none() {
                return Err(SandboxError::BotNotConnected);
            }
            let visible = world
                .channel(channel_id)
                .is_some_and(|c| world.can_view(user.id, c));
            if !visible {
                return Err(SandboxError::UnknownChannel(channel_id));
            }
            let allowed = page::commands_for(&world, user)
                .iter()
                .any(|c| c["name"] == name);
            if !allowed {
                return Err(SandboxError::UnknownCommand(name.to_owned()));
            }
            let resolved: Vec<Value> = options
                .iter()
                .filter_map(|option| match option {
                    CommandOption::User(_, id) => Some(world.member(*id)),
                    CommandOption::String(..) => None,
                })
                .collect();
            (world.member(user.id), resolved)
        };
        let id = self.fresh_id();
        let interaction = fixtures::command_interaction_with(
            id,
            name,
            &member,
            user.administrator,
            channel_id,
            options,
            &resolved,
        );
        self.register_interaction(id, channel_id, user.id, name, None);
        self.try_dispatch("INTERACTION_CREATE", interaction)?;
        Ok(id)
    }

    /// Presses the button `custom_id` of message `message_id` as persona `user`.
    pub fn press_button(
        &self,
        user: &Persona,
        message_id: u64,
        custom_id: &str,
    ) -> Result<u64, SandboxError> {
        let message = {
            let world = self.world();
            let stored = world
                .messages
                .iter()
                .find(|m| m.message["id"] == message_id.to_string().as_str())
                .ok_or(SandboxError::UnknownMessage(message_id))?;
            let channel = stored.message["channel_id"]
                .as_str()
                .and_then(|c| c.parse().ok())
                .unwrap_or_default();
            let visible = world
                .channel(channel)
                .is_some_and(|c| world.can_view(user.id, c));
            if !visible || stored.only_for.is_some_and(|u| u != user.id) {
                return Err(SandboxError::UnknownMessage(message_id));
            }
            stored.message.clone()
        };
        let channel = message["channel_id"]
            .as_str()
            .and_then(|c| c.parse().ok())
            .unwrap_or_default();
        let id = self.fresh_id();
        let interaction =
            fixtures::component_interaction(id, custom_id, user.id, user.administrator, &message);
        self.register_interaction(id, channel, user.id, custom_id, Some(message_id));
        self.try_dispatch("INTERACTION_CREATE", interaction)?;
        Ok(id)
    }

    fn register_interaction(
        &self,
        id: u64,
        channel: u64,
        user: u64,
        name: &str,
        source_message: Option<u64>,
    ) {
        self.world().interactions.insert(
            fixtures::interaction_token(id),
            InteractionState {
                id,
                channel,
                user,
                name: name.to_owned(),
                original: None,
                source_message,
                acknowledged: false,
            },
        );
    }

    /// Whether the bot answered interaction `id` (its callback arrived).
    pub fn acknowledged(&self, interaction_id: u64) -> bool {
        self.world()
            .interactions
            .get(&fixtures::interaction_token(interaction_id))
            .is_some_and(|i| i.acknowledged)
    }

    /// Sends a message from a human and returns its ID.
    pub fn send_message(&self, channel_id: u64, author_id: u64, content: &str) -> u64 {
        self.send(fixtures::MessageSpec::human(channel_id, author_id, content))
    }

    /// Sends a message described by `spec` (its `id` is filled in) and returns its ID.
    pub fn send(&self, spec: fixtures::MessageSpec) -> u64 {
        self.try_send(spec)
            .expect("the bot is connected to the gateway")
    }

    /// Leaves the next REST call with this method whose path ends with `suffix` unanswered
    /// (until the sandbox closes), like a stalled Discord call.
    pub fn stall_next(&self, method: Method, suffix: &str) {
        self.world()
            .stalls
            .push((method.as_str().to_owned(), suffix.to_owned()));
    }

    /// Stores a message from a human in `channel_id` without telling the bot, as Discord does
    /// with messages sent while the bot is offline; returns its ID. Dispatches nothing.
    pub fn post_offline(&self, channel_id: u64, author_id: u64, content: &str) -> u64 {
        let id = {
            let mut world = self.world();
            let spec = fixtures::MessageSpec::human(channel_id, author_id, content);
            store_human_message(&mut world, spec).0
        };
        self.shared.page_changed(Some(channel_id));
        id
    }

    /// Stores `count` messages from a human in `channel_id` at once ("message 1", "message
    /// 2"..., oldest first) without telling the bot, as [`Sandbox::post_offline`] does; returns
    /// their IDs, oldest first. One lock and one page update for them all, so that a long
    /// ticket (a transcript benchmark's thousands of messages) is quick to make.
    pub fn seed_messages(&self, channel_id: u64, author_id: u64, count: usize) -> Vec<u64> {
        let ids = {
            let mut world = self.world();
            (1..=count)
                .map(|n| {
                    let content = format!("message {n}");
                    let spec = fixtures::MessageSpec::human(channel_id, author_id, &content);
                    store_human_message(&mut world, spec).0
                })
                .collect()
        };
        self.shared.page_changed(Some(channel_id));
        ids
    }

    /// [`Sandbox::send`], failing when the bot is not connected.
    pub fn try_send(&self, spec: fixtures::MessageSpec) -> Result<u64, SandboxError> {
        let channel = spec.channel_id;
        let (id, message) = store_human_message(&mut self.world(), spec);
        self.shared.page_changed(Some(channel));
        self.try_dispatch("MESSAGE_CREATE", message)?;
        Ok(id)
    }

    /// A new snowflake, larger than every earlier one (Discord IDs grow with time).
    pub fn fresh_id(&self) -> u64 {
        self.world().next_id()
    }

    /// Interaction callbacks recorded for interaction `id`.
    pub fn callbacks(&self, interaction_id: u64) -> Vec<Recorded> {
        let prefix = format!("/interactions/{interaction_id}/");
        self.requests()
            .into_iter()
            .filter(|r| r.path.contains(&prefix))
            .collect()
    }

    /// Waits for the final answer to interaction `id` (the edit of its deferred response, or
    /// an immediate message) and returns its content.
    pub async fn wait_for_answer(&self, interaction_id: u64) -> String {
        let token = fixtures::interaction_token(interaction_id);
        self.wait_for(
            &format!("the answer to interaction {interaction_id}"),
            |calls| {
                calls.iter().find_map(|c| {
                    let edit = c.method == Method::PATCH && c.path.contains(&token);
                    let immediate = c.path.contains(&format!("/interactions/{interaction_id}/"))
                        && c.body["type"] == 4;
                    if edit {
                        c.body["content"].as_str().map(str::to_owned)
                    } else if immediate {
                        c.body["data"]["content"].as_str().map(str::to_owned)
                    } else {
                        None
                    }
                })
            },
        )
        .await
    }
}

/// Stores a message from a human described by `spec` (its ID, and its attachments' IDs when 0,
/// filled in) and returns its ID and the Message object. In a DM channel it carries no guild or
/// member, as on Discord.
fn store_human_message(world: &mut World, mut spec: fixtures::MessageSpec) -> (u64, Value) {
    spec.id = world.next_id();
    for attachment in &mut spec.attachments {
        if attachment.id == 0 {
            attachment.id = world.next_id();
        }
    }
    let mut message = fixtures::message_create(&spec);
    let in_dm = world
        .channel(spec.channel_id)
        .is_some_and(|c| c["type"] == 1);
    if in_dm {
        message["guild_id"] = Value::Null;
        if let Some(fields) = message.as_object_mut() {
            fields.remove("member");
        }
    } else {
        // As on Discord, the author's member object carries the roles they have now.
        message["member"]["roles"] = world.member(spec.author_id)["roles"].clone();
    }
    (spec.id, world.store_message(message, None))
}

/// How long the page waits for the first answer to an interaction before showing an error, as
/// Discord shows "The application did not respond".
pub const INTERACTION_DEADLINE: Duration = Duration::from_secs(3);

/// The recorded calls, one per line, for failure messages.
pub fn describe(calls: &[Recorded]) -> String {
    calls
        .iter()
        .map(|c| format!("  {} {} {} {}", c.status, c.method, c.path, c.body))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeding_thousands_of_messages_tells_the_page_once() {
        let sandbox = Sandbox::new("token", SocketAddr::from(([127, 0, 0, 1], 0)));
        let channel = sandbox.add_text_channel("ticket", None);
        let mut page = sandbox.shared.page_events.subscribe();

        let ids = sandbox.seed_messages(channel, MEMBER_A_ID, 5_000);

        assert_eq!(ids.len(), 5_000);
        assert_eq!(
            page.try_recv().ok().map(|e| e["channel_id"].clone()),
            Some(json!(channel.to_string()))
        );
        assert!(page.try_recv().is_err(), "one event for them all");
        assert!(sandbox.dispatched().is_empty());
    }
}
