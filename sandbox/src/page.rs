//! The web page (plain HTML, CSS and JS from `static/`, embedded, no build step) and the JSON
//! API it uses, all under `/sandbox/` except the page itself:
//!
//! - `GET /sandbox/state?user=KEY`: the users, the bot's status, the commands this user may run
//!   (as the bot registered them) and the channels this user can see;
//! - `GET /sandbox/channels/{id}/messages?user=KEY`: that channel's messages and who is typing;
//! - `POST /sandbox/channels/{id}/messages`, `POST /sandbox/commands`, `POST /sandbox/buttons`:
//!   act as a user (a MESSAGE_CREATE or INTERACTION_CREATE sent to the bot); a command's
//!   options are `[name, value]` pairs, the value of a USER option a persona's key or ID;
//! - `GET /attachments/{id}/{filename}`: a file the bot uploaded, as Discord's CDN serves it;
//! - `GET /sandbox/interactions/{id}`: whether the bot acknowledged it (the page shows an error
//!   when it did not within [`crate::INTERACTION_DEADLINE`]);
//! - `GET /sandbox/events`: server-sent events, one per change, so the page fetches again.
//!
//! Errors are JSON `{"error": "..."}` with a 4xx status saying what to fix.

use std::{convert::Infallible, sync::Arc, time::Instant};

use axum::{
    extract::{Path, Query, State},
    http::{header, StatusCode},
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse, Response,
    },
    routing::{get, post},
    Json, Router,
};
use futures::{Stream, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{
    fixtures::{CommandOption, MessageSpec},
    users::{persona, Persona, PERSONAS},
    visibility::{bits, ADMINISTRATOR},
    world::{Shared, World},
    Sandbox, SandboxError,
};

const INDEX_HTML: &str = include_str!("../static/index.html");
const APP_JS: &str = include_str!("../static/app.js");
const STYLE_CSS: &str = include_str!("../static/style.css");
/// Discord's type of a slash command option naming a user.
const USER_OPTION: u64 = 6;

/// The page's routes.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/",
            get(|| async { static_file("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/app.js",
            get(|| async { static_file("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/style.css",
            get(|| async { static_file("text/css; charset=utf-8", STYLE_CSS) }),
        )
        .route("/sandbox/state", get(state))
        .route(
            "/sandbox/channels/{id}/messages",
            get(messages).post(send_message),
        )
        .route("/sandbox/commands", post(run_command))
        .route("/sandbox/buttons", post(press_button))
        .route("/sandbox/interactions/{id}", get(interaction))
        .route("/sandbox/events", get(events))
        .route("/attachments/{id}/{filename}", get(attachment))
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

impl IntoResponse for SandboxError {
    fn into_response(self) -> Response {
        let status = match self {
            Self::BotNotConnected => StatusCode::CONFLICT,
            Self::UnknownChannel(_) | Self::UnknownMessage(_) => StatusCode::NOT_FOUND,
            Self::UnknownUser(_)
            | Self::UnknownCommand(_)
            | Self::EmptyMessage
            | Self::MessageTooLong => StatusCode::BAD_REQUEST,
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

fn sandbox(shared: Arc<Shared>) -> Sandbox {
    Sandbox {
        shared,
        _server: None,
    }
}

#[derive(Deserialize)]
struct Who {
    user: String,
}

fn who(key: &str) -> Result<&'static Persona, SandboxError> {
    persona(key).ok_or_else(|| SandboxError::UnknownUser(key.to_owned()))
}

/// The commands `user` may run: those whose `default_member_permissions` they have, as the
/// Discord client shows them.
pub(crate) fn commands_for(world: &World, user: &Persona) -> Vec<Value> {
    world
        .commands
        .iter()
        .filter(|c| {
            let required = bits(&c["default_member_permissions"]);
            required == 0 || user.administrator || required & ADMINISTRATOR == 0
        })
        .cloned()
        .collect()
}

async fn state(
    State(shared): State<Arc<Shared>>,
    Query(who_): Query<Who>,
) -> Result<Json<Value>, SandboxError> {
    let user = who(&who_.user)?;
    let world = shared.world();
    let roles: Vec<Value> = world.roles.clone();
    let seen: Vec<&Value> = world
        .channels
        .iter()
        .chain(&world.dm_channels)
        .filter(|c| world.can_view(user.id, c))
        .collect();
    // Discord lists a category whose channels you see even when the category itself is hidden.
    let visible: Vec<Value> = world
        .channels
        .iter()
        .chain(&world.dm_channels)
        .filter(|c| {
            seen.iter().any(|v| v["id"] == c["id"])
                || (c["type"] == 4 && seen.iter().any(|v| v["parent_id"] == c["id"]))
        })
        .map(|c| {
            json!({
                "id": c["id"],
                "name": c["name"].as_str().map_or_else(|| "direct messages with TicketBot".to_owned(), str::to_owned),
                "type": c["type"],
                "parent_id": c["parent_id"],
                "topic": c["topic"],
            })
        })
        .collect();
    let my_roles: Vec<Value> = world
        .member_roles
        .get(&user.id)
        .map(|ids| {
            roles
                .iter()
                .filter(|r| ids.contains(&crate::world::id_of(r)))
                .map(|r| r["name"].clone())
                .collect()
        })
        .unwrap_or_default();
    let commands: Vec<Value> = commands_for(&world, user)
        .into_iter()
        .map(|c| json!({ "name": c["name"], "description": c["description"], "options": c["options"] }))
        .collect();
    Ok(Json(json!({
        "guild": { "name": "Sandbox Guild" },
        "bot": {
            "connected": world.gateway.is_some(),
            "commands_registered": !world.commands.is_empty(),
            "rate_limited": world.rate_limited.len(),
        },
        "users": PERSONAS,
        "me": { "key": user.key, "id": user.id.to_string(), "name": user.name, "roles": my_roles },
        "commands": commands,
        "channels": visible,
    })))
}

/// The channel `id` if `user` can see it.
fn visible_channel(world: &World, user: &Persona, id: u64) -> Result<Value, SandboxError> {
    world
        .channel(id)
        .filter(|c| world.can_view(user.id, c))
        .cloned()
        .ok_or(SandboxError::UnknownChannel(id))
}

async fn messages(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<u64>,
    Query(who_): Query<Who>,
) -> Result<Json<Value>, SandboxError> {
    let user = who(&who_.user)?;
    let world = shared.world();
    visible_channel(&world, user, id)?;
    let channel = id.to_string();
    let list: Vec<Value> = world
        .messages
        .iter()
        .filter(|m| m.message["channel_id"] == channel.as_str())
        .filter(|m| m.only_for.is_none_or(|u| u == user.id))
        .map(|m| {
            let mut message = m.message.clone();
            message["sent_at_ms"] = json!(m.sent_at_ms);
            message["ephemeral"] = json!(m.only_for.is_some());
            if let Some(interaction) = &m.interaction {
                message["interaction_metadata"] = interaction.clone();
            }
            message
        })
        .collect();
    let typing = world
        .typing_until
        .get(&id)
        .is_some_and(|until| *until > Instant::now());
    Ok(Json(json!({ "messages": list, "bot_typing": typing })))
}

#[derive(Deserialize)]
struct NewMessage {
    user: String,
    content: String,
}

async fn send_message(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<u64>,
    Json(body): Json<NewMessage>,
) -> Result<Json<Value>, SandboxError> {
    let user = who(&body.user)?;
    {
        let world = shared.world();
        visible_channel(&world, user, id)?;
    }
    if body.content.trim().is_empty() {
        return Err(SandboxError::EmptyMessage);
    }
    if body.content.chars().count() > 2000 {
        return Err(SandboxError::MessageTooLong);
    }
    let sandbox = sandbox(shared);
    let id = sandbox.try_send(MessageSpec::human(id, user.id, &body.content))?;
    Ok(Json(json!({ "id": id.to_string() })))
}

#[derive(Deserialize)]
struct NewCommand {
    user: String,
    name: String,
    channel_id: String,
    #[serde(default)]
    options: Vec<(String, String)>,
}

async fn run_command(
    State(shared): State<Arc<Shared>>,
    Json(body): Json<NewCommand>,
) -> Result<Json<Value>, SandboxError> {
    let user = who(&body.user)?;
    let channel = body
        .channel_id
        .parse()
        .map_err(|_| SandboxError::UnknownChannel(0))?;
    let options = typed_options(&shared.world(), &body.name, &body.options)?;
    let id = sandbox(shared).run_command_with(user, &body.name, channel, &options)?;
    tracing::info!(command = %body.name, user = user.key, "command run from the page");
    Ok(Json(json!({ "interaction_id": id.to_string() })))
}

/// The page's `[name, value]` pairs typed as the bot declared them: a USER option (type 6)
/// holds a persona's key or ID, the rest are strings.
fn typed_options(
    world: &World,
    command: &str,
    options: &[(String, String)],
) -> Result<Vec<CommandOption>, SandboxError> {
    let declared = world
        .commands
        .iter()
        .find(|c| c["name"] == command)
        .and_then(|c| c["options"].as_array().cloned())
        .unwrap_or_default();
    options
        .iter()
        .map(|(name, value)| {
            let is_user = declared
                .iter()
                .any(|o| o["name"] == name.as_str() && o["type"] == USER_OPTION);
            if !is_user {
                return Ok(CommandOption::String(name.clone(), value.clone()));
            }
            PERSONAS
                .iter()
                .find(|p| p.key == value || p.id.to_string() == *value)
                .map(|p| CommandOption::User(name.clone(), p.id))
                .ok_or_else(|| SandboxError::UnknownUser(value.clone()))
        })
        .collect()
}

#[derive(Deserialize)]
struct Press {
    user: String,
    message_id: String,
    custom_id: String,
}

async fn press_button(
    State(shared): State<Arc<Shared>>,
    Json(body): Json<Press>,
) -> Result<Json<Value>, SandboxError> {
    let user = who(&body.user)?;
    let message = body
        .message_id
        .parse()
        .map_err(|_| SandboxError::UnknownMessage(0))?;
    let id = sandbox(shared).press_button(user, message, &body.custom_id)?;
    Ok(Json(json!({ "interaction_id": id.to_string() })))
}

async fn interaction(State(shared): State<Arc<Shared>>, Path(id): Path<u64>) -> Json<Value> {
    let acknowledged = sandbox(shared).acknowledged(id);
    Json(json!({ "acknowledged": acknowledged }))
}

async fn events(
    State(shared): State<Arc<Shared>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = shared.page_events.subscribe();
    let stream = futures::stream::unfold(receiver, |mut receiver| async move {
        let data = match receiver.recv().await {
            Ok(event) => event,
            // Missed some: tell the page to fetch everything.
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                json!({ "kind": "changed", "channel_id": null })
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(Event::default().data(data.to_string())), receiver))
    });
    let stream = stream.take_until(shared.closing.clone().cancelled_owned());
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn attachment(
    State(shared): State<Arc<Shared>>,
    Path((id, _filename)): Path<(u64, String)>,
) -> Response {
    let file = shared.world().files.get(&id).cloned();
    match file {
        Some(file) => (
            [
                (header::CONTENT_TYPE, file.content_type),
                (
                    header::CONTENT_DISPOSITION,
                    format!("inline; filename=\"{}\"", file.filename.replace('"', "")),
                ),
            ],
            file.bytes,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("no attachment {id}") })),
        )
            .into_response(),
    }
}
