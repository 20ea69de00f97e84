//! Joins a repeated request for one Discord message to the answer already running for it on
//! this worker, so that a duplicate delivery never calls the model a second time.
//!
//! Why here and like this: requesters retry only failures where no worker started the work,
//! or explicit retryable failures after the model produced no answer; yet NATS may still hand
//! one worker the same message twice (a requester that timed out and a user who re-sent, a
//! bot reconnect replaying events). The map holds, per request ([`Key`]), a *weak* handle on
//! the running answer (`futures::future::Shared`): every request with that key awaits the same
//! future and gets the same reply or error. The answer stays alive only while someone awaits
//! it, so a cancelled request cancels the model call and leaves no entry behind; the map is
//! swept of finished entries on every insert, so it holds at most the answers in flight.
//! Across workers no such join exists (it would need shared state for a case the requesters
//! already avoid); a duplicate after the answer was sent is a new question.
//!
//! A message ID alone is no key: HTTP clients number their messages as they like (1, 2, 3…),
//! so two members' requests can share one. Only a request equal in guild, channel, user,
//! message ID, content and history is a repeat; content and history go into the key as a
//! hash keyed at random per worker, so nobody can make two different requests collide.

use std::{
    collections::HashMap,
    future::Future,
    hash::{BuildHasher, Hash, Hasher, RandomState},
    sync::{Arc, Mutex},
};

use common::payload::{RelayReply, RelayRequest, Snowflake};
use futures::{
    future::{BoxFuture, Shared, WeakShared},
    FutureExt,
};

use crate::ResponderError;

type Answer = Result<RelayReply, ResponderError>;
type Running = Shared<BoxFuture<'static, Answer>>;

type Map = HashMap<Key, WeakShared<BoxFuture<'static, Answer>>>;

/// What makes two requests one: everything the answer depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    guild: Snowflake,
    channel: Snowflake,
    user: Snowflake,
    message: Snowflake,
    /// Content and history, hashed with the map's own random keys.
    said: u64,
}

/// The answers running on this worker, by request.
#[derive(Debug, Default, Clone)]
pub struct InFlight {
    running: Arc<Mutex<Map>>,
    /// Keys the content hash at random, once per worker.
    hasher: RandomState,
}

impl InFlight {
    /// Awaits the answer running for the same `request`, or starts `answer` as its answer.
    /// Without a message id there is nothing to join on: `answer` just runs.
    pub async fn join_or_run(
        &self,
        request: &RelayRequest,
        answer: impl Future<Output = Answer> + Send + 'static,
    ) -> Answer {
        let Some(key) = self.key(request) else {
            return answer.await;
        };
        let running = self.join_or_insert(key, answer);
        running.await
    }

    fn key(&self, request: &RelayRequest) -> Option<Key> {
        let message = request.message_id.clone()?;
        let mut said = self.hasher.build_hasher();
        request.content.as_str().hash(&mut said);
        // The number of entries first: no two different histories feed the same values.
        request.history.len().hash(&mut said);
        for entry in &request.history {
            entry.role.hash(&mut said);
            entry.author_id.hash(&mut said);
            entry.content.as_str().hash(&mut said);
        }
        Some(Key {
            guild: request.guild_id.clone(),
            channel: request.channel_id.clone(),
            user: request.user_id.clone(),
            message,
            said: said.finish(),
        })
    }

    /// How many answers are registered (running, or finished and not yet swept).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    fn join_or_insert(
        &self,
        key: Key,
        answer: impl Future<Output = Answer> + Send + 'static,
    ) -> Running {
        let mut running = self.lock();
        if let Some(existing) = running.get(&key).and_then(WeakShared::upgrade) {
            tracing::info!(message_id = %key.message, "repeated request joined to the answer in progress");
            return existing;
        }
        running.retain(|_, answer| answer.upgrade().is_some());
        let shared = answer.boxed().shared();
        if let Some(weak) = shared.downgrade() {
            running.insert(key, weak);
        }
        shared
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Map> {
        // The critical sections cannot panic, but a poisoned map is still a valid map.
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use common::payload::{HistoryEntry, HistoryRole, MessageContent};

    use super::*;

    fn request(user: u64, message: Option<u64>, content: &str) -> RelayRequest {
        RelayRequest {
            guild_id: Snowflake::from(1),
            channel_id: Snowflake::from(2),
            user_id: Snowflake::from(user),
            content: MessageContent::parse(content.to_owned()).unwrap(),
            message_id: message.map(Snowflake::from),
            history: Vec::new(),
        }
    }

    /// Runs every request of `requests` at once, each answering its own position's text while
    /// held until all have started; returns the replies and how many answers ran.
    async fn run_together(requests: &[RelayRequest]) -> (Vec<String>, usize) {
        let in_flight = InFlight::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let (release, released) = tokio::sync::watch::channel(false);
        let all = requests.iter().enumerate().map(|(n, request)| {
            let runs = Arc::clone(&runs);
            let mut released = released.clone();
            let answer = async move {
                runs.fetch_add(1, Ordering::SeqCst);
                released.wait_for(|r| *r).await.ok();
                Ok(RelayReply::new(format!("answer {n}")))
            };
            in_flight.join_or_run(request, answer)
        });
        let all = futures::future::join_all(all);
        let releaser = async {
            tokio::task::yield_now().await;
            release.send(true).unwrap();
        };
        let (replies, ()) = futures::future::join(all, releaser).await;
        let replies = replies.into_iter().map(|r| r.unwrap().reply).collect();
        (replies, runs.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn a_true_repeat_shares_one_run() {
        let one = request(3, Some(1), "where is my refund?");
        let (replies, runs) = run_together(&[one.clone(), one]).await;
        assert_eq!(
            replies,
            ["answer 0", "answer 0"],
            "the repeat got the first answer"
        );
        assert_eq!(runs, 1);
    }

    #[tokio::test]
    async fn one_message_id_from_different_users_or_texts_or_histories_is_not_joined() {
        let first = request(3, Some(1), "where is my refund?");
        let other_user = request(4, Some(1), "where is my refund?");
        let other_text = request(3, Some(1), "where is my parcel?");
        let mut other_history = first.clone();
        other_history.history = vec![HistoryEntry {
            role: HistoryRole::User,
            author_id: Snowflake::from(3),
            content: MessageContent::parse("my order 12 is late".to_owned()).unwrap(),
        }];
        let mut other_channel = first.clone();
        other_channel.channel_id = Snowflake::from(9);
        let other_message = request(3, Some(2), "where is my refund?");
        let no_id = request(3, None, "where is my refund?");
        let requests = [
            first,
            other_user,
            other_text,
            other_history,
            other_channel,
            other_message,
            no_id.clone(),
            no_id,
        ];

        let (replies, runs) = run_together(&requests).await;

        let expected: Vec<String> = (0..requests.len()).map(|n| format!("answer {n}")).collect();
        assert_eq!(replies, expected, "each request got its own answer");
        assert_eq!(runs, requests.len());
    }

    #[tokio::test]
    async fn a_finished_or_abandoned_answer_leaves_no_entry() {
        let in_flight = InFlight::default();
        let key = |message| in_flight.key(&request(3, Some(message), "hi")).unwrap();
        in_flight
            .join_or_run(&request(3, Some(7), "hi"), async {
                Ok(RelayReply::new("x"))
            })
            .await
            .unwrap();
        let abandoned = in_flight.join_or_insert(key(8), futures::future::pending());
        assert_eq!(in_flight.len(), 1, "the finished answer was swept");
        drop(abandoned);
        // The next insert sweeps the abandoned one; only the new one remains.
        let running = in_flight.join_or_insert(key(9), futures::future::pending());
        assert_eq!(in_flight.len(), 1);
        drop(running);
    }
}
