//! The relay worker: the NATS responder that answers ticket messages.
//!
//! Run it with `cargo run --release -p relay-worker --bin relay-worker` (settings in the
//! README). Any number of copies share the relay subject through one queue group, and each
//! shows up in `nats micro ls` as an instance of the `ticket-relay` service.
//!
//! [`run`] is the whole worker; `main.rs` only loads the configuration and calls it, so tests
//! drive exactly what production runs.

pub mod http;
pub mod responder;
pub mod running;
pub mod service;
pub mod settings;

pub use responder::{Placeholder, Responder, ResponderError};
pub use running::{spawn, RunningWorker};
pub use service::{run, WorkerError};
pub use settings::WorkerConfig;
