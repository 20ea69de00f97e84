//! The per-user rate limit: at most `USER_RATE_LIMIT_PER_MINUTE` of a user's messages are
//! relayed per minute; the excess is dropped (never queued for later) and the user is told to
//! slow down, once per minute ([`SLOW_DOWN_MESSAGE`]).
//!
//! Both limits are [`governor`] keyed GCRA limiters (the crate the REST limiter already uses):
//! a burst of the whole minute's allowance, refilled evenly. The check is made when a message
//! is about to be relayed, in the channel's order, so only relayed messages count (not staff
//! messages, nor messages during a handoff) and a message offered twice counts once.

use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serenity::all::{Message, UserId};

use super::Inner;

/// What a user reads, once per minute, when their messages are beyond the limit.
pub const SLOW_DOWN_MESSAGE: &str =
    "You're sending messages faster than I can answer them; please wait a minute before sending more.";

/// `USER_RATE_LIMIT_PER_MINUTE`'s default: more than a person asks in a minute, few enough
/// that one user cannot keep the workers busy.
pub(super) const DEFAULT_PER_MINUTE: u32 = 6;

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
enum Verdict {
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

    fn check(&self, user: UserId) -> Verdict {
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

impl Inner {
    /// `true` when `message` is within its author's limit; otherwise it is dropped, and the
    /// author told to slow down once per minute.
    pub(super) async fn within_user_limit(&self, message: &Message) -> bool {
        match self.user_limit.check(message.author.id) {
            Verdict::Relay => true,
            Verdict::Drop { notify } => {
                tracing::info!(
                    limit = self.settings.user_rate_limit_per_minute,
                    "user over the rate limit, message not relayed"
                );
                if notify {
                    self.post(message, SLOW_DOWN_MESSAGE).await;
                }
                false
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
