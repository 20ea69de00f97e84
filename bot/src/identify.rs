//! Discord's identify limit across processes: each `max_concurrency` bucket (`shard_id %
//! max_concurrency`) may start one session per 5 seconds for the whole bot, whichever process
//! runs the shard; past it Discord invalidates the session. Each bucket is a key `bucket-<n>` of
//! the JetStream key-value bucket `discord_identify`, holding the Unix time (ms) before which
//! nobody may identify in it:
//!
//! - a shard's start waits until that time has passed, then takes the key by compare-and-set
//!   (create when absent, update at the revision it read), writing "busy" for
//!   [`IDENTIFYING`]: one process wins, the others read again;
//! - once the shard is ready (its IDENTIFY answered), the key says "free
//!   [`IDENTIFY_WINDOW`] + [`CLOCK_MARGIN`] from now": the window is counted from after the
//!   IDENTIFY, so a slow connection cannot shorten it;
//! - a process that dies while identifying holds the bucket [`IDENTIFYING`] at most; the
//!   bucket's `max_age` drops old keys.
//!
//! The times come from each process's clock; [`CLOCK_MARGIN`] covers hosts kept in step by
//! NTP. When NATS cannot be reached the process waits one window and goes: an invalid session
//! is retried by serenity, while a shard that never starts answers nobody.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::{
    self,
    kv::{self, Operation},
};
use tokio::sync::OnceCell;

use crate::buckets;

/// The key-value bucket's name.
pub const BUCKET: &str = "discord_identify";
/// Discord's window: one IDENTIFY per bucket per this long.
pub const IDENTIFY_WINDOW: Duration = Duration::from_secs(5);
/// Added to the window for clocks of different hosts a little apart.
pub const CLOCK_MARGIN: Duration = Duration::from_millis(500);
/// How long a process holds a bucket while its shard connects and identifies, at most.
pub const IDENTIFYING: Duration = Duration::from_secs(30);
/// The longest sleep between two looks at a busy bucket.
const POLL: Duration = Duration::from_millis(500);

/// The shared identify limit, opened on first use.
pub struct IdentifyGate {
    js: jetstream::Context,
    store: OnceCell<Option<kv::Store>>,
    max_concurrency: u32,
}

/// Milliseconds since the Unix epoch, by this host's clock.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn later_ms(wait: Duration) -> u64 {
    now_ms().saturating_add(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX))
}

/// The time a key holds (0, the past, for anything unreadable: a broken key never blocks).
fn free_at(value: &[u8]) -> u64 {
    std::str::from_utf8(value)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0)
}

impl IdentifyGate {
    /// The gate of a bot whose `GET /gateway/bot` says `max_concurrency` (nothing is asked of
    /// NATS yet).
    pub fn new(nats: async_nats::Client, max_concurrency: u64) -> Self {
        Self {
            js: jetstream::new(nats),
            store: OnceCell::new(),
            max_concurrency: u32::try_from(max_concurrency.max(1)).unwrap_or(u32::MAX),
        }
    }

    /// The identify bucket of `shard`.
    pub fn bucket(&self, shard: u32) -> u32 {
        shard % self.max_concurrency
    }

    async fn store(&self) -> Option<&kv::Store> {
        self.store
            .get_or_init(|| async {
                let config = kv::Config {
                    bucket: BUCKET.to_owned(),
                    description: "Ticket assistant: when each Discord identify bucket is free"
                        .to_owned(),
                    history: 1,
                    // Keys are only useful for a window; old ones go by themselves.
                    max_age: IDENTIFYING * 2,
                    // The value is a number; the limit counts the compare-and-set headers too.
                    max_value_size: 256,
                    storage: jetstream::stream::StorageType::Memory,
                    ..Default::default()
                };
                buckets::key_value(&self.js, config)
                    .await
                    .inspect_err(|err| {
                        tracing::warn!(error = %err, "cannot open the identify bucket; shards identify one window apart in this process only");
                    })
                    .ok()
            })
            .await
            .as_ref()
    }

    /// Waits until `shard` may identify, and takes its bucket: call [`Self::identified`] once
    /// its session is ready.
    pub async fn wait_turn(&self, shard: u32) {
        let Some(store) = self.store().await else {
            tokio::time::sleep(IDENTIFY_WINDOW + CLOCK_MARGIN).await;
            return;
        };
        let key = format!("bucket-{}", self.bucket(shard));
        let busy = || bytes::Bytes::from(later_ms(IDENTIFYING).to_string());
        loop {
            let taken = match store.entry(&key).await {
                Ok(Some(entry)) if entry.operation == Operation::Put => {
                    let free = free_at(&entry.value);
                    let now = now_ms();
                    if free > now {
                        let wait = Duration::from_millis(free - now).min(POLL);
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    match store.update(&key, busy(), entry.revision).await {
                        Ok(_) => Ok(true),
                        Err(err) if err.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                            Ok(false)
                        }
                        Err(err) => Err(err.to_string()),
                    }
                }
                Ok(_) => match store.create(&key, busy()).await {
                    Ok(_) => Ok(true),
                    Err(err) if err.kind() == kv::CreateErrorKind::AlreadyExists => Ok(false),
                    Err(err) => Err(err.to_string()),
                },
                Err(err) => Err(err.to_string()),
            };
            match taken {
                Ok(true) => {
                    tracing::debug!(shard, bucket = %key, "identify bucket taken");
                    return;
                }
                // Another process took it first: read its time.
                Ok(false) => tokio::time::sleep(POLL / 10).await,
                Err(err) => {
                    tracing::warn!(error = %err, shard, "cannot use the identify bucket; identifying after one window");
                    tokio::time::sleep(IDENTIFY_WINDOW + CLOCK_MARGIN).await;
                    return;
                }
            }
        }
    }

    /// `shard` identified (or gave up): its bucket is free one window from now.
    pub async fn identified(&self, shard: u32) {
        let Some(store) = self.store().await else {
            return;
        };
        let key = format!("bucket-{}", self.bucket(shard));
        let free = later_ms(IDENTIFY_WINDOW + CLOCK_MARGIN).to_string();
        if let Err(err) = store.put(&key, free.into()).await {
            tracing::warn!(error = %err, shard, "cannot free the identify bucket; it frees itself later");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_key_never_blocks() {
        assert_eq!(free_at(b"1790000000000"), 1_790_000_000_000);
        assert_eq!(free_at(b"soon"), 0);
        assert_eq!(free_at(b""), 0);
        // `before` is read first: a clock read after `later_ms` could be a millisecond on.
        let before = now_ms();
        assert!(later_ms(IDENTIFY_WINDOW) >= before + 5_000);
    }
}
