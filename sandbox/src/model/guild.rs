//! What the gateway tells the bot when it connects: READY (who it is, which guilds it is in)
//! and one GUILD_CREATE per guild with its channels, roles and members.

use serde::Serialize;

use crate::model::{
    channel::Channel,
    ids::APP_ID,
    member::{Member, JOINED_AT},
    role::Role,
    user::User,
    wire::{u64_string, Never},
};

/// The GUILD_CREATE event's data: the whole guild.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GuildCreate {
    /// The guild ID.
    #[serde(with = "u64_string")]
    pub id: u64,
    /// Its name.
    pub name: String,
    /// Never set in the sandbox.
    pub icon: Option<String>,
    /// Its owner (the administrator persona).
    #[serde(with = "u64_string")]
    pub owner_id: u64,
    /// 0: none.
    pub verification_level: u8,
    /// 0: all messages.
    pub default_message_notifications: u8,
    /// 0: disabled.
    pub explicit_content_filter: u8,
    /// 0: none.
    pub mfa_level: u8,
    /// 0: none.
    pub system_channel_flags: u64,
    /// 0: no boosts.
    pub premium_tier: u8,
    /// `en-US`.
    pub preferred_locale: &'static str,
    /// 0: default.
    pub nsfw_level: u8,
    /// Never set in the sandbox.
    pub premium_progress_bar_enabled: bool,
    /// When the bot joined.
    pub joined_at: &'static str,
    /// Never set in the sandbox.
    pub large: bool,
    /// How many members are listed.
    pub member_count: usize,
    /// Its roles, @everyone first.
    pub roles: Vec<Role>,
    /// None.
    pub emojis: Vec<Never>,
    /// None.
    pub features: Vec<Never>,
    /// None.
    pub stickers: Vec<Never>,
    /// None.
    pub voice_states: Vec<Never>,
    /// Its members.
    pub members: Vec<Member>,
    /// Its channels.
    pub channels: Vec<Channel>,
    /// Its active (not archived) threads.
    pub threads: Vec<Channel>,
    /// None.
    pub presences: Vec<Never>,
    /// None.
    pub stage_instances: Vec<Never>,
    /// None.
    pub guild_scheduled_events: Vec<Never>,
}

impl GuildCreate {
    /// Guild `id` named `name`, owned by `owner_id`, with these channels, roles (@everyone
    /// first) and members.
    pub fn new(
        id: u64,
        name: &str,
        owner_id: u64,
        channels: Vec<Channel>,
        roles: Vec<Role>,
        members: Vec<Member>,
    ) -> Self {
        Self {
            id,
            name: name.to_owned(),
            icon: None,
            owner_id,
            verification_level: 0,
            default_message_notifications: 0,
            explicit_content_filter: 0,
            mfa_level: 0,
            system_channel_flags: 0,
            premium_tier: 0,
            preferred_locale: "en-US",
            nsfw_level: 0,
            premium_progress_bar_enabled: false,
            joined_at: JOINED_AT,
            large: false,
            member_count: members.len(),
            roles,
            emojis: Vec::new(),
            features: Vec::new(),
            stickers: Vec::new(),
            voice_states: Vec::new(),
            members,
            channels,
            threads: Vec::new(),
            presences: Vec::new(),
            stage_instances: Vec::new(),
            guild_scheduled_events: Vec::new(),
        }
    }
}

/// A guild in READY: not sent yet (its GUILD_CREATE follows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UnavailableGuild {
    /// The guild ID.
    #[serde(with = "u64_string")]
    pub id: u64,
    /// Always true in READY.
    pub unavailable: bool,
}

/// The bot's application in READY.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Application {
    /// The application ID (serenity takes it from here).
    #[serde(with = "u64_string")]
    pub id: u64,
    /// None.
    pub flags: u64,
}

/// The READY event's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ready {
    /// The gateway version, 10.
    pub v: u8,
    /// The bot user.
    pub user: User,
    /// The guilds it is in.
    pub guilds: Vec<UnavailableGuild>,
    /// The session (the sandbox never resumes one).
    pub session_id: &'static str,
    /// Where to resume: this gateway.
    pub resume_gateway_url: String,
    /// The session's shard, `[id, count]`, when it identified with one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<[u32; 2]>,
    /// The bot's application.
    pub application: Application,
}

impl Ready {
    /// READY for a bot in `guilds` that reached the sandbox at `host`.
    pub fn new(host: &str, guilds: impl IntoIterator<Item = u64>) -> Self {
        Self {
            v: 10,
            user: User::bot(),
            guilds: guilds
                .into_iter()
                .map(|id| UnavailableGuild {
                    id,
                    unavailable: true,
                })
                .collect(),
            session_id: "fake-session",
            resume_gateway_url: format!("ws://{host}/gateway"),
            shard: None,
            application: Application {
                id: APP_ID,
                flags: 0,
            },
        }
    }
}
