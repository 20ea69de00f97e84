//! The `llm` answer source: an OpenAI-compatible chat completions endpoint (OpenAI, Ollama,
//! vLLM, llama.cpp's server, LM Studio...) asked with the ticket's conversation and, when
//! `KNOWLEDGE_DIR` is set, the best passages of the documents.
//!
//! The request is `POST {LLM_BASE_URL}chat/completions` with `model`, `messages`, `max_tokens`,
//! `temperature` and `"stream": false`. The messages are: the system prompt, with the passages
//! and their sources appended; the history, oldest first (`user` and `assistant` as they are,
//! `staff` as a user message starting `[staff] `, since the API has no staff role); the member's
//! message last.
//!
//! Why reqwest and not a client crate: async-openai (checked at 0.41–0.43) hides what this
//! source must act on. Its error for a non-2xx answer keeps the status but drops the headers,
//! so `Retry-After` is lost, and a non-JSON 4xx body (a proxy's HTML 401, a bare `Unauthorized`)
//! becomes a deserialisation error without its status; retries would need its tower middleware.
//! The wire format used here is five request fields and one response path, read leniently
//! (only `choices[0].message.content` is required) so that every compatible server works.
//!
//! Failures, and what the requester may do ([`ResponderError::is_retryable`]):
//!
//! | the model server | log | retryable |
//! |---|---|---|
//! | 401 or 403 | ERROR naming `LLM_API_KEY` | no: the key is wrong until someone fixes it |
//! | 429 | WARN; waits `Retry-After` once if it fits in `LLM_TIMEOUT_SECS`, then tries again | yes, if still refused |
//! | 5xx, unreachable, no answer in `LLM_TIMEOUT_SECS`, malformed answer | WARN | yes: no answer was produced |
//! | any other 4xx (unknown model, context too long...) | ERROR | no: the same request fails the same way |
//!
//! No other retry happens here: one request is at most two calls (the 429 case), and a repeated
//! request for the same message joins the running answer ([`super::in_flight`]).

use std::{borrow::Cow, sync::Arc, time::Duration};

use common::payload::{HistoryRole, RelayReply, RelayRequest};
use reqwest::{header, StatusCode, Url};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::{in_flight::InFlight, knowledge::Knowledge, settings::LlmSettings};
use crate::ResponderError;

/// The label that starts a staff member's message in the conversation sent to the model.
pub const STAFF_LABEL: &str = "[staff] ";
/// How much of an error body goes into a log line.
const ERROR_BODY_CHARS: usize = 300;
/// How long connecting to the model server may take (the rest of the budget is for answering).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The `llm` source: see the module documentation.
#[derive(Debug, Clone)]
pub struct LlmAnswers {
    model: Arc<Model>,
    in_flight: InFlight,
}

#[derive(Debug)]
struct Model {
    http: reqwest::Client,
    endpoint: Url,
    settings: LlmSettings,
    knowledge: Option<Arc<Knowledge>>,
}

impl LlmAnswers {
    /// A source asking the model of `settings`, with the passages of `knowledge` when given.
    pub fn new(
        settings: LlmSettings,
        knowledge: Option<Arc<Knowledge>>,
    ) -> Result<Self, reqwest::Error> {
        let endpoint = settings
            .base_url
            .join("chat/completions")
            .expect("a base URL ending in / joins a relative path");
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(settings.timeout))
            .user_agent(concat!("ticket-relay/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            model: Arc::new(Model {
                http,
                endpoint,
                settings,
                knowledge,
            }),
            in_flight: InFlight::default(),
        })
    }

    /// Answers `request`, joining a running answer for the same message id.
    pub async fn respond(&self, request: RelayRequest) -> Result<RelayReply, ResponderError> {
        let model = Arc::clone(&self.model);
        let message_id = request.message_id.clone();
        let answer = async move { model.answer(&request).await };
        self.in_flight
            .join_or_run(message_id.as_ref(), answer)
            .await
    }
}

/// Why the model gave no answer.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("the model server refused the API key ({0}): set a valid LLM_API_KEY")]
    Unauthorized(StatusCode),
    #[error("the model server is rate limiting (429), too long or twice in a row")]
    RateLimited(Option<Duration>),
    #[error("the model server failed ({0}): {1}")]
    Server(StatusCode, String),
    #[error("the model server refused the request ({0}; check LLM_MODEL and LLM_BASE_URL): {1}")]
    Refused(StatusCode, String),
    #[error("cannot reach the model server: {0}")]
    Unreachable(reqwest::Error),
    #[error("no answer from the model within LLM_TIMEOUT_SECS ({0:?})")]
    Timeout(Duration),
    #[error("the model server sent no usable answer: {0}")]
    Malformed(String),
}

impl Failure {
    fn retryable(&self) -> bool {
        !matches!(self, Self::Unauthorized(_) | Self::Refused(..))
    }

    fn log(&self) {
        match self {
            Self::Unauthorized(status) => tracing::error!(
                status = status.as_u16(),
                "the model server refused LLM_API_KEY: answers fail until it is fixed"
            ),
            Self::Refused(..) => tracing::error!(error = %self, "the model refused the request"),
            _ => tracing::warn!(error = %self, "the model gave no answer"),
        }
    }
}

impl From<Failure> for ResponderError {
    fn from(failure: Failure) -> Self {
        if failure.retryable() {
            Self::retryable(failure)
        } else {
            Self::new(failure)
        }
    }
}

impl Model {
    async fn answer(&self, request: &RelayRequest) -> Result<RelayReply, ResponderError> {
        let budget = self.settings.timeout;
        let deadline = Instant::now() + budget;
        let body = self.chat_request(request);
        let outcome =
            tokio::time::timeout_at(deadline, self.call_once_more_on_429(&body, deadline))
                .await
                .unwrap_or(Err(Failure::Timeout(budget)));
        outcome.map(RelayReply::new).map_err(|failure| {
            failure.log();
            ResponderError::from(failure)
        })
    }

    /// One call, and a second only after a 429 whose `Retry-After` ends before `deadline`.
    async fn call_once_more_on_429(
        &self,
        body: &[u8],
        deadline: Instant,
    ) -> Result<String, Failure> {
        match self.call(body).await {
            Err(Failure::RateLimited(Some(wait))) if Instant::now() + wait < deadline => {
                tracing::warn!(
                    ?wait,
                    "the model server is rate limiting; waiting as it asks, once"
                );
                tokio::time::sleep(wait).await;
                self.call(body).await
            }
            outcome => outcome,
        }
    }

    async fn call(&self, body: &[u8]) -> Result<String, Failure> {
        let mut request = self
            .http
            .post(self.endpoint.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        if let Some(key) = &self.settings.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        let response = request.send().await.map_err(Failure::Unreachable)?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(Failure::Unauthorized(status));
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(Failure::RateLimited(retry_after(response.headers())));
        }
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            let text: String = text.chars().take(ERROR_BODY_CHARS).collect();
            return Err(if status.is_server_error() {
                Failure::Server(status, text)
            } else {
                Failure::Refused(status, text)
            });
        }
        let bytes = response.bytes().await.map_err(Failure::Unreachable)?;
        parse_answer(&bytes)
    }

    /// The chat completions request body for `request`.
    fn chat_request(&self, request: &RelayRequest) -> Vec<u8> {
        let mut messages = Vec::with_capacity(request.history.len() + 2);
        messages.push(ChatMessage {
            role: "system",
            content: Cow::Owned(self.system_message(request.content.as_str())),
        });
        for entry in &request.history {
            let (role, content) = match entry.role {
                HistoryRole::User => ("user", Cow::Borrowed(entry.content.as_str())),
                HistoryRole::Assistant => ("assistant", Cow::Borrowed(entry.content.as_str())),
                HistoryRole::Staff => (
                    "user",
                    Cow::Owned(format!("{STAFF_LABEL}{}", entry.content.as_str())),
                ),
            };
            messages.push(ChatMessage { role, content });
        }
        messages.push(ChatMessage {
            role: "user",
            content: Cow::Borrowed(request.content.as_str()),
        });
        let chat = ChatRequest {
            model: &self.settings.model,
            messages,
            max_tokens: self.settings.max_tokens,
            temperature: self.settings.temperature,
            stream: false,
        };
        serde_json::to_vec(&chat).expect("a chat request always serializes")
    }

    /// The system prompt, plus the documents' passages for `question` when there are documents.
    fn system_message(&self, question: &str) -> String {
        let prompt = &self.settings.system_prompt;
        let Some(knowledge) = &self.knowledge else {
            return prompt.clone();
        };
        let hits = knowledge.answer(question);
        if hits.is_empty() {
            return format!(
                "{prompt}\n\nThe server's documents have nothing on this question. Say so, and \
                 that a member of staff will follow up, rather than guessing."
            );
        }
        let mut message = format!(
            "{prompt}\n\nAnswer from these passages of the server's documents and name the \
             source of what you use. If they do not cover the question, say that the documents \
             do not cover it and that a member of staff will follow up.\n"
        );
        for (n, hit) in hits.iter().enumerate() {
            message.push_str(&format!(
                "\n[{}] {}\n{}\n",
                n + 1,
                hit.passage.source(),
                hit.passage.text
            ));
        }
        message
    }
}

/// `Retry-After`: seconds, or an HTTP date.
fn retry_after(headers: &header::HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

fn parse_answer(bytes: &[u8]) -> Result<String, Failure> {
    let response: ChatResponse = serde_json::from_slice(bytes)
        .map_err(|err| Failure::Malformed(format!("not a chat completion ({err})")))?;
    let content = response
        .choices
        .into_iter()
        .next()
        .and_then(|choice| choice.message)
        .and_then(|message| message.content)
        .ok_or_else(|| Failure::Malformed("no choices[0].message.content".to_owned()))?;
    if content.trim().is_empty() {
        return Err(Failure::Malformed("an empty answer".to_owned()));
    }
    Ok(content.trim().to_owned())
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: Vec<ChatMessage<'a>>,
    max_tokens: u32,
    temperature: f32,
    stream: bool,
}

#[derive(Serialize)]
struct ChatMessage<'a> {
    role: &'static str,
    content: Cow<'a, str>,
}

#[derive(Deserialize)]
struct ChatResponse {
    #[serde(default)]
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: Option<ChoiceMessage>,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    content: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = header::HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(
            retry_after(&headers),
            Some(Duration::ZERO),
            "a past date: no wait"
        );
        headers.insert(header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn answers_are_read_leniently_and_empty_ones_refused() {
        let ok = br#"{"choices":[{"message":{"role":"assistant","content":" Hi! "}}]}"#;
        assert_eq!(parse_answer(ok).unwrap(), "Hi!");
        for bad in [
            &b"not json"[..],
            br#"{"choices":[]}"#,
            br#"{"choices":[{"message":{"content":null}}]}"#,
            br#"{"choices":[{"message":{"content":"  "}}]}"#,
            br#"{"error":"x"}"#,
        ] {
            let failure = parse_answer(bad).unwrap_err();
            assert!(matches!(failure, Failure::Malformed(_)));
            assert!(failure.retryable());
        }
    }

    #[test]
    fn only_key_and_request_refusals_are_final() {
        assert!(!Failure::Unauthorized(StatusCode::UNAUTHORIZED).retryable());
        assert!(!Failure::Refused(StatusCode::NOT_FOUND, String::new()).retryable());
        assert!(Failure::RateLimited(None).retryable());
        assert!(Failure::Server(StatusCode::BAD_GATEWAY, String::new()).retryable());
        assert!(Failure::Timeout(Duration::from_secs(1)).retryable());
        let message = Failure::Unauthorized(StatusCode::FORBIDDEN).to_string();
        assert!(message.contains("LLM_API_KEY"), "{message}");
    }
}
