//! The gateway connection: one shard, run by serenity's [`ShardManager`] with the event handler,
//! the cache and the REST client the bot built beforehand. serenity's `ClientBuilder` would make
//! its own cache and take the REST client; building the manager here lets the handler own the
//! relay and the tickets (which read that cache) from the start, with no cell to fill later.

use std::sync::Arc;

use futures::{channel::mpsc::UnboundedReceiver, StreamExt};
use serenity::{
    all::{Cache, EventHandler, GatewayIntents, Http},
    gateway::{GatewayError, PresenceData, ShardManager, ShardManagerOptions},
    prelude::{Mutex, RwLock, TypeMap},
};

/// One shard of the bot, connected to the gateway at a known URL.
pub struct Gateway {
    manager: Arc<ShardManager>,
    ended: UnboundedReceiver<Result<(), GatewayError>>,
}

impl Gateway {
    /// The shard manager for `handler`, connecting to `ws_url` (from the gateway discovery)
    /// with `intents`.
    pub fn new(
        http: Arc<Http>,
        cache: Arc<Cache>,
        handler: impl EventHandler + 'static,
        ws_url: String,
        intents: GatewayIntents,
    ) -> Self {
        let (manager, ended) = ShardManager::new(ShardManagerOptions {
            data: Arc::new(RwLock::new(TypeMap::new())),
            event_handlers: vec![Arc::new(handler)],
            raw_event_handlers: Vec::new(),
            shard_index: 0,
            shard_init: 1,
            shard_total: 1,
            ws_url: Arc::new(Mutex::new(ws_url)),
            cache,
            http,
            intents,
            presence: Some(PresenceData::default()),
        });
        Self { manager, ended }
    }

    /// Connects and handles events until the shard stops: `Ok` once it was shut down (through
    /// [`Self::manager`]), the gateway's error when Discord ended the session for good (a bad
    /// token, missing intents).
    pub async fn run(&mut self) -> serenity::Result<()> {
        // Boots the shards given to the manager; it reports no failure of its own.
        self.manager.initialize()?;
        match self.ended.next().await {
            Some(Err(err)) => Err(serenity::Error::Gateway(err)),
            Some(Ok(())) | None => Ok(()),
        }
    }

    /// The manager, whose `shutdown_all` stops the shard while [`Self::run`] awaits it.
    pub fn manager(&self) -> Arc<ShardManager> {
        Arc::clone(&self.manager)
    }
}
