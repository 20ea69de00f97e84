//! The fake's state: the guild as it is now (channels, roles, the bot's permissions), every REST
//! call and gateway event so far, and the live gateway session, shared by the REST routes, the
//! gateway and the tests' [`super::FakeDiscord`] handle.

use std::{collections::HashMap, net::SocketAddr, sync::Mutex};

use serde_json::Value;
use tokio::sync::{mpsc, Notify};

use super::{Dispatched, Recorded};

/// The first snowflake handed out is one more than this: larger than every fixed ID.
const FIRST_ID: u64 = 900_000_000_000_000_000;

/// The guild and the record of what happened to it.
pub(super) struct World {
    pub(super) requests: Vec<Recorded>,
    pub(super) dispatched: Vec<Dispatched>,
    pub(super) channels: Vec<Value>,
    pub(super) roles: Vec<Value>,
    last_id: u64,
    pub(super) can_manage_channels: bool,
    pub(super) can_manage_roles: bool,
    /// Where to send dispatch events for the connected bot.
    pub(super) gateway: Option<mpsc::UnboundedSender<(String, Value)>>,
    pub(super) identifies: usize,
    /// The channel each interaction token was used in, for its response messages.
    pub(super) interaction_channels: HashMap<String, u64>,
}

impl World {
    /// An empty guild where the bot may manage channels and roles.
    fn new() -> Self {
        Self {
            requests: Vec::new(),
            dispatched: Vec::new(),
            channels: Vec::new(),
            roles: Vec::new(),
            last_id: FIRST_ID,
            can_manage_channels: true,
            can_manage_roles: true,
            gateway: None,
            identifies: 0,
            interaction_channels: HashMap::new(),
        }
    }

    /// A new snowflake, larger than every earlier one (Discord IDs grow with time).
    pub(super) fn next_id(&mut self) -> u64 {
        self.last_id += 1;
        self.last_id
    }
}

/// What the server tasks and the handle share.
pub(super) struct Shared {
    /// The bot token the fake accepts.
    pub(super) token: String,
    /// Where the fake listens.
    pub(super) addr: SocketAddr,
    pub(super) world: Mutex<World>,
    /// Notified after each recorded REST call, for `wait_for`.
    pub(super) changed: Notify,
}

impl Shared {
    pub(super) fn new(token: &str, addr: SocketAddr) -> Self {
        Self {
            token: token.to_owned(),
            addr,
            world: Mutex::new(World::new()),
            changed: Notify::new(),
        }
    }

    pub(super) fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().expect("world")
    }
}

/// The snowflake in an object's `id` string.
pub(super) fn id_of(value: &Value) -> u64 {
    value["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("object with an id")
}
