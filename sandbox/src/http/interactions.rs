//! Slash commands and interactions: the bot registers its commands (`/applications/...`),
//! answers an interaction (`/interactions/{id}/{token}/callback`: a message, "thinking", an
//! update, or a form to open), and edits, reads, deletes or follows up its answer through the
//! interaction's webhook (`/webhooks/{app}/{token}/...`). Another application's routes are a
//! plain 404.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post, put},
    Json, Router,
};

use crate::{
    http::extract::{Id, Payload, WithFiles},
    model::{
        command::NewCommand, error::ApiError, ids::APP_ID, interaction::Callback,
        message::MessageBody,
    },
    server::Server,
};

/// The callback type of a form.
const MODAL: u8 = 9;

/// The routes, under `/api/v10`.
pub fn routes() -> Router<Server> {
    Router::new()
        .route("/applications/{app}/commands", put(register_global))
        .route(
            "/applications/{app}/guilds/{guild}/commands",
            put(register_in_guild),
        )
        .route("/interactions/{id}/{token}/callback", post(callback))
        .route(
            "/webhooks/{app}/{token}/messages/@original",
            get(original).patch(edit_original).delete(delete_original),
        )
        .route("/webhooks/{app}/{token}", post(follow_up))
}

fn register(
    server: &Server,
    app: u64,
    guild: Option<u64>,
    commands: Vec<NewCommand>,
) -> Result<Response, ApiError> {
    if app != APP_ID {
        return Err(ApiError::NotFound);
    }
    let registered = server.world().register_commands(guild, commands)?;
    Ok(Json(registered).into_response())
}

async fn register_global(
    State(server): State<Server>,
    Path(Id(app)): Path<Id>,
    Payload(commands): Payload<Vec<NewCommand>>,
) -> Result<Response, ApiError> {
    register(&server, app, None, commands)
}

async fn register_in_guild(
    State(server): State<Server>,
    Path((Id(app), Id(guild))): Path<(Id, Id)>,
    Payload(commands): Payload<Vec<NewCommand>>,
) -> Result<Response, ApiError> {
    register(&server, app, Some(guild), commands)
}

async fn callback(
    State(server): State<Server>,
    Path((Id(id), token)): Path<(Id, String)>,
    form: WithFiles<Callback>,
) -> Result<StatusCode, ApiError> {
    let mut world = server.world();
    let (body, files) = form.store(&mut world);
    if body.kind == Some(MODAL) {
        world.open_form(id, &token, body.modal.unwrap_or_default())?;
        return Ok(StatusCode::NO_CONTENT);
    }
    let data = body.data.unwrap_or_default();
    world.answer_interaction(id, &token, body.kind, data, files)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn original(
    State(server): State<Server>,
    Path((Id(app), token)): Path<(Id, String)>,
) -> Result<Response, ApiError> {
    Ok(Json(server.world().original_response(app, &token)?).into_response())
}

async fn edit_original(
    State(server): State<Server>,
    Path((Id(app), token)): Path<(Id, String)>,
    form: WithFiles<MessageBody>,
) -> Result<Response, ApiError> {
    let mut world = server.world();
    let (body, files) = form.store(&mut world);
    Ok(Json(world.edit_original(app, &token, body, files)?).into_response())
}

async fn delete_original(
    State(server): State<Server>,
    Path((Id(app), token)): Path<(Id, String)>,
) -> Result<StatusCode, ApiError> {
    server.world().delete_original(app, &token)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn follow_up(
    State(server): State<Server>,
    Path((Id(app), token)): Path<(Id, String)>,
    form: WithFiles<MessageBody>,
) -> Result<Response, ApiError> {
    let mut world = server.world();
    let (body, files) = form.store(&mut world);
    Ok(Json(world.follow_up(app, &token, body, files)?).into_response())
}
