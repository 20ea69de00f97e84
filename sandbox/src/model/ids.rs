//! The fixed IDs of the sandbox's world: its guild, the bot, and the people you can act as.
//! Every ID the sandbox hands out later is larger than these, as Discord's IDs grow with time.

/// The guild the bot sits in.
pub const GUILD_ID: u64 = 100_000_000_000_000_001;
/// The bot's application (and user) ID.
pub const APP_ID: u64 = 200_000_000_000_000_002;
/// The bot user's ID (bots share their application's ID).
pub const BOT_ID: u64 = APP_ID;
/// The guild's owner, an administrator.
pub const ADMIN_ID: u64 = 300_000_000_000_000_003;
/// A member of staff: gets the "Support" role once it exists.
pub const SUPPORT_ID: u64 = 300_000_000_000_000_006;
/// An ordinary member.
pub const MEMBER_A_ID: u64 = 400_000_000_000_000_004;
/// Another ordinary member.
pub const MEMBER_B_ID: u64 = 400_000_000_000_000_005;
/// The first ID handed out is one more than this: larger than every fixed ID.
pub const FIRST_ID: u64 = 900_000_000_000_000_000;
