//! The REST routes the bot uses, answered as real Discord answers them (statuses, JSON error
//! codes and all): each call's token is checked, then Discord's rate limits ([`crate::rate_limit`]),
//! then it is recorded in the [`World`] and answered. What the bot changes is told to it over
//! the gateway too (CHANNEL_CREATE, MESSAGE_CREATE...), as Discord does, and shown on the page.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    body::{Body, Bytes},
    extract::{FromRequest, Multipart, State},
    http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode, Uri},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::{json, Value};

use crate::{
    fixtures,
    message_query::MessagesQuery,
    rate_limit::Verdict,
    world::{id_of, InteractionState, Shared, World},
    Recorded, APP_ID, BOT_ID, CATEGORY_LIMIT, GUILD_CHANNEL_LIMIT, GUILD_ID,
};

/// Discord's limit of characters in a message.
const MESSAGE_CHARS: usize = 2000;
/// How long Discord shows "typing" after one typing call.
pub(crate) const TYPING_LASTS: Duration = Duration::from_secs(10);
/// Message flag of an ephemeral message.
const EPHEMERAL: u64 = 1 << 6;
/// Message flag of a deferred interaction's "is thinking" message.
const LOADING: u64 = 1 << 7;

fn discord_error(status: StatusCode, code: u64, message: &str) -> Response {
    (status, Json(json!({ "message": message, "code": code }))).into_response()
}

/// A file the bot uploaded, served back at `/attachments/{id}/{filename}`.
#[derive(Debug, Clone)]
pub(crate) struct StoredFile {
    pub(crate) filename: String,
    pub(crate) content_type: String,
    pub(crate) bytes: Bytes,
}

/// Every `/api/v10/...` call.
pub(crate) async fn rest(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let host = host(&headers, &shared);
    let (body_json, files) = match read_body(&headers, body).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bot {}", shared.token));
    let stalled = {
        let mut world = shared.world();
        let found = world
            .stalls
            .iter()
            .position(|(m, suffix)| m == method.as_str() && path.ends_with(suffix.as_str()));
        found.map(|index| world.stalls.remove(index))
    };
    if stalled.is_some() {
        // Like a Discord call that never completes: the caller's own timeout has to end it.
        shared.closing.cancelled().await;
        return discord_error(StatusCode::SERVICE_UNAVAILABLE, 0, "the sandbox is closing");
    }
    let now = Instant::now();
    let verdict = shared.world().limiter.check(method.as_str(), &path, now);
    let (response, limited) = if !authorized {
        (
            discord_error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized"),
            false,
        )
    } else {
        match verdict {
            Verdict::Allowed(limit_headers) => {
                let mut response = {
                    let mut world = shared.world();
                    let files = store_files(&mut world, &host, files);
                    answer(&shared, &mut world, &host, &method, &uri, &body_json, files)
                };
                response.headers_mut().extend(limit_headers);
                (response, false)
            }
            Verdict::Limited {
                headers: limit_headers,
                retry_after,
                global,
            } => (too_many_requests(limit_headers, retry_after, global), true),
        }
    };
    {
        let mut world = shared.world();
        let record = Recorded {
            method,
            path,
            body: body_json,
            at: now,
            status: response.status().as_u16(),
        };
        if limited {
            world.rate_limited.push(record);
        } else {
            world.requests.push(record);
        }
    }
    shared.changed.notify_waiters();
    shared.page_changed(None);
    response
}

/// Discord's 429: JSON body, `Retry-After` in whole seconds (rounded up).
fn too_many_requests(mut headers: HeaderMap, retry_after: Duration, global: bool) -> Response {
    let seconds = retry_after.as_secs_f64();
    if let Ok(value) = HeaderValue::from_str(&(seconds.ceil() as u64).max(1).to_string()) {
        headers.insert(header::RETRY_AFTER, value);
    }
    let body = json!({
        "message": "You are being rate limited.",
        "retry_after": (seconds * 1000.0).ceil() / 1000.0,
        "global": global,
    });
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    response.headers_mut().extend(headers);
    response
}

/// The host the bot reached the sandbox by, for the URLs the sandbox gives out.
pub(crate) fn host(headers: &HeaderMap, shared: &Shared) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map_or_else(|| shared.addr.to_string(), str::to_owned)
}

type Files = Vec<(String, String, Bytes)>;

/// The JSON body, from `payload_json` and file parts when the bot uploads files.
async fn read_body(headers: &HeaderMap, body: Bytes) -> Result<(Value, Files), Response> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("multipart/form-data") {
        let json = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body)
                .unwrap_or_else(|_| json!({ "unparsed": String::from_utf8_lossy(&body) }))
        };
        return Ok((json, Vec::new()));
    }
    let bad = |err: &dyn std::fmt::Display| {
        discord_error(
            StatusCode::BAD_REQUEST,
            50_035,
            &format!("Invalid Form Body: {err}"),
        )
    };
    let request = Request::builder()
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .map_err(|err| bad(&err))?;
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|err| bad(&err))?;
    let mut json = Value::Null;
    let mut files = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(|err| bad(&err))? {
        let name = field.name().unwrap_or_default().to_owned();
        let filename = field.file_name().map(str::to_owned);
        let kind = field
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_owned();
        let bytes = field.bytes().await.map_err(|err| bad(&err))?;
        if name == "payload_json" {
            json = serde_json::from_slice(&bytes).map_err(|err| bad(&err))?;
        } else if let Some(filename) = filename {
            files.push((filename, kind, bytes));
        }
    }
    Ok((json, files))
}

/// Keeps uploaded files and returns their attachment objects.
fn store_files(world: &mut World, host: &str, files: Files) -> Vec<Value> {
    files
        .into_iter()
        .map(|(filename, content_type, bytes)| {
            let id = world.next_id();
            let url = format!("http://{host}/attachments/{id}/{filename}");
            let attachment = fixtures::attachment(id, &filename, &content_type, bytes.len(), &url);
            world.files.insert(
                id,
                StoredFile {
                    filename,
                    content_type,
                    bytes,
                },
            );
            attachment
        })
        .collect()
}

/// What Discord answers; `uri`'s path starts with `/api/v10`.
fn answer(
    shared: &Shared,
    world: &mut World,
    host: &str,
    method: &Method,
    uri: &Uri,
    body: &Value,
    files: Vec<Value>,
) -> Response {
    let path = uri.path();
    let segments: Vec<&str> = path.trim_start_matches("/api/v10/").split('/').collect();
    let guild = GUILD_ID.to_string();
    let app = APP_ID.to_string();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["gateway"]) => {
            Json(json!({ "url": format!("ws://{host}/gateway") })).into_response()
        }
        ("GET", ["users", "@me"]) => Json(fixtures::user(BOT_ID, true)).into_response(),
        ("PUT", ["applications", a, "commands"]) if *a == app => {
            register_commands(shared, world, body, None)
        }
        ("PUT", ["applications", a, "guilds", g, "commands"]) if *a == app => {
            let g = g.parse().unwrap_or_default();
            register_commands(shared, world, body, Some(g))
        }
        ("POST", ["interactions", id, token, "callback"]) => {
            interaction_callback(shared, world, id, token, body, files)
        }
        ("GET", ["webhooks", a, token, "messages", "@original"]) if *a == app => {
            match original_of(world, token) {
                Some(message) => Json(message).into_response(),
                None => discord_error(StatusCode::NOT_FOUND, 10_008, "Unknown Message"),
            }
        }
        ("PATCH", ["webhooks", a, token, "messages", "@original"]) if *a == app => {
            edit_original(shared, world, token, body, files)
        }
        ("DELETE", ["webhooks", a, token, "messages", "@original"]) if *a == app => {
            let original = world.interactions.get(*token).and_then(|i| i.original);
            match original {
                Some(id) => {
                    world
                        .messages
                        .retain(|m| m.message["id"] != id.to_string().as_str());
                    StatusCode::NO_CONTENT.into_response()
                }
                None => discord_error(StatusCode::NOT_FOUND, 10_008, "Unknown Message"),
            }
        }
        ("POST", ["webhooks", a, token]) if *a == app => {
            let Some(interaction) = world.interactions.get(*token).cloned() else {
                return discord_error(StatusCode::NOT_FOUND, 10_015, "Unknown Webhook");
            };
            let message = new_bot_message(world, interaction.channel, body, files);
            let only_for = ephemeral(body).then_some(interaction.user);
            let message = world.store_message(message, only_for);
            shared.page_changed(Some(interaction.channel));
            Json(message).into_response()
        }
        ("POST", ["channels", channel, "typing"]) => {
            let Some(id) = world.channel(parse(channel)).map(id_of) else {
                return discord_error(StatusCode::NOT_FOUND, 10_003, "Unknown Channel");
            };
            world.typing_until.insert(id, Instant::now() + TYPING_LASTS);
            shared.page_changed(Some(id));
            StatusCode::NO_CONTENT.into_response()
        }
        ("POST", ["channels", channel, "messages"]) => {
            post_message(shared, world, parse(channel), body, files)
        }
        ("GET", ["channels", channel, "messages"]) => {
            let id = parse(channel);
            if world.channel(id).is_none() {
                return discord_error(StatusCode::NOT_FOUND, 10_003, "Unknown Channel");
            }
            let query = match MessagesQuery::parse(uri.query()) {
                Ok(query) => query,
                Err(err) => return (StatusCode::BAD_REQUEST, Json(err.body())).into_response(),
            };
            // Only the page is cloned: a transcript pages through thousands of messages.
            let list: Vec<(u64, &Value)> = world
                .messages
                .iter()
                .filter(|m| m.only_for.is_none() && m.message["channel_id"] == *channel)
                .map(|m| (id_of(&m.message), &m.message))
                .collect();
            let page: Vec<Value> = query.page(list).into_iter().cloned().collect();
            Json(page).into_response()
        }
        ("PATCH", ["channels", channel, "messages", message]) => {
            let Some(stored) = world.message_mut(parse(message)) else {
                return discord_error(StatusCode::NOT_FOUND, 10_008, "Unknown Message");
            };
            merge_message(&mut stored.message, body, &files);
            let updated = stored.message.clone();
            world.send_event("MESSAGE_UPDATE", updated.clone());
            shared.page_changed(Some(parse(channel)));
            Json(updated).into_response()
        }
        ("DELETE", ["channels", channel, "messages", message]) => {
            let before = world.messages.len();
            world.messages.retain(|m| m.message["id"] != *message);
            if world.messages.len() == before {
                return discord_error(StatusCode::NOT_FOUND, 10_008, "Unknown Message");
            }
            world.send_event(
                "MESSAGE_DELETE",
                json!({ "id": message, "channel_id": channel, "guild_id": guild }),
            );
            shared.page_changed(Some(parse(channel)));
            StatusCode::NO_CONTENT.into_response()
        }
        ("GET", ["channels", channel]) => match world.channel(parse(channel)) {
            Some(found) => Json(found.clone()).into_response(),
            None => discord_error(StatusCode::NOT_FOUND, 10_003, "Unknown Channel"),
        },
        ("PATCH", ["channels", channel]) => {
            let Some(found) = world.channels.iter_mut().find(|c| c["id"] == *channel) else {
                return discord_error(StatusCode::NOT_FOUND, 10_003, "Unknown Channel");
            };
            for key in [
                "name",
                "topic",
                "parent_id",
                "permission_overwrites",
                "position",
            ] {
                if let Some(value) = body.get(key) {
                    found[key] = value.clone();
                }
            }
            let updated = found.clone();
            world.send_event("CHANNEL_UPDATE", updated.clone());
            Json(updated).into_response()
        }
        ("PUT", ["channels", channel, "permissions", overwrite]) => {
            let Some(found) = world.channels.iter_mut().find(|c| c["id"] == *channel) else {
                return discord_error(StatusCode::NOT_FOUND, 10_003, "Unknown Channel");
            };
            let entry = json!({
                "id": overwrite,
                "type": body["type"].as_u64().unwrap_or(0),
                "allow": body["allow"].as_str().map_or_else(|| body["allow"].to_string(), str::to_owned),
                "deny": body["deny"].as_str().map_or_else(|| body["deny"].to_string(), str::to_owned),
            });
            let list = found["permission_overwrites"]
                .as_array_mut()
                .expect("channels have a list of overwrites");
            list.retain(|o| o["id"] != *overwrite);
            list.push(entry);
            let updated = found.clone();
            world.send_event("CHANNEL_UPDATE", updated);
            StatusCode::NO_CONTENT.into_response()
        }
        ("DELETE", ["channels", channel, "permissions", overwrite]) => {
            let Some(found) = world.channels.iter_mut().find(|c| c["id"] == *channel) else {
                return discord_error(StatusCode::NOT_FOUND, 10_003, "Unknown Channel");
            };
            if let Some(list) = found["permission_overwrites"].as_array_mut() {
                list.retain(|o| o["id"] != *overwrite);
            }
            let updated = found.clone();
            world.send_event("CHANNEL_UPDATE", updated);
            StatusCode::NO_CONTENT.into_response()
        }
        ("DELETE", ["channels", channel]) => match world.remove_channel(parse(channel)) {
            Some(removed) => Json(removed).into_response(),
            None => discord_error(StatusCode::NOT_FOUND, 10_003, "Unknown Channel"),
        },
        ("POST", ["users", "@me", "channels"]) => {
            let recipient = parse(body["recipient_id"].as_str().unwrap_or_default());
            if World::persona(recipient).is_none() {
                return discord_error(StatusCode::NOT_FOUND, 10_013, "Unknown User");
            }
            let existing = world.dm_channel_with(recipient).cloned();
            let channel = existing.unwrap_or_else(|| {
                let id = world.next_id();
                let channel = fixtures::dm_channel(id, recipient);
                world.dm_channels.push(channel.clone());
                channel
            });
            Json(channel).into_response()
        }
        ("GET", ["guilds", g, "channels"]) if *g == guild => {
            Json(world.channels.clone()).into_response()
        }
        ("POST", ["guilds", g, "channels"]) if *g == guild => create_channel(world, body),
        ("GET", ["guilds", g, "roles"]) if *g == guild => Json(world.roles.clone()).into_response(),
        ("POST", ["guilds", g, "roles"]) if *g == guild => {
            if !world.can_manage_roles {
                return discord_error(StatusCode::FORBIDDEN, 50_013, "Missing Permissions");
            }
            let id = world.next_id();
            let role = fixtures::role(id, body["name"].as_str().unwrap_or("new role"));
            world.add_role(role.clone());
            world.send_event("GUILD_ROLE_CREATE", fixtures::role_event(&role));
            Json(role).into_response()
        }
        ("DELETE", ["guilds", g, "roles", role]) if *g == guild => {
            if world.remove_role(parse(role)) {
                StatusCode::NO_CONTENT.into_response()
            } else {
                discord_error(StatusCode::NOT_FOUND, 10_011, "Unknown Role")
            }
        }
        ("GET", ["guilds", g, "members", user]) if *g == guild => {
            let user = parse(user);
            if World::persona(user).is_none() && user != BOT_ID {
                return discord_error(StatusCode::NOT_FOUND, 10_007, "Unknown Member");
            }
            Json(world.member(user)).into_response()
        }
        (verb @ ("PUT" | "DELETE"), ["guilds", g, "members", user, "roles", role])
            if *g == guild =>
        {
            let (user, role) = (parse(user), parse(role));
            if !world.roles.iter().any(|r| id_of(r) == role) {
                return discord_error(StatusCode::NOT_FOUND, 10_011, "Unknown Role");
            }
            let Some(roles) = world.member_roles.get_mut(&user) else {
                return discord_error(StatusCode::NOT_FOUND, 10_007, "Unknown Member");
            };
            roles.retain(|r| *r != role);
            if verb == "PUT" {
                roles.push(role);
            }
            StatusCode::NO_CONTENT.into_response()
        }
        _ => discord_error(StatusCode::NOT_FOUND, 0, "404: Not Found"),
    }
}

fn parse(id: &str) -> u64 {
    id.parse().unwrap_or_default()
}

fn ephemeral(body: &Value) -> bool {
    body["flags"].as_u64().unwrap_or(0) & EPHEMERAL != 0
}

fn register_commands(
    shared: &Shared,
    world: &mut World,
    body: &Value,
    guild: Option<u64>,
) -> Response {
    let commands = fixtures::commands(body, guild, &mut || world.next_id());
    world.commands = commands.as_array().cloned().unwrap_or_default();
    shared.page_changed(None);
    Json(commands).into_response()
}

/// Discord's refusal of a message body, if any: it needs some content, at most 2000 characters.
fn refusal_of_message(body: &Value, files: &[Value]) -> Option<Response> {
    let content = body["content"].as_str().unwrap_or_default();
    let has_other = !files.is_empty()
        || body["embeds"].as_array().is_some_and(|e| !e.is_empty())
        || body["components"].as_array().is_some_and(|c| !c.is_empty());
    if content.trim().is_empty() && !has_other {
        return Some(discord_error(
            StatusCode::BAD_REQUEST,
            50_006,
            "Cannot send an empty message",
        ));
    }
    if content.chars().count() > MESSAGE_CHARS {
        return Some((
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "Invalid Form Body", "code": 50_035, "errors": {"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]}}})),
        )
            .into_response());
    }
    None
}

/// A new message of the bot in `channel` made of `body` and the uploaded `files`.
fn new_bot_message(world: &mut World, channel: u64, body: &Value, files: Vec<Value>) -> Value {
    let id = world.next_id();
    let mut body = body.clone();
    if !files.is_empty() {
        body["attachments"] = json!(files);
    }
    let mut message = fixtures::bot_message(id, channel, &body);
    if world.channel(channel).is_some_and(|c| c["type"] == 1) {
        message["guild_id"] = Value::Null;
    }
    message
}

fn merge_message(message: &mut Value, body: &Value, files: &[Value]) {
    for key in ["content", "components", "embeds"] {
        if let Some(value) = body.get(key).filter(|v| !v.is_null()) {
            message[key] = value.clone();
        }
    }
    if !files.is_empty() {
        message["attachments"] = json!(files);
    }
    let flags = message["flags"].as_u64().unwrap_or(0) & !LOADING;
    message["flags"] = json!(flags);
}

fn post_message(
    shared: &Shared,
    world: &mut World,
    channel: u64,
    body: &Value,
    files: Vec<Value>,
) -> Response {
    let Some(found) = world.channel(channel) else {
        return discord_error(StatusCode::NOT_FOUND, 10_003, "Unknown Channel");
    };
    let recipient = found["recipients"][0]["id"].as_str().map(parse);
    if recipient.is_some_and(|user| world.closed_dms.contains(&user)) {
        return discord_error(
            StatusCode::FORBIDDEN,
            50_007,
            "Cannot send messages to this user",
        );
    }
    if let Some(refusal) = refusal_of_message(body, &files) {
        return refusal;
    }
    let message = new_bot_message(world, channel, body, files);
    // A message ends the author's typing indicator.
    world.typing_until.remove(&channel);
    let message = world.store_message(message, None);
    // Discord tells every session of the author too.
    world.send_event("MESSAGE_CREATE", message.clone());
    shared.page_changed(Some(channel));
    Json(message).into_response()
}

fn original_of(world: &World, token: &str) -> Option<Value> {
    let id = world.interactions.get(token)?.original?.to_string();
    world
        .messages
        .iter()
        .find(|m| m.message["id"] == id.as_str())
        .map(|m| m.message.clone())
}

/// The answer to an interaction: 1 pong, 4 message, 5 deferred message, 6 deferred update,
/// 7 update the button's message.
fn interaction_callback(
    shared: &Shared,
    world: &mut World,
    id: &str,
    token: &str,
    body: &Value,
    files: Vec<Value>,
) -> Response {
    let Some(interaction) = world.interactions.get(token).cloned() else {
        return discord_error(StatusCode::NOT_FOUND, 10_062, "Unknown interaction");
    };
    if interaction.id.to_string() != id {
        return discord_error(StatusCode::NOT_FOUND, 10_062, "Unknown interaction");
    }
    if interaction.acknowledged {
        return discord_error(
            StatusCode::BAD_REQUEST,
            40_060,
            "Interaction has already been acknowledged.",
        );
    }
    let data = body.get("data").cloned().unwrap_or(json!({}));
    match body["type"].as_u64() {
        Some(4 | 5) => {
            let deferred = body["type"] == 5;
            if !deferred {
                if let Some(refusal) = refusal_of_message(&data, &files) {
                    return refusal;
                }
            }
            let mut message = new_bot_message(world, interaction.channel, &data, files);
            let mut flags = data["flags"].as_u64().unwrap_or(0);
            if deferred {
                flags |= LOADING;
            }
            message["flags"] = json!(flags);
            let only_for = ephemeral(&data).then_some(interaction.user);
            let message_id = id_of(&message);
            world.store_message(message, only_for);
            if let Some(stored) = world.message_mut(message_id) {
                stored.interaction = Some(json!({
                    "name": interaction.name,
                    "user": fixtures::user(interaction.user, false),
                }));
            }
            set_interaction(world, token, |i| i.original = Some(message_id));
        }
        Some(7) => {
            let Some(source) = interaction.source_message else {
                return discord_error(StatusCode::BAD_REQUEST, 50_035, "Invalid Form Body");
            };
            if let Some(stored) = world.message_mut(source) {
                merge_message(&mut stored.message, &data, &files);
            }
        }
        Some(1 | 6) => {}
        _ => return discord_error(StatusCode::BAD_REQUEST, 50_035, "Invalid Form Body"),
    }
    set_interaction(world, token, |i| i.acknowledged = true);
    shared.page_changed(Some(interaction.channel));
    StatusCode::NO_CONTENT.into_response()
}

fn set_interaction(world: &mut World, token: &str, change: impl FnOnce(&mut InteractionState)) {
    if let Some(interaction) = world.interactions.get_mut(token) {
        change(interaction);
    }
}

/// Edits the interaction's original answer (the deferred "thinking" one), or creates it.
fn edit_original(
    shared: &Shared,
    world: &mut World,
    token: &str,
    body: &Value,
    files: Vec<Value>,
) -> Response {
    let Some(interaction) = world.interactions.get(token).cloned() else {
        return discord_error(StatusCode::NOT_FOUND, 10_015, "Unknown Webhook");
    };
    let existing = interaction
        .original
        .and_then(|id| world.message_mut(id))
        .map(|stored| {
            merge_message(&mut stored.message, body, &files);
            stored.message.clone()
        });
    let message = match existing {
        Some(message) => message,
        None => {
            let mut message = new_bot_message(world, interaction.channel, body, files);
            message["flags"] = json!(EPHEMERAL);
            let message_id = id_of(&message);
            set_interaction(world, token, |i| i.original = Some(message_id));
            world.store_message(message, Some(interaction.user))
        }
    };
    let mut answer = message;
    answer["webhook_id"] = json!(APP_ID.to_string());
    shared.page_changed(Some(interaction.channel));
    Json(answer).into_response()
}

fn create_channel(world: &mut World, body: &Value) -> Response {
    if !world.can_manage_channels {
        return discord_error(StatusCode::FORBIDDEN, 50_013, "Missing Permissions");
    }
    if world.channels.len() >= GUILD_CHANNEL_LIMIT {
        return discord_error(
            StatusCode::BAD_REQUEST,
            30_013,
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
                    "code": 50_035,
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
    let mut channel = fixtures::channel(
        id,
        body["type"].as_u64().unwrap_or(0),
        body["name"].as_str().unwrap_or("channel"),
        parent,
        body.get("permission_overwrites")
            .cloned()
            .unwrap_or(json!([])),
    );
    if let Some(topic) = body.get("topic").filter(|t| t.is_string()) {
        channel["topic"] = topic.clone();
    }
    world.channels.push(channel.clone());
    // Real Discord tells the bot over the gateway too.
    world.send_event("CHANNEL_CREATE", channel.clone());
    (StatusCode::CREATED, Json(channel)).into_response()
}
