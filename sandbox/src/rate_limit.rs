//! Discord's rate limits, enforced on every REST call: the global limit (50 requests per second
//! per bot, interaction endpoints exempt, as on Discord) and one bucket per route and major
//! parameter (channel, guild, webhook). Every answer carries the `X-RateLimit-*` headers of its
//! bucket; a call over a limit gets Discord's 429: `{"message", "retry_after", "global"}` with
//! `Retry-After`, and `X-RateLimit-Global` / `X-RateLimit-Scope`.
//!
//! Windows are fixed, as Discord's buckets are: a bucket allows `requests` calls, then refuses
//! until `per` has passed since its first call.

use std::{
    collections::HashMap,
    hash::{DefaultHasher, Hash, Hasher},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// How many calls a window allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Calls allowed per window.
    pub requests: u32,
    /// The window's length.
    pub per: Duration,
}

/// The limits the sandbox enforces; `None` turns one off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// All calls of the bot together, interaction callbacks and webhooks excepted.
    pub global: Option<Limit>,
    /// Each route and major parameter (e.g. `POST /channels/{id}/messages` of one channel).
    pub route: Option<Limit>,
}

/// Discord's global limit: 50 requests per second.
pub const DISCORD_GLOBAL: Limit = Limit {
    requests: 50,
    per: Duration::from_secs(1),
};

/// Discord does not publish its per-route limits; it answers 5 per 5 seconds for sending
/// messages in a channel, the route a ticket bot uses most, and the sandbox uses that for all.
pub const DISCORD_ROUTE: Limit = Limit {
    requests: 5,
    per: Duration::from_secs(5),
};

impl RateLimits {
    /// Discord's limits ([`DISCORD_GLOBAL`], [`DISCORD_ROUTE`]).
    pub fn discord() -> Self {
        Self {
            global: Some(DISCORD_GLOBAL),
            route: Some(DISCORD_ROUTE),
        }
    }

    /// No limit at all.
    pub fn unlimited() -> Self {
        Self {
            global: None,
            route: None,
        }
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::discord()
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

impl Window {
    /// Counts a call at `now`; `Err(wait)` when the window is full.
    fn take(&mut self, limit: Limit, now: Instant) -> Result<(), Duration> {
        if now.duration_since(self.started) >= limit.per {
            *self = Window {
                started: now,
                count: 0,
            };
        }
        if self.count >= limit.requests {
            return Err(limit.per.saturating_sub(now.duration_since(self.started)));
        }
        self.count += 1;
        Ok(())
    }

    fn reset_after(&self, limit: Limit, now: Instant) -> Duration {
        limit.per.saturating_sub(now.duration_since(self.started))
    }
}

/// What the limiter says about one call.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Go ahead; answer with these headers.
    Allowed(HeaderMap),
    /// 429: wait `retry_after`; `global` when the global limit was hit.
    Limited {
        headers: HeaderMap,
        retry_after: Duration,
        global: bool,
    },
}

/// The limits' state: the global window and one window per bucket.
#[derive(Debug)]
pub(crate) struct Limiter {
    limits: RateLimits,
    global: Option<Window>,
    routes: HashMap<String, Window>,
}

impl Limiter {
    pub(crate) fn new(limits: RateLimits) -> Self {
        Self {
            limits,
            global: None,
            routes: HashMap::new(),
        }
    }

    /// Counts a call of `method` on `path` (starting with `/api/v10/`) at `now`.
    pub(crate) fn check(&mut self, method: &str, path: &str, now: Instant) -> Verdict {
        let route = Route::of(method, path);
        let mut headers = HeaderMap::new();
        let mut route_window = None;
        if let Some(limit) = self.limits.route {
            let window = self.routes.entry(route.key.clone()).or_insert(Window {
                started: now,
                count: 0,
            });
            let before = *window;
            if let Err(wait) = window.take(limit, now) {
                bucket_headers(&mut headers, &route, limit, 0, wait);
                set(&mut headers, "x-ratelimit-scope", "user");
                return Verdict::Limited {
                    headers,
                    retry_after: wait,
                    global: false,
                };
            }
            route_window = Some((limit, before));
        }
        if let (Some(limit), false) = (self.limits.global, route.exempt_from_global) {
            let global = self.global.get_or_insert(Window {
                started: now,
                count: 0,
            });
            if let Err(wait) = global.take(limit, now) {
                // The route's call was not made: give it back.
                if let Some((_, before)) = route_window {
                    self.routes.insert(route.key.clone(), before);
                }
                set(&mut headers, "x-ratelimit-global", "true");
                set(&mut headers, "x-ratelimit-scope", "global");
                return Verdict::Limited {
                    headers,
                    retry_after: wait,
                    global: true,
                };
            }
        }
        if let Some((limit, _)) = route_window {
            let window = self.routes[&route.key];
            let remaining = limit.requests.saturating_sub(window.count);
            bucket_headers(
                &mut headers,
                &route,
                limit,
                remaining,
                window.reset_after(limit, now),
            );
        }
        Verdict::Allowed(headers)
    }
}

fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), value);
    }
}

fn bucket_headers(
    headers: &mut HeaderMap,
    route: &Route,
    limit: Limit,
    remaining: u32,
    reset_after: Duration,
) {
    let reset = SystemTime::now()
        .checked_add(reset_after)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .unwrap_or_default();
    set(headers, "x-ratelimit-limit", &limit.requests.to_string());
    set(headers, "x-ratelimit-remaining", &remaining.to_string());
    set(
        headers,
        "x-ratelimit-reset",
        &format!("{:.3}", reset.as_secs_f64()),
    );
    set(
        headers,
        "x-ratelimit-reset-after",
        &format!("{:.3}", reset_after.as_secs_f64()),
    );
    set(headers, "x-ratelimit-bucket", &route.bucket);
}

/// A call's bucket: its route with the major parameter kept and other IDs blanked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    /// The bucket's key: method, route and major parameter.
    pub(crate) key: String,
    /// The bucket's name in `X-RateLimit-Bucket`, shared by every major parameter.
    pub(crate) bucket: String,
    /// Interaction callbacks and webhooks are not counted against the global limit.
    pub(crate) exempt_from_global: bool,
}

impl Route {
    pub(crate) fn of(method: &str, path: &str) -> Self {
        let segments: Vec<&str> = path
            .trim_start_matches("/api/v10/")
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        let major_kind = segments.first().copied().unwrap_or_default();
        let major_len = match major_kind {
            "channels" | "guilds" => 2,
            "webhooks" | "interactions" => 3,
            _ => 0,
        };
        let mut template = Vec::new();
        let mut major = Vec::new();
        for (index, segment) in segments.iter().enumerate() {
            let is_id = segment.bytes().all(|b| b.is_ascii_digit())
                || (major_kind == "webhooks" || major_kind == "interactions") && index == 2;
            if index > 0 && index < major_len {
                major.push(*segment);
                template.push("{major}");
            } else if is_id {
                template.push("{id}");
            } else {
                template.push(segment);
            }
        }
        let template = format!("{method} /{}", template.join("/"));
        let mut hasher = DefaultHasher::new();
        template.hash(&mut hasher);
        Self {
            key: format!("{template} {}", major.join("/")),
            bucket: format!("{:016x}", hasher.finish()),
            exempt_from_global: major_kind == "interactions" || major_kind == "webhooks",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PER: Duration = Duration::from_secs(1);

    fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
        headers[name].to_str().unwrap()
    }

    #[test]
    fn routes_keep_the_major_parameter_and_share_a_bucket_name() {
        let a = Route::of("POST", "/api/v10/channels/1/messages");
        let b = Route::of("POST", "/api/v10/channels/2/messages");
        assert_ne!(a.key, b.key);
        assert_eq!(a.bucket, b.bucket);
        let role_a = Route::of("DELETE", "/api/v10/guilds/1/roles/7");
        let role_b = Route::of("DELETE", "/api/v10/guilds/1/roles/8");
        assert_eq!(role_a.key, role_b.key, "minor IDs share the bucket");
        assert!(Route::of("POST", "/api/v10/interactions/5/tok/callback").exempt_from_global);
        assert!(
            Route::of("PATCH", "/api/v10/webhooks/5/tok/messages/@original").exempt_from_global
        );
        assert!(!a.exempt_from_global);
    }

    #[test]
    fn a_route_allows_its_limit_then_refuses_until_the_window_ends() {
        let route = Limit {
            requests: 2,
            per: PER,
        };
        let mut limiter = Limiter::new(RateLimits {
            global: None,
            route: Some(route),
        });
        let start = Instant::now();
        let path = "/api/v10/channels/1/messages";
        let Verdict::Allowed(first) = limiter.check("POST", path, start) else {
            panic!()
        };
        assert_eq!(header(&first, "x-ratelimit-limit"), "2");
        assert_eq!(header(&first, "x-ratelimit-remaining"), "1");
        assert!(matches!(
            limiter.check("POST", path, start),
            Verdict::Allowed(_)
        ));
        let Verdict::Limited {
            headers,
            retry_after,
            global,
        } = limiter.check("POST", path, start)
        else {
            panic!("a third call in the window is refused")
        };
        assert!(!global);
        assert_eq!(retry_after, PER);
        assert_eq!(header(&headers, "x-ratelimit-remaining"), "0");
        assert_eq!(header(&headers, "x-ratelimit-scope"), "user");
        // Another channel has its own bucket; the first one's window ends.
        assert!(matches!(
            limiter.check("POST", "/api/v10/channels/2/messages", start),
            Verdict::Allowed(_)
        ));
        assert!(matches!(
            limiter.check("POST", path, start + PER),
            Verdict::Allowed(_)
        ));
    }

    #[test]
    fn the_global_limit_counts_every_route_but_not_interactions() {
        let global = Limit {
            requests: 2,
            per: PER,
        };
        let mut limiter = Limiter::new(RateLimits {
            global: Some(global),
            route: None,
        });
        let now = Instant::now();
        assert!(matches!(
            limiter.check("GET", "/api/v10/channels/1", now),
            Verdict::Allowed(_)
        ));
        assert!(matches!(
            limiter.check("GET", "/api/v10/channels/2", now),
            Verdict::Allowed(_)
        ));
        assert!(matches!(
            limiter.check("POST", "/api/v10/interactions/1/t/callback", now),
            Verdict::Allowed(_)
        ));
        let Verdict::Limited {
            headers, global, ..
        } = limiter.check("GET", "/api/v10/channels/3", now)
        else {
            panic!("the third call is over the global limit")
        };
        assert!(global);
        assert_eq!(header(&headers, "x-ratelimit-global"), "true");
        assert_eq!(header(&headers, "x-ratelimit-scope"), "global");
    }
}
