//! What a bot process measures, and its face in the NATS services API: `ticket-bot`, answering
//! `$SRV.PING`, `$SRV.INFO` and `$SRV.STATS` (async-nats's services API), its metrics page in
//! the `data` of its stats, which relay-http's `GET /metrics` gathers into the one scrape.
//!
//! Counters are atomics resolved once ([`BotMetrics`] is cheap to clone and to bump); what is
//! a state rather than an event (tickets open now, each shard's stage and heartbeat latency) is
//! read when a scrape asks ([`Live`]).

use std::{
    sync::{atomic::AtomicU64, Arc, Weak},
    time::Duration,
};

use async_nats::service::ServiceExt;
use common::{
    metrics::{
        encode, latency_histogram, Counter, Family, Gauge, Histogram, Registry, STATS_FIELD,
    },
    subjects::{BOT_SERVICE_NAME, PROXY_SERVICE_NAME},
};
use futures::StreamExt;
use prometheus_client::{encoding::EncodeLabelSet, metrics::gauge::Gauge as FloatGauge};

/// The endpoint of `ticket-bot` (`ticket-bot.metrics`): a request gets the process's page.
const ENDPOINT: &str = "metrics";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RestLabels {
    group: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ShardLabels {
    shard: u32,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ShardStateLabels {
    shard: u32,
    state: &'static str,
}

type Labels = [(&'static str, &'static str); 1];

/// The bot's counters, shared by every part of one process.
#[derive(Debug, Clone)]
pub struct BotMetrics(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    registry: Registry,
    messages_relayed: Counter,
    reply_seconds: Histogram,
    first_words_seconds: Histogram,
    rest: RestCounts,
    queue_depth: Gauge,
    catch_up: Counter,
    tickets_opened: Counter,
    tickets_closed: Counter,
    tickets_open: Gauge,
    handoffs: Counter,
    human_requests: Counter,
    feedback_up: Counter,
    feedback_down: Counter,
    shard_latency: Family<ShardLabels, FloatGauge<f64, AtomicU64>>,
    shard_state: Family<ShardStateLabels, Gauge>,
}

/// The connection stages a shard's `ticket_bot_shard_state` reports (serenity's, lower-case).
const SHARD_STATES: [&str; 6] = [
    "connected",
    "connecting",
    "disconnected",
    "handshake",
    "identifying",
    "resuming",
];

impl BotMetrics {
    /// The metrics of the bot process `instance`.
    pub fn new(instance: &str) -> Self {
        let mut registry = common::metrics::registry(BOT_SERVICE_NAME, instance);
        let feedback = Family::<Labels, Counter>::default();
        let feedback_up = feedback.get_or_create(&[("vote", "up")]).clone();
        let feedback_down = feedback.get_or_create(&[("vote", "down")]).clone();
        let inner = Inner {
            registry: Registry::default(),
            messages_relayed: Counter::default(),
            reply_seconds: latency_histogram(),
            first_words_seconds: latency_histogram(),
            rest: RestCounts::default(),
            queue_depth: Gauge::default(),
            catch_up: Counter::default(),
            tickets_opened: Counter::default(),
            tickets_closed: Counter::default(),
            tickets_open: Gauge::default(),
            handoffs: Counter::default(),
            human_requests: Counter::default(),
            feedback_up,
            feedback_down,
            shard_latency: Family::default(),
            shard_state: Family::default(),
        };
        let r = &mut registry;
        r.register(
            "ticket_bot_messages_relayed",
            "Ticket messages relayed to the workers",
            inner.messages_relayed.clone(),
        );
        r.register(
            "ticket_bot_reply_duration_seconds",
            "Time from a member's message (Discord's timestamp) to the bot's reply posted: the member's wait",
            inner.reply_seconds.clone(),
        );
        r.register(
            "ticket_bot_first_words_duration_seconds",
            "Time from a member's message to the first streamed words of its answer posted",
            inner.first_words_seconds.clone(),
        );
        inner.rest.register(
            r,
            "ticket_bot_discord",
            [
                "Discord REST calls by route group and status (each attempt; through the bot's limiter, with DISCORD_PROXY_URL)",
                "Discord REST calls answered 429",
                "Time REST calls spent waiting for Discord's rate limits (global, route buckets, 429s)",
                "REST calls through the bot's limiter that got no answer: DISCORD_PROXY_URL timed out or could not be reached",
            ],
        );
        r.register(
            "ticket_bot_queue_depth",
            "Ticket messages waiting in the per-channel queues",
            inner.queue_depth.clone(),
        );
        r.register(
            "ticket_bot_catch_up_messages",
            "Messages written while the bot was away and relayed when it came back",
            inner.catch_up.clone(),
        );
        r.register(
            "ticket_bot_tickets_opened",
            "Tickets opened (reopenings included)",
            inner.tickets_opened.clone(),
        );
        r.register(
            "ticket_bot_tickets_closed",
            "Tickets whose close finished",
            inner.tickets_closed.clone(),
        );
        r.register(
            "ticket_bot_tickets_open",
            "Tickets open now in the guilds of this process's shards",
            inner.tickets_open.clone(),
        );
        r.register(
            "ticket_bot_handoffs",
            "Tickets handed to staff (the assistant went quiet)",
            inner.handoffs.clone(),
        );
        r.register(
            "ticket_bot_human_requests",
            "Presses of the Talk to a human button",
            inner.human_requests.clone(),
        );
        r.register(
            "ticket_bot_feedback",
            "Members' votes on answers, up or down",
            feedback,
        );
        r.register(
            "ticket_bot_gateway_latency_seconds",
            "Each shard's last heartbeat round trip",
            inner.shard_latency.clone(),
        );
        r.register(
            "ticket_bot_shard_state",
            "Each shard's connection stage (1 for the current one)",
            inner.shard_state.clone(),
        );
        Self(Arc::new(Inner { registry, ..inner }))
    }

    /// A message went to the workers.
    pub fn relayed(&self) {
        self.0.messages_relayed.inc();
    }

    /// A reply was posted `waited` after the member's message.
    pub fn replied(&self, waited: Duration) {
        self.0.reply_seconds.observe(waited.as_secs_f64());
    }

    /// The first streamed words were posted `waited` after the member's message.
    pub fn first_words(&self, waited: Duration) {
        self.0.first_words_seconds.observe(waited.as_secs_f64());
    }

    /// The counts of REST calls, for the bot's limiter.
    pub fn rest(&self) -> RestCounts {
        self.0.rest.clone()
    }

    /// A REST call waited `waited` for a rate limit (serenity's own limiter's waits).
    pub fn rate_limit_wait(&self, waited: Duration) {
        self.0.rest.waited(waited);
    }

    /// A message joined (`+1`) or left (`-1`) a channel's queue.
    pub fn queued(&self, change: i64) {
        self.0.queue_depth.inc_by(change);
    }

    /// A message from the time the bot was away is being relayed.
    pub fn caught_up(&self) {
        self.0.catch_up.inc();
    }

    /// A ticket was opened.
    pub fn ticket_opened(&self) {
        self.0.tickets_opened.inc();
    }

    /// A ticket's close finished.
    pub fn ticket_closed(&self) {
        self.0.tickets_closed.inc();
    }

    /// A ticket was handed to staff.
    pub fn handed_off(&self) {
        self.0.handoffs.inc();
    }

    /// Someone pressed "Talk to a human".
    pub fn human_requested(&self) {
        self.0.human_requests.inc();
    }

    /// A member voted on an answer.
    pub fn feedback(&self, up: bool) {
        if up {
            self.0.feedback_up.inc();
        } else {
            self.0.feedback_down.inc();
        }
    }

    /// The page, with the states of `live` read now.
    pub fn page(&self, live: &Live) -> String {
        self.0.tickets_open.set((live.open_tickets)());
        if let Some(managers) = &live.shards {
            for (shard, manager) in managers {
                let Some(manager) = manager.upgrade() else {
                    continue;
                };
                // A scrape never waits for the shard runners: a busy lock skips one reading.
                let Ok(runners) = manager.runners.try_lock() else {
                    continue;
                };
                for info in runners.values() {
                    if let Some(latency) = info.latency {
                        self.0
                            .shard_latency
                            .get_or_create(&ShardLabels { shard: *shard })
                            .set(latency.as_secs_f64());
                    }
                    let current = stage_name(&info.stage);
                    for state in SHARD_STATES {
                        self.0
                            .shard_state
                            .get_or_create(&ShardStateLabels {
                                shard: *shard,
                                state,
                            })
                            .set(i64::from(state == current));
                    }
                }
            }
        }
        encode(&self.0.registry)
    }
}

/// Counts of the Discord REST calls through one limiter: each attempt by route group and
/// status, the 429s among them, and the time calls spent waiting for a rate limit. The bot's
/// limiter and the shared `discord-proxy` each keep their own, under names of their own.
#[derive(Debug, Clone)]
pub struct RestCounts {
    calls: Family<RestLabels, Counter>,
    rate_limited: Counter,
    wait: Counter<f64, AtomicU64>,
    unanswered: Family<Labels, Counter>,
}

/// Why a call got no answer at all: [`RestCounts::unanswered`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unanswered {
    /// The upstream took longer than `DISCORD_HTTP_TIMEOUT_SECS`.
    Timeout,
    /// The upstream could not be reached, or its answer broke off.
    Unreachable,
}

impl Unanswered {
    fn label(self) -> Labels {
        match self {
            Self::Timeout => [("reason", "timeout")],
            Self::Unreachable => [("reason", "unreachable")],
        }
    }
}

impl Default for RestCounts {
    fn default() -> Self {
        let unanswered = Family::<Labels, Counter>::default();
        // Both reasons from the start, at 0: a rate over a series that appears only with the
        // first outage would show nothing before it.
        for reason in [Unanswered::Timeout, Unanswered::Unreachable] {
            let _ = unanswered.get_or_create(&reason.label());
        }
        Self {
            calls: Family::default(),
            rate_limited: Counter::default(),
            wait: Counter::default(),
            unanswered,
        }
    }
}

impl RestCounts {
    /// Registers the four series as `<prefix>_requests`, `<prefix>_rate_limited`,
    /// `<prefix>_rate_limit_wait_seconds` and `<prefix>_unanswered`, with `help` for each, in
    /// that order.
    fn register(&self, registry: &mut Registry, prefix: &str, help: [&str; 4]) {
        let [requests, rate_limited, wait, unanswered] = help;
        registry.register(format!("{prefix}_requests"), requests, self.calls.clone());
        registry.register(
            format!("{prefix}_rate_limited"),
            rate_limited,
            self.rate_limited.clone(),
        );
        registry.register(
            format!("{prefix}_rate_limit_wait_seconds"),
            wait,
            self.wait.clone(),
        );
        registry.register(
            format!("{prefix}_unanswered"),
            unanswered,
            self.unanswered.clone(),
        );
    }

    /// A call's attempt came back with `status`.
    pub fn call(&self, path: &str, status: u16) {
        self.calls
            .get_or_create(&RestLabels {
                group: route_group(path),
                status,
            })
            .inc();
        if status == 429 {
            self.rate_limited.inc();
        }
    }

    /// A call's attempt got no answer at all, for `why`.
    pub fn unanswered(&self, why: Unanswered) {
        self.unanswered.get_or_create(&why.label()).inc();
    }

    /// A call waited `waited` for a rate limit.
    pub fn waited(&self, waited: Duration) {
        if !waited.is_zero() {
            self.wait.inc_by(waited.as_secs_f64());
        }
    }
}

/// What the shared `discord-proxy` measures: every bot process's calls it forwards, and the
/// turns it gives them, under `discord_proxy_*` names. Each bot process still counts its own
/// calls as `ticket_bot_discord_*`; one name for both would count every call twice in a sum.
#[derive(Debug, Clone)]
pub struct ProxyMetrics(Arc<ProxyInner>);

#[derive(Debug)]
struct ProxyInner {
    registry: Registry,
    rest: RestCounts,
}

impl ProxyMetrics {
    /// The metrics of the proxy process `instance`.
    pub fn new(instance: &str) -> Self {
        let mut registry = common::metrics::registry(PROXY_SERVICE_NAME, instance);
        let rest = RestCounts::default();
        rest.register(
            &mut registry,
            "discord_proxy",
            [
                "Discord REST calls the shared discord-proxy forwarded for every bot process, by route group and status (each attempt)",
                "Discord REST calls the shared discord-proxy forwarded that were answered 429",
                "Time calls spent waiting at the shared discord-proxy for Discord's rate limits (the bot processes' global turns included)",
                "Calls the shared discord-proxy could not forward: Discord (DISCORD_API_URL) timed out or could not be reached",
            ],
        );
        Self(Arc::new(ProxyInner { registry, rest }))
    }

    /// The counts of the calls it forwards, for its limiter.
    pub fn rest(&self) -> RestCounts {
        self.0.rest.clone()
    }

    /// The page.
    pub fn page(&self) -> String {
        encode(&self.0.registry)
    }
}

/// How long ago Discord says `at` was (zero when the clocks disagree the other way).
pub fn since(at: &serenity::model::Timestamp) -> Duration {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let then = u128::try_from(at.unix_timestamp_nanos()).unwrap_or(0);
    Duration::from_nanos(u64::try_from(now.saturating_sub(then)).unwrap_or(u64::MAX))
}

/// The states a scrape reads: the open tickets of this process's guilds, and its shards.
pub struct Live {
    /// How many tickets are open in this process's guilds.
    pub open_tickets: Box<dyn Fn() -> i64 + Send + Sync>,
    /// The shard managers, by shard. Weak: the services API keeps its stats handler as long as
    /// the NATS connection lives, and a manager holds the whole bot (its event handler).
    pub shards: Option<Vec<(u32, Weak<serenity::gateway::ShardManager>)>>,
}

fn stage_name(stage: &serenity::gateway::ConnectionStage) -> &'static str {
    use serenity::gateway::ConnectionStage as Stage;
    match stage {
        Stage::Connected => "connected",
        Stage::Connecting => "connecting",
        Stage::Handshake => "handshake",
        Stage::Identifying => "identifying",
        Stage::Resuming => "resuming",
        _ => "disconnected",
    }
}

/// The resource names of Discord's REST routes a group keeps: IDs, tokens and emoji fall
/// out, so that a label value is one of a few dozen.
const ROUTE_WORDS: [&str; 26] = [
    "applications",
    "archived",
    "bot",
    "bulk-delete",
    "callback",
    "channels",
    "commands",
    "followup",
    "gateway",
    "guilds",
    "interactions",
    "invites",
    "me",
    "@me",
    "members",
    "messages",
    "permissions",
    "pins",
    "private",
    "public",
    "reactions",
    "roles",
    "thread-members",
    "threads",
    "typing",
    "users",
];

/// `/api/v10/channels/1/messages/2` → `channels/messages`.
fn route_group(path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    let words: Vec<&str> = path
        .split('/')
        .filter(|segment| ROUTE_WORDS.contains(segment) || *segment == "webhooks")
        .collect();
    if words.is_empty() {
        "other".to_owned()
    } else {
        words.join("/")
    }
}

/// Answers as `ticket-bot` in the NATS services API until the connection drains: PING, INFO,
/// and STATS with the page in `data.metrics`; a request to `ticket-bot.metrics` gets the page
/// itself.
pub async fn serve(
    nats: &async_nats::Client,
    instance_metrics: BotMetrics,
    live: Live,
) -> Result<tokio::task::JoinHandle<()>, async_nats::Error> {
    let page = move || instance_metrics.page(&live);
    let description = "The Discord side of the ticket assistant: its metrics";
    serve_page(nats, BOT_SERVICE_NAME, description, page).await
}

/// Answers as `discord-proxy` in the NATS services API until the connection drains, as
/// [`serve`] does for a bot process (`discord-proxy.metrics` gets the page itself).
pub async fn serve_proxy(
    nats: &async_nats::Client,
    metrics: ProxyMetrics,
) -> Result<tokio::task::JoinHandle<()>, async_nats::Error> {
    let description = "The REST rate limiter the bot's processes share: its metrics";
    serve_page(nats, PROXY_SERVICE_NAME, description, move || {
        metrics.page()
    })
    .await
}

/// Answers as the service `name`: STATS with `page()` in `data.metrics`, and `<name>.metrics`.
async fn serve_page(
    nats: &async_nats::Client,
    name: &str,
    description: &str,
    page: impl Fn() -> String + Send + Sync + 'static,
) -> Result<tokio::task::JoinHandle<()>, async_nats::Error> {
    let page = Arc::new(page);
    let for_stats = Arc::clone(&page);
    let service = nats
        .service_builder()
        .description(description)
        .stats_handler(move |_endpoint, _stats| {
            let mut data = serde_json::Map::new();
            data.insert(STATS_FIELD.to_owned(), for_stats().into());
            serde_json::Value::Object(data)
        })
        .start(name, env!("CARGO_PKG_VERSION"))
        .await?;
    let mut endpoint = service.endpoint(format!("{name}.{ENDPOINT}")).await?;
    Ok(tokio::spawn(async move {
        // The service lives as long as this task: dropping it would stop its discovery.
        let _service = service;
        while let Some(request) = endpoint.next().await {
            if let Err(err) = request.respond(Ok(page().into())).await {
                tracing::debug!(error = %err, "cannot answer a metrics request");
            }
        }
    }))
}

/// The process's id in the services API, and so its `instance` label.
pub fn instance_id() -> String {
    nuid::next().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_groups_keep_resource_names_only() {
        assert_eq!(
            route_group("/api/v10/channels/12/messages/34"),
            "channels/messages"
        );
        assert_eq!(
            route_group("/api/v10/interactions/12/aW50ZXJhY3Rpb24/callback"),
            "interactions/callback"
        );
        assert_eq!(
            route_group("/api/v10/channels/1/messages/2/reactions/%F0%9F%91%8D/@me"),
            "channels/messages/reactions/@me"
        );
        assert_eq!(route_group("/api/v10/gateway/bot"), "gateway/bot");
        assert_eq!(route_group("/weird"), "other");
    }

    #[test]
    fn a_page_counts_events_and_reads_states() {
        let metrics = BotMetrics::new("b1");
        metrics.relayed();
        metrics.rest().call("/api/v10/channels/1/messages", 429);
        metrics.rest().call("/api/v10/channels/1/messages", 200);
        metrics.feedback(true);
        let live = Live {
            open_tickets: Box::new(|| 7),
            shards: None,
        };
        let page = metrics.page(&live);
        let lines = [
            r#"ticket_bot_messages_relayed_total{service="ticket-bot",instance="b1"} 1"#,
            r#"ticket_bot_discord_requests_total{service="ticket-bot",instance="b1",group="channels/messages",status="429"} 1"#,
            r#"ticket_bot_discord_rate_limited_total{service="ticket-bot",instance="b1"} 1"#,
            r#"ticket_bot_tickets_open{service="ticket-bot",instance="b1"} 7"#,
            r#"ticket_bot_feedback_total{service="ticket-bot",instance="b1",vote="up"} 1"#,
            r#"ticket_bot_feedback_total{service="ticket-bot",instance="b1",vote="down"} 0"#,
        ];
        assert_page(&page, &lines, "discord_proxy");
    }

    #[test]
    fn the_proxys_page_counts_the_calls_it_forwards_under_names_of_its_own() {
        let metrics = ProxyMetrics::new("p1");
        metrics.rest().call("/api/v10/channels/1/messages", 200);
        metrics.rest().call("/api/v10/channels/1/messages", 429);
        metrics.rest().call("/api/v10/guilds/2/roles", 200);
        metrics.rest().waited(Duration::from_millis(1500));
        metrics.rest().waited(Duration::ZERO);
        metrics.rest().unanswered(Unanswered::Unreachable);
        let page = metrics.page();
        let lines = [
            r#"discord_proxy_requests_total{service="discord-proxy",instance="p1",group="channels/messages",status="200"} 1"#,
            r#"discord_proxy_requests_total{service="discord-proxy",instance="p1",group="channels/messages",status="429"} 1"#,
            r#"discord_proxy_requests_total{service="discord-proxy",instance="p1",group="guilds/roles",status="200"} 1"#,
            r#"discord_proxy_rate_limited_total{service="discord-proxy",instance="p1"} 1"#,
            r#"discord_proxy_rate_limit_wait_seconds_total{service="discord-proxy",instance="p1"} 1.5"#,
            r#"discord_proxy_unanswered_total{service="discord-proxy",instance="p1",reason="unreachable"} 1"#,
            r#"discord_proxy_unanswered_total{service="discord-proxy",instance="p1",reason="timeout"} 0"#,
        ];
        assert_page(&page, &lines, "ticket_bot");
    }

    /// `page` has every one of `lines`, and nothing named with the other process's prefix.
    fn assert_page(page: &str, lines: &[&str], other_prefix: &str) {
        for line in lines {
            assert!(page.contains(line), "{line} in {page}");
        }
        assert!(!page.contains(other_prefix), "{page}");
    }
}
