//! The REST routes the bot uses, answered as real Discord answers them (statuses, JSON error
//! codes and all), each call recorded in the [`World`] after the bot's token is checked.

use std::{sync::Arc, time::Instant};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};

use super::{
    fixtures,
    world::{id_of, Shared, World},
    Recorded, APP_ID, CATEGORY_LIMIT, GUILD_CHANNEL_LIMIT, GUILD_ID,
};

fn discord_error(status: StatusCode, code: u64, message: &str) -> Response {
    (status, Json(json!({ "message": message, "code": code }))).into_response()
}

pub(super) async fn rest(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let body_json: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| json!({ "unparsed": String::from_utf8_lossy(&body) }))
    };
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bot {}", shared.token));
    let response = if authorized {
        answer(&shared, &method, &path, &body_json)
    } else {
        discord_error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized")
    };
    {
        let mut world = shared.world();
        world.requests.push(Recorded {
            method,
            path,
            body: body_json,
            at: Instant::now(),
            status: response.status().as_u16(),
        });
    }
    shared.changed.notify_waiters();
    response
}

/// What Discord answers; `path` starts with `/api/v10`.
fn answer(shared: &Shared, method: &Method, path: &str, body: &Value) -> Response {
    let segments: Vec<&str> = path.trim_start_matches("/api/v10/").split('/').collect();
    let mut world = shared.world();
    let guild = GUILD_ID.to_string();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["gateway"]) => {
            Json(json!({ "url": format!("ws://{}/gateway", shared.addr) })).into_response()
        }
        ("PUT", ["applications", app, "commands"]) if *app == APP_ID.to_string() => {
            Json(fixtures::commands(body, None, &mut || world.next_id())).into_response()
        }
        ("PUT", ["applications", app, "guilds", g, "commands"]) if *app == APP_ID.to_string() => {
            let g = g.parse().unwrap_or_default();
            Json(fixtures::commands(body, Some(g), &mut || world.next_id())).into_response()
        }
        ("POST", ["interactions", _id, _token, "callback"]) => {
            StatusCode::NO_CONTENT.into_response()
        }
        ("PATCH", ["webhooks", app, token, "messages", "@original"])
            if *app == APP_ID.to_string() =>
        {
            let Some(channel) = world.interaction_channels.get(*token).copied() else {
                return discord_error(StatusCode::NOT_FOUND, 10015, "Unknown Webhook");
            };
            let id = world.next_id();
            let mut message = fixtures::bot_message(id, channel, body);
            message["flags"] = json!(64);
            message["webhook_id"] = json!(APP_ID.to_string());
            Json(message).into_response()
        }
        ("POST", ["channels", channel, "typing"]) if find(&world.channels, channel).is_some() => {
            StatusCode::NO_CONTENT.into_response()
        }
        ("POST", ["channels", channel, "messages"]) => {
            let Some(channel_id) = find(&world.channels, channel).map(id_of) else {
                return discord_error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
            };
            let content = body["content"].as_str().unwrap_or_default();
            if content.trim().is_empty() {
                return discord_error(
                    StatusCode::BAD_REQUEST,
                    50006,
                    "Cannot send an empty message",
                );
            }
            if content.chars().count() > 2000 {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"message": "Invalid Form Body", "code": 50035, "errors": {"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]}}})),
                )
                    .into_response();
            }
            let id = world.next_id();
            Json(fixtures::bot_message(id, channel_id, body)).into_response()
        }
        ("GET", ["channels", channel]) => match find(&world.channels, channel) {
            Some(found) => Json(found.clone()).into_response(),
            None => discord_error(StatusCode::NOT_FOUND, 10003, "Unknown Channel"),
        },
        ("DELETE", ["channels", channel]) => {
            let Some(index) = world.channels.iter().position(|c| c["id"] == *channel) else {
                return discord_error(StatusCode::NOT_FOUND, 10003, "Unknown Channel");
            };
            Json(world.channels.remove(index)).into_response()
        }
        ("GET", ["guilds", g, "channels"]) if *g == guild => {
            Json(world.channels.clone()).into_response()
        }
        ("POST", ["guilds", g, "channels"]) if *g == guild => create_channel(&mut world, body),
        ("GET", ["guilds", g, "roles"]) if *g == guild => Json(world.roles.clone()).into_response(),
        ("POST", ["guilds", g, "roles"]) if *g == guild => {
            if !world.can_manage_roles {
                return discord_error(StatusCode::FORBIDDEN, 50013, "Missing Permissions");
            }
            let id = world.next_id();
            let role = fixtures::role(id, body["name"].as_str().unwrap_or("new role"));
            world.roles.push(role.clone());
            Json(role).into_response()
        }
        ("DELETE", ["guilds", g, "roles", role]) if *g == guild => {
            let Some(index) = world.roles.iter().position(|r| r["id"] == *role) else {
                return discord_error(StatusCode::NOT_FOUND, 10011, "Unknown Role");
            };
            world.roles.remove(index);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => discord_error(StatusCode::NOT_FOUND, 0, "404: Not Found"),
    }
}

fn find<'a>(channels: &'a [Value], id: &str) -> Option<&'a Value> {
    channels.iter().find(|c| c["id"] == id)
}

fn create_channel(world: &mut World, body: &Value) -> Response {
    if !world.can_manage_channels {
        return discord_error(StatusCode::FORBIDDEN, 50013, "Missing Permissions");
    }
    if world.channels.len() >= GUILD_CHANNEL_LIMIT {
        return discord_error(
            StatusCode::BAD_REQUEST,
            30013,
            "Maximum number of guild channels reached (500)",
        );
    }
    let parent = body["parent_id"]
        .as_str()
        .and_then(|p| p.parse::<u64>().ok());
    if let Some(parent) = parent {
        let siblings = world
            .channels
            .iter()
            .filter(|c| c["parent_id"].as_str().and_then(|p| p.parse().ok()) == Some(parent))
            .count();
        if siblings >= CATEGORY_LIMIT {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({
                    "message": "Invalid Form Body",
                    "code": 50035,
                    "errors": {"parent_id": {"_errors": [{
                        "code": "CHANNEL_PARENT_MAX_CHANNELS",
                        "message": "Maximum number of channels in category reached (50)"
                    }]}}
                })),
            )
                .into_response();
        }
    }
    let id = world.next_id();
    let channel = fixtures::channel(
        id,
        body["type"].as_u64().unwrap_or(0),
        body["name"].as_str().unwrap_or("channel"),
        parent,
        body.get("permission_overwrites")
            .cloned()
            .unwrap_or(json!([])),
    );
    world.channels.push(channel.clone());
    // Real Discord tells the bot over the gateway too.
    if let Some(gateway) = &world.gateway {
        let _ = gateway.send(("CHANNEL_CREATE".to_owned(), channel.clone()));
    }
    (StatusCode::CREATED, Json(channel)).into_response()
}
