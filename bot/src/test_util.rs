//! The one harness that starts the bot for tests (feature `test-util`): the bot's own tests and
//! the sandbox's use it. [`spawn_bot`] starts the real bot ([`crate::run`]) against a sandbox
//! (the fake Discord) through `DISCORD_PROXY_URL`, on a nats-server of its own, and returns once
//! the bot is ready; the [`TestBot`] handle reads its logs, adds a relay worker, and stops it
//! (handing back the nats-server, so a restart finds the same registry). [`record_setup`] and
//! [`register_tickets`] arrange the registry before a start, as an earlier `/setup` and
//! `/create-ticket` of this bot would have left it; [`spawn_second_bot`] starts another bot
//! process on the same sandbox and NATS (a rolling deploy).

use std::time::Duration;

use async_nats::connection::State as NatsState;
use common::{
    config::ConfigSource,
    payload::{MessageContent, RelayRequest, Snowflake},
    relay_client::RelayClient,
    telemetry::Service,
    test_util::{capture_logs, capture_traced_logs, eventually, CapturedLogs, NatsServer},
};
use relay_worker::{test_util::spawn_worker, Responder, RunningWorker};
use sandbox::{Sandbox, GUILD_ID};
use secrecy::ExposeSecret;
use serde_json::Value;
use tokio::{sync::oneshot, task::JoinHandle};

use crate::{
    registry::{GuildEntry, Registry, TicketEntry},
    BotError, BotSettings,
};
use serenity::all::{ChannelId, GuildId, RoleId, Timestamp, UserId};

pub use relay_worker::test_util::SUBJECT;

/// The bot token the tests' sandboxes accept (a variable can name another).
pub const TOKEN: &str = "fake-bot-token";
/// The content of the request that checks a worker is listening; test responders answer it at
/// once.
pub const PROBE: &str = "readiness probe";

/// How long the harness waits for one step of the bot's start (only bounds a failure).
const PATIENCE: Duration = Duration::from_secs(15);

/// The running bot: how to ask it to stop, and how its `run` ended.
type Running = (oneshot::Sender<()>, JoinHandle<Result<(), BotError>>);

/// A running bot with its NATS server.
pub struct TestBot {
    /// The bot's nats-server (an idle stand-in for a second bot, whose server the first owns).
    pub nats: NatsServer,
    /// A clone of the bot's own NATS connection.
    pub bot_nats: async_nats::Client,
    bot: Option<Running>,
    /// The token it runs with, which no log line may show.
    token: String,
    worker: Option<RunningWorker>,
    logs: CapturedLogs,
    _log_guard: tracing::subscriber::DefaultGuard,
}

/// A fresh nats-server with JetStream (the bot keeps its ticket registry there).
pub fn nats() -> NatsServer {
    nats_with(&[])
}

/// [`nats`] with more command-line arguments.
pub fn nats_with(args: &[&str]) -> NatsServer {
    let mut builder = NatsServer::builder().jetstream();
    for arg in args {
        builder = builder.arg(*arg);
    }
    builder.start()
}

/// Starts the bot against `sandbox` with a fresh nats-server, its commands in the sandbox's
/// guild, and waits until it is ready.
pub async fn spawn_bot(sandbox: Sandbox) -> TestBot {
    spawn_bot_with_nats(sandbox, nats()).await
}

/// [`spawn_bot`] on `nats` (a restart hands over the stopped bot's).
pub async fn spawn_bot_with_nats(sandbox: Sandbox, nats: NatsServer) -> TestBot {
    let guild = GUILD_ID.to_string();
    spawn_bot_with_vars(sandbox, nats, &[("DISCORD_GUILD_ID", guild.as_str())]).await
}

/// Starts the bot with these variables besides the token, the proxy and NATS (commands
/// registered globally unless they set `DISCORD_GUILD_ID`).
pub async fn spawn_bot_with_vars(
    sandbox: Sandbox,
    nats: NatsServer,
    vars: &[(&str, &str)],
) -> TestBot {
    spawn_bot_with_settings(sandbox, nats, vars, |_| {}).await
}

/// [`spawn_bot_with_vars`], with the loaded settings changed by `tweak` (for values no
/// variable can express, such as a quiet period of a second). Waits until the bot has
/// registered its commands, is connected to NATS and has adopted the sandbox's tickets.
pub async fn spawn_bot_with_settings(
    sandbox: Sandbox,
    nats: NatsServer,
    vars: &[(&str, &str)],
    tweak: impl FnOnce(&mut BotSettings),
) -> TestBot {
    let logs = capture_logs(Service::Bot, LOG_LEVEL);
    spawn_capturing(sandbox, nats, vars, tweak, logs).await
}

/// [`spawn_bot_with_nats`], the spans of the test's thread (the bot's, and a worker's started
/// on the handle) exported through `provider`, and its lines carrying their trace ids (see
/// `common::traces`). The subscriber is in place before anything starts: a span must close
/// under the subscriber that was the default when it was made.
pub async fn spawn_traced_bot(
    sandbox: Sandbox,
    nats: NatsServer,
    provider: &common::traces::SdkTracerProvider,
) -> TestBot {
    let guild = GUILD_ID.to_string();
    let logs = capture_traced_logs(Service::Bot, LOG_LEVEL, provider);
    let vars = [("DISCORD_GUILD_ID", guild.as_str())];
    spawn_capturing(sandbox, nats, &vars, |_| {}, logs).await
}

/// What the bot's tests log: everything at INFO, the bot's own DEBUG lines too.
const LOG_LEVEL: &str = "info,bot=debug";

async fn spawn_capturing(
    sandbox: Sandbox,
    nats: NatsServer,
    vars: &[(&str, &str)],
    tweak: impl FnOnce(&mut BotSettings),
    (logs, log_guard): (CapturedLogs, tracing::subscriber::DefaultGuard),
) -> TestBot {
    // A restarted bot finds the first one's registration in the record: wait for its own.
    let before = registrations(&sandbox);
    let (running, token, bot_nats) = start(&sandbox, &nats.url(), vars, tweak).await;
    wait_registered(&sandbox, before).await;
    wait_connected(&bot_nats).await;
    wait_adopted(&sandbox, &bot_nats).await;
    TestBot {
        nats,
        bot_nats,
        bot: Some(running),
        token,
        worker: None,
        logs,
        _log_guard: log_guard,
    }
}

/// How many times a bot registered its commands in `sandbox` so far.
fn registrations(sandbox: &Sandbox) -> usize {
    sandbox
        .requests()
        .iter()
        .filter(|c| c.method == axum::http::Method::PUT && c.path.ends_with("/commands"))
        .count()
}

/// Waits until a bot registered its commands in `sandbox` once more than `before` times (its
/// gateway session is open: `ready` ran).
async fn wait_registered(sandbox: &Sandbox, before: usize) {
    eventually("the bot to register its commands", PATIENCE, || {
        let done = registrations(sandbox) > before;
        async move { done.then_some(()) }
    })
    .await;
}

/// Starts the real bot against `sandbox` on the nats-server at `nats_url`.
async fn start(
    sandbox: &Sandbox,
    nats_url: &str,
    vars: &[(&str, &str)],
    tweak: impl FnOnce(&mut BotSettings),
) -> (Running, String, async_nats::Client) {
    let proxy = sandbox.url();
    let mut all = vec![
        ("DISCORD_TOKEN", TOKEN),
        ("DISCORD_PROXY_URL", proxy.as_str()),
        ("NATS_URL", nats_url),
        // Tests flood channels on purpose; the per-user limit has its own tests, which set it.
        ("USER_RATE_LIMIT_PER_MINUTE", "0"),
    ];
    // Later values win, so a test's own variables override the ones above.
    all.extend_from_slice(vars);
    let source = ConfigSource::from_vars(all);
    let settings = source.nats().expect("nats settings");
    let mut bot_settings = BotSettings::load(&source, &settings).expect("bot settings");
    tweak(&mut bot_settings);
    let token = bot_settings.discord_token.expose_secret().to_owned();
    let bot_nats = common::nats::connect(&settings, "bot").await.expect("nats");
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(crate::run(bot_settings, bot_nats.clone(), async {
        stopped.await.ok();
    }));
    ((stop, handle), token, bot_nats)
}

/// A second process of the bot, on the sandbox and NATS of a first one (its logs go with the
/// first one's).
pub struct SecondBot {
    running: Option<Running>,
    /// A clone of its own NATS connection.
    pub bot_nats: async_nats::Client,
}

/// Starts a second bot process against `first`'s sandbox and nats-server, as during a rolling
/// deploy, and waits until it is ready too (its gateway session open beside the first's).
pub async fn spawn_second_bot(
    sandbox: &Sandbox,
    first: &TestBot,
    vars: &[(&str, &str)],
    tweak: impl FnOnce(&mut BotSettings),
) -> SecondBot {
    let before = registrations(sandbox);
    let (running, _, bot_nats) = start(sandbox, &first.nats.url(), vars, tweak).await;
    wait_registered(sandbox, before).await;
    wait_connected(&bot_nats).await;
    SecondBot {
        running: Some(running),
        bot_nats,
    }
}

impl SecondBot {
    /// Asks it to shut down and returns how `run` ended.
    pub async fn shutdown(mut self) -> Result<(), BotError> {
        let (stop, handle) = self.running.take().expect("running");
        let _ = stop.send(());
        tokio::time::timeout(Duration::from_secs(20), handle)
            .await
            .expect("the second bot stops within 20 s of being asked")
            .expect("the second bot's task did not panic")
    }
}

/// Records in `nats`'s registry that this bot set the sandbox's guild up: its category named
/// "Tickets", its role named "Support", and its `ticket-logs` channel if there is one (as an
/// earlier `/setup` would have). Panics when the category or role is missing.
pub async fn record_setup(nats: &NatsServer, sandbox: &Sandbox) {
    let id = |list: Vec<Value>, name: &str, kind: Option<u64>| {
        list.into_iter()
            .find(|c| c["name"] == name && kind.is_none_or(|k| c["type"] == k))
            .and_then(|c| c["id"].as_str()?.parse::<u64>().ok())
    };
    let category = id(sandbox.channels(), crate::guild::TICKETS_CATEGORY, Some(4))
        .expect("a Tickets category in the sandbox");
    let role = id(sandbox.roles(), crate::guild::SUPPORT_ROLE, None)
        .expect("a Support role in the sandbox");
    let log = id(sandbox.channels(), crate::guild::LOG_CHANNEL, Some(0));
    let entry = GuildEntry {
        category_id: ChannelId::new(category),
        support_role_id: RoleId::new(role),
        support_role_created: true,
        log_channel_id: log.map(ChannelId::new),
        panel_messages: Vec::new(),
        overflow_category_ids: Vec::new(),
        server_full_told_at: None,
        staff: Default::default(),
        mode: crate::registry::TicketMode::Channels,
        threads_channel_id: None,
        topics: Vec::new(),
    };
    registry(nats)
        .await
        .put_guild(GuildId::new(GUILD_ID), entry)
        .await
        .expect("the guild recorded");
}

/// Gives the guild recorded on `nats` (by [`record_setup`]) these ticket topics, as
/// `/ticket-topic` would have.
pub async fn record_topics(nats: &NatsServer, topics: Vec<crate::registry::Topic>) {
    registry(nats)
        .await
        .update_guild(GuildId::new(GUILD_ID), |guild| {
            guild.topics.clone_from(&topics);
            true
        })
        .await
        .expect("the registry")
        .expect("the guild set up first");
}

/// Records in `nats`'s registry an open ticket for each `(channel, owner)` (as `/create-ticket`
/// would have), active now.
pub async fn register_tickets(nats: &NatsServer, tickets: impl IntoIterator<Item = (u64, u64)>) {
    register_topic_tickets(nats, None, tickets).await;
}

/// [`register_tickets`], each opened under `topic` (without form answers) when given.
pub async fn register_topic_tickets(
    nats: &NatsServer,
    topic: Option<&crate::registry::Topic>,
    tickets: impl IntoIterator<Item = (u64, u64)>,
) {
    let registry = registry(nats).await;
    let intake = topic.map(|topic| crate::registry::Intake {
        topic: topic.clone(),
        form: Vec::new(),
    });
    for (channel, owner) in tickets {
        let entry = TicketEntry::opened_with(
            GuildId::new(GUILD_ID),
            UserId::new(owner),
            Timestamp::now(),
            intake.as_ref(),
        );
        registry
            .put_ticket(ChannelId::new(channel), entry)
            .await
            .expect("the ticket recorded");
    }
}

/// The registry on `nats`, as the bot opens it.
async fn registry(nats: &NatsServer) -> Registry {
    let client = common::nats::connect(&nats.settings(), "arrange")
        .await
        .expect("nats");
    wait_connected(&client).await;
    Registry::open(client).await.expect("the registry")
}

/// Waits until the bot has registered every `ticket-<member id>` channel of the ticket
/// categories its registry records (adoption, after the guild arrives), so that a test's first
/// message is relayed live rather than by catch-up.
pub async fn wait_adopted(sandbox: &Sandbox, nats: &async_nats::Client) {
    let js = async_nats::jetstream::new(nats.clone());
    let Ok(guilds) = js.get_key_value(crate::registry::GUILDS_BUCKET).await else {
        return;
    };
    let Some(entry) = guilds
        .get(GUILD_ID.to_string())
        .await
        .ok()
        .flatten()
        .and_then(|bytes| serde_json::from_slice::<GuildEntry>(&bytes).ok())
    else {
        return;
    };
    let categories: Vec<String> = entry.categories().iter().map(ToString::to_string).collect();
    let members: Vec<u64> = sandbox::PERSONAS.iter().map(|p| p.id).collect();
    let tickets: Vec<String> = sandbox
        .channels()
        .iter()
        .filter(|c| {
            c["type"] == 0
                && c["parent_id"]
                    .as_str()
                    .is_some_and(|parent| categories.iter().any(|c| c == parent))
                && c["name"]
                    .as_str()
                    .and_then(crate::guild::ticket_owner)
                    .is_some_and(|owner| members.contains(&owner.get()))
        })
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    if tickets.is_empty() {
        return;
    }
    eventually("the bot to adopt the ticket channels", PATIENCE, || {
        let (js, tickets) = (js.clone(), tickets.clone());
        async move {
            let store = js
                .get_key_value(crate::registry::TICKETS_BUCKET)
                .await
                .ok()?;
            for ticket in &tickets {
                store.get(ticket.as_str()).await.ok()??;
            }
            Some(())
        }
    })
    .await;
}

/// Waits until `client` is connected to its server (it connects in the background).
pub async fn wait_connected(client: &async_nats::Client) {
    eventually("the NATS connection", PATIENCE, || async {
        (client.connection_state() == NatsState::Connected).then_some(())
    })
    .await;
}

impl TestBot {
    /// The bot's log lines so far (those logged on the test's thread).
    pub fn logs(&self) -> String {
        self.logs.contents()
    }

    /// Panics when the bot logged an ERROR or WARN line (for tests of the happy path).
    pub fn assert_no_errors_or_warnings(&self) {
        let logs = self.logs();
        let bad: Vec<&str> = logs
            .lines()
            .filter(|l| l.starts_with("[BOT] ERROR") || l.starts_with("[BOT] WARN"))
            // serenity's note on an ordinary shutdown.
            .filter(|l| !l.contains("awaiting close frame"))
            .collect();
        assert!(bad.is_empty(), "unexpected log lines:\n{}", bad.join("\n"));
    }

    /// Starts a real relay worker with `responder` and waits until it answers.
    pub async fn start_worker<R: Responder>(&mut self, responder: R) {
        self.worker = Some(spawn_worker(&self.nats.settings(), responder).await);
    }

    /// Waits until a relay request gets an answer (a worker listens, NATS is up); the
    /// responder must answer [`PROBE`].
    pub async fn wait_for_worker(&self) {
        let probe = RelayRequest {
            guild_id: Snowflake::from(GUILD_ID),
            channel_id: Snowflake::from(1),
            user_id: Snowflake::from(1),
            content: MessageContent::parse(PROBE.to_owned()).expect("probe"),
            message_id: None,
            history: Vec::new(),
            ticket: None,
        };
        let settings = self.nats.settings();
        eventually("a relay worker answering", PATIENCE, || {
            let probe = probe.clone();
            let settings = settings.clone();
            async move {
                let client = common::nats::connect(&settings, "probe").await.ok()?;
                wait_connected(&client).await;
                let relay = RelayClient::new(client, SUBJECT, Duration::from_secs(2));
                relay.send(&probe, None).await.ok()
            }
        })
        .await;
    }

    /// Stops the relay worker.
    pub async fn stop_worker(&mut self) {
        if let Some(worker) = self.worker.take() {
            let _ = tokio::time::timeout(PATIENCE, worker.stop()).await;
        }
    }

    /// Stops the worker, asks the bot to shut down and returns how `run` ended; panics if it
    /// does not end, or if its token reached a log line.
    pub async fn shutdown(mut self) -> Result<(), BotError> {
        self.stop_bot().await
    }

    /// [`Self::shutdown`], handing back the nats-server (for a restart) and the bot's logs.
    pub async fn stop(mut self) -> (Result<(), BotError>, NatsServer, String) {
        let outcome = self.stop_bot().await;
        let logs = self.logs();
        (outcome, self.nats, logs)
    }

    async fn stop_bot(&mut self) -> Result<(), BotError> {
        self.stop_worker().await;
        let (stop, handle) = self.bot.take().expect("bot running");
        let _ = stop.send(());
        let outcome = tokio::time::timeout(Duration::from_secs(20), handle)
            .await
            .expect("the bot stops within 20 s of being asked")
            .expect("the bot task did not panic");
        assert!(
            !self.logs().contains(&self.token),
            "the token reached a log line"
        );
        outcome
    }
}
