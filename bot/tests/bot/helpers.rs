//! The test harness: [`spawn_bot`] starts a real nats-server, the fake Discord's guild as the
//! test arranged it, and the real bot ([`bot::run`]) pointed at the fake through
//! `DISCORD_PROXY_URL`; [`TestBot::start_worker`] adds a real relay worker.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use async_nats::connection::State as NatsState;
use bot::{BotError, BotSettings};
use common::{
    config::ConfigSource,
    payload::{MessageContent, RelayReply, RelayRequest, Snowflake},
    relay_client::RelayClient,
    telemetry::Service,
    test_util::{capture_logs, eventually, CapturedLogs, NatsServer},
};
use relay_worker::{test_util::spawn_worker, Responder, ResponderError, RunningWorker};
use serde_json::Value;
use tokio::{sync::oneshot, task::JoinHandle};

use crate::fake_discord::{FakeDiscord, GUILD_ID};

/// The bot token the fake accepts.
pub const TOKEN: &str = "fake-bot-token";
/// A member without special permissions.
pub const USER_ID: u64 = 400_000_000_000_000_004;
/// Another member.
pub const OTHER_USER_ID: u64 = 400_000_000_000_000_005;
/// The content of the request that checks a worker is listening; responders answer it at once.
pub const PROBE: &str = "readiness probe";
/// The relay subject.
pub const SUBJECT: &str = "tickets.relay";

type Stopper<T> = Option<(oneshot::Sender<()>, JoinHandle<T>)>;

/// A running bot with its NATS server and fake Discord.
pub struct TestBot {
    /// The bot's nats-server.
    pub nats: NatsServer,
    /// A clone of the bot's own NATS connection.
    pub bot_nats: async_nats::Client,
    bot: Stopper<Result<(), BotError>>,
    worker: Option<RunningWorker>,
    logs: CapturedLogs,
    _log_guard: tracing::subscriber::DefaultGuard,
}

/// Starts the bot against `fake` with a fresh nats-server and waits until it is ready.
pub async fn spawn_bot(fake: FakeDiscord) -> TestBot {
    spawn_bot_with_nats(fake, nats()).await
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

/// Starts the bot against `fake` and `nats`, and waits until its gateway session is ready.
pub async fn spawn_bot_with_nats(fake: FakeDiscord, nats: NatsServer) -> TestBot {
    let guild = GUILD_ID.to_string();
    spawn_bot_with_vars(fake, nats, &[("DISCORD_GUILD_ID", guild.as_str())]).await
}

/// Starts the bot with these settings besides the token, the proxy and NATS.
pub async fn spawn_bot_with_vars(
    fake: FakeDiscord,
    nats: NatsServer,
    vars: &[(&str, &str)],
) -> TestBot {
    spawn_bot_with_settings(fake, nats, vars, |_| {}).await
}

/// [`spawn_bot_with_vars`], with the loaded settings changed by `tweak` (for values no
/// variable can express, such as a quiet period of a second).
pub async fn spawn_bot_with_settings(
    fake: FakeDiscord,
    nats: NatsServer,
    vars: &[(&str, &str)],
    tweak: impl FnOnce(&mut BotSettings),
) -> TestBot {
    let (logs, log_guard) = capture_logs(Service::Bot, "info,bot=debug");
    let proxy = fake.url();
    let nats_url = nats.url();
    let mut all = vec![
        ("DISCORD_TOKEN", TOKEN),
        ("DISCORD_PROXY_URL", proxy.as_str()),
        ("NATS_URL", nats_url.as_str()),
        // Tests flood channels on purpose; the per-user limit has its own tests, which set it.
        ("USER_RATE_LIMIT_PER_MINUTE", "0"),
    ];
    // Later values win, so a test's own variables override the ones above.
    all.extend_from_slice(vars);
    let source = ConfigSource::from_vars(all);
    let settings = source.nats().expect("nats settings");
    let mut bot_settings = BotSettings::load(&source, &settings).expect("bot settings");
    tweak(&mut bot_settings);
    let bot_nats = common::nats::connect(&settings, "bot").await.expect("nats");
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(bot::run(bot_settings, bot_nats.clone(), async {
        stopped.await.ok();
    }));
    fake.wait_until_ready().await;
    wait_connected(&bot_nats).await;
    wait_adopted(&fake, &bot_nats).await;
    TestBot {
        nats,
        bot_nats,
        bot: Some((stop, handle)),
        worker: None,
        logs,
        _log_guard: log_guard,
    }
}

/// Waits until the bot has registered every `ticket-<id>` channel of the fake's Tickets
/// category (adoption, after the guild arrives), so that a test's first message is relayed
/// live rather than by catch-up.
pub async fn wait_adopted(fake: &FakeDiscord, nats: &async_nats::Client) {
    let channels = fake.channels();
    let categories: Vec<&Value> = channels
        .iter()
        .filter(|c| c["type"] == 4 && c["name"] == "Tickets")
        .map(|c| &c["id"])
        .collect();
    let tickets: Vec<String> = channels
        .iter()
        .filter(|c| {
            c["type"] == 0
                && c["name"].as_str().is_some_and(|n| n.starts_with("ticket-"))
                && categories.contains(&&c["parent_id"])
        })
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    if tickets.is_empty() {
        return;
    }
    let js = async_nats::jetstream::new(nats.clone());
    eventually(
        "the bot to adopt the ticket channels",
        Duration::from_secs(15),
        || {
            let (js, tickets) = (js.clone(), tickets.clone());
            async move {
                let store = js.get_key_value(bot::registry::TICKETS_BUCKET).await.ok()?;
                for ticket in &tickets {
                    store.get(ticket.as_str()).await.ok()??;
                }
                Some(())
            }
        },
    )
    .await;
}

/// Waits until `client` is connected to its server (it connects in the background).
pub async fn wait_connected(client: &async_nats::Client) {
    eventually("the NATS connection", Duration::from_secs(15), || async {
        (client.connection_state() == NatsState::Connected).then_some(())
    })
    .await;
}

impl TestBot {
    /// The bot's log lines so far.
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

    /// Waits until a relay request gets an answer (a worker listens, NATS is up).
    pub async fn wait_for_worker(&self) {
        let probe = RelayRequest {
            guild_id: Snowflake::from(GUILD_ID),
            channel_id: Snowflake::from(1),
            user_id: Snowflake::from(1),
            content: MessageContent::parse(PROBE.to_owned()).expect("probe"),
            message_id: None,
            history: Vec::new(),
        };
        let settings = self.nats.settings();
        eventually("a relay worker answering", Duration::from_secs(15), || {
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
            let _ = tokio::time::timeout(Duration::from_secs(15), worker.stop()).await;
        }
    }

    /// Asks the bot to shut down and returns how `run` ended; panics if it does not end.
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
        assert!(!self.logs().contains(TOKEN), "the token reached a log line");
        outcome
    }
}

/// A responder for tests: answers with `answer(content)` after `delay(content)`, recording
/// every request it gets (except readiness probes).
pub struct Scripted<A, D> {
    /// The answer to a message.
    pub answer: A,
    /// How long to think about a message.
    pub delay: D,
    /// Requests received, in arrival order, with when they arrived and when the answer left.
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

/// The responder most tests want: it answers "answer to <text>" at once.
pub type Echo = Scripted<fn(&str) -> String, fn(&str) -> Duration>;

/// An [`Echo`]; its `seen` records every request it answers.
pub fn echo() -> Echo {
    Scripted {
        answer: |content| format!("answer to {content}"),
        delay: |_| Duration::ZERO,
        seen: Arc::default(),
    }
}

/// One request a [`Scripted`] responder received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The request.
    pub request: RelayRequest,
    /// When it arrived.
    pub arrived: std::time::Instant,
    /// When the answer was handed back to the worker.
    pub answered: std::time::Instant,
}

impl<A, D> Responder for Scripted<A, D>
where
    A: Fn(&str) -> String + Send + Sync + 'static,
    D: Fn(&str) -> Duration + Send + Sync + 'static,
{
    async fn respond(&self, request: RelayRequest) -> Result<RelayReply, ResponderError> {
        let arrived = std::time::Instant::now();
        let content = request.content.as_str().to_owned();
        if content == PROBE {
            return Ok(RelayReply::new("ready"));
        }
        let delay = (self.delay)(&content);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let reply = RelayReply::new((self.answer)(&content));
        self.seen.lock().expect("seen").push(Seen {
            request,
            arrived,
            answered: std::time::Instant::now(),
        });
        Ok(reply)
    }
}

/// Reads a permission field (Discord sends strings; accept numbers too).
pub fn permission_bits(value: &Value) -> u64 {
    match value {
        Value::String(text) => text.parse().expect("numeric permission string"),
        Value::Number(number) => number.as_u64().expect("permission number"),
        other => panic!("not a permission value: {other}"),
    }
}

/// `(id, type, allow, deny)` of each overwrite in a channel body, sorted.
pub fn overwrites(body: &Value) -> Vec<(u64, u64, u64, u64)> {
    let mut list: Vec<_> = body["permission_overwrites"]
        .as_array()
        .expect("permission_overwrites")
        .iter()
        .map(|o| {
            (
                permission_bits(&o["id"]),
                o["type"].as_u64().expect("type"),
                permission_bits(&o["allow"]),
                permission_bits(&o["deny"]),
            )
        })
        .collect();
    list.sort_unstable();
    list
}

/// Whether a message body carries allowed mentions that allow nothing.
pub fn mentions_nothing(body: &Value) -> bool {
    let mentions = &body["allowed_mentions"];
    let empty = |key: &str| {
        mentions
            .get(key)
            .is_none_or(|v| v.as_array().is_some_and(Vec::is_empty))
    };
    mentions.is_object()
        && mentions["parse"].as_array().is_some_and(Vec::is_empty)
        && empty("users")
        && empty("roles")
        && mentions.get("replied_user").is_none_or(|v| v == false)
}
