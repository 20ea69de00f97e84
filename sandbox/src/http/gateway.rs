//! The gateway: `GET /api/v10/gateway` says where it is and `GET /api/v10/gateway/bot` how many
//! shards to run and how many sessions may start; the websocket at `/gateway` speaks just
//! enough of Discord's protocol: HELLO, IDENTIFY (token checked; `shard: [id, count]` honoured)
//! -> READY + GUILD_CREATE of the shard's guilds, or INVALID_SESSION over the identify limit (a
//! close 4010 for a bad shard, 4011 when sharding is required), heartbeat ACK, RESUME answered
//! with "invalid session" (a fresh IDENTIFY follows), and the dispatch events the world sends
//! to the session's shard (what people do on the page, what tests inject, what the bot's own
//! REST calls changed).

use std::time::Instant;

use axum::{
    extract::{
        ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade},
        State,
    },
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::{
    http::extract::Host,
    model::{event::Dispatch, gateway::Shard},
    server::Server,
    world::{GatewaySender, Identify as IdentifyRequest, IdentifyRefusal},
};

/// Discord's close code for a bad token.
const AUTHENTICATION_FAILED: u16 = 4004;
/// Discord's close code for "unknown error: reconnect".
const SERVER_CLOSING: u16 = 4000;
/// Discord's close code for a shard it does not accept.
const INVALID_SHARD: u16 = 4010;
/// Discord's close code for a shard that would hold too many guilds.
const SHARDING_REQUIRED: u16 = 4011;
/// Discord's close code for a privileged intent the application does not have.
const DISALLOWED_INTENTS: u16 = 4014;
/// Opcodes.
const DISPATCH: u8 = 0;
const HEARTBEAT: u8 = 1;
const IDENTIFY: u8 = 2;
const RESUME: u8 = 6;
const INVALID_SESSION: u8 = 9;
const HELLO: u8 = 10;
const HEARTBEAT_ACK: u8 = 11;

/// The REST routes, under `/api/v10`.
pub fn routes() -> Router<Server> {
    Router::new()
        .route("/gateway", get(gateway_url))
        .route("/gateway/bot", get(gateway_bot))
}

async fn gateway_bot(State(server): State<Server>, Host(host): Host) -> Response {
    Json(server.world().gateway_bot(&host)).into_response()
}

/// The body of `GET /gateway`.
#[derive(Serialize)]
struct GatewayUrl {
    url: String,
}

async fn gateway_url(Host(host): Host) -> Json<GatewayUrl> {
    Json(GatewayUrl {
        url: format!("ws://{host}/gateway"),
    })
}

/// HELLO's data.
#[derive(Serialize)]
struct Hello {
    heartbeat_interval: u64,
}

/// A frame the sandbox writes.
#[derive(Serialize)]
struct Outgoing<'a> {
    op: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    s: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    t: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    d: Option<Value>,
}

impl Outgoing<'_> {
    fn op(op: u8, d: Option<Value>) -> Self {
        Self {
            op,
            s: None,
            t: None,
            d,
        }
    }
}

/// A frame the bot writes.
#[derive(Deserialize)]
struct Incoming {
    op: u8,
    #[serde(default)]
    d: Value,
}

/// IDENTIFY's data (the rest of it is not read).
#[derive(Deserialize, Default)]
#[serde(default)]
struct Identify {
    token: String,
    shard: Option<Shard>,
    intents: Option<u64>,
}

/// The websocket, at `/gateway`.
pub async fn gateway(
    State(server): State<Server>,
    Host(host): Host,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade.on_upgrade(move |socket| session(server, socket, host))
}

async fn session(server: Server, mut socket: WebSocket, host: String) {
    let heartbeat_interval = server.world().gateway_settings().heartbeat_interval_ms;
    let hello = serde_json::to_value(Hello { heartbeat_interval }).expect("HELLO serializes");
    if send(&mut socket, &Outgoing::op(HELLO, Some(hello)))
        .await
        .is_err()
    {
        return;
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<Dispatch>();
    let mut seq = 0_u64;
    let closing = server.closing().clone();
    loop {
        tokio::select! {
            () = closing.cancelled() => {
                // Discord's "reconnect" close: the bot will try again later.
                let close = CloseFrame { code: SERVER_CLOSING, reason: "The sandbox is stopping.".into() };
                let _ = socket.send(WsMessage::Close(Some(close))).await;
                break;
            }
            incoming = socket.recv() => {
                let Some(Ok(frame)) = incoming else { break };
                let text = match frame {
                    WsMessage::Text(text) => text.to_string(),
                    WsMessage::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    WsMessage::Close(_) => break,
                    _ => continue,
                };
                let Ok(payload) = serde_json::from_str::<Incoming>(&text) else { continue };
                let replies = match payload.op {
                    HEARTBEAT => vec![Outgoing::op(HEARTBEAT_ACK, None)],
                    IDENTIFY => {
                        let identify = serde_json::from_value::<Identify>(payload.d).unwrap_or_default();
                        if !server.accepts(&identify.token) {
                            tracing::warn!("the bot identified with a token the sandbox does not accept");
                            let close = CloseFrame { code: AUTHENTICATION_FAILED, reason: "Authentication failed.".into() };
                            let _ = socket.send(WsMessage::Close(Some(close))).await;
                            break;
                        }
                        let request = IdentifyRequest { shard: identify.shard, intents: identify.intents };
                        let identified = server.world().identify_as(tx.clone(), &host, request, Instant::now());
                        match identified {
                            Ok(events) => {
                                tracing::info!(shard = ?identify.shard, "the bot connected to the gateway");
                                events
                                    .into_iter()
                                    .map(|event| {
                                        seq += 1;
                                        Outgoing { op: DISPATCH, s: Some(seq), t: Some(event.name()), d: Some(event.data()) }
                                    })
                                    .collect()
                            }
                            Err(IdentifyRefusal::InvalidSession) => {
                                tracing::warn!(shard = ?identify.shard, "IDENTIFY over the identify limit: invalid session");
                                vec![Outgoing::op(INVALID_SESSION, Some(Value::Bool(false)))]
                            }
                            Err(refusal) => {
                                let code = match refusal {
                                    IdentifyRefusal::ShardingRequired => SHARDING_REQUIRED,
                                    IdentifyRefusal::DisallowedIntents => DISALLOWED_INTENTS,
                                    _ => INVALID_SHARD,
                                };
                                tracing::warn!(shard = ?identify.shard, %refusal, "IDENTIFY refused");
                                let close = CloseFrame { code, reason: refusal.to_string().into() };
                                let _ = socket.send(WsMessage::Close(Some(close))).await;
                                break;
                            }
                        }
                    }
                    // No session state is kept: ask for a fresh IDENTIFY.
                    RESUME => vec![Outgoing::op(INVALID_SESSION, Some(Value::Bool(false)))],
                    _ => Vec::new(),
                };
                for reply in &replies {
                    if send(&mut socket, reply).await.is_err() {
                        disconnected(&server, &tx);
                        return;
                    }
                }
            }
            Some(dispatch) = rx.recv() => {
                seq += 1;
                // Recorded before the write, so that the record exists by the time the bot reacts.
                server.world().record_dispatch(&dispatch.name, &dispatch.id, Instant::now());
                let frame = Outgoing { op: DISPATCH, s: Some(seq), t: Some(&dispatch.name), d: Some(dispatch.data) };
                if send(&mut socket, &frame).await.is_err() { break; }
            }
        }
    }
    disconnected(&server, &tx);
}

/// Forgets this session when it is still the bot's current one.
fn disconnected(server: &Server, tx: &GatewaySender) {
    if server.world().disconnect(tx) {
        tracing::info!("the bot disconnected from the gateway");
    }
}

async fn send(socket: &mut WebSocket, frame: &Outgoing<'_>) -> Result<(), axum::Error> {
    let text = serde_json::to_string(frame).expect("a gateway frame serializes");
    socket.send(WsMessage::Text(text.into())).await
}
