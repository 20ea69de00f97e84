//! The top floor: the axum [`Router`]. Discord's REST API under `/api/v10`, split by resource
//! ([`channels`], [`guilds`], [`interactions`], [`users`], [`gateway`]) behind one
//! [`middleware`] layer (token, rate limits, record); the gateway's websocket at `/gateway`;
//! the page and its API ([`page`]). Adding a route is one function in one of those files.
//! Every route reads the request, calls one [`crate::world::World`] action and shapes the
//! answer; what a call may do is decided below, in the world.

pub mod channels;
pub mod error;
pub mod extract;
pub mod gateway;
pub mod guilds;
pub mod interactions;
pub mod middleware;
pub mod page;
pub mod users;

use std::future::Future;

use axum::{middleware::from_fn_with_state, routing::get, Router};

use crate::{model::error::ApiError, server::Server};

/// The router: Discord's REST API under `/api/v10`, the gateway at `/gateway`, the page at `/`.
pub fn app(server: &Server) -> Router {
    // An unknown route, or a known one with another method, is Discord's plain 404; it is
    // still checked, limited and recorded, as every call is.
    let api = Router::new()
        .merge(channels::routes())
        .merge(guilds::routes())
        .merge(interactions::routes())
        .merge(users::routes())
        .merge(gateway::routes())
        .method_not_allowed_fallback(not_found)
        .fallback(not_found)
        .layer(from_fn_with_state(server.clone(), middleware::guard));
    Router::new()
        .route("/gateway", get(gateway::gateway))
        .nest("/api/v10", api)
        .merge(page::routes())
        .with_state(server.clone())
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// Serves `server` on `listener` until `shutdown` completes; open pages and the bot's gateway
/// session are closed then, so that the shutdown does not wait for them.
pub async fn run(
    listener: tokio::net::TcpListener,
    server: impl Into<Server>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let server = server.into();
    let closing = server.closing().clone();
    axum::serve(listener, app(&server))
        .with_graceful_shutdown(async move {
            shutdown.await;
            closing.cancel();
        })
        .await
}
