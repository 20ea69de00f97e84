//! `/guilds/...`: a guild's channels (threads apart) and roles (list, create, delete a role),
//! its active threads, its members (listed a page at a time, as with the Server Members
//! intent) and their roles. A guild the sandbox does not have is a plain 404.

use axum::{
    extract::{rejection::QueryRejection, Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{delete, get, put},
    Json, Router,
};

use crate::{
    http::extract::{Id, Payload},
    model::{
        channel::NewChannel,
        error::ApiError,
        query::{MembersParams, MembersQuery},
        role::NewRole,
    },
    server::Server,
};

/// The routes, under `/api/v10`.
pub fn routes() -> Router<Server> {
    Router::new()
        .route(
            "/guilds/{guild}/channels",
            get(channels).post(create_channel),
        )
        .route("/guilds/{guild}/threads/active", get(active_threads))
        .route("/guilds/{guild}/roles", get(roles).post(create_role))
        .route("/guilds/{guild}/roles/{role}", delete(delete_role))
        .route("/guilds/{guild}/members", get(members))
        .route("/guilds/{guild}/members/{user}", get(member))
        .route(
            "/guilds/{guild}/members/{user}/roles/{role}",
            put(add_member_role).delete(remove_member_role),
        )
}

async fn channels(
    State(server): State<Server>,
    Path(Id(guild)): Path<Id>,
) -> Result<Response, ApiError> {
    let world = server.world();
    let guild = world.guild(guild).ok_or(ApiError::NotFound)?;
    let channels: Vec<_> = guild.plain_channels().collect();
    Ok(Json(channels).into_response())
}

async fn active_threads(
    State(server): State<Server>,
    Path(Id(guild)): Path<Id>,
) -> Result<Response, ApiError> {
    Ok(Json(server.world().list_active_threads(guild)?).into_response())
}

async fn create_channel(
    State(server): State<Server>,
    Path(Id(guild)): Path<Id>,
    Payload(body): Payload<NewChannel>,
) -> Result<Response, ApiError> {
    let created = server.world().create_channel(guild, body)?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn roles(
    State(server): State<Server>,
    Path(Id(guild)): Path<Id>,
) -> Result<Response, ApiError> {
    let world = server.world();
    let guild = world.guild(guild).ok_or(ApiError::NotFound)?;
    Ok(Json(&guild.roles).into_response())
}

async fn create_role(
    State(server): State<Server>,
    Path(Id(guild)): Path<Id>,
    Payload(body): Payload<NewRole>,
) -> Result<Response, ApiError> {
    let created = server.world().create_role(guild, body)?;
    Ok(Json(created).into_response())
}

async fn delete_role(
    State(server): State<Server>,
    Path((Id(guild), Id(role))): Path<(Id, Id)>,
) -> Result<StatusCode, ApiError> {
    let mut world = server.world();
    world.guild(guild).ok_or(ApiError::NotFound)?;
    if world.delete_role(guild, role) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::UnknownRole)
    }
}

async fn members(
    State(server): State<Server>,
    Path(Id(guild)): Path<Id>,
    params: Result<Query<MembersParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|_| ApiError::InvalidFormBody)?;
    let query = MembersQuery::parse(params)?;
    Ok(Json(server.world().list_members(guild, query)?).into_response())
}

async fn member(
    State(server): State<Server>,
    Path((Id(guild), Id(user))): Path<(Id, Id)>,
) -> Result<Response, ApiError> {
    Ok(Json(server.world().guild_member(guild, user)?).into_response())
}

async fn add_member_role(
    State(server): State<Server>,
    Path((Id(guild), Id(user), Id(role))): Path<(Id, Id, Id)>,
) -> Result<StatusCode, ApiError> {
    server.world().set_member_role(guild, user, role, true)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_member_role(
    State(server): State<Server>,
    Path((Id(guild), Id(user), Id(role))): Path<(Id, Id, Id)>,
) -> Result<StatusCode, ApiError> {
    server.world().set_member_role(guild, user, role, false)?;
    Ok(StatusCode::NO_CONTENT)
}
