//! Metrics in the OpenMetrics text format, and how every process hands its page to the one
//! scrape: each process keeps a [`Registry`] whose series all carry `service` and `instance`;
//! workers and bots put its [`encode`]d page in the `data` of their `$SRV.STATS` answer
//! ([`STATS_FIELD`]), and relay-http's `GET /metrics` [`merge`]s every page it gathered into one.
//!
//! `prometheus-client` rather than our own counters: it is the Prometheus project's client for
//! Rust, its counters and histograms are atomics (no lock on the hot path), and it writes the
//! exposition format Prometheus and Grafana read.

use std::{borrow::Cow, collections::HashMap};

pub use prometheus_client::{
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

/// The key of a `$SRV.STATS` endpoint's `data` object that holds the process's metrics page.
pub const STATS_FIELD: &str = "metrics";

/// The `Content-Type` of a metrics page in the OpenMetrics format (what Prometheus asks for).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The `Content-Type` of a metrics page in Prometheus' classic text format ([`to_prometheus`]),
/// for clients that do not ask for OpenMetrics.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The label every series carries naming the process's service (`ticket-relay`, `ticket-bot`,
/// `relay-http`).
pub const SERVICE_LABEL: &str = "service";
/// The label every series carries naming the process (its id in the NATS services API).
pub const INSTANCE_LABEL: &str = "instance";

/// A registry whose every series carries `service` and `instance`.
pub fn registry(service: &str, instance: &str) -> Registry {
    Registry::with_labels(
        [
            (Cow::Borrowed(SERVICE_LABEL), Cow::Owned(service.to_owned())),
            (
                Cow::Borrowed(INSTANCE_LABEL),
                Cow::Owned(instance.to_owned()),
            ),
        ]
        .into_iter(),
    )
}

/// The registry's families as OpenMetrics text, without the closing `# EOF`: pages are
/// [`merge`]d before they are served.
pub fn encode(registry: &Registry) -> String {
    let mut page = String::new();
    // Writing to a String cannot fail; an encoder error would be a bug of a metric's labels.
    if let Err(err) = prometheus_client::encoding::text::encode_registry(&mut page, registry) {
        tracing::error!(error = %err, "cannot encode the metrics");
    }
    page
}

/// Buckets for latencies from a few milliseconds to a minute (a model's answer): 5 ms
/// doubling to about 82 s.
pub fn latency_buckets() -> impl Iterator<Item = f64> {
    prometheus_client::metrics::histogram::exponential_buckets(0.005, 2.0, 15)
}

/// A latency histogram with [`latency_buckets`].
pub fn latency_histogram() -> Histogram {
    Histogram::new(latency_buckets())
}

/// One page from several processes' pages: every family once (its `# HELP`, `# TYPE` and
/// `# UNIT` from the first page that has it), followed by its samples from every page, then
/// `# EOF`. OpenMetrics wants each family's samples together, and each page has them per
/// process.
pub fn merge<'a>(pages: impl IntoIterator<Item = &'a str>) -> String {
    struct Family<'a> {
        metadata: Vec<&'a str>,
        samples: Vec<&'a str>,
    }
    let mut order: Vec<&'a str> = Vec::new();
    let mut families: HashMap<&'a str, Family<'a>> = HashMap::new();
    for page in pages {
        let mut current: Option<&'a str> = None;
        for line in page.lines() {
            if line.is_empty() || line == "# EOF" {
                continue;
            }
            if let Some(name) = metadata_name(line) {
                let family = families.entry(name).or_insert_with(|| {
                    order.push(name);
                    Family {
                        metadata: Vec::new(),
                        samples: Vec::new(),
                    }
                });
                current = Some(name);
                // The first page's metadata stands; a later page's differs at most in wording.
                if !family.metadata.iter().any(|seen| same_kind(seen, line)) {
                    family.metadata.push(line);
                }
                continue;
            }
            if let Some(family) = current.and_then(|name| families.get_mut(name)) {
                family.samples.push(line);
            }
        }
    }
    let mut merged = String::new();
    for name in order {
        let family = &families[name];
        for line in family.metadata.iter().chain(&family.samples) {
            merged.push_str(line);
            merged.push('\n');
        }
    }
    merged.push_str("# EOF\n");
    merged
}

/// A [`merge`]d OpenMetrics page in Prometheus' classic text format (0.0.4): a counter's
/// `# HELP` and `# TYPE` name its samples (`…_total`), and there is no `# EOF`. Histograms and
/// gauges read the same in both.
pub fn to_prometheus(page: &str) -> String {
    let mut counters: Vec<&str> = Vec::new();
    for line in page.lines() {
        if let Some(name) = line
            .strip_prefix("# TYPE ")
            .and_then(|rest| rest.strip_suffix(" counter"))
        {
            counters.push(name);
        }
    }
    let mut classic = String::with_capacity(page.len());
    for line in page.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        // OpenMetrics escapes a quote in a HELP text; the classic format does not.
        let line: Cow<'_, str> = if line.starts_with("# HELP ") {
            Cow::Owned(line.replace("\\\"", "\""))
        } else {
            Cow::Borrowed(line)
        };
        match metadata_name(&line) {
            Some(name) if counters.contains(&name) => {
                let (kind, rest) = line.split_at("# HELP ".len());
                classic.push_str(kind);
                classic.push_str(name);
                classic.push_str("_total");
                classic.push_str(&rest[name.len()..]);
            }
            _ => classic.push_str(&line),
        }
        classic.push('\n');
    }
    classic
}

/// The family a `# HELP`, `# TYPE` or `# UNIT` line describes.
fn metadata_name(line: &str) -> Option<&str> {
    let rest = line
        .strip_prefix("# HELP ")
        .or_else(|| line.strip_prefix("# TYPE "))
        .or_else(|| line.strip_prefix("# UNIT "))?;
    rest.split(' ').next()
}

/// Whether two metadata lines are of the same kind (both `# HELP`, ...).
fn same_kind(a: &str, b: &str) -> bool {
    a.get(..6) == b.get(..6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(instance: &str, answered: u64) -> String {
        let mut registry = registry("ticket-relay", instance);
        let requests = Family::<[(&'static str, &'static str); 1], Counter>::default();
        requests
            .get_or_create(&[("outcome", "answered")])
            .inc_by(answered);
        registry.register("relay_worker_requests", "Requests", requests);
        let latency = latency_histogram();
        latency.observe(0.02);
        registry.register("relay_worker_answer_duration_seconds", "Latency", latency);
        encode(&registry)
    }

    #[test]
    fn a_page_carries_service_and_instance_on_every_sample() {
        let page = page("a1", 3);
        assert!(
            page.contains(
                r#"relay_worker_requests_total{service="ticket-relay",instance="a1",outcome="answered"} 3"#
            ),
            "{page}"
        );
        assert!(!page.contains("# EOF"), "{page}");
    }

    #[test]
    fn merging_groups_each_family_once_with_every_process_samples() {
        let (a, b) = (page("a1", 3), page("b2", 5));
        let merged = merge([a.as_str(), b.as_str()]);
        assert_eq!(
            merged
                .matches("# TYPE relay_worker_requests counter")
                .count(),
            1
        );
        assert_eq!(
            merged
                .matches("# HELP relay_worker_answer_duration_seconds")
                .count(),
            1
        );
        assert_eq!(merged.matches("# EOF").count(), 1);
        assert!(merged.ends_with("# EOF\n"));
        // The samples of one family follow each other, whichever page they came from.
        let lines: Vec<&str> = merged.lines().collect();
        let of_requests: Vec<usize> = lines
            .iter()
            .enumerate()
            .filter(|(_, line)| line.starts_with("relay_worker_requests_total"))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(of_requests.len(), 2, "{merged}");
        assert_eq!(of_requests[1], of_requests[0] + 1, "{merged}");
        assert!(
            merged.contains(r#"instance="b2",outcome="answered"} 5"#),
            "{merged}"
        );
    }

    #[test]
    fn the_classic_format_names_counters_by_their_samples_and_has_no_eof() {
        let merged = merge([page("a1", 3).as_str()]);
        let classic = to_prometheus(&merged);
        assert!(
            classic.contains("# TYPE relay_worker_requests_total counter\n"),
            "{classic}"
        );
        assert!(
            classic.contains("# HELP relay_worker_requests_total Requests"),
            "{classic}"
        );
        assert!(
            classic.contains("# TYPE relay_worker_answer_duration_seconds histogram\n"),
            "{classic}"
        );
        assert!(!classic.contains("# EOF"), "{classic}");
        assert_eq!(
            classic.lines().filter(|l| !l.starts_with('#')).count(),
            merged.lines().filter(|l| !l.starts_with('#')).count()
        );
    }

    #[test]
    fn merging_nothing_is_an_empty_page() {
        assert_eq!(merge([]), "# EOF\n");
    }
}
