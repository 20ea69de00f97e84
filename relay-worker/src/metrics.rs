//! What a worker measures, for the one scrape of relay-http's `GET /metrics` (the page travels
//! in the `data` of its `$SRV.STATS` answer, see `discovery.rs`): requests by outcome, answer
//! latency by source, in-flight, and what the answer source adds ([`AnswerMetrics`]: the
//! model's calls, latency, tokens and errors, the knowledge search's abstentions).
//!
//! Every labelled series is resolved once here, so that a request costs a few atomic adds.

use common::metrics::{latency_histogram, Counter, Family, Gauge, Histogram, Registry};

/// How a request ended, as `relay_worker_requests_total{outcome}` counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Answered.
    Answered,
    /// Refused: at the in-flight limit.
    Busy,
    /// Dropped: its deadline had passed on arrival.
    Expired,
    /// Refused: the request was bad (a 4xx).
    ClientError,
    /// Failed: the answer source could not answer (a 5xx).
    ServerError,
}

type Labels = [(&'static str, &'static str); 1];

/// The counters of one worker's relay endpoint.
#[derive(Debug, Clone)]
pub(crate) struct WorkerMetrics {
    answered: Counter,
    busy: Counter,
    expired: Counter,
    client_error: Counter,
    server_error: Counter,
    answer_seconds: Histogram,
    in_flight: Gauge,
}

impl WorkerMetrics {
    /// Registers the worker's metrics, its answers' latency labelled with `source`.
    pub(crate) fn register(registry: &mut Registry, source: &'static str) -> Self {
        let requests = Family::<Labels, Counter>::default();
        let outcome = |name| requests.get_or_create(&[("outcome", name)]).clone();
        let latency =
            Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let metrics = Self {
            answered: outcome("answered"),
            busy: outcome("busy"),
            expired: outcome("expired"),
            client_error: outcome("4xx"),
            server_error: outcome("5xx"),
            answer_seconds: latency.get_or_create(&[("source", source)]).clone(),
            in_flight: Gauge::default(),
        };
        registry.register(
            "relay_worker_requests",
            "Relay requests by outcome: answered, busy (in-flight limit), expired (deadline passed on arrival), 4xx (bad request), 5xx (the answer source failed)",
            requests,
        );
        registry.register(
            "relay_worker_answer_duration_seconds",
            "Time from a request's arrival to its answer, by answer source",
            latency,
        );
        registry.register(
            "relay_worker_in_flight",
            "Requests being answered now",
            metrics.in_flight.clone(),
        );
        metrics
    }

    /// One request ended with `outcome`, `seconds` after it arrived.
    pub(crate) fn record(&self, outcome: Outcome, seconds: f64) {
        match outcome {
            Outcome::Answered => {
                self.answered.inc();
                self.answer_seconds.observe(seconds);
            }
            Outcome::Busy => {
                self.busy.inc();
            }
            Outcome::Expired => {
                self.expired.inc();
            }
            Outcome::ClientError => {
                self.client_error.inc();
            }
            Outcome::ServerError => {
                self.server_error.inc();
            }
        }
    }

    /// Requests refused `busy` so far.
    pub(crate) fn busy(&self) -> u64 {
        self.busy.get()
    }

    /// Requests dropped past their deadline so far.
    pub(crate) fn expired(&self) -> u64 {
        self.expired.get()
    }

    /// A request is being answered until the guard drops.
    pub(crate) fn in_flight(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }
}

/// Counts one request in `relay_worker_in_flight` while it lives.
#[derive(Debug)]
pub(crate) struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Why a model call failed, as `relay_worker_model_errors_total{kind}` counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelError {
    /// No answer within the time allowed.
    Timeout,
    /// The model's server could not be reached.
    Connect,
    /// 429: the model's rate limit.
    RateLimited,
    /// Another 4xx: our request or our key.
    Refused,
    /// A 5xx.
    Server,
    /// An answer that is not what the API promises.
    Invalid,
}

impl ModelError {
    const ALL: [Self; 6] = [
        Self::Timeout,
        Self::Connect,
        Self::RateLimited,
        Self::Refused,
        Self::Server,
        Self::Invalid,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Connect => "connect",
            Self::RateLimited => "rate_limited",
            Self::Refused => "refused",
            Self::Server => "server",
            Self::Invalid => "invalid",
        }
    }
}

/// What an answer source measures: made at its start, registered by the worker serving it.
#[derive(Debug, Clone)]
pub struct AnswerMetrics {
    model_calls: Counter,
    model_seconds: Histogram,
    tokens_in: Counter,
    tokens_out: Counter,
    tokens: Family<Labels, Counter>,
    model_errors: Family<Labels, Counter>,
    abstentions: Counter,
}

impl Default for AnswerMetrics {
    fn default() -> Self {
        let tokens = Family::<Labels, Counter>::default();
        let model_errors = Family::<Labels, Counter>::default();
        for kind in ModelError::ALL {
            let _series = model_errors.get_or_create(&[("kind", kind.label())]);
        }
        let tokens_in = tokens.get_or_create(&[("direction", "in")]).clone();
        let tokens_out = tokens.get_or_create(&[("direction", "out")]).clone();
        Self {
            model_calls: Counter::default(),
            model_seconds: latency_histogram(),
            tokens_in,
            tokens_out,
            tokens,
            model_errors,
            abstentions: Counter::default(),
        }
    }
}

impl AnswerMetrics {
    /// Registers the answer source's metrics: all of them whatever the source, so that a
    /// dashboard's queries find their series (at 0) on every worker.
    pub(crate) fn register(&self, registry: &mut Registry) {
        registry.register(
            "relay_worker_model_calls",
            "Calls to the model (each attempt)",
            self.model_calls.clone(),
        );
        registry.register(
            "relay_worker_model_duration_seconds",
            "Time a model call took, successful or not",
            self.model_seconds.clone(),
        );
        registry.register(
            "relay_worker_model_tokens",
            "Tokens the model read (in) and wrote (out), as its usage reports them",
            self.tokens.clone(),
        );
        registry.register(
            "relay_worker_model_errors",
            "Model calls that failed, by kind: timeout, connect, rate_limited, refused (other 4xx), server (5xx), invalid (an answer not as the API promises)",
            self.model_errors.clone(),
        );
        registry.register(
            "relay_worker_knowledge_abstentions",
            "Questions the knowledge search found no grounded passage for (answered with the staff follow-up)",
            self.abstentions.clone(),
        );
    }

    /// A model call ended after `seconds`, failed with `error` or not.
    pub fn model_call(&self, seconds: f64, error: Option<ModelError>) {
        self.model_calls.inc();
        self.model_seconds.observe(seconds);
        if let Some(kind) = error {
            self.model_errors
                .get_or_create(&[("kind", kind.label())])
                .inc();
        }
    }

    /// The model's usage of one call.
    pub fn tokens(&self, prompt: u64, completion: u64) {
        self.tokens_in.inc_by(prompt);
        self.tokens_out.inc_by(completion);
    }

    /// The knowledge search abstained.
    pub fn abstained(&self) {
        self.abstentions.inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use common::metrics::{encode, registry};

    #[test]
    fn every_outcome_has_its_series_from_the_start() {
        let mut registry = registry("ticket-relay", "w1");
        let metrics = WorkerMetrics::register(&mut registry, "knowledge");
        metrics.record(Outcome::Answered, 0.01);
        metrics.record(Outcome::Busy, 0.0);
        let page = encode(&registry);
        for (outcome, count) in [
            ("answered", 1),
            ("busy", 1),
            ("expired", 0),
            ("4xx", 0),
            ("5xx", 0),
        ] {
            let line = format!(
                r#"relay_worker_requests_total{{service="ticket-relay",instance="w1",outcome="{outcome}"}} {count}"#
            );
            assert!(page.contains(&line), "{line} in {page}");
        }
        assert!(page.contains(r#"relay_worker_answer_duration_seconds_count{service="ticket-relay",instance="w1",source="knowledge"} 1"#), "{page}");
    }

    #[test]
    fn in_flight_counts_while_the_guard_lives() {
        let mut registry = registry("ticket-relay", "w1");
        let metrics = WorkerMetrics::register(&mut registry, "placeholder");
        let guard = metrics.in_flight();
        assert!(encode(&registry)
            .contains(r#"relay_worker_in_flight{service="ticket-relay",instance="w1"} 1"#));
        drop(guard);
        assert!(encode(&registry)
            .contains(r#"relay_worker_in_flight{service="ticket-relay",instance="w1"} 0"#));
    }

    #[test]
    fn model_errors_are_counted_by_kind() {
        let mut registry = registry("ticket-relay", "w1");
        let metrics = AnswerMetrics::default();
        metrics.register(&mut registry);
        metrics.model_call(0.5, None);
        metrics.model_call(0.1, Some(ModelError::RateLimited));
        metrics.tokens(12, 30);
        let page = encode(&registry);
        assert!(
            page.contains(
                r#"relay_worker_model_calls_total{service="ticket-relay",instance="w1"} 2"#
            ),
            "{page}"
        );
        assert!(page.contains(r#"relay_worker_model_errors_total{service="ticket-relay",instance="w1",kind="rate_limited"} 1"#), "{page}");
        assert!(page.contains(r#"relay_worker_model_errors_total{service="ticket-relay",instance="w1",kind="timeout"} 0"#), "{page}");
        assert!(page.contains(r#"relay_worker_model_tokens_total{service="ticket-relay",instance="w1",direction="out"} 30"#), "{page}");
        assert!(page.contains(r#"relay_worker_knowledge_abstentions_total{service="ticket-relay",instance="w1"} 0"#), "{page}");
    }
}
