//! The repo's `nats/least-privilege.conf` run for real with test passwords, clients connected as
//! each of its users, and the checks that tell a permissions violation apart from silence.
//!
//! One harness for every crate's broker tests (the relay's in `relay-worker/tests/broker`, the
//! ticket state's in `common/tests/broker`, the bot's own):
//!
//! ```no_run
//! # async fn example() {
//! use common::test_util::LeastPrivilegeServer;
//!
//! let broker = LeastPrivilegeServer::start_jetstream();
//! let (bot, mut events) = broker.connect_as("bot").await;
//! // ... use `bot`; or run a binary's library with `broker.settings_for("bot")`.
//! bot.publish("not.allowed", "x".into()).await.unwrap();
//! events.permissions_violation("Publish to \"not.allowed\"").await;
//! // Nothing else was refused to the bot.
//! assert_eq!(events.reported_violations(), Vec::<String>::new());
//! # }
//! ```

use std::{path::Path, time::Duration};

use async_nats::{Client, ConnectOptions, Event, ServerError};
use tokio::sync::mpsc;

use super::{NatsServer, TestDir};
use crate::config::NatsSettings;

/// How long [`Events::permissions_violation`] waits for the server's report; it comes right
/// after the refused message, so this only bounds a broken setup.
const VIOLATION_TIMEOUT: Duration = Duration::from_secs(15);

/// The users of `nats/least-privilege.conf`, the variable holding each one's password, and the
/// password the tests give it.
const USERS: [(&str, &str, &str); 5] = [
    ("bot", "NATS_BOT_PASSWORD", "bot-test-secret"),
    ("http", "NATS_HTTP_PASSWORD", "http-test-secret"),
    ("worker", "NATS_WORKER_PASSWORD", "worker-test-secret"),
    ("proxy", "NATS_PROXY_PASSWORD", "proxy-test-secret"),
    ("admin", "NATS_ADMIN_PASSWORD", "admin-test-secret"),
];

/// A nats-server running `nats/least-privilege.conf`, killed on drop.
#[derive(Debug)]
pub struct LeastPrivilegeServer {
    server: NatsServer,
    _dir: TestDir,
}

impl LeastPrivilegeServer {
    /// Starts the real config with test passwords (users `bot`, `http`, `worker`, `admin`).
    /// JetStream is on as the config has it, its files in a directory of this test.
    pub fn start() -> Self {
        Self::start_with(NatsServer::builder())
    }

    /// Like [`start`](Self::start), for tests of the bot's key-value buckets: JetStream on
    /// whatever the config says, and a server older than 2.10 refused at once with what to do
    /// (see [`NatsServerBuilder::jetstream`](super::NatsServerBuilder::jetstream)).
    pub fn start_jetstream() -> Self {
        Self::start_with(NatsServer::builder().jetstream())
    }

    /// The config reads passwords from the server's environment, which the harness does not
    /// set per server (and changing this process's environment would race with the other
    /// tests), so a copy of the file gets each `$NATS_*_PASSWORD` reference replaced by its
    /// test password; nothing else changes. `scripts/check-deploy` checks the environment
    /// references themselves with `nats-server -t`.
    fn start_with(builder: super::NatsServerBuilder) -> Self {
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
        let dir = TestDir::new("least-privilege");
        let path = dir.path().join("least-privilege.conf");
        std::fs::write(&path, text).expect("write the test config");
        let builder = builder.config(&path).arg("-m").arg("-1");
        // The config's fixed monitoring port (-m above) and JetStream directory would collide
        // between tests running at the same time; `jetstream()` brings a directory of its own.
        let builder = if builder.jetstream {
            builder
        } else {
            builder
                .arg("--store_dir")
                .arg(dir.path().join("jetstream").display().to_string())
        };
        Self {
            server: builder.start(),
            _dir: dir,
        }
    }

    /// The server itself (its port, its settings, its log).
    pub fn server(&self) -> &NatsServer {
        &self.server
    }

    /// The server, to stop or restart it (on the same port, with the same JetStream files).
    pub fn server_mut(&mut self) -> &mut NatsServer {
        &mut self.server
    }

    /// `nats://127.0.0.1:PORT`, no credentials.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Everything the server has logged so far.
    pub fn logs(&self) -> String {
        self.server.logs()
    }

    /// The test password of `user`.
    pub fn password(user: &str) -> &'static str {
        USERS
            .iter()
            .find(|(name, _, _)| *name == user)
            .map(|(_, _, password)| *password)
            .unwrap_or_else(|| panic!("no user {user} in the least-privilege config"))
    }

    /// Settings a binary would have with `NATS_USER=user` and its password (so its inbox
    /// prefix is `_INBOX.<user>`, as in production).
    pub fn settings_for(&self, user: &str) -> NatsSettings {
        let mut settings = self.server.settings();
        settings.nats_user = Some(user.to_owned());
        settings.nats_password = Some(Self::password(user).to_owned().into());
        settings
    }

    /// A client logged in as `user`, connected when this returns, with the binaries' inbox
    /// prefix `_INBOX.<user>`, and the events it reports (server errors such as permissions
    /// violations among them).
    pub async fn connect_as(&self, user: &str) -> (Client, Events) {
        let (tx, rx) = mpsc::unbounded_channel();
        let client = ConnectOptions::with_user_and_password(
            user.to_owned(),
            Self::password(user).to_owned(),
        )
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

    /// The permissions violations the server has logged so far, one line each.
    pub fn violations(&self) -> Vec<String> {
        self.logs()
            .lines()
            .filter(|line| line.contains("Violation"))
            .map(str::to_owned)
            .collect()
    }

    /// Nothing was refused to anyone: the flow under test needs no permission it lacks.
    pub fn assert_no_violations(&self) {
        let violations = self.violations();
        assert!(
            violations.is_empty(),
            "permissions violations:\n{}",
            violations.join("\n")
        );
    }
}

/// The events of one client of [`LeastPrivilegeServer::connect_as`].
#[derive(Debug)]
pub struct Events(mpsc::UnboundedReceiver<Event>);

impl Events {
    /// Waits for the server to report a permissions violation whose message contains
    /// `expected`, e.g. `Subscription to "tickets.relay"` or `Publish to "$KV.tickets.1"`, and
    /// returns the message; panics if none comes.
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
        tokio::time::timeout(VIOLATION_TIMEOUT, wait)
            .await
            .unwrap_or_else(|_| panic!("no permissions violation reported for {expected:?}"))
    }

    /// The permissions violations reported so far, without waiting.
    pub fn reported_violations(&mut self) -> Vec<String> {
        let mut violations = Vec::new();
        while let Ok(event) = self.0.try_recv() {
            if let Event::ServerError(ServerError::Other(message)) = event {
                if message.contains("Permissions Violation") {
                    violations.push(message);
                }
            }
        }
        violations
    }
}
