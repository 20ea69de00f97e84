//! Discord's limits that the sandbox enforces, with the answers Discord gives past them.

use std::time::Duration;

/// Discord's limit of channels per category.
pub const CATEGORY_LIMIT: usize = 50;
/// Discord's limit of channels per guild.
pub const GUILD_CHANNEL_LIMIT: usize = 500;
/// Discord's limit of active (not archived) threads per guild.
pub const ACTIVE_THREAD_LIMIT: usize = 1000;
/// The most guilds Discord lets one shard hold: past it, an IDENTIFY without more shards is
/// closed with 4011 "Sharding required".
pub const MAX_GUILDS_PER_SHARD: usize = 2500;
/// Discord's limit of characters in a message.
pub const MESSAGE_CHARS: usize = 2000;
/// How long Discord shows "typing" after one typing call.
pub const TYPING_LASTS: Duration = Duration::from_secs(10);
/// What Discord tells a bot about the files a user may attach to an interaction's answer.
pub const ATTACHMENT_SIZE_LIMIT: u64 = 8_388_608;
