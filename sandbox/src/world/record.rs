//! What happened, for tests and benchmarks to read: every REST call the bot made, the calls
//! refused with 429 (kept apart; those of the global limit counted), every IDENTIFY (when, on
//! which shard, accepted or not) and every event sent over the gateway. Each log keeps the
//! last [`RECORD_LIMIT`] entries, so that a sandbox left running (the binary, a long benchmark)
//! does not grow without end; tests stay far below it.

use std::{collections::VecDeque, time::Instant};

use axum::http::Method;
use serde_json::Value;

/// How many entries each log keeps: the oldest go first.
pub const RECORD_LIMIT: usize = 100_000;

/// One REST call the bot made.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET`, `POST`...
    pub method: Method,
    /// The path, starting with `/api/v10/`.
    pub path: String,
    /// The JSON body, `Null` when there was none.
    pub body: Value,
    /// When it arrived.
    pub at: Instant,
    /// The status the fake answered.
    pub status: u16,
}

/// An event the fake sent over the gateway.
#[derive(Debug, Clone)]
pub struct Dispatched {
    /// `MESSAGE_CREATE`...
    pub name: String,
    /// The `id` of its data.
    pub id: String,
    /// When it was written to the socket.
    pub at: Instant,
}

/// One IDENTIFY the bot sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identified {
    /// When it arrived.
    pub at: Instant,
    /// Its `shard: [id, count]`, if it named one.
    pub shard: Option<crate::model::gateway::Shard>,
    /// Whether the session started (READY), rather than being refused (an INVALID_SESSION
    /// over the identify limit, or a close for a bad shard).
    pub accepted: bool,
}

/// The last [`RECORD_LIMIT`] entries of something, oldest first.
#[derive(Debug, Clone)]
pub struct Log<T> {
    entries: VecDeque<T>,
    limit: usize,
}

impl<T> Default for Log<T> {
    fn default() -> Self {
        Self::with_limit(RECORD_LIMIT)
    }
}

impl<T> Log<T> {
    /// A log keeping the last `limit` entries.
    pub fn with_limit(limit: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            limit,
        }
    }

    /// Adds an entry, forgetting the oldest past the limit.
    pub fn push(&mut self, entry: T) {
        if self.entries.len() == self.limit {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// The entries, oldest first, as one slice.
    pub fn as_slice(&mut self) -> &[T] {
        self.entries.make_contiguous()
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.entries.iter()
    }
}

impl<T: Clone> Log<T> {
    /// A copy of the entries, oldest first.
    pub fn to_vec(&self) -> Vec<T> {
        self.entries.iter().cloned().collect()
    }
}

/// Everything recorded.
#[derive(Debug, Default)]
pub struct Record {
    /// The REST calls answered (429s excepted).
    pub requests: Log<Recorded>,
    /// The REST calls refused with 429.
    pub rate_limited: Log<Recorded>,
    /// The gateway events sent.
    pub dispatched: Log<Dispatched>,
    /// How many times the bot identified (sessions started: READY sent).
    pub identifies: usize,
    /// Every IDENTIFY, accepted or not.
    pub identify_log: Log<Identified>,
    /// IDENTIFYs refused with INVALID_SESSION (over the identify limit).
    pub invalid_sessions: usize,
    /// 429s of the global limit (shared by every process of the bot: one token, one limit).
    pub global_rate_limited: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_keeps_the_newest_entries_up_to_its_limit() {
        let mut log = Log::with_limit(3);
        for n in 1..=5 {
            log.push(n);
        }
        assert_eq!(log.as_slice(), [3, 4, 5]);
        assert_eq!((log.len(), log.to_vec()), (3, vec![3, 4, 5]));
        assert!(Log::<u8>::default().is_empty());
    }
}
