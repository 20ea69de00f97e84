//! Claims on messages, so that two bot processes on one guild (a rolling deploy: the new one
//! connects before the old one stops, and Discord sends each of them every event) answer each
//! message once. Before it acts on a message, a process creates the key `<message id>` in the
//! JetStream key-value bucket `relay_claims`; a key-value `create` succeeds for one writer
//! only, so only that process goes on. Claims expire after [`CLAIM_KEPT`], which is far longer
//! than any message waits for its turn.
//!
//! A claim whose process stops before it has acted (a shutdown abandons the answer under way)
//! is released, so that the next start, whose catch-up offers that message again, can take it.
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
/// How long a release may take (it runs during a shutdown).
const RELEASE_WITHIN: Duration = Duration::from_secs(1);

/// The claims bucket, opened on first use.
pub struct Claims {
    js: jetstream::Context,
    store: OnceCell<kv::Store>,
    /// Who claims: this process (its ID and host name), for `nats kv get relay_claims <id>`.
    claimant: Bytes,
    /// The messages this process claimed and has not finished acting on.
    acting: Mutex<HashSet<MessageId>>,
}

impl std::fmt::Debug for Claims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claims").finish_non_exhaustive()
    }
}

impl Claims {
    /// The claims on `nats`'s JetStream (nothing is asked of the server yet).
    pub fn new(nats: async_nats::Client) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_default();
        Self {
            js: jetstream::new(nats),
            store: OnceCell::new(),
            claimant: Bytes::from(format!("pid {} {host}", std::process::id())),
            acting: Mutex::new(HashSet::new()),
        }
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
        match store
            .create(message.to_string(), self.claimant.clone())
            .await
        {
            Ok(_) => {
                self.acting.lock().insert(message);
                true
            }
            Err(err) if err.kind() == kv::CreateErrorKind::AlreadyExists => false,
            Err(err) => {
                tracing::warn!(error = %err, "cannot claim the message; answering all the same");
                true
            }
        }
    }

    /// This process is done with `message` (acted, or had nothing to do): its claim, if any,
    /// stays until it expires.
    pub fn settle(&self, message: MessageId) {
        self.acting.lock().remove(&message);
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
