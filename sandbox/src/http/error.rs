//! Errors as HTTP answers: Discord's refusals (`{"message", "code"}` with its status) for the
//! REST routes, and `{"error": "..."}` with a 4xx saying what to fix for the page's actions.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use crate::{model::error::ApiError, world::error::SandboxError};

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::BAD_REQUEST);
        (status, Json(self.body())).into_response()
    }
}

impl IntoResponse for SandboxError {
    fn into_response(self) -> Response {
        let status = match self {
            Self::BotNotConnected => StatusCode::CONFLICT,
            Self::UnknownChannel(_)
            | Self::UnknownMessage(_)
            | Self::UnknownGuild(_)
            | Self::UnknownModal(_)
            | Self::UnknownComponent { .. } => StatusCode::NOT_FOUND,
            Self::UnknownUser(_)
            | Self::UnknownCommand(_)
            | Self::EmptyMessage
            | Self::MessageTooLong
            | Self::InvalidForm(_)
            | Self::InvalidChoice(_) => StatusCode::BAD_REQUEST,
            Self::ThreadArchived(_) | Self::ThreadLocked(_) => StatusCode::FORBIDDEN,
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}
