//! [`Sandbox`], the tests' handle on a running sandbox (feature `test-util`): arrange the guild
//! (or one of several: the `…_in(guild, …)` methods; the others act on the first, [`GUILD_ID`]),
//! act as a person (write, run a command, press a button, choose in a select menu, fill in a
//! form) or inject any gateway event, read what the bot did (its calls, its sessions and their
//! shards, its IDENTIFYs), and wait for it. Each method is one [`World`] action or read; the
//! waiting helpers and a few others panic when the test cannot go on, which is why the product
//! never builds them.

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
        gateway::Shard,
        ids::{BOT_ID, GUILD_ID},
        interaction::{interaction_token, CommandOption},
        message::{AttachmentSpec, MessageSpec},
        modal::Modal,
        permissions::VIEW_CHANNEL,
        user::Persona,
    },
    server::{SandboxOptions, Server},
    world::{
        components::ModalRef,
        error::SandboxError,
        faults::HeldCall,
        record::{Dispatched, Identified, Recorded},
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
        self.add_category_in(GUILD_ID, name)
    }

    /// Adds a category channel to guild `guild`; panics when there is no such guild.
    pub fn add_category_in(&self, guild: u64, name: &str) -> u64 {
        self.add_channel(guild, name, ChannelKind::Category, None, Vec::new())
    }

    /// Adds a text channel to the guild, under `parent` when given.
    pub fn add_text_channel(&self, name: &str, parent: Option<u64>) -> u64 {
        self.add_text_channel_in(GUILD_ID, name, parent)
    }

    /// Adds a text channel to guild `guild`, under `parent` when given; panics when there is
    /// no such guild.
    pub fn add_text_channel_in(&self, guild: u64, name: &str, parent: Option<u64>) -> u64 {
        self.add_channel(guild, name, ChannelKind::Text, parent, Vec::new())
    }

    fn add_channel(
        &self,
        guild: u64,
        name: &str,
        kind: ChannelKind,
        parent: Option<u64>,
        overwrites: Vec<Overwrite>,
    ) -> u64 {
        self.world()
            .add_channel(guild, name, kind, parent, overwrites)
            .unwrap_or_else(|| panic!("the sandbox has no guild {guild}"))
    }

    /// Adds a text channel that only `user` (and administrators, and the bot) can see, as a
    /// ticket channel is.
    pub fn add_private_channel(&self, name: &str, parent: Option<u64>, user: u64) -> u64 {
        self.add_private_channel_in(GUILD_ID, name, parent, user)
    }

    /// [`Sandbox::add_private_channel`] in guild `guild`; panics when there is no such guild.
    pub fn add_private_channel_in(
        &self,
        guild: u64,
        name: &str,
        parent: Option<u64>,
        user: u64,
    ) -> u64 {
        let overwrite = |id, kind, allow, deny| Overwrite {
            id,
            kind,
            allow,
            deny,
        };
        let overwrites = vec![
            overwrite(guild, OverwriteKind::Role, 0, VIEW_CHANNEL),
            overwrite(user, OverwriteKind::Member, VIEW_CHANNEL, 0),
            overwrite(BOT_ID, OverwriteKind::Member, VIEW_CHANNEL, 0),
        ];
        self.add_channel(guild, name, ChannelKind::Text, parent, overwrites)
    }

    /// Adds a role to the guild (the Support persona gets one named "Support").
    pub fn add_role(&self, name: &str) -> u64 {
        self.add_role_in(GUILD_ID, name)
    }

    /// Adds a role to guild `guild` (the Support persona gets one named "Support"); panics
    /// when there is no such guild.
    pub fn add_role_in(&self, guild: u64, name: &str) -> u64 {
        self.world()
            .add_role(guild, name)
            .unwrap_or_else(|| panic!("the sandbox has no guild {guild}"))
    }

    /// Every guild's ID, [`GUILD_ID`] first (then [`crate::guild_id`]`(1)`...).
    pub fn guild_ids(&self) -> Vec<u64> {
        self.world().guilds().map(|g| g.id).collect()
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
        self.delete_role_in(GUILD_ID, id)
    }

    /// [`Sandbox::delete_role`] in guild `guild`.
    pub fn delete_role_in(&self, guild: u64, id: u64) -> bool {
        let mut world = self.world();
        let removed = world.delete_role(guild, id);
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

    /// [`Sandbox::revoke_manage_channels`] in guild `guild`.
    pub fn revoke_manage_channels_in(&self, guild: u64) {
        if let Some(guild) = self.world().guild_mut(guild) {
            guild.bot_can_manage_channels = false;
        }
    }

    /// [`Sandbox::revoke_manage_roles`] in guild `guild`.
    pub fn revoke_manage_roles_in(&self, guild: u64) {
        if let Some(guild) = self.world().guild_mut(guild) {
            guild.bot_can_manage_roles = false;
        }
    }

    /// Takes Manage Threads away from the bot: locking a thread, or unlocking one, gets 403
    /// Missing Permissions; writing in a locked thread too, and in a locked archived one 400
    /// 50083 "Thread is archived".
    pub fn revoke_manage_threads(&self) {
        self.revoke_manage_threads_in(GUILD_ID);
    }

    /// [`Sandbox::revoke_manage_threads`] in guild `guild`.
    pub fn revoke_manage_threads_in(&self, guild: u64) {
        self.world().revoke_manage_threads(guild);
    }

    /// Takes the Server Members intent away from the bot's application: listing the guild's
    /// members (`GET /guilds/{id}/members`) gets 403 Missing Access, and an IDENTIFY asking
    /// for GUILD_MEMBERS is closed with 4014, as from Discord.
    pub fn revoke_members_intent(&self) {
        self.world().revoke_members_intent();
    }

    /// Gives persona `user` the role `role`, as an administrator would (GUILD_MEMBER_UPDATE to
    /// a bot with the GUILD_MEMBERS intent); panics when either is not the guild's.
    pub fn give_role(&self, user: u64, role: u64) {
        self.world()
            .set_member_role(GUILD_ID, user, role, true)
            .expect("a persona and a role of the guild");
    }

    /// Takes the role `role` away from persona `user`, as [`Sandbox::give_role`] gives it.
    pub fn take_role(&self, user: u64, role: u64) {
        self.world()
            .set_member_role(GUILD_ID, user, role, false)
            .expect("a persona and a role of the guild");
    }

    /// The guild's channels now (its threads apart: [`Sandbox::threads`]).
    pub fn channels(&self) -> Vec<Value> {
        self.channels_in(GUILD_ID)
    }

    /// Guild `guild`'s channels now, threads apart (none for a guild there is not).
    pub fn channels_in(&self, guild: u64) -> Vec<Value> {
        let world = self.world();
        world
            .guild(guild)
            .map(|g| g.plain_channels().map(json).collect())
            .unwrap_or_default()
    }

    /// The guild's roles now.
    pub fn roles(&self) -> Vec<Value> {
        self.roles_in(GUILD_ID)
    }

    /// Guild `guild`'s roles now (none for a guild there is not).
    pub fn roles_in(&self, guild: u64) -> Vec<Value> {
        let world = self.world();
        world
            .guild(guild)
            .map(|g| g.roles.iter().map(json).collect())
            .unwrap_or_default()
    }

    /// The guild's threads now, archived ones too, as channel objects (`thread_metadata`,
    /// `member_count`, `message_count`...).
    pub fn threads(&self) -> Vec<Value> {
        self.threads_in(GUILD_ID)
    }

    /// Guild `guild`'s threads now, archived ones too.
    pub fn threads_in(&self, guild: u64) -> Vec<Value> {
        let world = self.world();
        world
            .guild(guild)
            .map(|g| {
                g.channels
                    .iter()
                    .filter(|c| c.is_thread())
                    .map(json)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Adds a private thread to text channel `parent` (of any guild) as a moderator would,
    /// with `members` (add [`BOT_ID`] for the bot to be in it), telling nobody but the page;
    /// returns its ID. Panics when `parent` is no guild channel.
    pub fn add_thread(&self, parent: u64, name: &str, members: &[u64]) -> u64 {
        self.world()
            .add_thread(parent, name, ChannelKind::PrivateThread, members)
            .unwrap_or_else(|| panic!("channel {parent} is no guild channel"))
    }

    /// Adds a public thread (seen by everyone who sees `parent`) without members, telling
    /// nobody but the page; returns its ID.
    pub fn add_public_thread(&self, parent: u64, name: &str) -> u64 {
        self.world()
            .add_thread(parent, name, ChannelKind::PublicThread, &[])
            .unwrap_or_else(|| panic!("channel {parent} is no guild channel"))
    }

    /// The members of thread `thread_id`, by ID (none for an unknown thread).
    pub fn thread_members(&self, thread_id: u64) -> Vec<u64> {
        self.world()
            .thread_members(thread_id)
            .map(|members| members.iter().map(|m| m.user_id).collect())
            .unwrap_or_default()
    }

    /// Adds `user_id` to thread `thread_id` as a moderator would (THREAD_MEMBERS_UPDATE to a
    /// bot with the GUILD_MEMBERS intent, or when `user_id` is the bot).
    pub fn add_thread_member(&self, thread_id: u64, user_id: u64) -> Result<(), ApiError> {
        self.world().add_thread_member(thread_id, user_id)
    }

    /// Removes `user_id` from thread `thread_id` as a moderator would.
    pub fn remove_thread_member(&self, thread_id: u64, user_id: u64) -> Result<(), ApiError> {
        self.world().remove_thread_member(thread_id, user_id)
    }

    /// A moderator archives thread `thread_id` (and locks it, with `lock`): THREAD_UPDATE
    /// sent to the bot; `false` when there is no such thread.
    pub fn archive_thread(&self, thread_id: u64, lock: bool) -> bool {
        self.world()
            .moderate_thread(thread_id, Some(true), lock.then_some(true))
    }

    /// A moderator unarchives and unlocks thread `thread_id`: THREAD_UPDATE sent to the bot;
    /// `false` when there is no such thread.
    pub fn unarchive_thread(&self, thread_id: u64) -> bool {
        self.world()
            .moderate_thread(thread_id, Some(false), Some(false))
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

    /// How many times the bot identified (sessions started with READY; an IDENTIFY refused
    /// over the identify limit is not one: [`Sandbox::invalid_sessions`]).
    pub fn identifies(&self) -> usize {
        self.world().record.identifies
    }

    /// Every IDENTIFY so far, accepted or not, with when it came and its shard: a test checks
    /// the bot stays within the identify limit with it (or with
    /// [`Sandbox::invalid_sessions`] when the limit is enforced).
    pub fn identify_log(&self) -> Vec<Identified> {
        self.world().record.identify_log.to_vec()
    }

    /// How many IDENTIFYs were answered INVALID_SESSION because they passed the identify
    /// limit ([`SandboxOptions::identify_limit`]).
    pub fn invalid_sessions(&self) -> usize {
        self.world().record.invalid_sessions
    }

    /// The shard of each open gateway session, in the order they identified (`[0, 1]` for an
    /// unsharded bot).
    pub fn session_shards(&self) -> Vec<Shard> {
        self.world().session_shards()
    }

    /// Whether the bot has a session on the shard of guild `guild`.
    pub fn guild_connected(&self, guild: u64) -> bool {
        self.world().guild_connected(guild)
    }

    /// How many calls the global rate limit refused with 429 (counted across every process of
    /// the bot: one token, one limit, as on Discord).
    pub fn global_rate_limited(&self) -> usize {
        self.world().record.global_rate_limited
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

    /// Sends a dispatch event to the connected bot: to the sessions on the shard of the
    /// data's `guild_id` (or its `id`, for a `GUILD_*` event), shard 0 without one.
    pub fn try_dispatch(&self, name: &str, data: Value) -> Result<(), SandboxError> {
        self.world().dispatch(Dispatch::raw(name, data))
    }

    /// Sends an interaction for a slash command and returns its ID.
    pub fn run_command(&self, name: &str, user_id: u64, administrator: bool) -> u64 {
        self.run_command_in(GUILD_ID, name, user_id, administrator)
    }

    /// [`Sandbox::run_command`] in guild `guild` (its first text channel), to the session of
    /// its shard.
    pub fn run_command_in(&self, guild: u64, name: &str, user_id: u64, administrator: bool) -> u64 {
        self.world()
            .run_command_unchecked_in(guild, name, user_id, administrator)
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

    /// Chooses `values` as persona `user` in the string select menu `custom_id` of message
    /// `message_id`: the bot gets a component interaction with `data.component_type` 3 and
    /// `data.values`. Refused as the Discord client refuses: values not among the options, too
    /// few or too many, a disabled menu, a message the person does not see.
    pub fn choose(
        &self,
        user: &Persona,
        message_id: u64,
        custom_id: &str,
        values: &[&str],
    ) -> Result<u64, SandboxError> {
        self.world().choose(user, message_id, custom_id, values)
    }

    /// The form the bot opened in answer to interaction `interaction_id` (callback type 9),
    /// while nobody submitted or closed it.
    pub fn open_modal(&self, interaction_id: u64) -> Option<Modal> {
        self.world().open_modal(interaction_id).cloned()
    }

    /// Waits (without sleeping) until the bot answers interaction `interaction_id` with a
    /// form, and returns it; panics after [`WAIT`].
    pub async fn wait_for_modal(&self, interaction_id: u64) -> Modal {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let recorded = self.server.recorded();
            tokio::pin!(recorded);
            recorded.as_mut().enable();
            if let Some(modal) = self.open_modal(interaction_id) {
                return modal;
            }
            if tokio::time::timeout_at(deadline, recorded).await.is_err() {
                panic!(
                    "timed out waiting for a form answering interaction {interaction_id}; calls so far:\n{}",
                    describe(&self.requests())
                );
            }
        }
    }

    /// Submits persona `user`'s open form `modal` (the interaction ID it answers, or its custom
    /// ID) with `values` (`(custom_id, value)`; a field not named is sent empty): the bot gets
    /// INTERACTION_CREATE of type 5 with `data.custom_id` and `data.components`. Refused as the
    /// Discord client refuses: a required field empty, an answer outside its lengths, a field
    /// the form does not have, a form that is not theirs or no longer open.
    pub fn submit_modal(
        &self,
        user: &Persona,
        modal: impl Into<ModalRef>,
        values: &[(&str, &str)],
    ) -> Result<u64, SandboxError> {
        self.world().submit_modal(user, modal, values)
    }

    /// Closes persona `user`'s open form `modal` without submitting it (the bot is told
    /// nothing, as on Discord); `false` when they had no such form.
    pub fn dismiss_modal(&self, user: &Persona, modal: impl Into<ModalRef>) -> bool {
        self.world().dismiss_modal(user, modal)
    }

    /// Sends a message from a human and returns its ID.
    pub fn send_message(&self, channel_id: u64, author_id: u64, content: &str) -> u64 {
        self.send(MessageSpec::human(channel_id, author_id, content))
    }

    /// Sends a message described by `spec` (its `id` is filled in) and returns its ID; panics
    /// when it is refused (its author cannot see the channel or write in it, or the bot is
    /// not connected).
    pub fn send(&self, spec: MessageSpec) -> u64 {
        self.try_send(spec)
            .unwrap_or_else(|err| panic!("the message was not sent: {err}"))
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
