//! A fake Discord for the end-to-end tests: the REST routes the bot uses ([`rest`]) and a
//! websocket gateway ([`gateway`]), on 127.0.0.1:0, over one shared guild ([`world`]). Every
//! REST call is recorded (method, path, JSON body); answers have the shapes and statuses real
//! Discord gives, including its refusals (403 Missing Permissions when a permission was revoked,
//! 50035 when a category holds 50 channels, 30013 at 500 channels).
//!
//! [`FakeDiscord`] is the tests' handle: arrange the guild, inject MESSAGE_CREATE and
//! INTERACTION_CREATE with [`FakeDiscord::dispatch`], and read what the bot did; the JSON in
//! [`fixtures`] is unit-tested to deserialize into serenity's events.
//!
//! Self-contained on purpose (it depends on neither the bot nor the test helpers), so that it can
//! become a crate of its own.

mod gateway;
mod rest;
mod world;

pub mod fixtures;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    http::Method,
    routing::{any, get},
    Router,
};
use serde_json::{json, Value};

use world::{id_of, Shared, World};

/// The guild the bot sits in.
pub const GUILD_ID: u64 = 100_000_000_000_000_001;
/// The bot's application (and user) ID.
pub const APP_ID: u64 = 200_000_000_000_000_002;
/// The bot user's ID (bots share their application's ID).
pub const BOT_ID: u64 = APP_ID;
/// The guild's owner, an administrator.
pub const ADMIN_ID: u64 = 300_000_000_000_000_003;
/// Discord's limit of channels per category.
pub const CATEGORY_LIMIT: usize = 50;
/// Discord's limit of channels per guild.
pub const GUILD_CHANNEL_LIMIT: usize = 500;
/// How long `wait_for` waits before failing the test.
pub const WAIT: Duration = Duration::from_secs(20);

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

/// A running fake Discord; stops when dropped.
#[derive(Clone)]
pub struct FakeDiscord {
    shared: Arc<Shared>,
    _server: Arc<ServerTask>,
}

struct ServerTask(tokio::task::JoinHandle<()>);

impl Drop for ServerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl FakeDiscord {
    /// Starts a fake accepting the bot token `token`, with an empty guild.
    pub async fn start(token: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared::new(token, addr));
        let app = Router::new()
            .route("/gateway", get(gateway::gateway))
            .route("/api/v10/{*rest}", any(rest::rest))
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("fake discord serves");
        });
        Self {
            shared,
            _server: Arc::new(ServerTask(server)),
        }
    }

    /// `http://127.0.0.1:PORT`, the bot's `DISCORD_PROXY_URL`.
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
        let mut world = self.world();
        let id = world.next_id();
        let channel = fixtures::channel(id, kind, name, parent, json!([]));
        world.channels.push(channel);
        id
    }

    /// Adds a role to the guild.
    pub fn add_role(&self, name: &str) -> u64 {
        let mut world = self.world();
        let id = world.next_id();
        world.roles.push(fixtures::role(id, name));
        id
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
        let deadline = tokio::time::Instant::now() + WAIT;
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

    /// Sends a dispatch event to the connected bot.
    pub fn dispatch(&self, name: &str, data: Value) {
        let world = self.world();
        let gateway = world
            .gateway
            .as_ref()
            .expect("the bot is connected to the gateway");
        gateway
            .send((name.to_owned(), data))
            .expect("gateway connection open");
    }

    /// Sends an interaction for a slash command and returns its ID.
    pub fn run_command(&self, name: &str, user_id: u64, administrator: bool) -> u64 {
        let id = self.fresh_id();
        // Commands are run from some text channel of the guild (or one that is not cached).
        let channel = {
            let mut world = self.world();
            let channel = world
                .channels
                .iter()
                .find(|c| c["type"] == 0)
                .map_or(GUILD_ID + 1, id_of);
            world
                .interaction_channels
                .insert(fixtures::interaction_token(id), channel);
            channel
        };
        self.dispatch(
            "INTERACTION_CREATE",
            fixtures::interaction_create(id, name, user_id, administrator, channel),
        );
        id
    }

    /// Sends a message from a human and returns its ID.
    pub fn send_message(&self, channel_id: u64, author_id: u64, content: &str) -> u64 {
        self.send(fixtures::MessageSpec::human(channel_id, author_id, content))
    }

    /// Sends a message described by `spec` (its `id` is filled in) and returns its ID.
    pub fn send(&self, mut spec: fixtures::MessageSpec) -> u64 {
        spec.id = self.fresh_id();
        self.dispatch("MESSAGE_CREATE", fixtures::message_create(&spec));
        spec.id
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

/// The recorded calls, one per line, for failure messages.
pub fn describe(calls: &[Recorded]) -> String {
    calls
        .iter()
        .map(|c| format!("  {} {} {} {}", c.status, c.method, c.path, c.body))
        .collect::<Vec<_>>()
        .join("\n")
}
