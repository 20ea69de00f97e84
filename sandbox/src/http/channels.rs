//! `/channels/...`: a channel or thread (read, change, delete), its permission overwrites, its
//! messages (post, page through, edit, delete), the typing indicator, and threads: made in a
//! text channel, their members added, removed and listed.

use std::time::Instant;

use axum::{
    extract::{rejection::QueryRejection, Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post, put},
    Json, Router,
};

use crate::{
    http::extract::{Id, Payload, WithFiles},
    model::{
        channel::{ChannelPatch, NewThread, OverwriteBody},
        error::ApiError,
        ids::BOT_ID,
        message::MessageBody,
        query::{MessagesParams, MessagesQuery},
    },
    server::Server,
};

/// The routes, under `/api/v10`.
pub fn routes() -> Router<Server> {
    Router::new()
        .route(
            "/channels/{channel}",
            get(channel).patch(update).delete(delete),
        )
        .route(
            "/channels/{channel}/permissions/{overwrite}",
            put(set_overwrite).delete(delete_overwrite),
        )
        .route(
            "/channels/{channel}/messages",
            get(messages).post(post_message),
        )
        .route(
            "/channels/{channel}/messages/{message}",
            axum::routing::patch(edit_message).delete(delete_message),
        )
        .route("/channels/{channel}/typing", post(typing))
        .route("/channels/{channel}/threads", post(create_thread))
        .route("/channels/{channel}/thread-members", get(thread_members))
        .route(
            "/channels/{channel}/thread-members/{user}",
            get(thread_member)
                .put(add_thread_member)
                .delete(remove_thread_member),
        )
}

/// A user in a path: an ID, or `@me` for the bot.
fn user_in_path(segment: &str) -> u64 {
    if segment == "@me" {
        BOT_ID
    } else {
        segment.parse().unwrap_or_default()
    }
}

async fn create_thread(
    State(server): State<Server>,
    Path(Id(parent)): Path<Id>,
    Payload(body): Payload<NewThread>,
) -> Result<Response, ApiError> {
    let created = server.world().create_thread(parent, body)?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn thread_members(
    State(server): State<Server>,
    Path(Id(thread)): Path<Id>,
) -> Result<Response, ApiError> {
    Ok(Json(server.world().thread_members(thread)?).into_response())
}

async fn thread_member(
    State(server): State<Server>,
    Path((Id(thread), user)): Path<(Id, String)>,
) -> Result<Response, ApiError> {
    let member = server.world().thread_member(thread, user_in_path(&user))?;
    Ok(Json(member).into_response())
}

async fn add_thread_member(
    State(server): State<Server>,
    Path((Id(thread), user)): Path<(Id, String)>,
) -> Result<StatusCode, ApiError> {
    server
        .world()
        .add_thread_member(thread, user_in_path(&user))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_thread_member(
    State(server): State<Server>,
    Path((Id(thread), user)): Path<(Id, String)>,
) -> Result<StatusCode, ApiError> {
    server
        .world()
        .remove_thread_member(thread, user_in_path(&user))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn channel(State(server): State<Server>, Path(Id(id)): Path<Id>) -> Response {
    match server.world().channel(id) {
        Some(found) => Json(found).into_response(),
        None => ApiError::UnknownChannel.into_response(),
    }
}

async fn update(
    State(server): State<Server>,
    Path(Id(id)): Path<Id>,
    Payload(patch): Payload<ChannelPatch>,
) -> Result<Response, ApiError> {
    let updated = server.world().update_channel(id, patch)?;
    Ok(Json(updated).into_response())
}

async fn delete(State(server): State<Server>, Path(Id(id)): Path<Id>) -> Response {
    match server.world().delete_channel(id) {
        Some(removed) => Json(removed).into_response(),
        None => ApiError::UnknownChannel.into_response(),
    }
}

async fn set_overwrite(
    State(server): State<Server>,
    Path((Id(id), Id(overwrite))): Path<(Id, Id)>,
    Payload(body): Payload<OverwriteBody>,
) -> Result<StatusCode, ApiError> {
    server.world().set_overwrite(id, body.for_id(overwrite))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_overwrite(
    State(server): State<Server>,
    Path((Id(id), Id(overwrite))): Path<(Id, Id)>,
) -> Result<StatusCode, ApiError> {
    server.world().delete_overwrite(id, overwrite)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn messages(
    State(server): State<Server>,
    Path(Id(id)): Path<Id>,
    params: Result<Query<MessagesParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let world = server.world();
    if world.channel(id).is_none() {
        return Err(ApiError::UnknownChannel);
    }
    let Query(params) = params.map_err(|_| ApiError::InvalidFormBody)?;
    let query = MessagesQuery::parse(params)?;
    Ok(Json(world.list_messages(id, query)?).into_response())
}

async fn post_message(
    State(server): State<Server>,
    Path(Id(id)): Path<Id>,
    form: WithFiles<MessageBody>,
) -> Result<Response, ApiError> {
    let mut world = server.world();
    let (body, files) = form.store(&mut world);
    Ok(Json(world.post_message(id, body, files)?).into_response())
}

async fn edit_message(
    State(server): State<Server>,
    Path((Id(channel), Id(message))): Path<(Id, Id)>,
    form: WithFiles<MessageBody>,
) -> Result<Response, ApiError> {
    let mut world = server.world();
    let (body, files) = form.store(&mut world);
    Ok(Json(world.edit_message(channel, message, body, files)?).into_response())
}

async fn delete_message(
    State(server): State<Server>,
    Path((Id(channel), Id(message))): Path<(Id, Id)>,
) -> Result<StatusCode, ApiError> {
    server.world().delete_message(channel, message)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn typing(
    State(server): State<Server>,
    Path(Id(id)): Path<Id>,
) -> Result<StatusCode, ApiError> {
    server.world().start_typing(id, Instant::now())?;
    Ok(StatusCode::NO_CONTENT)
}
