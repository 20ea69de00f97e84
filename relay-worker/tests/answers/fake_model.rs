//! A fake OpenAI-compatible model server (axum on 127.0.0.1:0) that records every request and
//! answers as each test scripts it.

use std::{
    collections::VecDeque,
    convert::Infallible,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Json, Router,
};
use serde_json::{json, Value};
use tokio::sync::watch;

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with a chat completion saying this.
    Answer(&'static str),
    /// This status with an error body.
    Status(u16),
    /// 429 with this `Retry-After`.
    RateLimited(&'static str),
    /// 200 with a body that is not a chat completion.
    Malformed,
    /// Never answers.
    Hang,
    /// Answers this once the test calls [`FakeModel::release`].
    AfterRelease(&'static str),
    /// Writes these pieces, the first after `first` and each next one `every` later: as
    /// server-sent events when the request says `"stream": true`, else as one completion once
    /// the last piece is written.
    Streamed {
        pieces: &'static [&'static str],
        first: Duration,
        every: Duration,
    },
    /// Streams `before` at once, then waits for [`FakeModel::release`] before `after` (one
    /// completion of all of them, after the release, when the request does not stream).
    StreamedUntilRelease {
        before: &'static [&'static str],
        after: &'static [&'static str],
    },
}

/// One step of a scripted answer.
enum Step {
    Wait(Duration),
    Release,
    Piece(&'static str),
}

impl Reply {
    /// The steps of a streamed reply, if it is one.
    fn steps(&self) -> Option<Vec<Step>> {
        match *self {
            Self::Streamed {
                pieces,
                first,
                every,
            } => Some(
                pieces
                    .iter()
                    .enumerate()
                    .flat_map(|(n, piece)| {
                        [
                            Step::Wait(if n == 0 { first } else { every }),
                            Step::Piece(piece),
                        ]
                    })
                    .collect(),
            ),
            Self::StreamedUntilRelease { before, after } => Some(
                before
                    .iter()
                    .map(|piece| Step::Piece(piece))
                    .chain([Step::Release])
                    .chain(after.iter().map(|piece| Step::Piece(piece)))
                    .collect(),
            ),
            _ => None,
        }
    }
}

/// A request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub authorization: Option<String>,
    pub body: Value,
}

impl Recorded {
    /// The `messages` as (role, content) pairs.
    pub fn messages(&self) -> Vec<(String, String)> {
        self.body["messages"]
            .as_array()
            .expect("messages is an array")
            .iter()
            .map(|m| {
                (
                    m["role"].as_str().unwrap().to_owned(),
                    m["content"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// The `name` of each message (`None` when absent).
    pub fn names(&self) -> Vec<Option<String>> {
        self.body["messages"]
            .as_array()
            .expect("messages is an array")
            .iter()
            .map(|m| m["name"].as_str().map(str::to_owned))
            .collect()
    }
}

#[derive(Clone)]
struct Fake {
    script: Arc<Mutex<VecDeque<Reply>>>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    received: watch::Sender<usize>,
    released: watch::Receiver<bool>,
}

/// The running fake; it stops when dropped.
pub struct FakeModel {
    /// The base URL to give as `LLM_BASE_URL` (`http://127.0.0.1:port/v1`).
    pub base_url: String,
    fake: Fake,
    release: watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeModel {
    /// Starts a fake that gives `script`'s replies in order, then answers "fake answer".
    pub async fn start(script: impl IntoIterator<Item = Reply>) -> Self {
        let (release, released) = watch::channel(false);
        let fake = Fake {
            script: Arc::new(Mutex::new(script.into_iter().collect())),
            requests: Arc::default(),
            received: watch::Sender::new(0),
            released,
        };
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("the fake model serves");
        });
        Self {
            base_url: format!("http://{address}/v1"),
            fake,
            release,
            server,
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.fake.requests.lock().unwrap().clone()
    }

    /// Waits until `count` requests have arrived.
    pub async fn wait_for_requests(&self, count: usize) {
        let mut received = self.fake.received.subscribe();
        received.wait_for(|n| *n >= count).await.unwrap();
    }

    /// Lets every [`Reply::AfterRelease`] answer.
    pub fn release(&self) {
        self.release.send_replace(true);
    }
}

impl Drop for FakeModel {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn chat(State(fake): State<Fake>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let streams = body["stream"] == json!(true);
    fake.requests.lock().unwrap().push(Recorded {
        authorization: headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned()),
        body,
    });
    fake.received.send_modify(|n| *n += 1);
    let reply = fake.script.lock().unwrap().pop_front();
    let reply = reply.unwrap_or(Reply::Answer("fake answer"));
    if let Some(steps) = reply.steps() {
        return if streams {
            server_sent(steps, fake.released.clone())
        } else {
            let mut text = String::new();
            for step in steps {
                match step {
                    Step::Wait(wait) => tokio::time::sleep(wait).await,
                    Step::Release => {
                        fake.released.clone().wait_for(|r| *r).await.unwrap();
                    }
                    Step::Piece(piece) => text.push_str(piece),
                }
            }
            completion(&text)
        };
    }
    match reply {
        Reply::Answer(text) => completion(text),
        Reply::Status(status) => (
            StatusCode::from_u16(status).unwrap(),
            Json(json!({"error": {"message": "scripted failure", "type": "test"}})),
        )
            .into_response(),
        Reply::RateLimited(retry_after) => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", retry_after)],
            Json(json!({"error": {"message": "slow down", "type": "rate_limit_error"}})),
        )
            .into_response(),
        Reply::Malformed => (StatusCode::OK, "{\"choices\": [{\"mess").into_response(),
        Reply::Hang => std::future::pending().await,
        Reply::AfterRelease(text) => {
            let mut released = fake.released.clone();
            released.wait_for(|r| *r).await.unwrap();
            completion(text)
        }
        Reply::Streamed { .. } | Reply::StreamedUntilRelease { .. } => unreachable!("above"),
    }
}

/// A streamed chat completion: a `data:` chunk per piece as the steps come, then `[DONE]`.
fn server_sent(steps: Vec<Step>, released: watch::Receiver<bool>) -> Response {
    let events = futures::stream::unfold(
        (steps.into_iter(), released, false),
        |(mut steps, mut released, done)| async move {
            loop {
                match steps.next() {
                    Some(Step::Wait(wait)) => tokio::time::sleep(wait).await,
                    Some(Step::Release) => {
                        released.wait_for(|r| *r).await.unwrap();
                    }
                    Some(Step::Piece(piece)) => {
                        let chunk = json!({"id": "chatcmpl-test", "object": "chat.completion.chunk",
                            "choices": [{"index": 0, "delta": {"content": piece}}]});
                        let line = format!("data: {chunk}\n\n");
                        return Some((Ok::<_, Infallible>(line), (steps, released, done)));
                    }
                    None if !done => {
                        let line = "data: [DONE]\n\n".to_owned();
                        return Some((Ok(line), (steps, released, true)));
                    }
                    None => return None,
                }
            }
        },
    );
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(events))
        .unwrap()
}

fn completion(text: &str) -> Response {
    Json(json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": "test-model",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": text}}],
    }))
    .into_response()
}
