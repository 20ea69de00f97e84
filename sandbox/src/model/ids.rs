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

/// How far apart the guilds' IDs are: one step of the shard bits, so that consecutive guilds
/// fall on consecutive shards (`(id >> 22) % shards`), as guilds spread over Discord's shards.
const GUILD_STEP: u64 = 1 << 22;

/// The ID of the sandbox's guild number `k` (0 is [`GUILD_ID`]): `GUILD_ID + k << 22`, so
/// that guild `k` sits on shard `(GUILD_ID >> 22) + k` modulo the shard count.
pub const fn guild_id(k: usize) -> u64 {
    GUILD_ID + (k as u64) * GUILD_STEP
}

/// The shard of `count` that receives guild `guild_id`'s events, as Discord computes it.
pub const fn shard_of(guild_id: u64, count: u32) -> u32 {
    if count == 0 {
        return 0;
    }
    ((guild_id >> 22) % count as u64) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guilds_follow_each_other_on_the_shards_and_stay_below_every_later_id() {
        assert_eq!(guild_id(0), GUILD_ID);
        let first = shard_of(GUILD_ID, 4);
        let shards: Vec<u32> = (0..4).map(|k| shard_of(guild_id(k), 4)).collect();
        assert_eq!(
            shards,
            [first, (first + 1) % 4, (first + 2) % 4, (first + 3) % 4]
        );
        assert!(guild_id(100_000) < APP_ID && guild_id(100_000) < FIRST_ID);
        assert_eq!(shard_of(GUILD_ID, 1), 0);
        assert_eq!(shard_of(GUILD_ID, 0), 0);
    }
}
