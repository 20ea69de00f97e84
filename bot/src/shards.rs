//! Which shards this process runs: `DISCORD_SHARD_COUNT` (how many shards the bot has in all,
//! a number or `auto` for Discord's recommendation) and `DISCORD_SHARDS` (the range this
//! process runs, such as `0-3`; all of them when unset), parsed once into [`ShardCount`] and
//! [`ShardRange`], and resolved at start into a [`ShardPlan`] that says which guilds are this
//! process's: Discord puts guild `g` on shard `(g >> 22) % shard_count`.
//!
//! Several processes run disjoint ranges against one NATS; each receives only its shards'
//! events, and guild-scoped background work (adoption, catch-up, sweeps) runs only where
//! [`ShardPlan::holds`] the guild.

use std::{fmt, num::NonZeroU32, ops::RangeInclusive};

use serenity::all::GuildId;

/// `DISCORD_SHARD_COUNT`: the bot's shards in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShardCount {
    /// As many as `GET /gateway/bot` recommends.
    #[default]
    Auto,
    /// This many.
    Fixed(NonZeroU32),
}

/// Why a shard setting does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ShardError(String);

/// Discord's most shards for one bot that anyone runs; far above any real count, it keeps a
/// typo (`400000`) from starting that many connections.
const MAX_SHARDS: u32 = 65_536;

fn shard_number(text: &str) -> Result<u32, ShardError> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n < MAX_SHARDS)
        .ok_or_else(|| {
            ShardError(format!(
                "{text:?} is not a shard number (0 to {MAX_SHARDS})"
            ))
        })
}

impl ShardCount {
    /// `auto` (or empty) or a number of shards, at least 1.
    pub fn parse(text: &str) -> Result<Self, ShardError> {
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("auto") {
            return Ok(Self::Auto);
        }
        NonZeroU32::new(shard_number(text)?)
            .map(Self::Fixed)
            .ok_or_else(|| ShardError("must be auto or at least 1".to_owned()))
    }

    /// The count, given what Discord recommends (read only for [`Self::Auto`]).
    pub fn resolve(self, recommended: u32) -> NonZeroU32 {
        match self {
            Self::Auto => NonZeroU32::new(recommended).unwrap_or(NonZeroU32::MIN),
            Self::Fixed(count) => count,
        }
    }
}

/// `DISCORD_SHARDS`: the shards this process runs, first to last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShardRange {
    /// Every shard of the bot.
    #[default]
    All,
    /// `first-last` (or one shard, `first`).
    Some {
        /// The first shard.
        first: u32,
        /// The last shard, included.
        last: u32,
    },
}

impl ShardRange {
    /// `0-3`, `5` (one shard), or empty for all.
    pub fn parse(text: &str) -> Result<Self, ShardError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Self::All);
        }
        let (first, last) = match text.split_once('-') {
            Some((first, last)) => (shard_number(first)?, shard_number(last)?),
            None => {
                let only = shard_number(text)?;
                (only, only)
            }
        };
        if first > last {
            return Err(ShardError(format!(
                "{text:?}: the first shard comes before the last, as in 0-3"
            )));
        }
        Ok(Self::Some { first, last })
    }
}

/// The shards of this process, out of the bot's `total`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardPlan {
    shards: RangeInclusive<u32>,
    total: NonZeroU32,
}

impl ShardPlan {
    /// `range` out of `total` shards; an error when the range goes past the last shard.
    pub fn new(range: ShardRange, total: NonZeroU32) -> Result<Self, ShardError> {
        let shards = match range {
            ShardRange::All => 0..=total.get() - 1,
            ShardRange::Some { first, last } if last < total.get() => first..=last,
            ShardRange::Some { last, .. } => {
                return Err(ShardError(format!(
                    "shard {last} does not exist: the bot has {total} (0 to {})",
                    total.get() - 1
                )))
            }
        };
        Ok(Self { shards, total })
    }

    /// The shards this process runs.
    pub fn shards(&self) -> RangeInclusive<u32> {
        self.shards.clone()
    }

    /// The bot's shards in all.
    pub fn total(&self) -> u32 {
        self.total.get()
    }

    /// The shard Discord puts `guild` on.
    pub fn shard_of(&self, guild: GuildId) -> u32 {
        let shard = (guild.get() >> 22) % u64::from(self.total.get());
        u32::try_from(shard).expect("below the shard count, a u32")
    }

    /// Whether `guild` is on one of this process's shards: its background work runs here.
    pub fn holds(&self, guild: GuildId) -> bool {
        self.shards.contains(&self.shard_of(guild))
    }
}

impl fmt::Display for ShardPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{} of {}",
            self.shards.start(),
            self.shards.end(),
            self.total
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    #[test]
    fn shard_count_is_auto_or_a_positive_number() {
        assert_eq!(ShardCount::parse("auto"), Ok(ShardCount::Auto));
        assert_eq!(ShardCount::parse(" AUTO "), Ok(ShardCount::Auto));
        assert_eq!(ShardCount::parse(""), Ok(ShardCount::Auto));
        assert_eq!(ShardCount::parse("4"), Ok(ShardCount::Fixed(count(4))));
        for bad in ["0", "-1", "four", "1.5", "99999999"] {
            assert!(ShardCount::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(ShardCount::Auto.resolve(3), count(3));
        assert_eq!(ShardCount::Auto.resolve(0), count(1));
        assert_eq!(ShardCount::Fixed(count(8)).resolve(3), count(8));
    }

    #[test]
    fn shard_range_is_a_range_a_single_shard_or_all() {
        assert_eq!(ShardRange::parse(""), Ok(ShardRange::All));
        assert_eq!(
            ShardRange::parse("0-3"),
            Ok(ShardRange::Some { first: 0, last: 3 })
        );
        assert_eq!(
            ShardRange::parse(" 2 - 3 "),
            Ok(ShardRange::Some { first: 2, last: 3 })
        );
        assert_eq!(
            ShardRange::parse("5"),
            Ok(ShardRange::Some { first: 5, last: 5 })
        );
        for bad in ["3-1", "a-b", "1-", "-1", "0..3", "1-2-3"] {
            assert!(ShardRange::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_plan_stays_within_the_count() {
        let all = ShardPlan::new(ShardRange::All, count(4)).unwrap();
        assert_eq!(all.shards(), 0..=3);
        assert_eq!(all.to_string(), "0-3 of 4");
        let upper = ShardPlan::new(ShardRange::Some { first: 2, last: 3 }, count(4)).unwrap();
        assert_eq!(upper.shards(), 2..=3);
        let err = ShardPlan::new(ShardRange::Some { first: 2, last: 4 }, count(4)).unwrap_err();
        assert!(err.to_string().contains("shard 4"), "{err}");
        let one = ShardPlan::new(ShardRange::All, count(1)).unwrap();
        assert_eq!(one.shards(), 0..=0);
    }

    #[test]
    fn each_guild_is_held_by_exactly_one_of_disjoint_ranges() {
        let lower = ShardPlan::new(ShardRange::Some { first: 0, last: 1 }, count(4)).unwrap();
        let upper = ShardPlan::new(ShardRange::Some { first: 2, last: 3 }, count(4)).unwrap();
        let base: u64 = 1_300_000_000_000_000_000;
        for k in 0..20u64 {
            let guild = GuildId::new(base + (k << 22));
            assert_ne!(lower.holds(guild), upper.holds(guild), "guild {k}");
            assert_eq!(
                lower.shard_of(guild),
                u32::try_from(((base >> 22) + k) % 4).unwrap()
            );
        }
        assert!(ShardPlan::new(ShardRange::All, count(1))
            .unwrap()
            .holds(GuildId::new(base)));
    }
}
