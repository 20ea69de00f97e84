//! The harness of the answer-source tests: a worker with a real [`AnswerSource`] on the test's
//! own nats-server, requests with history, the fixture documents and the settings around them.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use common::{
    payload::{HistoryEntry, HistoryRole, MessageContent, RelayReply, RelayRequest, Snowflake},
    relay_client::RelayClient,
    test_util::NatsServer,
};
use relay_worker::{
    answer::{
        AnswerSettings, AnswerSource, KnowledgeSettings, LlmSettings, SourceKind,
        DEFAULT_MIN_COVERAGE, STAFF_WILL_FOLLOW_UP,
    },
    test_util::{sample_request_saying, spawn_worker, SUBJECT},
    RunningWorker,
};

/// How long a test's relay request waits for the worker (long: the worker's own timeouts are
/// what the tests exercise).
pub const RELAY_TIMEOUT: Duration = Duration::from_secs(30);

/// A worker with its answer source, and a client to ask it.
pub struct TestWorker {
    _nats: NatsServer,
    pub relay: RelayClient,
    _worker: RunningWorker,
}

/// Starts the source of `settings` in a worker on a fresh nats-server.
pub async fn spawn(settings: &AnswerSettings) -> TestWorker {
    let source = AnswerSource::start(settings)
        .await
        .expect("the source starts");
    spawn_source(source).await
}

/// Starts `source` in a worker on a fresh nats-server.
pub async fn spawn_source(source: AnswerSource) -> TestWorker {
    let nats = NatsServer::start();
    let worker = spawn_worker(&nats.settings(), source).await;
    let client = async_nats::connect(nats.url()).await.expect("connects");
    TestWorker {
        relay: RelayClient::new(client, SUBJECT, RELAY_TIMEOUT),
        _nats: nats,
        _worker: worker,
    }
}

/// The committed fixture documents.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/knowledge")
}

/// Knowledge settings for `dir`, with the defaults and no rescans.
pub fn knowledge(dir: &Path) -> KnowledgeSettings {
    KnowledgeSettings {
        dir: dir.to_path_buf(),
        top_k: 3,
        min_coverage: DEFAULT_MIN_COVERAGE,
        min_score: 0.0,
        reload_every: None,
        embeddings: None,
        embeddings_cache: None,
    }
}

/// The sentence-embedding model: `KNOWLEDGE_EMBEDDINGS`, as `scripts/test` sets it from
/// `scripts/model-bin`.
pub fn model_dir() -> PathBuf {
    let dir = std::env::var_os("KNOWLEDGE_EMBEDDINGS")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .expect(
            "KNOWLEDGE_EMBEDDINGS names no model folder: run the tests with scripts/test, or \
             export KNOWLEDGE_EMBEDDINGS=$(scripts/model-bin)",
        );
    assert!(
        dir.join("model.safetensors").is_file(),
        "KNOWLEDGE_EMBEDDINGS={}: no model.safetensors there (scripts/model-bin installs it)",
        dir.display()
    );
    dir
}

/// `ANSWER_SOURCE=knowledge` on `dir`.
pub fn knowledge_source(dir: &Path) -> AnswerSettings {
    AnswerSettings {
        source: SourceKind::Knowledge,
        knowledge: Some(knowledge(dir)),
        ..AnswerSettings::placeholder()
    }
}

/// `ANSWER_SOURCE=llm` against the fake at `base_url`, answers within `timeout`.
pub fn llm_source(base_url: &str, timeout: Duration) -> AnswerSettings {
    AnswerSettings {
        source: SourceKind::Llm,
        llm: Some(LlmSettings {
            base_url: format!("{base_url}/").parse().unwrap(),
            api_key: Some("sk-test-key".to_owned().into()),
            model: "test-model".to_owned(),
            system_prompt: "You are the test assistant.".to_owned(),
            max_tokens: 123,
            temperature: 0.5,
            timeout,
            stream: true,
        }),
        ..AnswerSettings::placeholder()
    }
}

/// A request saying `content`, for message `message_id`.
pub fn request(content: &str, message_id: u64) -> RelayRequest {
    let mut request = sample_request_saying(content);
    request.message_id = Some(Snowflake::from(message_id));
    request
}

/// A history entry.
pub fn said(role: HistoryRole, author: u64, content: &str) -> HistoryEntry {
    HistoryEntry {
        role,
        author_id: Snowflake::from(author),
        content: MessageContent::parse(content.to_owned()).unwrap(),
    }
}

/// Asserts that `reply` is the staff follow-up: not grounded, no sources.
pub fn assert_staff_follows_up(reply: &RelayReply) {
    assert_eq!(reply.reply, STAFF_WILL_FOLLOW_UP);
    assert_eq!(reply.grounded, Some(false));
    assert!(reply.sources.is_empty(), "{reply:?}");
}
