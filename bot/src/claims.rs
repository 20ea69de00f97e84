//! Claims on messages, so that two bot processes on one guild (a rolling deploy: the new one
//! connects before the old one stops, and Discord sends each of them every event) answer each
//! message once. Before it acts on a message, a process creates the key `<message id>` in the
//! JetStream key-value bucket `relay_claims`; a key-value `create` succeeds for one writer
//! only, so only that process goes on. Claims expire after [`CLAIM_KEPT`], which is far longer
//! than any message waits for its turn.
//!
//! A claim whose process stops before it has acted (a shutdown abandons the answer under way)
//! is released, so that the next start, whose catch-up offers that message again, can take it.
//! A process that crashed releases nothing: its claim still says `acting`. Such a claim, once
//! older than the relay's whole budget for one message (`stale_after`: every attempt's
//! timeout, the waits between them, and the Discord calls around them), is taken over by
//! whoever is offered the message next, with a compare-and-set on the claim's revision so
//! that of two processes finding it stale only one takes it. A process that has acted marks
//! its claim `done`, which is never taken over: a message answered long ago and offered again
//! (a slow duplicate) stays answered once.
//!
//! The bucket is opened (or created) on first use. When it cannot be reached, the process acts
//! anyway: a message answered twice is better than one not answered at all.

use std::{collections::HashSet, time::Duration};

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use parking_lot::Mutex;
use serenity::all::MessageId;
use tokio::sync::OnceCell;

use crate::buckets;

/// The bucket's name.
pub const BUCKET: &str = "relay_claims";

/// How long a claim is kept.
pub const CLAIM_KEPT: Duration = Duration::from_secs(10 * 60);
/// How long a release, or the mark of a claim as done, may take (a release runs during a
/// shutdown, a mark on the channel's path).
const RELEASE_WITHIN: Duration = Duration::from_secs(1);
/// What a claim's value starts with while its process acts on the message.
const ACTING: &str = "acting";
/// What a claim's value starts with once its process has acted.
const DONE: &str = "done";

/// The claims bucket, opened on first use.
pub struct Claims {
    js: jetstream::Context,
    store: OnceCell<kv::Store>,
    /// Who claims: this process (its ID and host name), for `nats kv get relay_claims <id>`.
    claimant: String,
    /// A claim still `acting` after this long was left by a process that crashed.
    stale_after: Duration,
    /// The messages this process claimed and has not finished acting on.
    acting: Mutex<HashSet<MessageId>>,
}

impl std::fmt::Debug for Claims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claims").finish_non_exhaustive()
    }
}

impl Claims {
    /// The claims on `nats`'s JetStream (nothing is asked of the server yet); an `acting`
    /// claim older than `stale_after` is taken over.
    pub fn new(nats: async_nats::Client, stale_after: Duration) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_default();
        Self {
            js: jetstream::new(nats),
            store: OnceCell::new(),
            claimant: format!("pid {} {host}", std::process::id()),
            stale_after,
            acting: Mutex::new(HashSet::new()),
        }
    }

    /// The claim's value in `state` ([`ACTING`] or [`DONE`]).
    fn value(&self, state: &str) -> Bytes {
        Bytes::from(format!("{state} {}", self.claimant))
    }

    async fn store(&self) -> Result<&kv::Store, String> {
        self.store
            .get_or_try_init(|| async {
                let config = kv::Config {
                    bucket: BUCKET.to_owned(),
                    description: "Ticket assistant: which bot process answers each message"
                        .to_owned(),
                    history: 1,
                    max_age: CLAIM_KEPT,
                    max_value_size: 256,
                    storage: jetstream::stream::StorageType::File,
                    ..Default::default()
                };
                buckets::key_value(&self.js, config)
                    .await
                    .map_err(|err| err.to_string())
            })
            .await
    }

    /// Whether this process may act on `message`: its claim was the first (or the bucket could
    /// not be reached, and acting is the lesser harm).
    pub async fn claim(&self, message: MessageId) -> bool {
        let store = match self.store().await {
            Ok(store) => store,
            Err(err) => {
                tracing::warn!(error = %err, "cannot open the relay's claims; answering without one");
                return true;
            }
        };
        let claimed = match store.create(message.to_string(), self.value(ACTING)).await {
            Ok(_) => true,
            Err(err) if err.kind() == kv::CreateErrorKind::AlreadyExists => {
                self.take_over_if_stale(store, message).await
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot claim the message; answering all the same");
                return true;
            }
        };
        if claimed {
            self.acting.lock().insert(message);
        }
        claimed
    }

    /// Whether this process took over the claim on `message`: only a claim still `acting`
    /// after [`Self::stale_after`], and only if nobody changed it since it was read.
    async fn take_over_if_stale(&self, store: &kv::Store, message: MessageId) -> bool {
        let key = message.to_string();
        let entry = match store.entry(key.as_str()).await {
            Ok(Some(entry)) if entry.operation == kv::Operation::Put => entry,
            // Released or expired since the create: claim it as new.
            Ok(_) => return store.create(key.as_str(), self.value(ACTING)).await.is_ok(),
            Err(err) => {
                tracing::warn!(error = %err, message_id = %message, "cannot read the claim on the message; leaving it to its holder");
                return false;
            }
        };
        let age = age_of(entry.created.unix_timestamp_nanos());
        if entry.value.starts_with(DONE.as_bytes()) || age <= self.stale_after {
            return false;
        }
        match store
            .update(key.as_str(), self.value(ACTING), entry.revision)
            .await
        {
            Ok(_) => {
                tracing::warn!(
                    message_id = %message,
                    held_by = %String::from_utf8_lossy(&entry.value),
                    age_secs = age.as_secs(),
                    "took over a claim its process left (it stopped without acting)"
                );
                true
            }
            // Another process took it over first (or it was released and claimed anew).
            Err(_) => false,
        }
    }

    /// This process is done with `message` (acted, or had nothing to do): its claim, if it
    /// holds one, is marked done, so that it is never taken over, and stays until it expires.
    pub async fn settle(&self, message: MessageId) {
        if !self.acting.lock().remove(&message) {
            return;
        }
        let Some(store) = self.store.get() else {
            return;
        };
        let mark = store.put(message.to_string(), self.value(DONE));
        match tokio::time::timeout(RELEASE_WITHIN, mark).await {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => {
                tracing::warn!(error = %err, message_id = %message, "cannot mark the claim done; another process may take it over once it is stale")
            }
            Err(_) => {
                tracing::warn!(message_id = %message, "marking the claim done took too long; another process may take it over once it is stale")
            }
        }
    }

    /// This process gives `message` up before it has acted (a shutdown): its claim, if it
    /// holds one, is withdrawn so that another start can take the message.
    pub async fn release(&self, message: MessageId) {
        if !self.acting.lock().remove(&message) {
            return;
        }
        let Some(store) = self.store.get() else {
            return;
        };
        match tokio::time::timeout(RELEASE_WITHIN, store.delete(message.to_string())).await {
            Ok(Ok(())) => tracing::debug!(message_id = %message, "claim released"),
            Ok(Err(err)) => {
                tracing::warn!(error = %err, message_id = %message, "cannot release the claim; the message waits for it to expire")
            }
            Err(_) => {
                tracing::warn!(message_id = %message, "the claim's release took too long; the message waits for it to expire")
            }
        }
    }
}

/// How long ago `created` (nanoseconds since the Unix epoch, by the server's clock) was, by
/// this host's clock; zero when it lies ahead.
fn age_of(created: i128) -> Duration {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let nanos = i128::try_from(now)
        .unwrap_or(i128::MAX)
        .saturating_sub(created);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(if nanos < 0 { 0 } else { u64::MAX }))
}
