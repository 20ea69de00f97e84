//! The per-user rate limit's memory: at most `USER_RATE_LIMIT_PER_MINUTE` of a user's messages
//! are relayed per minute; the excess is dropped (never queued for later) and the user is told
//! to slow down, once per minute ([`super::notices::SLOW_DOWN_MESSAGE`]).
//!
//! Both limits are [`governor`] keyed GCRA limiters (the crate the REST limiter already uses):
//! a burst of the whole minute's allowance, refilled evenly. The check is made when a message
//! is about to be relayed, in the channel's order, so only relayed messages count (not staff
//! messages, nor messages during a handoff) and a message offered twice counts once.

use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serenity::all::UserId;

/// Beyond this many remembered users, those whose allowance is full again are forgotten.
const PRUNE_ABOVE: usize = 4096;

/// The limiters, or nothing when the limit is off.
pub(super) struct UserLimit(Option<Limiters>);

struct Limiters {
    messages: DefaultKeyedRateLimiter<UserId>,
    notices: DefaultKeyedRateLimiter<UserId>,
}

/// Whether a message may be relayed.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    Relay,
    /// Over the limit; `notify` is `true` for the first time this minute.
    Drop {
        notify: bool,
    },
}

impl UserLimit {
    /// `per_minute` messages per user per minute; 0 turns the limit off.
    pub(super) fn new(per_minute: u32) -> Self {
        Self(NonZeroU32::new(per_minute).map(|n| Limiters {
            messages: RateLimiter::keyed(Quota::per_minute(n)),
            notices: RateLimiter::keyed(Quota::per_minute(NonZeroU32::MIN)),
        }))
    }

    /// Counts one message of `user` against their allowance.
    pub(super) fn check(&self, user: UserId) -> Verdict {
        let Some(limiters) = &self.0 else {
            return Verdict::Relay;
        };
        if limiters.messages.len() > PRUNE_ABOVE {
            limiters.messages.retain_recent();
            limiters.notices.retain_recent();
        }
        if limiters.messages.check_key(&user).is_ok() {
            Verdict::Relay
        } else {
            Verdict::Drop {
                notify: limiters.notices.check_key(&user).is_ok(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_excess_is_dropped_with_one_notice_per_user() {
        let limit = UserLimit::new(2);
        let (alice, bob) = (UserId::new(1), UserId::new(2));
        assert_eq!(limit.check(alice), Verdict::Relay);
        assert_eq!(limit.check(alice), Verdict::Relay);
        assert_eq!(limit.check(alice), Verdict::Drop { notify: true });
        assert_eq!(limit.check(alice), Verdict::Drop { notify: false });
        assert_eq!(limit.check(bob), Verdict::Relay, "per user");
    }

    #[test]
    fn zero_is_no_limit() {
        let limit = UserLimit::new(0);
        for _ in 0..100 {
            assert_eq!(limit.check(UserId::new(1)), Verdict::Relay);
        }
    }
}
