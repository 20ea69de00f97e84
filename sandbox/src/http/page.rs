//! The web page (plain HTML, CSS and JS from `static/`, embedded, no build step) and the JSON
//! API it uses, all under `/sandbox/` except the page itself:
//!
//! - `GET /sandbox/state?user=KEY&guild=ID`: the guilds, the users, the bot's status in the
//!   chosen guild (the first unless `guild` names another), its roles (a mention shows the
//!   role's name), the commands this user may run
//!   there (as the bot registered them), the channels and threads this user can see there
//!   (and their DMs), and the forms the bot opened for them;
//! - `GET /sandbox/channels/{id}/messages?user=KEY`: that channel's messages and who is typing;
//! - `POST /sandbox/channels/{id}/messages`, `POST /sandbox/commands`, `POST /sandbox/buttons`,
//!   `POST /sandbox/selects`: act as a user (a MESSAGE_CREATE or INTERACTION_CREATE sent to the
//!   bot); a command's options are `[name, value]` pairs, the value of a USER option a
//!   persona's key or ID; a select menu's choice is its `values`;
//! - `POST /sandbox/modals/{interaction}`: submit a form the bot opened (`values` are
//!   `[custom_id, value]` pairs); `DELETE /sandbox/modals/{interaction}?user=KEY` closes it;
//! - `GET /attachments/{id}/{filename}`: a file the bot uploaded, as Discord's CDN serves it;
//! - `GET /sandbox/interactions/{id}`: whether the bot acknowledged it (the page shows an error
//!   when it did not within [`INTERACTION_DEADLINE`]);
//! - `GET /sandbox/events`: server-sent events, one per change, so the page fetches again.
//!
//! Each action is the [`crate::world::World`]'s; this file only reads the page's requests and
//! shapes its answers. Errors are JSON `{"error": "..."}` with a 4xx status saying what to fix.

use std::{convert::Infallible, time::Duration, time::Instant};

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
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    model::{
        channel::{ChannelKind, ChannelRef},
        command::OptionDefinition,
        limits::MESSAGE_CHARS,
        message::{Component, Message, MessageSpec},
        user::{persona, Persona, PERSONAS},
        wire::{option_u64_string, u64_string},
    },
    server::Server,
    world::{
        error::SandboxError,
        state::{InteractionMetadata, PageEvent},
    },
};

const INDEX_HTML: &str = include_str!("../../static/index.html");
const APP_JS: &str = include_str!("../../static/app.js");
const STYLE_CSS: &str = include_str!("../../static/style.css");
/// The guild's name on the page, when there is one.
const GUILD_NAME: &str = "Sandbox Guild";
/// How a DM channel is named on the page.
const DM_NAME: &str = "direct messages with TicketBot";

/// How long the page waits for the first answer to an interaction before showing an error, as
/// Discord shows "The application did not respond".
pub const INTERACTION_DEADLINE: Duration = Duration::from_secs(3);

/// The page's routes.
pub fn routes() -> Router<Server> {
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
        .route("/sandbox/selects", post(choose))
        .route(
            "/sandbox/modals/{interaction}",
            post(submit_modal).delete(dismiss_modal),
        )
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

#[derive(Deserialize)]
struct Who {
    user: String,
}

/// The query of `GET /sandbox/state`.
#[derive(Deserialize)]
struct StateQuery {
    user: String,
    /// The guild shown; the first when none.
    #[serde(default)]
    guild: Option<String>,
}

fn who(key: &str) -> Result<&'static Persona, SandboxError> {
    persona(key).ok_or_else(|| SandboxError::UnknownUser(key.to_owned()))
}

/// A channel in the page's list.
#[derive(Serialize)]
struct ChannelView {
    #[serde(with = "u64_string")]
    id: u64,
    name: String,
    #[serde(rename = "type")]
    kind: ChannelKind,
    #[serde(with = "option_u64_string")]
    parent_id: Option<u64>,
    topic: Option<String>,
    /// A thread that is archived.
    archived: bool,
    /// A thread that is locked.
    locked: bool,
}

impl From<ChannelRef<'_>> for ChannelView {
    fn from(channel: ChannelRef<'_>) -> Self {
        match channel {
            ChannelRef::Guild(c) => Self {
                id: c.id,
                name: c.name.clone(),
                kind: c.kind,
                parent_id: c.parent_id,
                topic: c.topic.clone(),
                archived: c.archived(),
                locked: c.locked(),
            },
            ChannelRef::Dm(c) => Self {
                id: c.id,
                name: DM_NAME.to_owned(),
                kind: c.kind,
                parent_id: None,
                topic: None,
                archived: false,
                locked: false,
            },
        }
    }
}

/// A command in the page's list.
#[derive(Serialize)]
struct CommandView<'a> {
    name: &'a str,
    description: &'a str,
    options: &'a [OptionDefinition],
}

#[derive(Serialize)]
struct BotView {
    connected: bool,
    commands_registered: bool,
    rate_limited: usize,
}

#[derive(Serialize)]
struct Me<'a> {
    key: &'a str,
    #[serde(with = "u64_string")]
    id: u64,
    name: &'a str,
    roles: Vec<String>,
}

/// A role of the guild, so that the page shows `<@&id>` as `@name`.
#[derive(Serialize)]
struct RoleView<'a> {
    #[serde(with = "u64_string")]
    id: u64,
    name: &'a str,
}

#[derive(Serialize)]
struct GuildView {
    #[serde(with = "u64_string")]
    id: u64,
    name: String,
}

/// A form the bot opened for this user.
#[derive(Serialize)]
struct ModalView<'a> {
    #[serde(with = "u64_string")]
    interaction_id: u64,
    custom_id: &'a str,
    title: &'a str,
    components: &'a [Component],
}

#[derive(Serialize)]
struct StateView<'a> {
    guild: GuildView,
    guilds: Vec<GuildView>,
    bot: BotView,
    users: &'a [Persona],
    roles: Vec<RoleView<'a>>,
    me: Me<'a>,
    commands: Vec<CommandView<'a>>,
    channels: Vec<ChannelView>,
    modals: Vec<ModalView<'a>>,
}

async fn state(
    State(server): State<Server>,
    Query(query): Query<StateQuery>,
) -> Result<Response, SandboxError> {
    let user = who(&query.user)?;
    let world = server.world();
    let guild = match query.guild.as_deref().filter(|g| !g.is_empty()) {
        None => world.home(),
        Some(id) => world.known_guild(id.parse().unwrap_or_default())?,
    };
    let one_guild = world.guild_count() == 1;
    let view_of = |g: &crate::world::guild::Guild| GuildView {
        id: g.id,
        name: if one_guild {
            GUILD_NAME.to_owned()
        } else {
            g.name.clone()
        },
    };
    let commands = world
        .commands_for(guild.id, user)
        .into_iter()
        .map(|c| CommandView {
            name: &c.name,
            description: &c.description,
            options: &c.options,
        })
        .collect();
    let view = StateView {
        guild: view_of(guild),
        guilds: world.guilds().map(view_of).collect(),
        bot: BotView {
            connected: world.guild_connected(guild.id),
            commands_registered: !world.commands_in(guild.id).is_empty(),
            rate_limited: world.record.rate_limited.len(),
        },
        users: &PERSONAS,
        roles: guild
            .roles
            .iter()
            .map(|role| RoleView {
                id: role.id,
                name: &role.name,
            })
            .collect(),
        me: Me {
            key: user.key,
            id: user.id,
            name: user.name,
            roles: world.role_names_in(guild.id, user.id),
        },
        commands,
        channels: world
            .channels_seen_in(user.id, Some(guild.id))
            .into_iter()
            .map(ChannelView::from)
            .collect(),
        modals: world
            .open_modals_for(user.id)
            .into_iter()
            .map(|open| ModalView {
                interaction_id: open.interaction,
                custom_id: &open.modal.custom_id,
                title: &open.modal.title,
                components: &open.modal.components,
            })
            .collect(),
    };
    Ok(Json(view).into_response())
}

/// A message as the page shows it.
#[derive(Serialize)]
struct MessageView<'a> {
    #[serde(flatten)]
    message: &'a Message,
    sent_at_ms: u128,
    ephemeral: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    interaction_metadata: Option<&'a InteractionMetadata>,
}

#[derive(Serialize)]
struct MessagesView<'a> {
    messages: Vec<MessageView<'a>>,
    bot_typing: bool,
}

async fn messages(
    State(server): State<Server>,
    Path(id): Path<u64>,
    Query(who_): Query<Who>,
) -> Result<Response, SandboxError> {
    let user = who(&who_.user)?;
    let world = server.world();
    let messages = world
        .messages_seen_by(user.id, id)?
        .into_iter()
        .map(|m| MessageView {
            message: &m.message,
            sent_at_ms: m.sent_at_ms,
            ephemeral: m.only_for.is_some(),
            interaction_metadata: m.interaction.as_ref(),
        })
        .collect();
    let view = MessagesView {
        messages,
        bot_typing: world.bot_typing(id, Instant::now()),
    };
    Ok(Json(view).into_response())
}

#[derive(Deserialize)]
struct NewMessage {
    user: String,
    content: String,
}

async fn send_message(
    State(server): State<Server>,
    Path(id): Path<u64>,
    Json(body): Json<NewMessage>,
) -> Result<Response, SandboxError> {
    let user = who(&body.user)?;
    let mut world = server.world();
    if !world.can_see(user.id, id) {
        return Err(SandboxError::UnknownChannel(id));
    }
    if body.content.trim().is_empty() {
        return Err(SandboxError::EmptyMessage);
    }
    if body.content.chars().count() > MESSAGE_CHARS {
        return Err(SandboxError::MessageTooLong);
    }
    let id = world.send_message(MessageSpec::human(id, user.id, &body.content))?;
    Ok(Json(json!({ "id": id.to_string() })).into_response())
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
    State(server): State<Server>,
    Json(body): Json<NewCommand>,
) -> Result<Response, SandboxError> {
    let user = who(&body.user)?;
    let channel = body
        .channel_id
        .parse()
        .map_err(|_| SandboxError::UnknownChannel(0))?;
    let id = {
        let mut world = server.world();
        let guild = world.guild_for(channel).id;
        let options = world.typed_options(guild, &body.name, &body.options)?;
        world.run_command(user, &body.name, channel, &options)?
    };
    tracing::info!(command = %body.name, user = user.key, "command run from the page");
    Ok(Json(json!({ "interaction_id": id.to_string() })).into_response())
}

#[derive(Deserialize)]
struct Press {
    user: String,
    message_id: String,
    custom_id: String,
}

async fn press_button(
    State(server): State<Server>,
    Json(body): Json<Press>,
) -> Result<Response, SandboxError> {
    let user = who(&body.user)?;
    let message = body
        .message_id
        .parse()
        .map_err(|_| SandboxError::UnknownMessage(0))?;
    let id = server
        .world()
        .press_button(user, message, &body.custom_id)?;
    Ok(Json(json!({ "interaction_id": id.to_string() })).into_response())
}

#[derive(Deserialize)]
struct Choice {
    user: String,
    message_id: String,
    custom_id: String,
    values: Vec<String>,
}

async fn choose(
    State(server): State<Server>,
    Json(body): Json<Choice>,
) -> Result<Response, SandboxError> {
    let user = who(&body.user)?;
    let message = body
        .message_id
        .parse()
        .map_err(|_| SandboxError::UnknownMessage(0))?;
    let values: Vec<&str> = body.values.iter().map(String::as_str).collect();
    let id = server
        .world()
        .choose(user, message, &body.custom_id, &values)?;
    Ok(Json(json!({ "interaction_id": id.to_string() })).into_response())
}

#[derive(Deserialize)]
struct Submission {
    user: String,
    #[serde(default)]
    values: Vec<(String, String)>,
}

async fn submit_modal(
    State(server): State<Server>,
    Path(interaction): Path<u64>,
    Json(body): Json<Submission>,
) -> Result<Response, SandboxError> {
    let user = who(&body.user)?;
    let answers: Vec<(&str, &str)> = body
        .values
        .iter()
        .map(|(id, value)| (id.as_str(), value.as_str()))
        .collect();
    let id = server.world().submit_modal(user, interaction, &answers)?;
    Ok(Json(json!({ "interaction_id": id.to_string() })).into_response())
}

async fn dismiss_modal(
    State(server): State<Server>,
    Path(interaction): Path<u64>,
    Query(who_): Query<Who>,
) -> Result<Response, SandboxError> {
    let user = who(&who_.user)?;
    if server.world().dismiss_modal(user, interaction) {
        Ok(Json(json!({ "closed": true })).into_response())
    } else {
        Err(SandboxError::UnknownModal(interaction.to_string()))
    }
}

async fn interaction(State(server): State<Server>, Path(id): Path<u64>) -> Response {
    let acknowledged = server.world().acknowledged(id);
    Json(json!({ "acknowledged": acknowledged })).into_response()
}

async fn events(
    State(server): State<Server>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = server.world().page_events();
    let stream = futures::stream::unfold(receiver, |mut receiver| async move {
        let event = match receiver.recv().await {
            Ok(event) => event,
            // Missed some: tell the page to fetch everything.
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => PageEvent::changed(None),
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
        };
        let data = serde_json::to_string(&event).expect("a page event serializes");
        Some((Ok(Event::default().data(data)), receiver))
    });
    let stream = stream.take_until(server.closing().clone().cancelled_owned());
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn attachment(
    State(server): State<Server>,
    Path((id, _filename)): Path<(u64, String)>,
) -> Response {
    let file = server.world().file(id).cloned();
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
