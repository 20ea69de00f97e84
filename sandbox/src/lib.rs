//! A Discord stand-in for one guild (or several, `SANDBOX_GUILDS`), to try the ticket bot
//! without Discord and to test it: the REST routes and gateway events the bot uses, Discord's
//! rate limits and sharding, and a web page where you act as an administrator, a Support member
//! or one of two members.
//!
//! Run it with `cargo run -p sandbox --bin discord-sandbox` (settings in [`SandboxSettings`]),
//! then point the bot at it with `DISCORD_PROXY_URL`; `scripts/run` does both when no
//! `DISCORD_TOKEN` is set. The page is at `/`.
//!
//! The crate is built in floors; each uses only the floors below it, and no two modules use
//! each other:
//!
//! 1. [`model`]: Discord's objects (channels and threads, roles, members, messages with their
//!    components: buttons, select menus; forms, commands, interactions, the guild) and gateway
//!    events as typed values in Discord's JSON shape, checked against serenity's own types in
//!    unit tests; sharding (`GET /gateway/bot`, a shard's guilds, the identify limit);
//!    Discord's refusals (`{"message", "code"}`); the paging query of a channel's messages.
//!    [`rate_limit`] sits beside it: Discord's global limit and per-route buckets, their
//!    headers and 429s.
//! 2. [`world`]: the state (guilds keyed by ID, DMs, messages, interactions and the forms they
//!    opened, uploaded files, the gateway sessions with their shards, the record of every REST
//!    call, IDENTIFY and gateway event) and every action on it, for the REST routes, the
//!    gateway, the page and the tests alike. [`Server`] (in `server`) holds the world behind
//!    one lock with the rate limiter and the token.
//! 3. [`http`]: the axum router. The REST API under `/api/v10`, one file per resource
//!    (`channels`, `guilds`, `interactions`, `users`, `gateway`) behind one middleware that
//!    checks the token, then the rate limits, then records the call; the gateway's websocket;
//!    the page (`static/`) and its JSON API with live updates over SSE.
//!
//! What it does as Discord does, beyond messages, commands and buttons:
//!
//! - **Select menus and forms.** A string select menu (component type 3) in a message is
//!   checked when the bot sends it (options, `min_values`/`max_values`); a person's choice
//!   reaches the bot as a component interaction with `data.values`. The bot answers an
//!   interaction with a form (callback type 9: a title, 1 to 5 rows of one text input each),
//!   which stays open for that person until they submit it (INTERACTION_CREATE type 5 with
//!   `data.custom_id` and every field's `custom_id` and `value`, checked as the Discord client
//!   checks it: required fields, lengths) or close it (the bot is told nothing).
//! - **Several guilds and shards.** `N` guilds with the same people, IDs `GUILD_ID + k << 22`
//!   ([`guild_id`]), so consecutive guilds sit on consecutive shards. `GET /gateway/bot`
//!   recommends `ceil(N / guilds_per_shard)` shards; a session identified with
//!   `shard: [id, count]` gets READY and GUILD_CREATE for its guilds only, then only their
//!   events and interactions (a DM's go to shard 0); several sessions on one shard (a rolling
//!   deploy) each get every event of it. With the identify limit on (the binary's default,
//!   `SANDBOX_MAX_CONCURRENCY`; off in tests unless [`SandboxOptions::identify_limit`]), one
//!   IDENTIFY per 5 seconds per bucket (`shard_id % max_concurrency`), any other answered
//!   INVALID_SESSION (`d: false`); every IDENTIFY is recorded with its time and shard. The
//!   global REST limit is one per token, shared by every process of the bot.
//! - **Threads.** `POST /channels/{id}/threads` makes a private (type 12, the default) or
//!   public thread of a text channel, its creator its first member; members are added, removed
//!   and listed (`/thread-members`); `PATCH` archives, locks, renames; messages in a thread
//!   are a channel's (MESSAGE_CREATE with the thread's `channel_id`, paging alike, counted in
//!   `message_count`). A private thread is seen by its members and by those who may manage
//!   threads in the parent. Writing in a locked thread needs Manage Threads; writing in an
//!   archived one unarchives it first (THREAD_UPDATE) when the writer may write in it, else it
//!   is refused (50083). THREAD_CREATE, THREAD_UPDATE, THREAD_DELETE and THREAD_MEMBERS_UPDATE
//!   are sent (the last, about other members, only to a session with the GUILD_MEMBERS
//!   intent, as Discord does); GUILD_CREATE lists the active threads and
//!   `GET /guilds/{id}/threads/active` too; at most 1,000 active threads per guild (160006).
//!   The sandbox never archives a thread by itself, and threads start without a message.
//!
//! With the `test-util` feature, [`Sandbox`] is the tests' handle: arrange the guilds, act as a
//! person or inject events ([`Sandbox::dispatch`]), make Discord fail (a call stalled, held or
//! refused, a channel hidden from the bot, a permission taken away), read what the bot did and
//! wait for it; [`fixtures`] builds events by hand. The product (the `discord-sandbox` binary)
//! needs neither.

#[cfg(feature = "test-util")]
pub mod fixtures;
#[cfg(feature = "test-util")]
mod handle;
pub mod http;
pub mod model;
pub mod rate_limit;
mod server;
mod settings;
pub mod world;

#[cfg(feature = "test-util")]
pub use handle::{describe, Sandbox, WAIT};
pub use http::{app, page::INTERACTION_DEADLINE, run};
pub use model::{
    error::ApiError,
    gateway::{IdentifyLimit, Shard},
    ids::{
        guild_id, shard_of, ADMIN_ID, APP_ID, BOT_ID, GUILD_ID, MEMBER_A_ID, MEMBER_B_ID,
        SUPPORT_ID,
    },
    limits::{ACTIVE_THREAD_LIMIT, CATEGORY_LIMIT, GUILD_CHANNEL_LIMIT},
    modal::Modal,
    user::{Persona, PERSONAS},
};
pub use rate_limit::{Limit, RateLimits};
pub use server::{SandboxOptions, Server};
pub use settings::SandboxSettings;
pub use world::{
    components::ModalRef,
    error::SandboxError,
    faults::HeldCall,
    record::{Dispatched, Identified, Recorded},
};
