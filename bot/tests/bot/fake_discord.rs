//! A fake Discord for the end-to-end tests: the REST routes the bot uses and a websocket gateway,
//! on 127.0.0.1:0. Every REST call is recorded (method, path, JSON body); answers have the
//! shapes and statuses real Discord gives, including its refusals (403 Missing Permissions when
//! a permission was revoked, 50035 when a category holds 50 channels, 30013 at 500 channels).
//!
//! The gateway speaks just enough of the protocol: HELLO, IDENTIFY (token checked) -> READY +
//! GUILD_CREATE, heartbeat ACK, RESUME answered with "invalid session" (a fresh IDENTIFY
//! follows). Tests inject MESSAGE_CREATE and INTERACTION_CREATE with [`FakeDiscord::dispatch`];
//! the fixtures in [`fixtures`] are unit-tested to deserialize into serenity's events.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    body::Bytes,
    extract::{
        ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade},
        State,
    },
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{any, get},
    Json, Router,
};
use serde_json::{json, Value};
use tokio::sync::{mpsc, Notify};

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

#[derive(Default)]
struct World {
    requests: Vec<Recorded>,
    dispatched: Vec<Dispatched>,
    channels: Vec<Value>,
    roles: Vec<Value>,
    next_id: u64,
    can_manage_channels: bool,
    can_manage_roles: bool,
    gateway: Option<mpsc::UnboundedSender<(String, Value)>>,
    identifies: usize,
    /// The channel each interaction token was used in, for its response messages.
    interaction_channels: std::collections::HashMap<String, u64>,
}

struct Shared {
    token: String,
    addr: SocketAddr,
    world: Mutex<World>,
    changed: Notify,
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
        let shared = Arc::new(Shared {
            token: token.to_owned(),
            addr,
            world: Mutex::new(World {
                next_id: 900_000_000_000_000_000,
                can_manage_channels: true,
                can_manage_roles: true,
                ..World::default()
            }),
            changed: Notify::new(),
        });
        let app = Router::new()
            .route("/gateway", get(gateway))
            .route("/api/v10/{*rest}", any(rest))
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
        self.shared.world.lock().expect("world")
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
        let id = next_id(&mut world);
        let channel = fixtures::channel(id, kind, name, parent, json!([]));
        world.channels.push(channel);
        id
    }

    /// Adds a role to the guild.
    pub fn add_role(&self, name: &str) -> u64 {
        let mut world = self.world();
        let id = next_id(&mut world);
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
        next_id(&mut self.world())
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

fn next_id(world: &mut World) -> u64 {
    world.next_id += 1;
    world.next_id
}

fn id_of(value: &Value) -> u64 {
    value["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("object with an id")
}

/// The recorded calls, one per line, for failure messages.
pub fn describe(calls: &[Recorded]) -> String {
    calls
        .iter()
        .map(|c| format!("  {} {} {} {}", c.status, c.method, c.path, c.body))
        .collect::<Vec<_>>()
        .join("\n")
}

fn discord_error(status: StatusCode, code: u64, message: &str) -> Response {
    (status, Json(json!({ "message": message, "code": code }))).into_response()
}

async fn rest(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let body_json: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| json!({ "unparsed": String::from_utf8_lossy(&body) }))
    };
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bot {}", shared.token));
    let response = if authorized {
        answer(&shared, &method, &path, &body_json)
    } else {
        discord_error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized")
    };
    {
        let mut world = shared.world.lock().expect("world");
        world.requests.push(Recorded {
            method,
            path,
            body: body_json,
            at: Instant::now(),
            status: response.status().as_u16(),
        });
    }
    shared.changed.notify_waiters();
    response
}

/// What Discord answers; `path` starts with `/api/v10`.
fn answer(shared: &Shared, method: &Method, path: &str, body: &Value) -> Response {
    let segments: Vec<&str> = path.trim_start_matches("/api/v10/").split('/').collect();
    let mut world = shared.world.lock().expect("world");
    let guild = GUILD_ID.to_string();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["gateway"]) => {
            Json(json!({ "url": format!("ws://{}/gateway", shared.addr) })).into_response()
        }
        ("PUT", ["applications", app, "commands"]) if *app == APP_ID.to_string() => {
            Json(fixtures::commands(body, None, &mut || next_id(&mut world))).into_response()
        }
        ("PUT", ["applications", app, "guilds", g, "commands"]) if *app == APP_ID.to_string() => {
            let g = g.parse().unwrap_or_default();
            Json(fixtures::commands(body, Some(g), &mut || {
                next_id(&mut world)
            }))
            .into_response()
        }
        ("POST", ["interactions", _id, _token, "callback"]) => {
            StatusCode::NO_CONTENT.into_response()
        }
        ("PATCH", ["webhooks", app, token, "messages", "@original"])
            if *app == APP_ID.to_string() =>
        {
            let Some(channel) = world.interaction_channels.get(*token).copied() else {
                return discord_error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook");
            };
            let id = next_id(&mut world);
            let mut message = fixtures::bot_message(id, channel, body);
            message["flags"] = json!(64);
            message["webhook_id"] = json!(APP_ID.to_string());
            Json(message).into_response()
        }
        ("POST", ["channels", channel, "typing"]) if find(&world.channels, channel).is_some() => {
            StatusCode::NO_CONTENT.into_response()
        }
        ("POST", ["channels", channel, "messages"]) => {
            let Some(channel_id) = find(&world.channels, channel).map(id_of) else {
                return discord_error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
            };
            let content = body["content"].as_str().unwrap_or_default();
            if content.trim().is_empty() {
                return discord_error(
                    StatusCode::BAD_REQUEST,
                    50006,
                    "Cannot send an empty message",
                );
            }
            if content.chars().count() > 2000 {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"message": "Invalid Form Body", "code": 50035, "errors": {"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]}}})),
                )
                    .into_response();
            }
            let id = next_id(&mut world);
            Json(fixtures::bot_message(id, channel_id, body)).into_response()
        }
        ("GET", ["channels", channel]) => match find(&world.channels, channel) {
            Some(found) => Json(found.clone()).into_response(),
            None => discord_error(StatusCode::NOT_FOUND, 10003, "Unknown Channel"),
        },
        ("DELETE", ["channels", channel]) => {
            let Some(index) = world.channels.iter().position(|c| c["id"] == *channel) else {
                return discord_error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
            };
            Json(world.channels.remove(index)).into_response()
        }
        ("GET", ["guilds", g, "channels"]) if *g == guild => {
            Json(world.channels.clone()).into_response()
        }
        ("POST", ["guilds", g, "channels"]) if *g == guild => create_channel(&mut world, body),
        ("GET", ["guilds", g, "roles"]) if *g == guild => Json(world.roles.clone()).into_response(),
        ("POST", ["guilds", g, "roles"]) if *g == guild => {
            if !world.can_manage_roles {
                return discord_error(StatusCode::FORBIDDEN, 50013, "Missing Permissions");
            }
            let id = next_id(&mut world);
            let role = fixtures::role(id, body["name"].as_str().unwrap_or("new role"));
            world.roles.push(role.clone());
            Json(role).into_response()
        }
        ("DELETE", ["guilds", g, "roles", role]) if *g == guild => {
            let Some(index) = world.roles.iter().position(|r| r["id"] == *role) else {
                return discord_error(StatusCode::NOT_FOUND, 10011, "Unknown Role");
            };
            world.roles.remove(index);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => discord_error(StatusCode::NOT_FOUND, 0, "404: Not Found"),
    }
}

fn find<'a>(channels: &'a [Value], id: &str) -> Option<&'a Value> {
    channels.iter().find(|c| c["id"] == id)
}

fn create_channel(world: &mut World, body: &Value) -> Response {
    if !world.can_manage_channels {
        return discord_error(StatusCode::FORBIDDEN, 50013, "Missing Permissions");
    }
    if world.channels.len() >= GUILD_CHANNEL_LIMIT {
        return discord_error(
            StatusCode::BAD_REQUEST,
            30013,
            "Maximum number of guild channels reached (500)",
        );
    }
    let parent = body["parent_id"]
        .as_str()
        .and_then(|p| p.parse::<u64>().ok());
    if let Some(parent) = parent {
        let siblings = world
            .channels
            .iter()
            .filter(|c| c["parent_id"].as_str().and_then(|p| p.parse().ok()) == Some(parent))
            .count();
        if siblings >= CATEGORY_LIMIT {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({
                    "message": "Invalid Form Body",
                    "code": 50035,
                    "errors": {"parent_id": {"_errors": [{
                        "code": "CHANNEL_PARENT_MAX_CHANNELS",
                        "message": "Maximum number of channels in category reached (50)"
                    }]}}
                })),
            )
                .into_response();
        }
    }
    let id = next_id(world);
    let channel = fixtures::channel(
        id,
        body["type"].as_u64().unwrap_or(0),
        body["name"].as_str().unwrap_or("channel"),
        parent,
        body.get("permission_overwrites")
            .cloned()
            .unwrap_or(json!([])),
    );
    world.channels.push(channel.clone());
    // Real Discord tells the bot over the gateway too.
    if let Some(gateway) = &world.gateway {
        let _ = gateway.send(("CHANNEL_CREATE".to_owned(), channel.clone()));
    }
    (StatusCode::CREATED, Json(channel)).into_response()
}

async fn gateway(State(shared): State<Arc<Shared>>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| session(shared, socket))
}

async fn session(shared: Arc<Shared>, mut socket: WebSocket) {
    let hello = json!({ "op": 10, "d": { "heartbeat_interval": 41_250 } });
    if send(&mut socket, &hello).await.is_err() {
        return;
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, Value)>();
    let mut seq = 0_u64;
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let Some(Ok(frame)) = incoming else { break };
                let text = match frame {
                    WsMessage::Text(text) => text.to_string(),
                    WsMessage::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    WsMessage::Close(_) => break,
                    _ => continue,
                };
                let Ok(payload) = serde_json::from_str::<Value>(&text) else { continue };
                let replies = match payload["op"].as_u64() {
                    Some(1) => vec![json!({ "op": 11 })],
                    Some(2) => {
                        if payload["d"]["token"] != format!("Bot {}", shared.token) {
                            let close = CloseFrame { code: 4004, reason: "Authentication failed.".into() };
                            let _ = socket.send(WsMessage::Close(Some(close))).await;
                            break;
                        }
                        let (channels, roles) = {
                            let mut world = shared.world.lock().expect("world");
                            world.identifies += 1;
                            world.gateway = Some(tx.clone());
                            (world.channels.clone(), world.roles.clone())
                        };
                        let ready = json!({ "op": 0, "s": seq + 1, "t": "READY", "d": fixtures::ready(&shared.addr) });
                        let guild = json!({ "op": 0, "s": seq + 2, "t": "GUILD_CREATE", "d": fixtures::guild_create(channels, roles) });
                        seq += 2;
                        vec![ready, guild]
                    }
                    // No session state is kept: ask for a fresh IDENTIFY.
                    Some(6) => vec![json!({ "op": 9, "d": false })],
                    _ => Vec::new(),
                };
                for reply in &replies {
                    if send(&mut socket, reply).await.is_err() {
                        return;
                    }
                }
            }
            Some((name, data)) = rx.recv() => {
                seq += 1;
                let id = data["id"].as_str().unwrap_or_default().to_owned();
                let frame = json!({ "op": 0, "s": seq, "t": name, "d": data });
                // Recorded before the write, so that the record exists by the time the bot reacts.
                let at = Instant::now();
                shared.world.lock().expect("world").dispatched.push(Dispatched { name, id, at });
                if send(&mut socket, &frame).await.is_err() { break; }
            }
        }
    }
}

async fn send(socket: &mut WebSocket, payload: &Value) -> Result<(), axum::Error> {
    socket
        .send(WsMessage::Text(payload.to_string().into()))
        .await
}

/// The JSON of Discord objects and gateway events, as real Discord sends them.
pub mod fixtures {
    use std::net::SocketAddr;

    use serde_json::{json, Value};

    use super::{ADMIN_ID, APP_ID, BOT_ID, GUILD_ID};

    const TIMESTAMP: &str = "2026-11-27T08:00:00.000000+00:00";

    /// A user object.
    pub fn user(id: u64, bot: bool) -> Value {
        json!({
            "id": id.to_string(),
            "username": if bot { "TicketBot".to_owned() } else { format!("user{id}") },
            "discriminator": "0",
            "global_name": null,
            "avatar": null,
            "bot": bot,
        })
    }

    /// A guild channel object.
    pub fn channel(
        id: u64,
        kind: u64,
        name: &str,
        parent: Option<u64>,
        overwrites: Value,
    ) -> Value {
        json!({
            "id": id.to_string(),
            "type": kind,
            "guild_id": GUILD_ID.to_string(),
            "name": name,
            "position": 0,
            "parent_id": parent.map(|p| p.to_string()),
            "permission_overwrites": overwrites,
            "nsfw": false,
            "flags": 0,
        })
    }

    /// A role object.
    pub fn role(id: u64, name: &str) -> Value {
        json!({
            "id": id.to_string(),
            "name": name,
            "color": 0,
            "colors": { "primary_color": 0, "secondary_color": null, "tertiary_color": null },
            "hoist": false,
            "icon": null,
            "unicode_emoji": null,
            "position": 1,
            "permissions": "0",
            "managed": false,
            "mentionable": false,
            "flags": 0,
        })
    }

    /// The @everyone role (its ID is the guild's).
    pub fn everyone_role() -> Value {
        let mut everyone = role(GUILD_ID, "@everyone");
        everyone["position"] = json!(0);
        everyone["permissions"] = json!("1071698660929");
        everyone
    }

    /// The READY event data.
    pub fn ready(addr: &SocketAddr) -> Value {
        json!({
            "v": 10,
            "user": user(BOT_ID, true),
            "guilds": [{ "id": GUILD_ID.to_string(), "unavailable": true }],
            "session_id": "fake-session",
            "resume_gateway_url": format!("ws://{addr}/gateway"),
            "application": { "id": APP_ID.to_string(), "flags": 0 },
        })
    }

    /// The GUILD_CREATE event data for the guild holding `channels` and `roles`.
    pub fn guild_create(channels: Vec<Value>, roles: Vec<Value>) -> Value {
        let mut all_roles = vec![everyone_role()];
        all_roles.extend(roles);
        let member = |id: u64, bot: bool| json!({ "user": user(id, bot), "roles": [], "deaf": false, "mute": false, "flags": 0, "joined_at": TIMESTAMP });
        json!({
            "id": GUILD_ID.to_string(),
            "name": "Fake Guild",
            "icon": null,
            "owner_id": ADMIN_ID.to_string(),
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "system_channel_flags": 0,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "premium_progress_bar_enabled": false,
            "joined_at": TIMESTAMP,
            "large": false,
            "member_count": 2,
            "roles": all_roles,
            "emojis": [],
            "features": [],
            "stickers": [],
            "voice_states": [],
            "members": [member(BOT_ID, true), member(ADMIN_ID, false)],
            "channels": channels,
            "threads": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
        })
    }

    /// The answer to `PUT .../commands`: the commands as Discord stores them.
    pub fn commands(body: &Value, guild: Option<u64>, next_id: &mut dyn FnMut() -> u64) -> Value {
        let list = body.as_array().cloned().unwrap_or_default();
        Value::Array(
            list.iter()
                .map(|command| {
                    json!({
                        "id": next_id().to_string(),
                        "application_id": APP_ID.to_string(),
                        "guild_id": guild.map(|g| g.to_string()),
                        "version": "1",
                        "type": command["type"].as_u64().unwrap_or(1),
                        "name": command["name"],
                        "description": command["description"],
                        "options": command.get("options").cloned().unwrap_or(json!([])),
                        "default_member_permissions": command.get("default_member_permissions").cloned().unwrap_or(Value::Null),
                        "dm_permission": command.get("dm_permission").cloned().unwrap_or(json!(true)),
                        "nsfw": false,
                        "integration_types": [0],
                        "contexts": null,
                    })
                })
                .collect(),
        )
    }

    /// The fields every Message object has, with no reference, member or webhook.
    fn message(id: u64, channel_id: u64, author: Value, content: &str, kind: u64) -> Value {
        json!({
            "id": id.to_string(),
            "channel_id": channel_id.to_string(),
            "guild_id": GUILD_ID.to_string(),
            "author": author,
            "content": content,
            "timestamp": TIMESTAMP,
            "edited_timestamp": null,
            "tts": false,
            "mention_everyone": false,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": false,
            "type": kind,
            "flags": 0,
        })
    }

    /// A message the bot created from request `body` (content, message_reference...).
    pub fn bot_message(id: u64, channel_id: u64, body: &Value) -> Value {
        let reference = body.get("message_reference").filter(|r| !r.is_null());
        // A reply is type 19, a plain message type 0.
        let kind = if reference.is_some() { 19 } else { 0 };
        let content = body["content"].as_str().unwrap_or_default();
        let mut message = message(id, channel_id, user(BOT_ID, true), content, kind);
        message["message_reference"] = reference.cloned().unwrap_or(Value::Null);
        message
    }

    /// Who sent a message, and how.
    #[derive(Debug, Clone)]
    pub struct MessageSpec {
        /// Filled in by [`super::FakeDiscord::send`].
        pub id: u64,
        /// The channel.
        pub channel_id: u64,
        /// The author.
        pub author_id: u64,
        /// A bot account.
        pub bot: bool,
        /// Sent through a webhook.
        pub webhook: bool,
        /// Discord's message type (0 regular, 7 member join...).
        pub kind: u64,
        /// The text.
        pub content: String,
    }

    impl MessageSpec {
        /// A regular message by a human.
        pub fn human(channel_id: u64, author_id: u64, content: &str) -> Self {
            Self {
                id: 0,
                channel_id,
                author_id,
                bot: false,
                webhook: false,
                kind: 0,
                content: content.to_owned(),
            }
        }
    }

    /// The MESSAGE_CREATE event data.
    pub fn message_create(spec: &MessageSpec) -> Value {
        let author = user(spec.author_id, spec.bot);
        let mut message = message(spec.id, spec.channel_id, author, &spec.content, spec.kind);
        message["member"] = json!({ "roles": [], "deaf": false, "mute": false, "flags": 0, "joined_at": TIMESTAMP });
        if spec.webhook {
            message["webhook_id"] = json!(spec.author_id.to_string());
        }
        message
    }

    /// The token of interaction `id` (unique per interaction, as on Discord).
    pub fn interaction_token(id: u64) -> String {
        format!("token-{id}")
    }

    /// The INTERACTION_CREATE event data of a slash command run by `user_id`.
    pub fn interaction_create(
        id: u64,
        name: &str,
        user_id: u64,
        administrator: bool,
        channel_id: u64,
    ) -> Value {
        // Administrator is bit 3; the rest are what @everyone has.
        let permissions = if administrator {
            "1071698660937"
        } else {
            "1071698660929"
        };
        json!({
            "id": id.to_string(),
            "application_id": APP_ID.to_string(),
            "type": 2,
            "token": interaction_token(id),
            "version": 1,
            "guild_id": GUILD_ID.to_string(),
            "channel_id": channel_id.to_string(),
            "channel": { "id": channel_id.to_string(), "type": 0 },
            "member": {
                "user": user(user_id, false),
                "roles": [],
                "deaf": false,
                "mute": false,
                "flags": 0,
                "joined_at": TIMESTAMP,
                "permissions": permissions,
            },
            "app_permissions": "1071698660937",
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": { "0": GUILD_ID.to_string() },
            "context": 0,
            "attachment_size_limit": 8_388_608,
            "data": { "id": "1", "name": name, "type": 1 },
        })
    }

    #[cfg(test)]
    mod tests {
        use serenity::model::{
            application::Command,
            channel::{GuildChannel, Message},
            event::{Event, GatewayEvent},
            guild::Role,
        };

        use super::*;

        fn event(name: &str, data: Value) -> Event {
            let frame = json!({ "op": 0, "s": 1, "t": name, "d": data });
            match serde_json::from_value::<GatewayEvent>(frame) {
                Ok(GatewayEvent::Dispatch(_, event)) => event,
                other => panic!("{name} is not a dispatch: {other:?}"),
            }
        }

        #[test]
        fn ready_is_a_ready_event() {
            let addr = "127.0.0.1:1".parse().unwrap();
            let Event::Ready(ready) = event("READY", ready(&addr)) else {
                panic!("READY became another event")
            };
            assert_eq!(ready.ready.application.id.get(), APP_ID);
        }

        #[test]
        fn guild_create_is_a_guild_create_event() {
            let channels = vec![channel(5, 0, "general", None, json!([]))];
            let Event::GuildCreate(guild) = event(
                "GUILD_CREATE",
                guild_create(channels, vec![role(6, "Support")]),
            ) else {
                panic!("GUILD_CREATE became another event")
            };
            assert_eq!(guild.guild.channels.len(), 1);
            assert_eq!(guild.guild.roles.len(), 2);
        }

        #[test]
        fn message_create_is_a_message_create_event() {
            let mut spec = MessageSpec::human(5, 7, "hello");
            spec.id = 8;
            let Event::MessageCreate(created) = event("MESSAGE_CREATE", message_create(&spec))
            else {
                panic!("MESSAGE_CREATE became another event")
            };
            assert_eq!(created.message.content, "hello");
            assert!(!created.message.author.bot);
            spec.bot = true;
            spec.webhook = true;
            spec.kind = 7;
            assert!(matches!(
                event("MESSAGE_CREATE", message_create(&spec)),
                Event::MessageCreate(_)
            ));
        }

        #[test]
        fn interaction_create_is_a_command_interaction() {
            let Event::InteractionCreate(created) = event(
                "INTERACTION_CREATE",
                interaction_create(9, "setup", 7, true, 5),
            ) else {
                panic!("INTERACTION_CREATE became another event")
            };
            let command = created
                .interaction
                .command()
                .expect("a command interaction");
            assert_eq!(command.data.name, "setup");
            assert_eq!(command.user.id.get(), 7);
            assert!(command.member.unwrap().permissions.unwrap().administrator());
            let Event::InteractionCreate(created) = event(
                "INTERACTION_CREATE",
                interaction_create(9, "setup", 7, false, 5),
            ) else {
                panic!("INTERACTION_CREATE became another event")
            };
            let member = created.interaction.command().unwrap().member.unwrap();
            assert!(!member.permissions.unwrap().administrator());
        }

        #[test]
        fn channel_create_is_a_channel_create_event() {
            let data = channel(
                5,
                0,
                "ticket-7",
                Some(4),
                json!([{ "id": "7", "type": 1, "allow": "1024", "deny": "0" }]),
            );
            assert!(matches!(
                event("CHANNEL_CREATE", data),
                Event::ChannelCreate(_)
            ));
        }

        #[test]
        fn rest_answers_deserialize_into_serenity_models() {
            let created: GuildChannel =
                serde_json::from_value(channel(5, 4, "Tickets", None, json!([]))).unwrap();
            assert_eq!(created.name, "Tickets");
            let _: Role = serde_json::from_value(role(6, "Support")).unwrap();
            let body = json!({ "content": "hi", "message_reference": { "message_id": "3", "channel_id": "5" } });
            let message: Message = serde_json::from_value(bot_message(7, 5, &body)).unwrap();
            assert!(message.message_reference.is_some());
            let body = json!([{ "name": "setup", "description": "d", "type": 1, "default_member_permissions": "8" }]);
            let mut id = 10;
            let commands: Vec<Command> =
                serde_json::from_value(commands(&body, Some(GUILD_ID), &mut || {
                    id += 1;
                    id
                }))
                .unwrap();
            assert_eq!(commands[0].name, "setup");
        }
    }
}
