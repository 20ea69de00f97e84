//! A Discord stand-in for one guild, to try the ticket bot without Discord and to test it:
//! the REST routes and gateway events the bot uses, Discord's rate limits, and a web page where
//! you act as an administrator, a Support member or one of two members.
//!
//! Run it with `cargo run -p sandbox --bin discord-sandbox` (settings in [`SandboxSettings`]),
//! then point the bot at it with `DISCORD_PROXY_URL`; `scripts/run` does both when no
//! `DISCORD_TOKEN` is set. The page is at `/`.
//!
//! The crate is built in floors; each uses only the floors below it, and no two modules use
//! each other:
//!
//! 1. [`model`]: Discord's objects (channels, roles, members, messages with their components
//!    and attachments, commands, interactions, the guild) and gateway events as typed values
//!    in Discord's JSON shape, checked against serenity's own types in unit tests; Discord's
//!    refusals (`{"message", "code"}`); the paging query of a channel's messages.
//!    [`rate_limit`] sits beside it: Discord's global limit and per-route buckets, their
//!    headers and 429s.
//! 2. [`world`]: the state (guilds keyed by ID, DMs, messages, interactions, uploaded files,
//!    the record of every REST call and gateway event) and every action on it, for the REST
//!    routes, the gateway, the page and the tests alike. [`Server`] (in `server`) holds the
//!    world behind one lock with the rate limiter and the token.
//! 3. [`http`]: the axum router. The REST API under `/api/v10`, one file per resource
//!    (`channels`, `guilds`, `interactions`, `users`, `gateway`) behind one middleware that
//!    checks the token, then the rate limits, then records the call; the gateway's websocket;
//!    the page (`static/`) and its JSON API with live updates over SSE.
//!
//! With the `test-util` feature, [`Sandbox`] is the tests' handle: arrange the guild, act as a
//! person or inject events ([`Sandbox::dispatch`]), make Discord fail (a call stalled, held or
//! refused, a channel hidden from the bot), read what the bot did and wait for it;
//! [`fixtures`] builds events by hand. The product (the `discord-sandbox` binary) needs
//! neither.

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
