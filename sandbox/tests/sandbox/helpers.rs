//! The harness: [`Client`] speaks to a sandbox as the bot (token) or as the page,
//! [`serenity_http`] as the bot's own REST client does, [`Gateway`] reads the events the bot
//! would get, and [`spawn_stack`] starts the whole product on this machine: a nats-server, a
//! relay worker, the sandbox and the real bot pointed at it (the bot's own harness,
//! `bot::test_util`, starts the bot, its nats-server and the worker).

use std::time::Duration;

use bot::test_util::{nats, spawn_bot_with_vars, TestBot};
use futures::{SinkExt, StreamExt};
use relay_worker::Placeholder;
use sandbox::{RateLimits, Sandbox, SandboxOptions, GUILD_ID};
use serde_json::Value;
use serenity::http::{Http, HttpBuilder};
use tokio::net::TcpStream;
use tokio_tungstenite::{tungstenite::Message as WsMessage, MaybeTlsStream, WebSocketStream};

/// The bot token the tests' sandboxes accept.
pub const TOKEN: &str = "sandbox-test-token";

/// An answer: status, headers, JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// A header's value, `""` when absent.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

/// A sandbox with an empty guild and no rate limits, for tests that make many calls and are
/// not about the limits (Discord's allow 5 calls per 5 seconds on one channel's route).
pub async fn start_unlimited() -> Sandbox {
    Sandbox::start(SandboxOptions::new(TOKEN).rate_limits(RateLimits::unlimited())).await
}

/// Requests to one sandbox.
pub struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    pub fn new(sandbox: &Sandbox) -> Self {
        Self {
            base: sandbox.url(),
            http: reqwest::Client::new(),
        }
    }

    /// A Discord API call as the bot.
    pub async fn api(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let request = self
            .http
            .request(
                method.parse().expect("a method"),
                format!("{}/api/v10{path}", self.base),
            )
            .header("authorization", format!("Bot {TOKEN}"));
        self.send(request, body).await
    }

    /// Opens the bot's DM channel with `user` as the bot does, and returns its ID.
    pub async fn open_dm(&self, user: u64) -> String {
        let dm = self
            .api(
                "POST",
                "/users/@me/channels",
                Some(serde_json::json!({ "recipient_id": user.to_string() })),
            )
            .await;
        dm.body["id"].as_str().expect("a DM channel").to_owned()
    }

    /// Writes `content` in `channel` as the page's user `user` does.
    pub async fn send_as(
        &self,
        user: &str,
        channel: impl std::fmt::Display,
        content: &str,
    ) -> Answer {
        let body = serde_json::json!({ "user": user, "content": content });
        self.page(
            "POST",
            &format!("/sandbox/channels/{channel}/messages"),
            Some(body),
        )
        .await
    }

    /// A call of the page's API (or any path of the sandbox).
    pub async fn page(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let request = self.http.request(
            method.parse().expect("a method"),
            format!("{}{path}", self.base),
        );
        self.send(request, body).await
    }

    async fn send(&self, mut request: reqwest::RequestBuilder, body: Option<Value>) -> Answer {
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("the sandbox answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("a body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Answer {
            status,
            headers,
            body,
        }
    }
}

/// The product running on this machine.
pub struct Stack {
    pub sandbox: Sandbox,
    bot: TestBot,
}

/// Starts a sandbox (with #general, Discord's rate limits), then the bot with its nats-server
/// and a relay worker, and waits until the bot has registered its commands.
pub async fn spawn_stack() -> Stack {
    let sandbox = Sandbox::start(SandboxOptions::new(TOKEN).with_general_channel()).await;
    let guild = GUILD_ID.to_string();
    let vars = [
        ("DISCORD_TOKEN", TOKEN),
        ("DISCORD_GUILD_ID", guild.as_str()),
    ];
    let mut bot = spawn_bot_with_vars(sandbox.clone(), nats(), &vars).await;
    bot.start_worker(Placeholder).await;
    Stack { sandbox, bot }
}

impl Stack {
    /// The bot's nats-server (its registry), to arrange what a command would have stored.
    pub fn nats(&self) -> &common::test_util::NatsServer {
        &self.bot.nats
    }

    /// Stops the worker and the bot, which must stop cleanly.
    pub async fn stop(self) {
        self.bot.shutdown().await.expect("a clean stop");
    }
}

/// serenity's REST client pointed at `sandbox`, set up as the bot sets it up (its own rate
/// limiter off: the sandbox's limits answer instead).
pub fn serenity_http(sandbox: &Sandbox) -> Http {
    HttpBuilder::new(TOKEN)
        .proxy(sandbox.url())
        .ratelimiter_disabled(true)
        .build()
}

/// How long a test waits for one gateway event (only bounds a failure).
const EVENT_PATIENCE: Duration = Duration::from_secs(10);

/// A gateway session identified as the bot, reading the dispatch events.
pub struct Gateway {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Gateway {
    /// Connects and identifies, and reads READY and GUILD_CREATE.
    pub async fn connect(sandbox: &Sandbox) -> Self {
        let mut gateway = Self::open(sandbox).await;
        gateway.identify(None, None).await;
        gateway.next("GUILD_CREATE").await;
        gateway
    }

    /// Connects without identifying (HELLO waits unread).
    pub async fn open(sandbox: &Sandbox) -> Self {
        let url = format!("{}/gateway", sandbox.url().replacen("http", "ws", 1));
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("the gateway accepts a websocket");
        Self { socket }
    }

    /// Sends IDENTIFY as the bot, with `shard: [id, count]` and `intents` when given.
    pub async fn identify(&mut self, shard: Option<[u32; 2]>, intents: Option<u64>) {
        let mut data = serde_json::json!({ "token": format!("Bot {TOKEN}") });
        if let Some(shard) = shard {
            data["shard"] = serde_json::json!(shard);
        }
        if let Some(intents) = intents {
            data["intents"] = serde_json::json!(intents);
        }
        let identify = serde_json::json!({ "op": 2, "d": data });
        self.socket
            .send(WsMessage::Text(identify.to_string().into()))
            .await
            .expect("IDENTIFY sent");
    }

    /// Connects and identifies as shard `id` of `count`, reads READY and the GUILD_CREATE of
    /// each guild it lists, and returns the session with READY's data.
    pub async fn connect_shard(sandbox: &Sandbox, id: u32, count: u32) -> (Self, Value) {
        let mut gateway = Self::open(sandbox).await;
        gateway.identify(Some([id, count]), Some(0)).await;
        let ready = gateway.next("READY").await;
        for _ in ready["guilds"].as_array().expect("READY's guilds") {
            gateway.next("GUILD_CREATE").await;
        }
        (gateway, ready)
    }

    /// The next frame other than HELLO and heartbeat ACKs: a dispatch, INVALID_SESSION, or
    /// `{"close": code}` when the sandbox closes the socket.
    pub async fn next_frame(&mut self) -> Value {
        tokio::time::timeout(EVENT_PATIENCE, async {
            loop {
                let frame = self
                    .socket
                    .next()
                    .await
                    .expect("the gateway stays open")
                    .expect("a frame");
                let text = match frame {
                    WsMessage::Text(text) => text,
                    WsMessage::Close(close) => {
                        let code = close.map(|c| u16::from(c.code));
                        return serde_json::json!({ "close": code });
                    }
                    _ => continue,
                };
                let payload: Value = serde_json::from_str(&text).expect("JSON");
                if payload["op"] != 10 && payload["op"] != 11 {
                    return payload;
                }
            }
        })
        .await
        .expect("a frame in time")
    }

    /// The data of the next dispatch event named `name` (earlier others are skipped).
    pub async fn next(&mut self, name: &str) -> Value {
        tokio::time::timeout(EVENT_PATIENCE, async {
            loop {
                let payload = self.next_frame().await;
                if payload["op"] == 0 && payload["t"] == name {
                    return payload["d"].clone();
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no {name} event"))
    }
}
