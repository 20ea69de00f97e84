//! What every binary of the ticket assistant shares: the relay contract ([`payload`]), the NATS
//! names ([`subjects`]), configuration ([`config`]), logging ([`telemetry`]), metrics
//! ([`metrics`]) and traces ([`traces`], carried across hops by [`trace_context`]), the NATS
//! connection ([`nats`]), the requesting side of the relay ([`relay_client`], streamed:
//! [`relay_stream`]), shutdown ([`shutdown`]) and the open-files limit ([`open_files`]).
//!
//! With the `test-util` feature it also carries [`test_util`], a real `nats-server` per test.

pub mod config;
pub mod metrics;
pub mod nats;
pub mod open_files;
pub mod payload;
pub mod relay_client;
pub mod relay_stream;
pub mod shutdown;
pub mod subjects;
pub mod telemetry;
pub mod trace_context;
pub mod traces;

#[cfg(any(test, feature = "test-util"))]
pub mod test_util;
