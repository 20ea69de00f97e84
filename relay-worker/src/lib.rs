//! The relay worker: the NATS responder that answers ticket messages.
//!
//! Run it with `cargo run --release -p relay-worker` (settings in the README). Any number of
//! copies share the relay subject through one queue group, and each shows up in `nats micro ls`
//! as an instance of the `ticket-relay` service.
//!
//! The API: [`run`] is the whole worker (`main.rs` only loads the settings and calls it, so
//! tests drive exactly what production runs); [`spawn`] runs it in the background of another
//! program; [`Responder`] is the seam where answers come from, and [`AnswerSource`] the one
//! production plugs in there: the placeholder, the knowledge folder or a chat model, chosen by
//! [`AnswerSettings`] (module [`answer`]). With the `test-util` feature, [`test_util`] is the
//! harness every test suite starts workers with.

pub mod answer;
mod discovery;
mod events;
mod metrics;
mod responder;
mod running;
mod service;
mod settings;

#[cfg(feature = "test-util")]
pub mod test_util;

pub use answer::{AnswerSettings, AnswerSource};
pub use metrics::{AnswerMetrics, ModelError};
pub use responder::{Pieces, Placeholder, Responder, ResponderError};
pub use running::{spawn, RunningWorker};
pub use service::{
    errors_subject, run, WorkerError, DRAIN_QUIET, DRAIN_SLACK, FLUSH_GRACE, REPLY_MARGIN,
};
pub use settings::WorkerSettings;
