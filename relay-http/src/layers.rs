//! The sidecar's own middleware as typed tower pieces: the overall request deadline (504
//! `timeout`) and the generator of request ids. Each is a plain struct around the inner
//! service or future, so a request pays for no boxed future, no `String` and no system call
//! here.

use std::{
    convert::Infallible,
    future::Future,
    hash::{BuildHasher, RandomState},
    pin::Pin,
    sync::atomic::{AtomicU64, Ordering},
    task::{ready, Context, Poll},
    time::Duration,
};

use axum::{
    body::Body,
    http::{HeaderValue, Request},
    response::{IntoResponse, Response},
};
use pin_project_lite::pin_project;
use tokio::time::Timeout;
use tower::{Layer, Service};
use tower_http::request_id::{MakeRequestId, RequestId};
use uuid::Uuid;

use crate::{ApiError, X_REQUEST_ID};

/// 504 `timeout` for a request that takes longer than `HTTP_REQUEST_TIMEOUT_SECS`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DeadlineLayer(pub(crate) Duration);

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Deadline<S> {
        Deadline {
            inner,
            timeout: self.0,
        }
    }
}

/// The service of [`DeadlineLayer`].
#[derive(Debug, Clone)]
pub(crate) struct Deadline<S> {
    inner: S,
    timeout: Duration,
}

impl<S> Service<Request<Body>> for Deadline<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = DeadlineFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // A header value's clone is a reference count; it is only read if the deadline passes.
        let id = request.headers().get(&X_REQUEST_ID).cloned();
        DeadlineFuture {
            inner: tokio::time::timeout(self.timeout, self.inner.call(request)),
            id,
            timeout: self.timeout,
        }
    }
}

pin_project! {
    /// The response of the inner service, or the 504 once the deadline passes.
    pub(crate) struct DeadlineFuture<F> {
        #[pin]
        inner: Timeout<F>,
        id: Option<HeaderValue>,
        timeout: Duration,
    }
}

impl<F> Future for DeadlineFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        Poll::Ready(match ready!(this.inner.poll(cx)) {
            Ok(response) => response,
            Err(_elapsed) => {
                let err = ApiError::RequestTimeout(*this.timeout);
                let id = this.id.as_ref().and_then(|id| id.to_str().ok());
                err.log(id.unwrap_or("-"));
                Ok(err.into_response())
            }
        })
    }
}

/// Generates UUID v4 request ids without a system call each: the 122 random bits are a keyed
/// hash of a process-wide counter, the keys drawn from the OS once per process. Ids are unique
/// within a process (the counter) and unpredictable across processes (the keys); they need
/// not be secret, only distinct.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MakeUuid;

/// How many ids this process has generated.
static GENERATED: AtomicU64 = AtomicU64::new(0);

/// The two hash keys, drawn once.
static KEYS: std::sync::LazyLock<(RandomState, RandomState)> =
    std::sync::LazyLock::new(|| (RandomState::new(), RandomState::new()));

impl MakeUuid {
    fn next() -> Uuid {
        let n = GENERATED.fetch_add(1, Ordering::Relaxed);
        let (high, low) = &*KEYS;
        let bits = (u128::from(high.hash_one(n)) << 64) | u128::from(low.hash_one(n));
        uuid::Builder::from_random_bytes(bits.to_le_bytes()).into_uuid()
    }
}

impl MakeRequestId for MakeUuid {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let mut buffer = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let id = Self::next().hyphenated().encode_lower(&mut buffer);
        HeaderValue::from_str(id).ok().map(RequestId::new)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn generated_ids_are_distinct_uuid_v4() {
        let ids: HashSet<Uuid> = (0..10_000).map(|_| MakeUuid::next()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in ids {
            assert_eq!(id.get_version_num(), 4);
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
        }
    }
}
