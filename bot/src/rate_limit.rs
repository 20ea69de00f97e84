//! The bot's own REST rate limiter, used when it runs behind `DISCORD_PROXY_URL`: there
//! serenity's limiter must be off (it would send requests to discord.com, bypassing the proxy),
//! so without this the bot would send as fast as it likes and take every 429 as a failure.
//!
//! It sits in front of serenity's HTTP client as a small forwarding proxy on 127.0.0.1: serenity
//! is pointed at it, and it forwards every call to `DISCORD_PROXY_URL`. It has to sit there and
//! not around the bot's own calls: serenity turns a 429 into an error that keeps neither its
//! `retry_after` nor any `X-RateLimit-*` header, and the typing indicator is sent from a task of
//! serenity's own. Here every call is seen, typing and interaction callbacks included:
//!
//! - the global limit: a [`governor`] GCRA limiter of [`GLOBAL_PER_SECOND`] shared by all calls
//!   except interaction callbacks and webhooks (Discord does not count those), with a burst of
//!   one so that no one-second window of Discord's can hold more than the limit;
//! - per-route buckets learned from `X-RateLimit-Remaining` / `X-RateLimit-Reset-After`: a call
//!   whose bucket is empty waits for its reset instead of being refused;
//! - a 429 all the same (a bucket not known yet, another client of the same token): wait its
//!   `retry_after` (the whole bot waits on a global one) and send again, at most
//!   [`MAX_RETRIES`] times; then serenity gets the 429.
//!
//! Every ticket shares the global limit, so the relay asks how much of it is left
//! ([`RestBudget::left`]) before it spends any on what can wait (edits of a streamed answer,
//! typing).
//!
//! `governor` rather than a hand-written token bucket: it is the maintained GCRA implementation
//! of the ecosystem, lock-free. Its `until_ready` does not queue: every waiter wakes when it
//! computes a free moment and newcomers can take it first, so under a long overload one call
//! could wait far longer than the rest. Callers take their turn through a FIFO queue (tokio's
//! fair mutex) instead, and the longest wait is the queue's length over the rate.
//!
//! The same limiter runs on its own as the `discord-proxy` binary ([`serve`]): every process of
//! a sharded bot shares one token and so one global budget, which no process's own limiter can
//! keep. Pointed at one `discord-proxy` through `DISCORD_PROXY_URL`, each process's limiter takes
//! every call's global turn there first (`POST` [`TURN_PATH`], answered when the turn comes,
//! with the shared budget left), then sends the call marked with [`TURN_HEADER`], which the
//! proxy forwards without a second wait. Only the head of a process's queue asks, so the
//! proxy's queue holds one call per busy process and serves the processes in turn. The long
//! wait is in the process's own queue, never inside a call that `DISCORD_HTTP_TIMEOUT_SECS`
//! bounds (a long queue is not a stalled Discord; a turn is bounded as a call is, since it
//! waits for a few other processes at most), and each process's [`RestBudget`] reads what
//! every process spends. A
//! `DISCORD_PROXY_URL` that is not a `discord-proxy` (it answers the turn 404) is left to this
//! limiter's own global limit, as with one process.

use std::{
    collections::{HashMap, VecDeque},
    net::{Ipv4Addr, SocketAddr},
    num::NonZeroU32,
    sync::{
        atomic::{AtomicU8, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{
    body::{to_bytes, Body},
    extract::{Request, State},
    http::{HeaderMap, HeaderName, Method, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Json, Router,
};
use common::config::redact_url;

use crate::metrics::{RestCounts, Unanswered};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use parking_lot::Mutex;
use serde_json::{json, Value};
// tokio's clock, so that tests can pause it.
use tokio::{task::JoinHandle, time::Instant};
use tokio_util::sync::CancellationToken;

/// Discord's global limit: requests per second per bot.
pub const GLOBAL_PER_SECOND: u32 = 50;
/// 429s retried per call before serenity sees one. Generous: when a global limit is lower than
/// the bot's pace, every waiting call retries when the window reopens and only the limit's worth
/// get through each time, so a call in a burst can meet several 429s in a row before its turn.
pub const MAX_RETRIES: usize = 20;
/// Discord's largest upload (25 MiB) with room for the JSON around it.
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// A 429 without a readable `retry_after` waits this long.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// The longest wait any header or body may ask for: Discord's real ones are seconds, and a
/// larger number (`inf`, `1e300`, twenty digits) is a bug or a hostile proxy, not a reason to
/// stop for days (or to panic turning it into a `Duration`).
const MAX_WAIT: Duration = Duration::from_secs(3600);
/// Where a `discord-proxy` hands out global turns: `POST`, answered `{"left": n}` (calls left in
/// the shared budget's current second) when the caller's turn comes.
pub const TURN_PATH: &str = "/discord-proxy/turn";
/// Marks a call whose global turn was taken at [`TURN_PATH`]: the proxy sends it without
/// waiting for the global limit again (its route bucket still applies).
pub const TURN_HEADER: &str = "x-discord-proxy-turn";
/// Hop-by-hop headers and those the HTTP clients set themselves.
const NOT_FORWARDED: [&str; 5] = [
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "keep-alive",
];

/// What one route bucket allows, as Discord last said.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    limit: u32,
    remaining: u32,
    reset_at: Instant,
    window: Duration,
}

/// The limiter's state, shared by every forwarded call.
struct Limiter {
    upstream: String,
    /// Forwarded calls, each bounded by `DISCORD_HTTP_TIMEOUT_SECS`.
    client: reqwest::Client,
    /// Turns at a shared `discord-proxy`, bounded like a call: its queue holds one call per
    /// busy process, so a turn waits there for a few others' (or a global 429's wait), and a
    /// proxy that does not answer within the bound is stalled.
    turns: reqwest::Client,
    /// Whether `upstream` keeps the global budget (a `discord-proxy`): [`UPSTREAM_UNKNOWN`]
    /// until it first answers a turn, and never asked when this limiter is the shared one.
    upstream_keeps_budget: AtomicU8,
    global: DefaultDirectRateLimiter,
    /// The FIFO queue in front of `global`.
    queue: tokio::sync::Mutex<()>,
    global_blocked_until: Mutex<Option<Instant>>,
    role: Role,
    buckets: Mutex<HashMap<String, Bucket>>,
    usage: Arc<Usage>,
    counts: RestCounts,
}

/// [`Limiter::upstream_keeps_budget`]: not known yet (ask).
const UPSTREAM_UNKNOWN: u8 = 0;
/// A `discord-proxy`: every global turn is taken there.
const UPSTREAM_SHARED: u8 = 1;
/// Not a `discord-proxy`, or this limiter is the shared one: turns are taken here.
const UPSTREAM_PLAIN: u8 = 2;

/// How the global limit is being used: the calls waiting for their turn, when the calls of
/// the last second went, and what a shared `discord-proxy` last said is left of its budget.
#[derive(Default)]
struct Usage {
    waiting: AtomicUsize,
    recent: Mutex<VecDeque<Instant>>,
    shared_left: Mutex<Option<(Instant, u32)>>,
}

/// The window [`Usage::recent`] counts over: the limit's own.
const USAGE_WINDOW: Duration = Duration::from_secs(1);

impl Usage {
    /// A call took its turn at the global limit now.
    fn sent(&self) {
        let now = Instant::now();
        let mut recent = self.recent.lock();
        forget_before(&mut recent, now);
        // The limiter lets no more than the limit through a second; the bound is a guard.
        if recent.len() >= 2 * GLOBAL_PER_SECOND as usize {
            recent.pop_front();
        }
        recent.push_back(now);
    }

    fn left(&self) -> u32 {
        let sent = {
            let mut recent = self.recent.lock();
            forget_before(&mut recent, Instant::now());
            recent.len()
        };
        let used = sent + self.waiting.load(Ordering::Relaxed);
        let here = GLOBAL_PER_SECOND.saturating_sub(u32::try_from(used).unwrap_or(u32::MAX));
        match *self.shared_left.lock() {
            // The shared budget is spent by other processes too; its reading ages like a call.
            Some((at, shared)) if at.elapsed() < USAGE_WINDOW => here.min(shared),
            _ => here,
        }
    }
}

fn forget_before(recent: &mut VecDeque<Instant>, now: Instant) {
    while recent
        .front()
        .is_some_and(|at| now.duration_since(*at) >= USAGE_WINDOW)
    {
        recent.pop_front();
    }
}

/// Counts a call as waiting for the global limit while it lives (a call given up mid-wait
/// stops counting too).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What is left of the bot's global REST budget: cheap to clone and to read (a lock over at
/// most a second's calls), for whoever spends it on what can wait.
#[derive(Clone, Default)]
pub struct RestBudget {
    usage: Option<Arc<Usage>>,
}

impl std::fmt::Debug for RestBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestBudget")
            .field("left", &self.left())
            .finish()
    }
}

impl RestBudget {
    /// Calls left in the current second: [`GLOBAL_PER_SECOND`] less the calls sent in the last
    /// second and those waiting for their turn; behind a `discord-proxy`, no more than it last
    /// said is left for all processes. `None` without the bot's limiter (serenity's own limiter
    /// is in charge, and says nothing).
    pub fn left(&self) -> Option<u32> {
        self.usage.as_ref().map(|usage| usage.left())
    }
}

/// The running forwarder; [`RateLimitedProxy::stop`] ends it, and so does dropping it.
pub struct RateLimitedProxy {
    url: String,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
    usage: Arc<Usage>,
}

impl Drop for RateLimitedProxy {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl RateLimitedProxy {
    /// Listens on 127.0.0.1 (a free port) and forwards every call to `upstream` (a base URL such
    /// as `http://127.0.0.1:3000`), within Discord's rate limits.
    ///
    /// Each call to `upstream` may take at most `timeout` (`DISCORD_HTTP_TIMEOUT_SECS`); one
    /// that stalls is answered 504, so the caller moves on.
    /// Every attempt is counted in `counts` (route group and status), and so is the time
    /// calls wait for a rate limit.
    pub async fn start(
        upstream: &str,
        timeout: Duration,
        counts: RestCounts,
    ) -> std::io::Result<Self> {
        let listener =
            tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (app, usage) = app(upstream, timeout, counts, Role::InBot)?;
        let stop = CancellationToken::new();
        let stopped = stop.clone().cancelled_owned();
        let task = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await
            {
                tracing::error!(error = %err, "the REST rate limiter stopped");
            }
        });
        tracing::info!(
            %url,
            upstream = %redact_url(upstream),
            "REST calls go through the bot's rate limiter"
        );
        Ok(Self {
            url,
            stop,
            task: Some(task),
            usage,
        })
    }

    /// The base URL to give serenity instead of the proxy's.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What is left of the global budget, as calls go through this limiter.
    pub fn budget(&self) -> RestBudget {
        RestBudget {
            usage: Some(Arc::clone(&self.usage)),
        }
    }

    /// Stops forwarding (waiting at most `grace` for calls in flight).
    pub async fn stop(mut self, grace: Duration) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            if tokio::time::timeout(grace, task).await.is_err() {
                tracing::warn!("the REST rate limiter did not stop in time");
            }
        }
    }
}

/// Which limiter this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A bot process's own, in front of `DISCORD_PROXY_URL` (which may be a `discord-proxy`).
    InBot,
    /// The `discord-proxy` every process shares: it hands out turns and forwards to Discord.
    Shared,
}

/// The limiter's router, forwarding every call to `upstream` within Discord's limits (each
/// call to it bounded by `timeout`), and its count of calls for [`RestBudget`].
fn app(
    upstream: &str,
    timeout: Duration,
    counts: RestCounts,
    role: Role,
) -> std::io::Result<(Router, Arc<Usage>)> {
    let limiter = Arc::new(Limiter::new(
        upstream,
        timeout,
        GLOBAL_PER_SECOND,
        counts,
        role,
    )?);
    let usage = Arc::clone(&limiter.usage);
    let router = match role {
        Role::InBot => Router::new(),
        Role::Shared => Router::new().route(TURN_PATH, post(turn)),
    };
    Ok((router.fallback(forward).with_state(limiter), usage))
}

/// Runs the limiter as a shared REST proxy on `listener` until `shutdown` (the `discord-proxy`
/// binary): every bot process sends its calls here, and they go on to `upstream` (Discord, or a
/// sandbox) within one global budget for them all, each attempt and wait counted in `counts`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    upstream: &str,
    timeout: Duration,
    counts: RestCounts,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (app, _) = app(upstream, timeout, counts, Role::Shared)?;
    tracing::info!(
        addr = %listener.local_addr()?,
        upstream = %redact_url(upstream),
        per_second = GLOBAL_PER_SECOND,
        "discord-proxy: forwarding REST calls within one global budget"
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// The same JSON shape as Discord's errors, so serenity reports it like one.
fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "message": message, "code": 0 }))).into_response()
}

/// `POST` [`TURN_PATH`]: answers when the caller's global turn comes, with what is left.
async fn turn(State(limiter): State<Arc<Limiter>>) -> Json<Value> {
    let waiting = Instant::now();
    limiter.wait_global().await;
    limiter.counts.waited(waiting.elapsed());
    Json(json!({ "left": limiter.usage.left() }))
}

async fn forward(State(limiter): State<Arc<Limiter>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, MAX_BODY_BYTES).await else {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    let route = route_key(parts.method.as_str(), parts.uri.path());
    let mut headers = parts.headers;
    for name in NOT_FORWARDED {
        headers.remove(name);
    }
    // Only the shared limiter honours a turn taken at it; a bot's limiter takes its own.
    let mut turn_taken = headers.remove(TURN_HEADER).is_some() && limiter.role == Role::Shared;
    let mut attempt = 0;
    loop {
        let waiting = Instant::now();
        let turn = limiter.wait_turn(&route, turn_taken).await;
        // A retry is another call to Discord: it takes another turn.
        turn_taken = false;
        limiter.counts.waited(waiting.elapsed());
        let mut request = limiter
            .client
            .request(parts.method.clone(), format!("{}{path}", limiter.upstream))
            .headers(headers.clone())
            .body(body.clone());
        if turn == Turn::Upstream {
            request = request.header(TURN_HEADER, "taken");
        }
        let sent = request.send().await;
        let response = match sent {
            Ok(response) => response,
            Err(err) if err.is_timeout() => {
                limiter.counts.unanswered(Unanswered::Timeout);
                tracing::warn!(%path, "DISCORD_PROXY_URL did not answer within DISCORD_HTTP_TIMEOUT_SECS");
                return error(
                    StatusCode::GATEWAY_TIMEOUT,
                    "DISCORD_PROXY_URL did not answer within DISCORD_HTTP_TIMEOUT_SECS",
                );
            }
            Err(err) => {
                // reqwest's message names the whole URL, `user:password@` included.
                let err = err.without_url();
                limiter.counts.unanswered(Unanswered::Unreachable);
                tracing::warn!(error = %err, %path, "cannot reach DISCORD_PROXY_URL");
                return error(StatusCode::BAD_GATEWAY, "cannot reach DISCORD_PROXY_URL");
            }
        };
        let status = response.status();
        limiter.counts.call(parts.uri.path(), status.as_u16());
        let response_headers = response.headers().clone();
        limiter.learn(&route, &response_headers);
        let Ok(bytes) = response.bytes().await else {
            limiter.counts.unanswered(Unanswered::Unreachable);
            return error(
                StatusCode::BAD_GATEWAY,
                "DISCORD_PROXY_URL's answer broke off",
            );
        };
        if status == StatusCode::TOO_MANY_REQUESTS && attempt < MAX_RETRIES {
            attempt += 1;
            let (retry_after, global) = retry_after(&response_headers, &bytes);
            tracing::warn!(
                %path,
                retry_after_ms = retry_after.as_millis() as u64,
                global,
                attempt,
                "Discord rate limited a call; retrying after the wait it asked for"
            );
            limiter.block(&route, global, retry_after);
            continue;
        }
        return answer(status, &response_headers, bytes);
    }
}

fn answer(status: StatusCode, headers: &HeaderMap, body: axum::body::Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    for (name, value) in headers {
        if !NOT_FORWARDED.contains(&name.as_str()) {
            response.headers_mut().append(name.clone(), value.clone());
        }
    }
    response
}

/// Where a call's global turn was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Turn {
    /// Here, or not needed (interaction callbacks, webhooks, a turn taken at this proxy).
    Here,
    /// At the `discord-proxy` upstream: the call is sent marked with [`TURN_HEADER`].
    Upstream,
}

impl Limiter {
    fn new(
        upstream: &str,
        timeout: Duration,
        per_second: u32,
        counts: RestCounts,
        role: Role,
    ) -> std::io::Result<Self> {
        let per_second = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let upstream_keeps_budget = match role {
            Role::InBot => UPSTREAM_UNKNOWN,
            Role::Shared => UPSTREAM_PLAIN,
        };
        Ok(Self {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .map_err(std::io::Error::other)?,
            turns: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .map_err(std::io::Error::other)?,
            upstream_keeps_budget: AtomicU8::new(upstream_keeps_budget),
            global: RateLimiter::direct(Quota::per_second(per_second).allow_burst(NonZeroU32::MIN)),
            queue: tokio::sync::Mutex::new(()),
            global_blocked_until: Mutex::new(None),
            role,
            buckets: Mutex::new(HashMap::new()),
            usage: Arc::default(),
            counts,
        })
    }

    /// Waits until this call may go: no global block, its global turn (unless `turn_taken`
    /// at this shared proxy already), the route's bucket.
    async fn wait_turn(&self, route: &Route, turn_taken: bool) -> Turn {
        let turn = if turn_taken {
            Turn::Here
        } else if route.exempt_from_global {
            self.wait_global_block().await;
            Turn::Here
        } else {
            self.wait_global().await
        };
        self.wait_bucket(route).await;
        turn
    }

    /// Waits out a global 429's block, then takes the call's global turn, counted as waiting
    /// meanwhile.
    async fn wait_global(&self) -> Turn {
        let _waiting = Waiting::new(&self.usage.waiting);
        self.wait_global_block().await;
        self.take_global_turn().await
    }

    /// Takes a call's global turn in FIFO order: at the upstream when it is a `discord-proxy`,
    /// else here. Only the head of the queue waits for it, so a process asks a shared proxy for
    /// one turn at a time (one connection, however long its queue), and the proxy's own queue
    /// serves the processes in turn.
    async fn take_global_turn(&self) -> Turn {
        let _head = self.queue.lock().await;
        // A block that began while this call queued holds it too.
        self.wait_global_block().await;
        let turn = if self.take_turn_upstream().await {
            Turn::Upstream
        } else {
            self.global.until_ready().await;
            Turn::Here
        };
        self.usage.sent();
        turn
    }

    async fn wait_global_block(&self) {
        loop {
            let blocked = *self.global_blocked_until.lock();
            match blocked {
                Some(until) if until > Instant::now() => {
                    tokio::time::sleep_until(until).await;
                }
                _ => break,
            }
        }
    }

    /// Takes the call's global turn at the upstream when it is a `discord-proxy`; false when
    /// it is not (or could not be asked: the call itself will tell), and the turn is ours.
    async fn take_turn_upstream(&self) -> bool {
        if self.upstream_keeps_budget.load(Ordering::Relaxed) == UPSTREAM_PLAIN {
            return false;
        }
        let asked = self
            .turns
            .post(format!("{}{TURN_PATH}", self.upstream))
            .send()
            .await;
        let answer = match asked {
            Ok(answer) => answer,
            Err(err) => {
                // The call goes all the same, and waits at the proxy if it must.
                tracing::warn!(error = %err.without_url(), "cannot get a turn from DISCORD_PROXY_URL; taking it here");
                return false;
            }
        };
        let status = answer.status();
        if status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED {
            if self.learned_upstream(UPSTREAM_PLAIN) {
                tracing::info!(
                    "DISCORD_PROXY_URL hands out no turns (not a discord-proxy): this process keeps the global limit itself"
                );
            }
            return false;
        }
        if !status.is_success() {
            return false;
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            left: u32,
        }
        let read = answer.bytes().await.ok();
        if let Some(Answer { left }) = read.and_then(|body| serde_json::from_slice(&body).ok()) {
            *self.usage.shared_left.lock() = Some((Instant::now(), left));
        }
        if self.learned_upstream(UPSTREAM_SHARED) {
            tracing::info!(
                "DISCORD_PROXY_URL is a discord-proxy: every process takes its global turns there"
            );
        }
        true
    }

    /// Records what the upstream is; true the first time it is learned (or when it changed).
    fn learned_upstream(&self, kind: u8) -> bool {
        self.upstream_keeps_budget.swap(kind, Ordering::Relaxed) != kind
    }

    /// Waits until the route's bucket has room.
    async fn wait_bucket(&self, route: &Route) {
        loop {
            let wait = {
                let mut buckets = self.buckets.lock();
                let Some(bucket) = buckets.get_mut(&route.key) else {
                    return;
                };
                let now = Instant::now();
                if now >= bucket.reset_at {
                    // A new window: assume it allows what the last one did.
                    bucket.remaining = bucket.limit;
                    bucket.reset_at = now + bucket.window;
                }
                if bucket.remaining > 0 {
                    bucket.remaining -= 1;
                    return;
                }
                bucket.reset_at - now
            };
            tracing::debug!(route = %route.key, wait_ms = wait.as_millis() as u64, "route bucket empty, waiting");
            tokio::time::sleep(wait).await;
        }
    }

    /// Remembers what Discord said about the route's bucket.
    fn learn(&self, route: &Route, headers: &HeaderMap) {
        let number = |name: &str| {
            headers
                .get(HeaderName::from_bytes(name.as_bytes()).ok()?)?
                .to_str()
                .ok()?
                .parse::<f64>()
                .ok()
        };
        let (Some(limit), Some(remaining), Some(reset_after)) = (
            number("x-ratelimit-limit"),
            number("x-ratelimit-remaining"),
            number("x-ratelimit-reset-after"),
        ) else {
            return;
        };
        let reset_after = seconds(reset_after).unwrap_or(Duration::ZERO);
        let now = Instant::now();
        let mut buckets = self.buckets.lock();
        let bucket = buckets.entry(route.key.clone()).or_insert(Bucket {
            limit: limit as u32,
            remaining: remaining as u32,
            reset_at: now + reset_after,
            window: reset_after,
        });
        bucket.limit = limit as u32;
        // Answers to calls sent together arrive in any order: trust the most cautious one.
        bucket.remaining = bucket.remaining.min(remaining as u32);
        bucket.reset_at = now + reset_after;
        bucket.window = bucket.window.max(reset_after);
    }

    /// After a 429: hold the route (or, for a global one, every call) for `wait`.
    fn block(&self, route: &Route, global: bool, wait: Duration) {
        let until = Instant::now() + wait;
        if global {
            let mut blocked = self.global_blocked_until.lock();
            *blocked = Some(blocked.map_or(until, |b| b.max(until)));
            return;
        }
        let mut buckets = self.buckets.lock();
        let bucket = buckets.entry(route.key.clone()).or_insert(Bucket {
            limit: 1,
            remaining: 0,
            reset_at: until,
            window: wait,
        });
        bucket.remaining = 0;
        bucket.reset_at = until;
    }
}

/// `retry_after` (seconds, from the JSON body, else the `Retry-After` header) and `global`.
fn retry_after(headers: &HeaderMap, body: &[u8]) -> (Duration, bool) {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let global = json["global"].as_bool().unwrap_or(false)
        || headers
            .get("x-ratelimit-global")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
    let seconds = json["retry_after"].as_f64().or_else(|| {
        headers
            .get("retry-after")?
            .to_str()
            .ok()?
            .parse::<f64>()
            .ok()
    });
    let wait = seconds
        .and_then(self::seconds)
        .unwrap_or(DEFAULT_RETRY_AFTER);
    (wait, global)
}

/// A number of seconds from a header or a body as a wait, at most [`MAX_WAIT`]; `None` for
/// what is not a number of seconds (NaN, negative).
fn seconds(value: f64) -> Option<Duration> {
    if value.is_nan() || value < 0.0 {
        return None;
    }
    // Clamped before the conversion: `from_secs_f64` panics on infinity and on values past
    // `u64::MAX` seconds.
    Some(Duration::from_secs_f64(value.min(MAX_WAIT.as_secs_f64())))
}

/// A call's bucket, as Discord draws them: the route with its major parameter (channel, guild,
/// webhook) kept and other IDs blanked.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Route {
    key: String,
    exempt_from_global: bool,
}

fn route_key(method: &str, path: &str) -> Route {
    let segments: Vec<&str> = path
        .trim_start_matches("/api/v10/")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let first = segments.first().copied().unwrap_or_default();
    let exempt_from_global = first == "interactions" || first == "webhooks";
    let major_len = match first {
        "channels" | "guilds" => 2,
        "webhooks" | "interactions" => 3,
        _ => 0,
    };
    let key: Vec<&str> = segments
        .iter()
        .enumerate()
        .map(|(index, segment)| {
            if (index > 0 && index < major_len) || !segment.bytes().all(|b| b.is_ascii_digit()) {
                segment
            } else {
                "{id}"
            }
        })
        .collect();
    Route {
        key: format!(
            "{} /{}",
            Method::from_bytes(method.as_bytes()).map_or("?".to_owned(), |m| m.to_string()),
            key.join("/")
        ),
        exempt_from_global,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_keep_the_major_parameter_only() {
        let a = route_key("POST", "/api/v10/channels/1/messages");
        assert_eq!(a.key, "POST /channels/1/messages");
        assert!(!a.exempt_from_global);
        assert_eq!(
            route_key("DELETE", "/api/v10/guilds/9/roles/7").key,
            "DELETE /guilds/9/roles/{id}"
        );
        assert!(route_key("POST", "/api/v10/interactions/5/tok/callback").exempt_from_global);
        assert!(
            route_key("PATCH", "/api/v10/webhooks/5/tok/messages/@original").exempt_from_global
        );
    }

    #[test]
    fn retry_after_comes_from_the_body_then_the_header() {
        let body = br#"{"message":"You are being rate limited.","retry_after":0.25,"global":true}"#;
        assert_eq!(
            retry_after(&HeaderMap::new(), body),
            (Duration::from_millis(250), true)
        );
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "2".parse().unwrap());
        assert_eq!(
            retry_after(&headers, b"not json"),
            (Duration::from_secs(2), false)
        );
        assert_eq!(
            retry_after(&HeaderMap::new(), b""),
            (DEFAULT_RETRY_AFTER, false)
        );
    }

    #[test]
    fn absurd_waits_are_clamped_and_never_panic() {
        for text in ["inf", "1e300", "99999999999999999999", "1e20"] {
            let mut headers = HeaderMap::new();
            headers.insert("retry-after", text.parse().unwrap());
            assert_eq!(
                retry_after(&headers, b"").0,
                MAX_WAIT,
                "Retry-After: {text}"
            );
            let body = format!(r#"{{"retry_after": {text}}}"#);
            // `inf` is not JSON: the header's turn, absent here.
            let expected = if text == "inf" {
                DEFAULT_RETRY_AFTER
            } else {
                MAX_WAIT
            };
            assert_eq!(
                retry_after(&HeaderMap::new(), body.as_bytes()).0,
                expected,
                "{body}"
            );
        }
        for text in ["NaN", "-1", "-inf"] {
            let mut headers = HeaderMap::new();
            headers.insert("retry-after", text.parse().unwrap());
            assert_eq!(retry_after(&headers, b"").0, DEFAULT_RETRY_AFTER, "{text}");
        }
    }

    /// A shared limiter whose global limit never waits here (1,000 a second, all at once),
    /// forwarding nowhere.
    fn limiter() -> Limiter {
        let mut limiter = limiter_at(1000);
        limiter.global = RateLimiter::direct(Quota::per_second(NonZeroU32::new(1000).unwrap()));
        limiter
    }

    /// A shared limiter of `per_second` calls a second, one at a time as Discord's.
    fn limiter_at(per_second: u32) -> Limiter {
        Limiter::new(
            "",
            Duration::from_secs(1),
            per_second,
            RestCounts::default(),
            Role::Shared,
        )
        .unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn the_budget_left_counts_the_last_seconds_calls_and_those_waiting() {
        let limiter = limiter();
        let budget = RestBudget {
            usage: Some(Arc::clone(&limiter.usage)),
        };
        assert_eq!(budget.left(), Some(GLOBAL_PER_SECOND));
        let route = route_key("PATCH", "/api/v10/channels/1/messages/2");
        for _ in 0..30 {
            limiter.wait_turn(&route, false).await;
        }
        assert_eq!(budget.left(), Some(GLOBAL_PER_SECOND - 30));
        // Interaction callbacks are not counted by Discord, nor here.
        limiter
            .wait_turn(
                &route_key("POST", "/api/v10/interactions/5/tok/callback"),
                false,
            )
            .await;
        assert_eq!(budget.left(), Some(GLOBAL_PER_SECOND - 30));
        {
            let _queued: Vec<_> = (0..25)
                .map(|_| Waiting::new(&limiter.usage.waiting))
                .collect();
            assert_eq!(budget.left(), Some(0), "30 sent and 25 waiting");
        }
        assert_eq!(budget.left(), Some(GLOBAL_PER_SECOND - 30));
        tokio::time::advance(USAGE_WINDOW).await;
        assert_eq!(budget.left(), Some(GLOBAL_PER_SECOND), "a second later");
        assert_eq!(RestBudget::default().left(), None, "not measured");
    }

    #[tokio::test(start_paused = true)]
    async fn absurd_reset_headers_are_clamped_and_never_panic() {
        let limiter = limiter();
        let route = route_key("POST", "/api/v10/channels/1/messages");
        for reset in ["inf", "1e300", "99999999999999999999", "NaN", "-5"] {
            let mut headers = HeaderMap::new();
            headers.insert("x-ratelimit-limit", "1e300".parse().unwrap());
            headers.insert("x-ratelimit-remaining", "0".parse().unwrap());
            headers.insert("x-ratelimit-reset-after", reset.parse().unwrap());
            limiter.learn(&route, &headers);
            let bucket = limiter.buckets.lock()[&route.key];
            assert!(bucket.window <= MAX_WAIT, "{reset}");
        }
        limiter.block(&route, true, MAX_WAIT);
        let waited = tokio::time::timeout(MAX_WAIT * 2, limiter.wait_turn(&route, false)).await;
        assert!(waited.is_ok(), "an hour at most, then the call goes");
    }

    #[tokio::test(start_paused = true)]
    async fn an_empty_bucket_waits_for_its_reset() {
        let limiter = limiter();
        let route = route_key("POST", "/api/v10/channels/1/messages");
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-limit", "5".parse().unwrap());
        headers.insert("x-ratelimit-remaining", "0".parse().unwrap());
        headers.insert("x-ratelimit-reset-after", "5".parse().unwrap());
        limiter.learn(&route, &headers);
        let wait = limiter.wait_turn(&route, false);
        tokio::pin!(wait);
        let early = tokio::time::timeout(Duration::from_secs(4), &mut wait).await;
        assert!(early.is_err(), "still waiting before the reset");
        tokio::time::timeout(Duration::from_secs(2), wait)
            .await
            .expect("goes once the bucket resets");
        // Another channel is another bucket.
        let other = route_key("POST", "/api/v10/channels/2/messages");
        tokio::time::timeout(Duration::from_millis(1), limiter.wait_turn(&other, false))
            .await
            .expect("no wait on another bucket");
    }

    #[tokio::test]
    async fn global_turns_are_taken_in_the_order_asked() {
        let limiter = Arc::new(limiter_at(200));
        let route = route_key("GET", "/api/v10/users/@me");
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut calls = Vec::new();
        for n in 0..30 {
            let (limiter, route, order) = (Arc::clone(&limiter), route.clone(), Arc::clone(&order));
            calls.push(tokio::spawn(async move {
                limiter.wait_turn(&route, false).await;
                order.lock().push(n);
            }));
            // Call n asks for its turn before call n + 1 does.
            tokio::task::yield_now().await;
        }
        for call in calls {
            call.await.unwrap();
        }
        assert_eq!(*order.lock(), (0..30).collect::<Vec<_>>());
    }
}
