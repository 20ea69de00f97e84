//! Harness of the broker tests: the repo's least-privilege nats-server config run for real,
//! clients connected as each of its users, a worker from the library, and the checks that
//! tell a permissions violation apart from silence.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use async_nats::{Client, ConnectOptions, Event, ServerError, Subscriber};
use common::{
    config::NatsSettings,
    payload::RelayReply,
    relay_client::RelayClient,
    test_util::{eventually, NatsServer},
};
use futures::FutureExt;
pub use relay_worker::test_util::{sample_request, spawn_worker_probed, SUBJECT};
use relay_worker::{Placeholder, RunningWorker, WorkerSettings};
use tokio::sync::mpsc;

pub const ERRORS_SUBJECT: &str = "tickets.relay.errors";
/// Bounds every wait, so that a broken setup fails instead of hanging.
pub const WITHIN: Duration = Duration::from_secs(15);

/// The users of `nats/least-privilege.conf`, the variable holding each one's password, and the
/// password the tests give it.
const USERS: [(&str, &str, &str); 4] = [
    ("bot", "NATS_BOT_PASSWORD", "bot-test-secret"),
    ("http", "NATS_HTTP_PASSWORD", "http-test-secret"),
    ("worker", "NATS_WORKER_PASSWORD", "worker-test-secret"),
    ("admin", "NATS_ADMIN_PASSWORD", "admin-test-secret"),
];

/// The two users that send relay requests and must not be able to do anything else.
pub const REQUESTERS: [&str; 2] = ["bot", "http"];

fn password(user: &str) -> &'static str {
    USERS
        .iter()
        .find(|(name, _, _)| *name == user)
        .map(|(_, _, password)| *password)
        .unwrap_or_else(|| panic!("no user {user} in the least-privilege config"))
}

/// A directory of one test, removed on drop.
pub struct TestDir(PathBuf);

impl TestDir {
    pub fn new(label: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "relay-broker-test-{}-{label}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create the test directory");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A nats-server running `nats/least-privilege.conf`.
pub struct SecureBroker {
    pub server: NatsServer,
    _dir: TestDir,
}

impl SecureBroker {
    /// The normal flow needs no permission it lacks: the server logged no violation.
    pub fn assert_no_violations(&self) {
        let logs = self.server.logs();
        assert!(!logs.contains("Violation"), "server log:\n{logs}");
    }

    /// Starts the real config with test passwords.
    ///
    /// The config reads passwords from the server's environment, which the test harness does
    /// not set per server (and changing this process's environment would race with the other
    /// tests), so a copy of the file gets each `$NATS_*_PASSWORD` reference replaced by its
    /// test password; nothing else changes. `scripts/check-deploy` checks the environment
    /// references themselves with `nats-server -t`.
    pub fn start() -> Self {
        let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../nats/least-privilege.conf");
        let mut text = std::fs::read_to_string(&config).expect("read nats/least-privilege.conf");
        for (user, variable, password) in USERS {
            let reference = format!("${variable}");
            assert!(
                text.contains(&reference),
                "nats/least-privilege.conf no longer takes the {user} password from ${variable}"
            );
            text = text.replace(&reference, &format!("\"{password}\""));
        }
        let dir = TestDir::new("secure");
        let path = dir.path().join("least-privilege.conf");
        std::fs::write(&path, text).expect("write the test config");
        let server = NatsServer::builder()
            .config(&path)
            // The config's fixed monitoring port and JetStream directory would collide
            // between tests running at the same time.
            .arg("-m")
            .arg("-1")
            .arg("--store_dir")
            .arg(dir.path().join("jetstream").display().to_string())
            .start();
        Self { server, _dir: dir }
    }

    /// Settings a binary would have with `NATS_USER=user` and its password.
    pub fn settings_for(&self, user: &str) -> NatsSettings {
        let mut settings = self.server.settings();
        settings.nats_user = Some(user.to_owned());
        settings.nats_password = Some(password(user).to_owned().into());
        settings
    }

    /// A client logged in as `user`, connected when this returns, and the events it reports
    /// (server errors such as permissions violations among them).
    pub async fn connect_as(&self, user: &str) -> (Client, Events) {
        let (tx, rx) = mpsc::unbounded_channel();
        let client =
            ConnectOptions::with_user_and_password(user.to_owned(), password(user).to_owned())
                .name(format!("test-{user}"))
                // As the binaries do (common::nats::connect): each user its own inboxes.
                .custom_inbox_prefix(format!("_INBOX.{user}"))
                .event_callback(move |event| {
                    let tx = tx.clone();
                    async move {
                        let _ = tx.send(event);
                    }
                })
                .connect(self.server.url())
                .await
                .unwrap_or_else(|err| panic!("{user} cannot connect: {err}"));
        (client, Events(rx))
    }

    /// Starts a Placeholder worker logged in as `worker`, the way the binary connects, and
    /// returns once this server routes requests to it.
    pub async fn spawn_worker(&self) -> RunningWorker {
        // The worker user may not ping; the admin checks that the server routes to it.
        spawn_worker_probed(
            &self.settings_for("worker"),
            WorkerSettings::new(SUBJECT),
            Placeholder,
            &self.settings_for("admin"),
        )
        .await
    }
}

/// The events of one client.
pub struct Events(mpsc::UnboundedReceiver<Event>);

impl Events {
    /// Waits for the server to report a permissions violation whose message contains
    /// `expected`, e.g. `Permissions Violation for Subscription to "tickets.relay"`.
    pub async fn permissions_violation(&mut self, expected: &str) -> String {
        let wait = async {
            loop {
                match self.0.recv().await {
                    Some(Event::ServerError(ServerError::Other(message)))
                        if message.contains("Permissions Violation")
                            && message.contains(expected) =>
                    {
                        return message;
                    }
                    Some(_) => {}
                    None => panic!("the client closed before reporting {expected:?}"),
                }
            }
        };
        tokio::time::timeout(WITHIN, wait)
            .await
            .unwrap_or_else(|_| panic!("no permissions violation reported for {expected:?}"))
    }
}

/// Asserts that nothing has reached `subscriber` so far. Call it after a `flush()` of the
/// receiving client that follows the publish: the server sends the flush's PONG after every
/// message it delivered before, so a delivered message would already be here.
pub fn assert_received_nothing(subscriber: &mut Subscriber, what: &str) {
    if let Some(Some(message)) = futures::StreamExt::next(subscriber).now_or_never() {
        panic!("{what} received a message on {}", message.subject);
    }
}

/// Serves with the Placeholder on `client` (the caller may keep a clone to inspect it).
pub fn serve(client: Client) -> RunningWorker {
    relay_worker::spawn(client, WorkerSettings::new(SUBJECT), Placeholder)
}

/// Sends real requests until one is answered: the worker is connected, subscribed, and its
/// interest has reached the requester's server.
pub async fn first_reply(relay: &RelayClient) -> RelayReply {
    eventually("a worker to answer", WITHIN, || async {
        relay.send(&sample_request(), None).await.ok()
    })
    .await
}

/// A port nobody listens on right now (for cluster routes, which have no "pick one" option
/// whose result the harness could read).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind a free port")
        .port()
}
