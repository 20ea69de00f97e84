//! Integration tests of the answer sources: a real worker with a real [`AnswerSource`] on a
//! real nats-server, asked through `RelayClient`; the `llm` source against a fake
//! OpenAI-compatible server that records what it is asked.
//!
//! [`AnswerSource`]: relay_worker::answer::AnswerSource

mod contract;
mod fake_model;
mod helpers;
mod knowledge;
mod llm;
mod quality;
mod streaming;
