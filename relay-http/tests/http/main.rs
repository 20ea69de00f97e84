//! Integration tests of the HTTP sidecar: a real nats-server per test, a real relay worker from
//! the library, and the sidecar's real `run` on port 0 (or its router through `oneshot`).

mod binary;
mod health;
mod helpers;
mod limits;
mod metrics;
mod middleware;
mod openapi;
mod properties;
mod relay;
mod request_id;
mod shutdown;
mod stream;
mod traces;
