//! The bottom floor: Discord's objects and events as typed Rust values, written in Discord's
//! JSON shape (each type's unit tests read what it writes back with serenity's own types), and
//! the bodies the bot sends, read into types. Nothing here knows of the sandbox's state or of
//! HTTP; everything above builds on it.
//!
//! - [`ids`], [`limits`], [`permissions`]: the fixed IDs (and the guilds' IDs), Discord's
//!   limits, permission bits;
//! - [`user`], [`member`], [`role`], [`channel`] (threads too), [`message`], [`component`]
//!   (select menus), [`modal`] (forms), [`command`], [`interaction`], [`guild`]: the objects,
//!   from users up to the whole guild of GUILD_CREATE;
//! - [`gateway`]: sharding, `GET /gateway/bot` and the identify limit; [`application`]: the
//!   bot's application and the privileged intents it has;
//! - [`event`]: the gateway's dispatch events; [`error`]: Discord's refusals;
//! - [`visibility`]: who sees a channel; [`query`]: the paging of a channel's messages;
//! - [`wire`]: how IDs are written (strings) and read (strings or numbers).

pub mod application;
pub mod channel;
pub mod command;
pub mod component;
pub mod error;
pub mod event;
pub mod gateway;
pub mod guild;
pub mod ids;
pub mod interaction;
pub mod limits;
pub mod member;
pub mod message;
pub mod modal;
pub mod permissions;
pub mod query;
pub mod role;
pub mod user;
pub mod visibility;
pub mod wire;
