//! Sharding as Discord does it: `GET /gateway/bot` (where to connect, how many shards Discord
//! recommends, the session start limit), the `shard: [id, count]` of IDENTIFY and which guilds
//! a shard holds, and the identify limit (one IDENTIFY per 5 seconds per `max_concurrency`
//! bucket, `shard_id % max_concurrency`; beyond it an INVALID_SESSION).

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::model::ids::shard_of;

/// Discord's default: one shard per 1000 guilds.
pub const GUILDS_PER_SHARD: usize = 1000;
/// How many session starts Discord allows a bot per day.
pub const SESSION_STARTS_PER_DAY: u64 = 1000;
/// A day, in milliseconds: when the session start limit resets.
pub const DAY_MS: u64 = 86_400_000;
/// Discord's window of the identify limit: one IDENTIFY per bucket per 5 seconds.
pub const IDENTIFY_WINDOW: Duration = Duration::from_secs(5);

/// A session's shard: `[id, count]` in IDENTIFY.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "[u32; 2]", into = "[u32; 2]")]
pub struct Shard {
    /// Which shard, from 0.
    pub id: u32,
    /// Of how many.
    pub count: u32,
}

impl Shard {
    /// The one shard of a bot that does not shard: it gets every guild.
    pub const ALL: Self = Self { id: 0, count: 1 };

    /// Whether Discord accepts it: `id < count`.
    pub fn is_valid(self) -> bool {
        self.id < self.count
    }

    /// Whether this shard receives the events of `guild` (`None`: a DM's, shard 0's).
    pub fn holds(self, guild: Option<u64>) -> bool {
        match guild {
            Some(guild) => shard_of(guild, self.count) == self.id,
            None => self.id == 0,
        }
    }
}

impl From<[u32; 2]> for Shard {
    fn from([id, count]: [u32; 2]) -> Self {
        Self { id, count }
    }
}

impl From<Shard> for [u32; 2] {
    fn from(shard: Shard) -> Self {
        [shard.id, shard.count]
    }
}

/// The shards Discord recommends for `guilds` guilds at `per_shard` guilds each: at least one.
pub fn recommended_shards(guilds: usize, per_shard: usize) -> u32 {
    let shards = guilds.div_ceil(per_shard.max(1)).max(1);
    u32::try_from(shards).unwrap_or(u32::MAX)
}

/// `session_start_limit` of `GET /gateway/bot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SessionStartLimit {
    /// Session starts allowed per day.
    pub total: u64,
    /// Left today.
    pub remaining: u64,
    /// Milliseconds until the count resets.
    pub reset_after: u64,
    /// How many shards may identify at once (each in its own bucket).
    pub max_concurrency: u64,
}

/// The answer of `GET /gateway/bot`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GatewayBot {
    /// Where the gateway is.
    pub url: String,
    /// The shards Discord recommends.
    pub shards: u32,
    /// How many sessions the bot may still start.
    pub session_start_limit: SessionStartLimit,
}

/// The identify limit: one IDENTIFY per [`IdentifyLimit::per`] in each of
/// [`IdentifyLimit::max_concurrency`] buckets (`shard_id % max_concurrency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentifyLimit {
    /// Buckets: how many shards may identify at once.
    pub max_concurrency: u32,
    /// Each bucket's window ([`IDENTIFY_WINDOW`]).
    pub per: Duration,
}

impl IdentifyLimit {
    /// Discord's limit for a bot with `max_concurrency` (1 for most bots).
    pub fn discord(max_concurrency: u32) -> Self {
        Self {
            max_concurrency: max_concurrency.max(1),
            per: IDENTIFY_WINDOW,
        }
    }

    /// The bucket of `shard`.
    pub fn bucket(self, shard: Shard) -> u32 {
        shard.id % self.max_concurrency.max(1)
    }

    /// Whether an IDENTIFY of a bucket whose last accepted IDENTIFY was at `last` is allowed at
    /// `now`.
    pub fn allows(self, last: Option<Instant>, now: Instant) -> bool {
        last.is_none_or(|last| now.duration_since(last) >= self.per)
    }
}

#[cfg(test)]
mod tests {
    use serenity::model::gateway::BotGateway;

    use super::*;
    use crate::model::ids::guild_id;

    #[test]
    fn gateway_bot_is_serenitys_and_recommends_one_shard_per_thousand_guilds() {
        assert_eq!(recommended_shards(1, GUILDS_PER_SHARD), 1);
        assert_eq!(recommended_shards(1000, GUILDS_PER_SHARD), 1);
        assert_eq!(recommended_shards(1001, GUILDS_PER_SHARD), 2);
        assert_eq!(recommended_shards(5, 2), 3);
        assert_eq!(recommended_shards(0, 0), 1);
        let answer = GatewayBot {
            url: "ws://127.0.0.1:1/gateway".to_owned(),
            shards: 3,
            session_start_limit: SessionStartLimit {
                total: SESSION_STARTS_PER_DAY,
                remaining: 999,
                reset_after: DAY_MS,
                max_concurrency: 1,
            },
        };
        let read: BotGateway =
            serde_json::from_value(serde_json::to_value(&answer).unwrap()).unwrap();
        assert_eq!((read.shards, read.session_start_limit.remaining), (3, 999));
    }

    #[test]
    fn a_shard_holds_its_guilds_and_dms_go_to_shard_zero() {
        let shards = [Shard { id: 0, count: 2 }, Shard { id: 1, count: 2 }];
        for k in 0..6 {
            let holders = shards.iter().filter(|s| s.holds(Some(guild_id(k)))).count();
            assert_eq!(holders, 1, "guild {k} is on exactly one shard");
        }
        assert!(shards[0].holds(None) && !shards[1].holds(None));
        assert!(Shard::ALL.holds(Some(guild_id(3))));
        assert!(!Shard { id: 2, count: 2 }.is_valid());
        let read: Shard = serde_json::from_value(serde_json::json!([1, 4])).unwrap();
        assert_eq!(read, Shard { id: 1, count: 4 });
    }

    #[test]
    fn one_identify_per_window_and_bucket() {
        let limit = IdentifyLimit::discord(2);
        assert_eq!(limit.bucket(Shard { id: 3, count: 4 }), 1);
        assert_eq!(
            IdentifyLimit::discord(0).bucket(Shard { id: 3, count: 4 }),
            0
        );
        let start = Instant::now();
        assert!(limit.allows(None, start));
        assert!(!limit.allows(Some(start), start + Duration::from_millis(4_999)));
        assert!(limit.allows(Some(start), start + IDENTIFY_WINDOW));
    }
}
