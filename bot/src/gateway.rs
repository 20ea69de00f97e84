//! The gateway connection: this process's shards ([`ShardPlan`]), each run by a serenity
//! [`ShardManager`] of its own with the event handler, the cache and the REST client the bot
//! built beforehand. serenity's `ClientBuilder` would make its own cache and take the REST
//! client; building the managers here lets the handler own the relay and the tickets (which
//! read that cache) from the start, with no cell to fill later.
//!
//! One manager per shard, because a manager boots all its shards through a queue of its own
//! that spaces them five seconds apart in this process only: here each shard starts once the
//! [`IdentifyGate`] says its identify bucket is free for the whole bot, every process
//! included, and frees it again once the shard is ready. (A shard that serenity itself
//! restarts later, after Discord invalidated its session, goes through its manager's queue.)

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use futures::{
    channel::mpsc::UnboundedReceiver,
    future::join_all,
    stream::{self, StreamExt},
};
use serenity::{
    all::{Cache, Context, EventHandler, GatewayIntents, Http, Ready},
    async_trait,
    gateway::{GatewayError, PresenceData, ShardManager, ShardManagerOptions},
    prelude::{Mutex, RwLock, TypeMap},
};
use tokio::sync::mpsc;

use crate::{identify::IdentifyGate, shards::ShardPlan};

/// How long a shard's start waits for its READY before the next shard of its identify bucket
/// may go (a refused IDENTIFY never gets one; serenity retries it).
const READY_WAIT: Duration = Duration::from_secs(30);

/// This process's shards, connected to the gateway at a known URL.
pub struct Gateway {
    managers: BTreeMap<u32, Arc<ShardManager>>,
    ended: Vec<UnboundedReceiver<Result<(), GatewayError>>>,
    readies: mpsc::UnboundedReceiver<u32>,
    plan: ShardPlan,
}

/// Tells [`Gateway::run`] when a shard's session is ready (its IDENTIFY answered).
struct ReadyWatch(mpsc::UnboundedSender<u32>);

#[async_trait]
impl EventHandler for ReadyWatch {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        let shard = ready.shard.map_or(0, |s| s.id.0);
        // The receiver goes only when the bot stops.
        let _ = self.0.send(shard);
    }
}

impl Gateway {
    /// A shard manager per shard of `plan` for `handler`, connecting to `ws_url` (from the
    /// gateway discovery) with `intents`.
    pub fn new(
        http: Arc<Http>,
        cache: Arc<Cache>,
        handler: impl EventHandler + 'static,
        ws_url: String,
        intents: GatewayIntents,
        plan: ShardPlan,
    ) -> Self {
        let (ready_tx, readies) = mpsc::unbounded_channel();
        let handlers: Vec<Arc<dyn EventHandler>> =
            vec![Arc::new(handler), Arc::new(ReadyWatch(ready_tx))];
        let data = Arc::new(RwLock::new(TypeMap::new()));
        let mut managers = BTreeMap::new();
        let mut ended = Vec::new();
        for shard in plan.shards() {
            let (manager, end) = ShardManager::new(ShardManagerOptions {
                data: Arc::clone(&data),
                event_handlers: handlers.clone(),
                raw_event_handlers: Vec::new(),
                shard_index: shard,
                shard_init: 1,
                shard_total: plan.total(),
                ws_url: Arc::new(Mutex::new(ws_url.clone())),
                cache: Arc::clone(&cache),
                http: Arc::clone(&http),
                intents,
                presence: Some(PresenceData::default()),
            });
            managers.insert(shard, manager);
            ended.push(end);
        }
        Self {
            managers,
            ended,
            readies,
            plan,
        }
    }

    /// Starts each shard in its turn and handles events until the shards stop: `Ok` once they
    /// were shut down (through [`Self::stopper`]), the gateway's error when Discord ended a
    /// session for good (a bad token, missing intents).
    pub async fn run(&mut self, gate: &IdentifyGate) -> serenity::Result<()> {
        tracing::info!(shards = %self.plan, "starting the shards");
        let mut ended = stream::select_all(std::mem::take(&mut self.ended));
        let starting = start_all(&self.managers, &mut self.readies, gate);
        tokio::pin!(starting);
        let first_end = tokio::select! {
            end = ended.next() => end,
            result = &mut starting => {
                result?;
                ended.next().await
            }
        };
        match first_end {
            Some(Err(err)) => Err(serenity::Error::Gateway(err)),
            Some(Ok(())) | None => Ok(()),
        }
    }

    /// Each shard's manager, for the metrics' readings of its stage and latency.
    pub fn managers(&self) -> Vec<(u32, std::sync::Weak<ShardManager>)> {
        self.managers
            .iter()
            .map(|(shard, manager)| (*shard, Arc::downgrade(manager)))
            .collect()
    }

    /// What stops every shard while [`Self::run`] awaits them.
    pub fn stopper(&self) -> Stopper {
        Stopper(self.managers.values().cloned().collect())
    }
}

/// Boots each shard when its identify bucket is free: the buckets side by side, the shards of
/// one bucket one after the other.
async fn start_all(
    managers: &BTreeMap<u32, Arc<ShardManager>>,
    readies: &mut mpsc::UnboundedReceiver<u32>,
    gate: &IdentifyGate,
) -> serenity::Result<()> {
    let mut by_bucket: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for shard in managers.keys() {
        by_bucket
            .entry(gate.bucket(*shard))
            .or_default()
            .push(*shard);
    }
    // Readiness is reported on one channel for all shards; each bucket's sequence waits for
    // its own shard's.
    let (ready_out, _) = tokio::sync::broadcast::channel::<u32>(managers.len().max(1) * 4);
    let forward = async {
        while let Some(shard) = readies.recv().await {
            let _ = ready_out.send(shard);
        }
    };
    let buckets = by_bucket.into_values().map(|shards| {
        let mut ready_in = ready_out.subscribe();
        async move {
            for shard in shards {
                gate.wait_turn(shard).await;
                managers[&shard].initialize()?;
                let ready = tokio::time::timeout(READY_WAIT, async {
                    while let Ok(id) = ready_in.recv().await {
                        if id == shard {
                            return;
                        }
                    }
                })
                .await;
                if ready.is_err() {
                    tracing::warn!(
                        shard,
                        "the shard is not ready yet; starting the next one of its identify bucket"
                    );
                }
                gate.identified(shard).await;
            }
            serenity::Result::Ok(())
        }
    });
    tokio::select! {
        results = join_all(buckets) => {
            results.into_iter().collect::<serenity::Result<Vec<()>>>()?;
            tracing::info!("every shard of this process has started");
            Ok(())
        }
        () = forward => Ok(()),
    }
}

/// Stops every shard of a [`Gateway`].
pub struct Stopper(Vec<Arc<ShardManager>>);

impl Stopper {
    /// Shuts every shard down.
    pub async fn shutdown_all(&self) {
        join_all(self.0.iter().map(|manager| manager.shutdown_all())).await;
    }
}
