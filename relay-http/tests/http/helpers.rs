//! Harness of the sidecar tests: [`spawn_app`] starts a nats-server of the test's own, a relay
//! worker from the library (unless told not to), and the sidecar's real `run` on port 0, and
//! returns a [`TestApp`] with request helpers.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::http::{HeaderMap, Method, Request, StatusCode};
use bytes::Bytes;
use common::{
    payload::{RelayReply, RelayRequest},
    test_util::{eventually, NatsServer},
};
use http_body_util::{BodyExt, Full};
use hyper_util::{
    client::legacy::{connect::HttpConnector, Client},
    rt::TokioExecutor,
};
use relay_http::{AppState, HttpError, HttpSettings};
pub use relay_worker::test_util::{sample_request, SUBJECT};
use relay_worker::{
    test_util::spawn_worker, Pieces, Placeholder, Responder, ResponderError, RunningWorker,
};
use secrecy::ExposeSecret;
use serde_json::Value;
use tokio::{
    net::TcpListener,
    sync::{mpsc, oneshot, Semaphore},
    task::JoinHandle,
};

pub const READY_WITHIN: Duration = Duration::from_secs(15);
/// Deep health window of the tests: generous, so that a loaded CI machine still hears the
/// workers' ping answers in time.
pub const PING_WINDOW: Duration = Duration::from_secs(1);

/// Content that makes [`TestResponder`] never answer.
pub const STALL: &str = "stall";
/// Content that makes [`TestResponder`] fail in a way a retry may fix.
pub const FAIL: &str = "fail";
/// Content that makes [`TestResponder`] fail in a way a retry cannot fix.
pub const REFUSE: &str = "refuse";
/// Content that makes [`TestResponder`] report that it started, then wait for a permit.
pub const WAIT: &str = "wait";

/// Content that makes [`TestResponder`] write [`STREAMED`] in pieces, when asked to stream.
pub const STREAM: &str = "stream";
/// The pieces of the [`STREAM`] answer.
pub const STREAMED: [&str; 2] = ["Hello", " there"];

/// A worker responder whose behaviour is chosen by the request's content, so one worker
/// serves every scenario and readiness is checked with an ordinary request.
#[derive(Clone)]
pub struct TestResponder {
    started: mpsc::UnboundedSender<()>,
    gate: Arc<Semaphore>,
}

impl Responder for TestResponder {
    async fn respond(&self, request: RelayRequest) -> Result<RelayReply, ResponderError> {
        match request.content.as_str() {
            STALL => std::future::pending().await,
            FAIL => Err(ResponderError::retryable(
                "the test responder fails on purpose",
            )),
            REFUSE => Err(ResponderError::new("the test responder refuses on purpose")),
            WAIT => {
                let _ = self.started.send(());
                let _permit = self.gate.acquire().await.expect("gate never closed");
                Ok(RelayReply::new("waited"))
            }
            STREAM => Ok(RelayReply::new(STREAMED.concat())),
            _ => Ok(RelayReply::new(Placeholder::REPLY)),
        }
    }

    async fn respond_streaming(
        &self,
        request: RelayRequest,
        pieces: Pieces,
    ) -> Result<RelayReply, ResponderError> {
        if request.content.as_str() == STREAM {
            for piece in STREAMED {
                pieces.send(piece);
            }
        }
        self.respond(request).await
    }
}

/// How to set up a [`TestApp`].
pub struct Options {
    /// Run one relay worker.
    pub worker: bool,
    /// The sidecar's settings (host and port are ignored: always 127.0.0.1:0).
    pub settings: HttpSettings,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            worker: true,
            settings: test_settings(),
        }
    }
}

/// Default settings, with the tests' deep health window.
pub fn test_settings() -> HttpSettings {
    HttpSettings {
        health_ping_window: PING_WINDOW,
        ..HttpSettings::default()
    }
}

/// A running sidecar with its nats-server and worker.
pub struct TestApp {
    pub address: SocketAddr,
    pub nats: NatsServer,
    http: Client<HttpConnector, Full<Bytes>>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<Result<(), HttpError>>>,
    worker: Option<RunningWorker>,
    /// Receives one message each time the worker starts a `WAIT` request.
    pub started: mpsc::UnboundedReceiver<()>,
    /// Releases `WAIT` requests, one per permit.
    pub gate: Arc<Semaphore>,
    /// `Authorization` value sent by [`TestApp::relay_with`] when the sidecar has a token.
    authorization: Option<String>,
}

/// A response, read whole.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    /// The body as JSON; fails the test when it is not JSON or not declared as such.
    pub fn json(&self) -> Value {
        let content_type = self
            .headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(
            content_type.as_deref(),
            Some("application/json"),
            "status {}: {:?}",
            self.status,
            self.body
        );
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!(
                "status {}: body is not JSON ({err}): {:?}",
                self.status, self.body
            )
        })
    }

    /// Asserts an error response with this status and code; returns its message.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> String {
        let json = self.json();
        assert_eq!(self.status.as_u16(), status, "{json}");
        assert_eq!(json["error"]["code"], code, "{json}");
        let message = json["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no message: {json}"));
        assert!(!message.is_empty());
        assert_eq!(json.as_object().unwrap().len(), 1, "{json}");
        message.to_owned()
    }

    /// The `x-request-id` of the response.
    pub fn request_id(&self) -> &str {
        self.headers
            .get("x-request-id")
            .expect("every response has x-request-id")
            .to_str()
            .unwrap()
    }
}

/// `POST /relay` of `body` on its own connection (for a request that runs while the test goes
/// on); returns the status and the JSON body.
pub async fn post_json(address: SocketAddr, body: &Value) -> (u16, Value) {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("http://{address}/relay"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a request");
    let response = client.request(request).await.expect("request sent");
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, serde_json::from_slice(&bytes).expect("a JSON body"))
}

/// A member of the workers' queue group that takes requests and never answers, like a worker
/// that died mid-request; it lives as long as the returned pair.
pub async fn silent_worker(app: &TestApp) -> (async_nats::Client, async_nats::Subscriber) {
    let client = async_nats::connect(app.nats.url()).await.expect("connect");
    let silent = client
        .queue_subscribe(SUBJECT, common::subjects::QUEUE_GROUP.to_owned())
        .await
        .expect("subscribe");
    // flush() only writes the socket; a round trip proves the server read the subscription.
    round_trip(&client).await;
    (client, silent)
}

/// Returns once the server has processed everything `client` sent before (its subscriptions
/// included): a request nobody answers comes back as "no responders" only after the server
/// read it, and the server reads one connection's commands in order.
pub async fn round_trip(client: &async_nats::Client) {
    let subject = client.new_inbox();
    match client.request(subject, Bytes::new()).await {
        Err(err) if err.kind() == async_nats::client::RequestErrorKind::NoResponders => {}
        other => panic!("expected no responders, got {other:?}"),
    }
}

/// The sample request as JSON, with `content` (which may be invalid) as its content.
pub fn valid_request(content: &str) -> Value {
    let mut request = serde_json::to_value(sample_request()).expect("a request serializes");
    request["content"] = content.into();
    request
}

/// A sidecar with one worker and default settings, answering when returned.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

/// A sidecar set up as `options` say, connected to NATS (and answering, with a worker) when
/// returned.
pub async fn spawn_app_with(options: Options) -> TestApp {
    let nats = NatsServer::start();
    let (started_tx, started) = mpsc::unbounded_channel();
    let gate = Arc::new(Semaphore::new(0));
    let worker = if options.worker {
        let responder = TestResponder {
            started: started_tx,
            gate: Arc::clone(&gate),
        };
        Some(spawn_worker(&nats.settings(), responder).await)
    } else {
        None
    };

    let client = common::nats::connect(&nats.settings(), "test-sidecar")
        .await
        .expect("sidecar connects");
    let state = AppState::new(client, SUBJECT, &options.settings);
    let authorization = options
        .settings
        .api_token
        .as_ref()
        .map(|token| format!("Bearer {}", token.expose_secret()));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let address = listener.local_addr().unwrap();
    let (shutdown, signal) = oneshot::channel::<()>();
    let server = tokio::spawn(relay_http::run(listener, state, async {
        let _ = signal.await;
    }));

    let app = TestApp {
        address,
        nats,
        http: Client::builder(TokioExecutor::new()).build_http(),
        shutdown: Some(shutdown),
        server: Some(server),
        worker,
        started,
        gate,
        authorization,
    };
    if app.worker.is_some() {
        app.wait_until_relaying().await;
    } else {
        app.wait_until_connected().await;
    }
    app
}

impl TestApp {
    /// Sends a request with these headers and body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> TestResponse {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.address));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(body.into())).unwrap();
        let response = self.http.request(request).await.expect("request sent");
        let (parts, body) = response.into_parts();
        TestResponse {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await.expect("body read").to_bytes(),
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(Method::GET, path, &[], Bytes::new()).await
    }

    /// `POST /relay` with a JSON content type, the sidecar's token if it has one, and these
    /// extra headers (which replace those).
    pub async fn relay_with(
        &self,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> TestResponse {
        let mut all = vec![("content-type", "application/json")];
        if let Some(authorization) = &self.authorization {
            all.push(("authorization", authorization));
        }
        all.retain(|(name, _)| {
            !headers
                .iter()
                .any(|(extra, _)| extra.eq_ignore_ascii_case(name))
        });
        all.extend_from_slice(headers);
        self.send(Method::POST, "/relay", &all, body).await
    }

    /// `POST /relay` of this JSON.
    pub async fn relay(&self, body: &Value) -> TestResponse {
        self.relay_with(&[], body.to_string()).await
    }

    /// Waits until a relay request is answered by the worker.
    pub async fn wait_until_relaying(&self) {
        eventually("the relay to answer", READY_WITHIN, || async {
            let response = self.relay(&valid_request("ready?")).await;
            (response.status == StatusCode::OK).then_some(())
        })
        .await;
    }

    /// Waits until `/health` reports the NATS connection up.
    pub async fn wait_until_connected(&self) {
        eventually("the sidecar to connect", READY_WITHIN, || async {
            (self.get("/health").await.status == StatusCode::OK).then_some(())
        })
        .await;
    }

    /// Completes the sidecar's shutdown future.
    pub fn begin_shutdown(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }

    /// Triggers the sidecar's shutdown and waits for `run` to return.
    pub async fn stop(&mut self) -> Result<(), HttpError> {
        self.begin_shutdown();
        let server = self.server.take().expect("stopped once");
        server.await.expect("sidecar task panicked")
    }

    /// Stops the worker (it drains its connection) and waits for it.
    pub async fn stop_worker(&mut self) {
        if let Some(worker) = self.worker.take() {
            worker.stop().await.expect("worker stops");
        }
    }
}

/// An app with a worker whose sidecar wants `Authorization: Bearer t0ken`.
pub async fn app_with_a_token() -> TestApp {
    spawn_app_with(Options {
        settings: HttpSettings {
            api_token: Some("t0ken".to_owned().into()),
            ..test_settings()
        },
        ..Options::default()
    })
    .await
}

/// An app allowed one request at a time, with that one slot taken by a `WAIT` request (held
/// until a permit is added to `app.gate`); the handle gives that request's answer.
pub async fn app_with_its_one_slot_taken() -> (TestApp, JoinHandle<(u16, Value)>) {
    let mut app = spawn_app_with(Options {
        settings: HttpSettings {
            max_concurrent_requests: 1,
            ..test_settings()
        },
        ..Options::default()
    })
    .await;
    let address = app.address;
    let first = tokio::spawn(async move { post_json(address, &valid_request(WAIT)).await });
    app.started
        .recv()
        .await
        .expect("the first request reached the worker");
    (app, first)
}
