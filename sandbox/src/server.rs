//! A running sandbox's shared state: the [`World`] behind one lock, the rate limiter, the
//! token it accepts, where it listens, and the signals its tasks share (a REST call was
//! recorded; the server is closing). The REST routes, the gateway sessions, the page and the
//! tests' handle each hold a clone of one [`Server`].
//!
//! The lock is `parking_lot`'s: it cannot be poisoned, so a test failing while it holds the
//! lock leaves the sandbox usable for the rest of the test's output, without an unwrap on
//! every lock.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use parking_lot::{Mutex, MutexGuard};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{
    model::{
        channel::ChannelKind,
        gateway::{IdentifyLimit, GUILDS_PER_SHARD},
    },
    rate_limit::{Limiter, RateLimits},
    world::{GatewaySettings, World},
};

/// How to start a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// The bot token the sandbox accepts.
    pub token: String,
    /// The rate limits it enforces ([`RateLimits::discord`] unless told otherwise).
    pub rate_limits: RateLimits,
    /// Start with a #general channel in each guild, as a new guild has (the page needs
    /// somewhere to run commands); tests start with empty guilds.
    pub general_channel: bool,
    /// How many guilds, with the same people (1 unless told otherwise): [`crate::GUILD_ID`],
    /// then [`crate::guild_id`]`(1)`...
    pub guilds: usize,
    /// Guilds per shard `GET /gateway/bot` recommends (Discord's 1000).
    pub guilds_per_shard: usize,
    /// The identify limit, when enforced: none unless told (tests restart bots at once); the
    /// `discord-sandbox` binary enforces Discord's.
    pub identify_limit: Option<IdentifyLimit>,
    /// The heartbeat interval HELLO asks for (Discord's 41.25 s unless told otherwise: a
    /// test that needs a heartbeat's round trip, the gateway latency, asks for less).
    pub heartbeat_interval: Duration,
}

impl SandboxOptions {
    /// An empty guild accepting `token`, with Discord's rate limits.
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            rate_limits: RateLimits::discord(),
            general_channel: false,
            guilds: 1,
            guilds_per_shard: GUILDS_PER_SHARD,
            identify_limit: None,
            heartbeat_interval: Duration::from_millis(crate::world::HEARTBEAT_INTERVAL_MS),
        }
    }

    /// HELLO asks for a heartbeat every `interval`.
    #[must_use]
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.heartbeat_interval = interval;
        self
    }

    /// `count` guilds (at least one) instead of one.
    #[must_use]
    pub fn guilds(mut self, count: usize) -> Self {
        self.guilds = count.max(1);
        self
    }

    /// `GET /gateway/bot` recommends one shard per `count` guilds (at least one).
    #[must_use]
    pub fn guilds_per_shard(mut self, count: usize) -> Self {
        self.guilds_per_shard = count.max(1);
        self
    }

    /// Enforces Discord's identify limit with `max_concurrency` buckets: one IDENTIFY per 5
    /// seconds in each (`shard_id % max_concurrency`), any other answered INVALID_SESSION.
    #[must_use]
    pub fn identify_limit(mut self, max_concurrency: u32) -> Self {
        self.identify_limit = Some(IdentifyLimit::discord(max_concurrency));
        self
    }

    /// These rate limits instead.
    #[must_use]
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }

    /// Starts with a #general channel.
    #[must_use]
    pub fn with_general_channel(mut self) -> Self {
        self.general_channel = true;
        self
    }
}

impl From<&str> for SandboxOptions {
    fn from(token: &str) -> Self {
        Self::new(token)
    }
}

/// A sandbox's shared state; clones share it. Serve it with [`crate::run`].
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

struct Inner {
    token: String,
    addr: SocketAddr,
    world: Mutex<World>,
    limiter: Mutex<Limiter>,
    /// Notified after each recorded REST call, for tests waiting on what the bot did.
    recorded: Notify,
    /// Cancelled when the server shuts down: ends the page's event streams and gateway
    /// sessions, which would otherwise keep a graceful shutdown waiting forever.
    closing: CancellationToken,
}

impl Server {
    /// A sandbox whose address will be `addr` (where the caller bound its listener).
    pub fn new(options: impl Into<SandboxOptions>, addr: SocketAddr) -> Self {
        let options = options.into();
        let mut world = World::with_guilds(options.guilds);
        world.set_gateway(GatewaySettings {
            guilds_per_shard: options.guilds_per_shard,
            identify_limit: options.identify_limit,
            heartbeat_interval_ms: u64::try_from(options.heartbeat_interval.as_millis())
                .unwrap_or(u64::MAX)
                .max(1),
        });
        if options.general_channel {
            let guilds: Vec<u64> = world.guilds().map(|g| g.id).collect();
            for guild in guilds {
                world.add_channel(guild, "general", ChannelKind::Text, None, Vec::new());
            }
        }
        Self {
            inner: Arc::new(Inner {
                token: options.token,
                addr,
                world: Mutex::new(world),
                limiter: Mutex::new(Limiter::new(options.rate_limits)),
                recorded: Notify::new(),
                closing: CancellationToken::new(),
            }),
        }
    }

    /// `http://ADDR`, the bot's `DISCORD_PROXY_URL` and the page's address.
    pub fn url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// Whether `authorization` is the bot's (`Bot <token>`).
    pub fn accepts(&self, authorization: &str) -> bool {
        authorization
            .strip_prefix("Bot ")
            .is_some_and(|token| token == self.inner.token)
    }

    /// The world, locked.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.inner.world.lock()
    }

    /// The rate limiter, locked.
    pub(crate) fn limiter(&self) -> MutexGuard<'_, Limiter> {
        self.inner.limiter.lock()
    }

    /// Tells waiting tests that a REST call was recorded.
    pub(crate) fn notify_recorded(&self) {
        self.inner.recorded.notify_waiters();
    }

    /// Resolves at the next recorded REST call.
    pub fn recorded(&self) -> tokio::sync::futures::Notified<'_> {
        self.inner.recorded.notified()
    }

    /// Cancelled when the server shuts down.
    pub fn closing(&self) -> &CancellationToken {
        &self.inner.closing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_bots_token_is_accepted_and_general_is_made_on_request() {
        let addr = SocketAddr::from(([127, 0, 0, 1], 9));
        let server = Server::new(SandboxOptions::new("t").with_general_channel(), addr);
        assert!(server.accepts("Bot t"));
        assert!(!server.accepts("t") && !server.accepts("Bot x") && !server.accepts("Bearer t"));
        assert_eq!(server.url(), "http://127.0.0.1:9");
        assert_eq!(server.world().home().channels[0].name, "general");
        assert!(Server::new("t", addr).world().home().channels.is_empty());
    }

    #[test]
    fn several_guilds_each_get_general_and_the_gateway_settings_are_the_worlds() {
        let addr = SocketAddr::from(([127, 0, 0, 1], 9));
        let options = SandboxOptions::new("t")
            .with_general_channel()
            .guilds(3)
            .guilds_per_shard(2)
            .identify_limit(4);
        let server = Server::new(options, addr);
        let world = server.world();
        assert_eq!(world.guild_count(), 3);
        assert!(world.guilds().all(|g| g.channels[0].name == "general"));
        let gateway = world.gateway_settings();
        assert_eq!(gateway.guilds_per_shard, 2);
        assert_eq!(gateway.identify_limit.map(|l| l.max_concurrency), Some(4));
        assert_eq!(world.gateway_bot("h").shards, 2);
    }
}
