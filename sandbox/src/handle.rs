//! [`Sandbox`], the tests' handle on a running sandbox (feature `test-util`): arrange the guild,
//! act as a person or inject any gateway event, read what the bot did, and wait for it. Each
//! method is one [`World`] action or read; the waiting helpers and a few others panic when the
//! test cannot go on, which is why the product never builds them.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::http::Method;
use parking_lot::MutexGuard;
use serde::Serialize;
use serde_json::Value;

use crate::{
    http::run,
    model::{
        channel::{ChannelKind, Overwrite, OverwriteKind},
        error::ApiError,
        event::Dispatch,
        ids::{BOT_ID, GUILD_ID},
        interaction::{interaction_token, CommandOption},
        message::{AttachmentSpec, MessageSpec},
        permissions::VIEW_CHANNEL,
        user::Persona,
    },
    server::{SandboxOptions, Server},
    world::{
        error::SandboxError,
        faults::HeldCall,
        record::{Dispatched, Recorded},
        state::Upload,
        World,
    },
};

/// How long `wait_for` waits before failing the test: with Discord's rate limits, 18 messages
/// in one channel alone take 15 seconds to post (5 per 5 seconds).
pub const WAIT: Duration = Duration::from_secs(60);

/// A running sandbox (or one about to be served by [`crate::run`]); clones share it. The one
/// made by [`Sandbox::start`] stops when its last clone is dropped.
#[derive(Clone)]
pub struct Sandbox {
    server: Server,
    _task: Option<Arc<ServerTask>>,
}

struct ServerTask(tokio::task::JoinHandle<()>);

impl Drop for ServerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl From<Sandbox> for Server {
    fn from(sandbox: Sandbox) -> Self {
        sandbox.server
    }
}

/// `value` as JSON (the handle's readers give Discord's JSON, as the bot would read it).
fn json(value: impl Serialize) -> Value {
    serde_json::to_value(value).expect("the sandbox's types serialize to JSON")
}

impl Sandbox {
    /// A sandbox whose address will be `addr` (where the caller bound its listener); serve it
    /// with [`crate::run`].
    pub fn new(options: impl Into<SandboxOptions>, addr: SocketAddr) -> Self {
        Self {
            server: Server::new(options, addr),
            _task: None,
        }
    }

    /// Starts a sandbox on 127.0.0.1 (a free port), e.g. `Sandbox::start("token")`: an empty
    /// guild accepting that bot token, with Discord's rate limits.
    pub async fn start(options: impl Into<SandboxOptions>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let mut sandbox = Self::new(options, addr);
        let served = sandbox.server.clone();
        let task = tokio::spawn(async move {
            if let Err(err) = run(listener, served, std::future::pending()).await {
                tracing::error!(error = %err, "the sandbox stopped serving");
            }
        });
        sandbox._task = Some(Arc::new(ServerTask(task)));
        sandbox
    }

    /// The shared state this handle acts on.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// `http://127.0.0.1:PORT`, the bot's `DISCORD_PROXY_URL` and the page's address.
    pub fn url(&self) -> String {
        self.server.url()
    }

    fn world(&self) -> MutexGuard<'_, World> {
        self.server.world()
    }

    /// Adds a category channel to the guild.
    pub fn add_category(&self, name: &str) -> u64 {
        self.add_channel(name, ChannelKind::Category, None, Vec::new())
    }

    /// Adds a text channel to the guild, under `parent` when given.
    pub fn add_text_channel(&self, name: &str, parent: Option<u64>) -> u64 {
        self.add_channel(name, ChannelKind::Text, parent, Vec::new())
    }

    fn add_channel(
        &self,
        name: &str,
        kind: ChannelKind,
        parent: Option<u64>,
        overwrites: Vec<Overwrite>,
    ) -> u64 {
        self.world()
            .add_channel(GUILD_ID, name, kind, parent, overwrites)
            .expect("the sandbox's guild exists")
    }

    /// Adds a text channel that only `user` (and administrators, and the bot) can see, as a
    /// ticket channel is.
    pub fn add_private_channel(&self, name: &str, parent: Option<u64>, user: u64) -> u64 {
        let overwrite = |id, kind, allow, deny| Overwrite {
            id,
            kind,
            allow,
            deny,
        };
        let overwrites = vec![
            overwrite(GUILD_ID, OverwriteKind::Role, 0, VIEW_CHANNEL),
            overwrite(user, OverwriteKind::Member, VIEW_CHANNEL, 0),
            overwrite(BOT_ID, OverwriteKind::Member, VIEW_CHANNEL, 0),
        ];
        self.add_channel(name, ChannelKind::Text, parent, overwrites)
    }

    /// Adds a role to the guild (the Support persona gets one named "Support").
    pub fn add_role(&self, name: &str) -> u64 {
        self.world()
            .add_role(GUILD_ID, name)
            .expect("the sandbox's guild exists")
    }

    /// Calls refused with 429 so far (they are not in [`Sandbox::requests`]).
    pub fn rate_limited(&self) -> Vec<Recorded> {
        self.world().record.rate_limited.to_vec()
    }

    /// The messages of a channel as stored (ephemeral answers included), oldest first.
    pub fn messages(&self, channel_id: u64) -> Vec<Value> {
        let world = self.world();
        world
            .messages_in(channel_id)
            .iter()
            .map(|m| json(&m.message))
            .collect()
    }

    /// Whether `user` can see channel `channel_id` (permission overwrites applied).
    pub fn can_see(&self, user: u64, channel_id: u64) -> bool {
        self.world().can_see(user, channel_id)
    }

    /// The messages the bot posted in its DM channel with `user_id` (attachments included),
    /// oldest first; none when it never opened one.
    pub fn dm_messages(&self, user_id: u64) -> Vec<Value> {
        let world = self.world();
        let Some(channel) = world.dm_channel_with(user_id) else {
            return Vec::new();
        };
        world
            .messages_in(channel.id)
            .iter()
            .filter(|m| m.message.author.id == BOT_ID)
            .map(|m| json(&m.message))
            .collect()
    }

    /// From now on `user_id` accepts no DMs from the bot, as when they turned DMs from server
    /// members off or blocked it: the bot may still open the DM channel, but posting in it gets
    /// Discord's 403 `{"code": 50007, "message": "Cannot send messages to this user"}`.
    pub fn close_dms(&self, user_id: u64) {
        self.world().close_dms(user_id);
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
        self.world().file(id).map(|file| file.bytes.to_vec())
    }

    /// Deletes channel `id` as a server administrator would: gone from the guild, CHANNEL_DELETE
    /// sent to the bot, the page updated; `false` when there was no such channel.
    pub fn delete_channel(&self, id: u64) -> bool {
        let mut world = self.world();
        let removed = world.delete_channel(id).is_some();
        world.page_changed(None);
        removed
    }

    /// Deletes role `id` as a server administrator would: gone from the guild and from its
    /// members, GUILD_ROLE_DELETE sent to the bot, the page updated; `false` when there was
    /// no such role.
    pub fn delete_role(&self, id: u64) -> bool {
        let mut world = self.world();
        let removed = world.delete_role(GUILD_ID, id);
        world.page_changed(None);
        removed
    }

    /// Whether the bot has a gateway session.
    pub fn bot_connected(&self) -> bool {
        self.world().bot_connected()
    }

    /// Takes Manage Channels away from the bot: creating channels gets 403 Missing Permissions.
    pub fn revoke_manage_channels(&self) {
        self.world().revoke_manage_channels();
    }

    /// Takes Manage Roles away from the bot: creating roles gets 403 Missing Permissions.
    pub fn revoke_manage_roles(&self) {
        self.world().revoke_manage_roles();
    }

    /// The guild's channels now.
    pub fn channels(&self) -> Vec<Value> {
        self.world().home().channels.iter().map(json).collect()
    }

    /// The guild's roles now.
    pub fn roles(&self) -> Vec<Value> {
        self.world().home().roles.iter().map(json).collect()
    }

    /// Every REST call so far (the last [`crate::world::record::RECORD_LIMIT`]).
    pub fn requests(&self) -> Vec<Recorded> {
        self.world().record.requests.to_vec()
    }

    /// REST calls with this method whose path ends with `suffix`.
    pub fn calls(&self, method: Method, suffix: &str) -> Vec<Recorded> {
        self.world()
            .record
            .requests
            .iter()
            .filter(|r| r.method == method && r.path.ends_with(suffix))
            .cloned()
            .collect()
    }

    /// Messages the bot posted in `channel_id`, in order.
    pub fn posted_messages(&self, channel_id: u64) -> Vec<Recorded> {
        self.calls(Method::POST, &format!("/channels/{channel_id}/messages"))
    }

    /// Events sent over the gateway so far.
    pub fn dispatched(&self) -> Vec<Dispatched> {
        self.world().record.dispatched.to_vec()
    }

    /// How many times the bot identified.
    pub fn identifies(&self) -> usize {
        self.world().record.identifies
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
            let recorded = self.server.recorded();
            tokio::pin!(recorded);
            recorded.as_mut().enable();
            let found = {
                let mut world = self.world();
                check(world.record.requests.as_slice())
            };
            if let Some(found) = found {
                return found;
            }
            if tokio::time::timeout_at(deadline, recorded).await.is_err() {
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
        let id = data["id"].as_str().unwrap_or_default().to_owned();
        let dispatch = Dispatch {
            name: name.to_owned(),
            id,
            data,
        };
        self.world().dispatch(dispatch)
    }

    /// Sends an interaction for a slash command and returns its ID.
    pub fn run_command(&self, name: &str, user_id: u64, administrator: bool) -> u64 {
        self.world()
            .run_command_unchecked(name, user_id, administrator)
            .expect("the bot is connected to the gateway")
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
        self.world().run_command(user, name, channel_id, options)
    }

    /// Presses the button `custom_id` of message `message_id` as persona `user`.
    pub fn press_button(
        &self,
        user: &Persona,
        message_id: u64,
        custom_id: &str,
    ) -> Result<u64, SandboxError> {
        self.world().press_button(user, message_id, custom_id)
    }

    /// Whether the bot answered interaction `id` (its callback arrived).
    pub fn acknowledged(&self, interaction_id: u64) -> bool {
        self.world().acknowledged(interaction_id)
    }

    /// Sends a message from a human and returns its ID.
    pub fn send_message(&self, channel_id: u64, author_id: u64, content: &str) -> u64 {
        self.send(MessageSpec::human(channel_id, author_id, content))
    }

    /// Sends a message described by `spec` (its `id` is filled in) and returns its ID.
    pub fn send(&self, spec: MessageSpec) -> u64 {
        self.try_send(spec)
            .expect("the bot is connected to the gateway")
    }

    /// Leaves the next REST call with this method whose path ends with `suffix` unanswered
    /// (until the sandbox closes), like a stalled Discord call.
    pub fn stall_next(&self, method: Method, suffix: &str) {
        self.world().stall_next(method, suffix);
    }

    /// Holds the next REST call with this method whose path ends with `suffix` until the
    /// returned handle releases it (a test then acts while the bot waits on that call).
    pub fn hold_next(&self, method: Method, suffix: &str) -> HeldCall {
        self.world().hold_next(method, suffix)
    }

    /// Refuses the next REST call with this method whose path ends with `suffix` with `error`
    /// (a 500, Missing Access, an upload too large...), as Discord would.
    pub fn fail_next(&self, method: Method, suffix: &str, error: ApiError) {
        self.world().fail_next(method, suffix, error);
    }

    /// Takes the bot's access to channel `id` away: from now on every call on it is refused
    /// with Missing Access (403, code 50001).
    pub fn revoke_channel_access(&self, id: u64) {
        self.world().revoke_channel_access(id);
    }

    /// A file a person attaches: kept and served by the sandbox as Discord's CDN serves
    /// attachments (the bot can download it at its URL); put the returned spec on a message
    /// with [`MessageSpec::with_attachment`].
    pub fn host_file(&self, filename: &str, content_type: &str, bytes: Vec<u8>) -> AttachmentSpec {
        let host = self.server.addr().to_string();
        let upload = Upload {
            filename: filename.to_owned(),
            content_type: content_type.to_owned(),
            bytes: bytes.into(),
        };
        let stored = self.world().store_files(&host, vec![upload]).remove(0);
        let size = usize::try_from(stored.size).unwrap_or(usize::MAX);
        AttachmentSpec {
            id: stored.id,
            ..AttachmentSpec::new(filename, &stored.url, size, content_type)
        }
    }

    /// How many gateway sessions the bot has open (two while a second process runs).
    pub fn sessions(&self) -> usize {
        self.world().sessions()
    }

    /// Stores a message from a human in `channel_id` without telling the bot, as Discord does
    /// with messages sent while the bot is offline; returns its ID. Dispatches nothing.
    pub fn post_offline(&self, channel_id: u64, author_id: u64, content: &str) -> u64 {
        self.store_offline(MessageSpec::human(channel_id, author_id, content))
    }

    /// Stores the message `spec` describes (files included) without telling the bot, as
    /// [`Sandbox::post_offline`] does; returns its ID.
    pub fn store_offline(&self, spec: MessageSpec) -> u64 {
        let mut world = self.world();
        let channel = spec.channel_id;
        let id = world.store_human_message(spec).id;
        world.page_changed(Some(channel));
        id
    }

    /// Stores `count` messages from a human in `channel_id` at once ("message 1", "message
    /// 2"..., oldest first) without telling the bot, as [`Sandbox::post_offline`] does; returns
    /// their IDs, oldest first. One lock and one page update for them all, so that a long
    /// ticket (a transcript benchmark's thousands of messages) is quick to make.
    pub fn seed_messages(&self, channel_id: u64, author_id: u64, count: usize) -> Vec<u64> {
        self.world().seed_messages(channel_id, author_id, count)
    }

    /// [`Sandbox::send`], failing when the bot is not connected.
    pub fn try_send(&self, spec: MessageSpec) -> Result<u64, SandboxError> {
        self.world().send_message(spec)
    }

    /// A new snowflake, larger than every earlier one (Discord IDs grow with time).
    pub fn fresh_id(&self) -> u64 {
        self.world().next_id()
    }

    /// Interaction callbacks recorded for interaction `id`.
    pub fn callbacks(&self, interaction_id: u64) -> Vec<Recorded> {
        let prefix = format!("/interactions/{interaction_id}/");
        self.world()
            .record
            .requests
            .iter()
            .filter(|r| r.path.contains(&prefix))
            .cloned()
            .collect()
    }

    /// Waits for the final answer to interaction `id` (the edit of its deferred response, or
    /// an immediate message) and returns its content.
    pub async fn wait_for_answer(&self, interaction_id: u64) -> String {
        let token = interaction_token(interaction_id);
        let callback = format!("/interactions/{interaction_id}/");
        self.wait_for(
            &format!("the answer to interaction {interaction_id}"),
            |calls| {
                calls.iter().find_map(|c| {
                    let edit = c.method == Method::PATCH && c.path.contains(&token);
                    let immediate = c.path.contains(&callback) && c.body["type"] == 4;
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
