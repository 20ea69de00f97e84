//! Joins a repeated request for one Discord message to the answer already running for it on
//! this worker, so that a duplicate delivery never calls the model a second time.
//!
//! Why here and like this: requesters retry only failures where no worker started the work,
//! or explicit retryable failures after the model produced no answer; yet NATS may still hand
//! one worker the same message twice (a requester that timed out and a user who re-sent, a
//! bot reconnect replaying events). The map holds, per `message_id`, a *weak* handle on the
//! running answer (`futures::future::Shared`): every request for that id awaits the same
//! future and gets the same reply or error. The answer stays alive only while someone awaits
//! it, so a cancelled request cancels the model call and leaves no entry behind; the map is
//! swept of finished entries on every insert, so it holds at most the answers in flight.
//! Across workers no such join exists (it would need shared state for a case the requesters
//! already avoid); a duplicate after the answer was sent is a new question.

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, Mutex},
};

use common::payload::{RelayReply, Snowflake};
use futures::{
    future::{BoxFuture, Shared, WeakShared},
    FutureExt,
};

use crate::ResponderError;

type Answer = Result<RelayReply, ResponderError>;
type Running = Shared<BoxFuture<'static, Answer>>;

/// The answers running on this worker, by message id.
#[derive(Debug, Default, Clone)]
pub struct InFlight {
    running: Arc<Mutex<HashMap<Snowflake, WeakShared<BoxFuture<'static, Answer>>>>>,
}

impl InFlight {
    /// Awaits the answer running for `message_id`, or starts `answer` as that answer. Without
    /// a message id there is nothing to join on: `answer` just runs.
    pub async fn join_or_run(
        &self,
        message_id: Option<&Snowflake>,
        answer: impl Future<Output = Answer> + Send + 'static,
    ) -> Answer {
        let Some(id) = message_id else {
            return answer.await;
        };
        let running = self.join_or_insert(id, answer);
        running.await
    }

    /// How many answers are registered (running, or finished and not yet swept).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    fn join_or_insert(
        &self,
        id: &Snowflake,
        answer: impl Future<Output = Answer> + Send + 'static,
    ) -> Running {
        let mut running = self.lock();
        if let Some(existing) = running.get(id).and_then(WeakShared::upgrade) {
            tracing::info!(message_id = %id, "repeated request joined to the answer in progress");
            return existing;
        }
        running.retain(|_, answer| answer.upgrade().is_some());
        let shared = answer.boxed().shared();
        if let Some(weak) = shared.downgrade() {
            running.insert(id.clone(), weak);
        }
        shared
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<Snowflake, WeakShared<BoxFuture<'static, Answer>>>> {
        // The critical sections cannot panic, but a poisoned map is still a valid map.
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn duplicates_share_one_run_and_distinct_ids_do_not() {
        let in_flight = InFlight::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let (release, released) = tokio::sync::watch::channel(false);
        let answer = |text: &'static str| {
            let runs = Arc::clone(&runs);
            let mut released = released.clone();
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                released.wait_for(|r| *r).await.ok();
                Ok(RelayReply::new(text))
            }
        };
        let one = Snowflake::from(1);
        let two = Snowflake::from(2);
        let first = in_flight.join_or_run(Some(&one), answer("a"));
        let second = in_flight.join_or_run(Some(&one), answer("b"));
        let other = in_flight.join_or_run(Some(&two), answer("c"));
        let none = in_flight.join_or_run(None, answer("d"));
        let all = futures::future::join4(first, second, other, none);
        let releaser = async {
            tokio::task::yield_now().await;
            release.send(true).unwrap();
        };
        let ((a, b, c, d), ()) = futures::future::join(all, releaser).await;
        assert_eq!(a.unwrap().reply, "a");
        assert_eq!(b.unwrap().reply, "a", "the duplicate got the first answer");
        assert_eq!(c.unwrap().reply, "c");
        assert_eq!(d.unwrap().reply, "d");
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_finished_or_abandoned_answer_leaves_no_entry() {
        let in_flight = InFlight::default();
        let id = Snowflake::from(7);
        in_flight
            .join_or_run(Some(&id), async { Ok(RelayReply::new("x")) })
            .await
            .unwrap();
        let abandoned = in_flight.join_or_insert(&Snowflake::from(8), futures::future::pending());
        assert_eq!(in_flight.len(), 1, "the finished answer was swept");
        drop(abandoned);
        // The next insert sweeps the abandoned one; only the new one remains.
        let third = Snowflake::from(9);
        let running = in_flight.join_or_insert(&third, futures::future::pending());
        assert_eq!(in_flight.len(), 1);
        drop(running);
    }
}
