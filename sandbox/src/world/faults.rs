//! Failures a test asks for, to see what the bot does when Discord misbehaves: the next call
//! of a kind left unanswered (stalled), held until the test releases it, or refused with one of
//! Discord's errors; and a channel the bot lost access to (every call on it refused with
//! Missing Access, as when an admin takes the bot's view of it away).

use axum::http::Method;
use tokio_util::sync::CancellationToken;

use crate::{model::error::ApiError, world::World};

/// What happens to a call a fault matches.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Never answered (until the sandbox closes): the caller's own timeout has to end it.
    Stall,
    /// Answered only once the test releases it.
    Hold(HeldCall),
    /// Refused with this error instead of being answered.
    Refuse(ApiError),
}

/// A call held by [`World::hold_next`]: the test learns when it arrives and lets it go.
#[derive(Debug, Clone, Default)]
pub struct HeldCall {
    reached: CancellationToken,
    released: CancellationToken,
}

impl HeldCall {
    /// Resolves once the held call has arrived.
    pub async fn reached(&self) {
        self.reached.cancelled().await;
    }

    /// Whether the held call has arrived.
    pub fn is_reached(&self) -> bool {
        self.reached.is_cancelled()
    }

    /// Lets the held call go on (before or after it arrived).
    pub fn release(&self) {
        self.released.cancel();
    }

    /// Marks the call arrived, then waits until it is released.
    pub async fn wait_for_release(&self) {
        self.reached.cancel();
        self.released.cancelled().await;
    }
}

/// Which calls a fault applies to.
#[derive(Debug, Clone)]
enum Target {
    /// The next call with this method whose path ends with this suffix.
    Next(Method, String),
    /// Every call on channel `id` (its path has `/channels/{id}`, alone or followed by `/`).
    Channel(u64),
}

impl Target {
    fn matches(&self, method: &Method, path: &str) -> bool {
        match self {
            Self::Next(m, suffix) => m == method && path.ends_with(suffix.as_str()),
            Self::Channel(id) => {
                let needle = format!("/channels/{id}");
                path.match_indices(&needle).any(|(at, _)| {
                    matches!(path[at + needle.len()..].chars().next(), None | Some('/'))
                })
            }
        }
    }

    /// Whether the fault is used up by one call.
    fn once(&self) -> bool {
        matches!(self, Self::Next(..))
    }
}

/// The faults still to apply, oldest first.
#[derive(Debug, Default)]
pub struct Faults {
    pending: Vec<(Target, Fault)>,
}

impl World {
    /// Leaves the next REST call with `method` whose path ends with `suffix` unanswered.
    pub fn stall_next(&mut self, method: Method, suffix: &str) {
        let target = Target::Next(method, suffix.to_owned());
        self.faults.pending.push((target, Fault::Stall));
    }

    /// Holds the next REST call with `method` whose path ends with `suffix` until the returned
    /// handle releases it.
    pub fn hold_next(&mut self, method: Method, suffix: &str) -> HeldCall {
        let held = HeldCall::default();
        let target = Target::Next(method, suffix.to_owned());
        self.faults
            .pending
            .push((target, Fault::Hold(held.clone())));
        held
    }

    /// Refuses the next REST call with `method` whose path ends with `suffix` with `error`.
    pub fn fail_next(&mut self, method: Method, suffix: &str, error: ApiError) {
        let target = Target::Next(method, suffix.to_owned());
        self.faults.pending.push((target, Fault::Refuse(error)));
    }

    /// From now on every call on channel `id` is refused with Missing Access (403, 50001).
    pub fn revoke_channel_access(&mut self, id: u64) {
        self.faults
            .pending
            .push((Target::Channel(id), Fault::Refuse(ApiError::MissingAccess)));
    }

    /// The fault for this call, if one applies (a one-call fault is used up).
    pub fn take_fault(&mut self, method: &Method, path: &str) -> Option<Fault> {
        let index = self
            .faults
            .pending
            .iter()
            .position(|(target, _)| target.matches(method, path))?;
        let (target, fault) = &self.faults.pending[index];
        let fault = fault.clone();
        if target.once() {
            self.faults.pending.remove(index);
        }
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_call_fault_is_taken_once_by_a_matching_call() {
        let mut world = World::new();
        world.stall_next(Method::POST, "/messages");
        assert!(world
            .take_fault(&Method::GET, "/api/v10/channels/1/messages")
            .is_none());
        assert!(matches!(
            world.take_fault(&Method::POST, "/api/v10/channels/1/messages"),
            Some(Fault::Stall)
        ));
        assert!(world
            .take_fault(&Method::POST, "/api/v10/channels/1/messages")
            .is_none());
    }

    #[test]
    fn a_revoked_channel_refuses_every_call_on_it_and_only_on_it() {
        let mut world = World::new();
        world.revoke_channel_access(12);
        for path in ["/api/v10/channels/12", "/api/v10/channels/12/messages"] {
            for _ in 0..2 {
                assert!(matches!(
                    world.take_fault(&Method::GET, path),
                    Some(Fault::Refuse(ApiError::MissingAccess))
                ));
            }
        }
        assert!(world
            .take_fault(&Method::GET, "/api/v10/channels/123/messages")
            .is_none());
    }

    #[tokio::test]
    async fn a_held_call_says_when_it_arrived_and_goes_on_when_released() {
        let mut world = World::new();
        let held = world.hold_next(Method::DELETE, "/channels/5");
        let Some(Fault::Hold(call)) = world.take_fault(&Method::DELETE, "/api/v10/channels/5")
        else {
            panic!("held");
        };
        assert!(!held.is_reached());
        let waiting = tokio::spawn(async move { call.wait_for_release().await });
        held.reached().await;
        held.release();
        waiting.await.unwrap();
    }
}
