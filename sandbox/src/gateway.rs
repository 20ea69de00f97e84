//! The websocket gateway, speaking just enough of Discord's protocol: HELLO, IDENTIFY (token
//! checked) -> READY + GUILD_CREATE, heartbeat ACK, RESUME answered with "invalid session" (a
//! fresh IDENTIFY follows), and the dispatch events the sandbox sends (what people do on the
//! page, what tests inject, what the bot's own REST calls changed).

use std::{sync::Arc, time::Instant};

use axum::{
    extract::{
        ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade},
        State,
    },
    http::HeaderMap,
    response::Response,
};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::{fixtures, rest::host, users::PERSONAS, world::Shared, Dispatched};

/// What real Discord sends in HELLO; serenity heartbeats at this pace.
const HEARTBEAT_INTERVAL_MS: u64 = 41_250;
/// Discord's close code for a bad token.
const AUTHENTICATION_FAILED: u16 = 4004;
/// Discord's close code for "unknown error: reconnect".
const SERVER_CLOSING: u16 = 4000;

pub(crate) async fn gateway(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let host = host(&headers, &shared);
    upgrade.on_upgrade(move |socket| session(shared, socket, host))
}

async fn session(shared: Arc<Shared>, mut socket: WebSocket, host: String) {
    let hello = json!({ "op": 10, "d": { "heartbeat_interval": HEARTBEAT_INTERVAL_MS } });
    if send(&mut socket, &hello).await.is_err() {
        return;
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, Value)>();
    let mut seq = 0_u64;
    let closing = shared.closing.clone();
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
                let Ok(payload) = serde_json::from_str::<Value>(&text) else { continue };
                let replies = match payload["op"].as_u64() {
                    Some(1) => vec![json!({ "op": 11 })],
                    Some(2) => {
                        if payload["d"]["token"] != format!("Bot {}", shared.token) {
                            tracing::warn!("the bot identified with a token the sandbox does not accept");
                            let close = CloseFrame { code: AUTHENTICATION_FAILED, reason: "Authentication failed.".into() };
                            let _ = socket.send(WsMessage::Close(Some(close))).await;
                            break;
                        }
                        let guild = {
                            let mut world = shared.world();
                            world.identifies += 1;
                            world.gateway = Some(tx.clone());
                            let members = PERSONAS.iter().map(|p| world.member(p.id)).collect();
                            fixtures::guild_create_with(world.channels.clone(), world.roles.clone(), members)
                        };
                        tracing::info!("the bot connected to the gateway");
                        shared.page_changed(None);
                        let ready = json!({ "op": 0, "s": seq + 1, "t": "READY", "d": fixtures::ready(&host) });
                        let guild = json!({ "op": 0, "s": seq + 2, "t": "GUILD_CREATE", "d": guild });
                        seq += 2;
                        vec![ready, guild]
                    }
                    // No session state is kept: ask for a fresh IDENTIFY.
                    Some(6) => vec![json!({ "op": 9, "d": false })],
                    _ => Vec::new(),
                };
                for reply in &replies {
                    if send(&mut socket, reply).await.is_err() {
                        disconnected(&shared, &tx);
                        return;
                    }
                }
            }
            Some((name, data)) = rx.recv() => {
                seq += 1;
                let id = data["id"].as_str().unwrap_or_default().to_owned();
                let frame = json!({ "op": 0, "s": seq, "t": name, "d": data });
                // Recorded before the write, so that the record exists by the time the bot reacts.
                let at = Instant::now();
                shared.world().dispatched.push(Dispatched { name, id, at });
                if send(&mut socket, &frame).await.is_err() { break; }
            }
        }
    }
    disconnected(&shared, &tx);
}

/// Forgets this session's sender when it is still the current one.
fn disconnected(shared: &Shared, tx: &mpsc::UnboundedSender<(String, Value)>) {
    let mut world = shared.world();
    if world.gateway.as_ref().is_some_and(|g| g.same_channel(tx)) {
        world.gateway = None;
        drop(world);
        tracing::info!("the bot disconnected from the gateway");
        shared.page_changed(None);
    }
}

async fn send(socket: &mut WebSocket, payload: &Value) -> Result<(), axum::Error> {
    socket
        .send(WsMessage::Text(payload.to_string().into()))
        .await
}
