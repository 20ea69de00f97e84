//! `/users/@me...`: the bot itself, and the DM channel it opens with a user; and
//! `/oauth2/applications/@me`, its application (which privileged intents it has).

use axum::{
    extract::State,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;

use crate::{
    http::extract::Payload,
    model::{application::Application, error::ApiError, user::User, wire::option_u64_string},
    server::Server,
};

/// The routes, under `/api/v10`.
pub fn routes() -> Router<Server> {
    Router::new()
        .route("/users/@me", get(me))
        .route("/users/@me/channels", post(open_dm))
        .route("/oauth2/applications/@me", get(application))
}

async fn application(State(server): State<Server>) -> Json<Application> {
    Json(Application::bot(server.world().members_intent()))
}

async fn me() -> Json<User> {
    Json(User::bot())
}

/// The body of `POST /users/@me/channels`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NewDm {
    #[serde(with = "option_u64_string")]
    recipient_id: Option<u64>,
}

async fn open_dm(
    State(server): State<Server>,
    Payload(body): Payload<NewDm>,
) -> Result<Response, ApiError> {
    let recipient = body.recipient_id.unwrap_or_default();
    Ok(Json(server.world().open_dm(recipient)?).into_response())
}
