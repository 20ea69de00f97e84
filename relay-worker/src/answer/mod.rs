//! Where answers come from, chosen at start by `ANSWER_SOURCE`: Phase 1's placeholder, the
//! documents of a knowledge folder (no model), or an OpenAI-compatible chat model. One
//! [`AnswerSource`] implements [`Responder`] for all three by matching on an enum, so the
//! worker stays generic over one concrete type and nothing is boxed.
//!
//! Every answer is capped at `ANSWER_MAX_CHARS` here, whatever its source; a final `Sources:`
//! line survives the cut. Replies say whether they rest on the documents (`grounded`) and
//! which sections they quote or cite (`sources`).
//!
//! Streaming: with [`Responder::respond_streaming`] the `llm` source hands out the pieces of
//! its answer as the model writes them (`LLM_STREAM`); the others cannot stream and answer as
//! with [`Responder::respond`]. The reply is the whole answer either way, capped as above; the
//! pieces are a preview of the model's text (before citations are renumbered and the cap).

mod citations;
mod embeddings;
mod in_flight;
mod knowledge;
mod llm;
mod passages;
mod question;
mod search;
mod settings;
mod small_talk;
mod terms;
mod vector_cache;

use std::sync::Arc;

use common::{
    metrics::Registry,
    payload::{RelayReply, RelayRequest},
};

pub use citations::NOT_COVERED;
pub use embeddings::{Embedder, EmbeddingError};
pub use knowledge::{Hit, Knowledge, KnowledgeError};
pub use llm::{LlmAnswers, INTAKE_HEADING, MEMBER_NAME, STAFF_NAME};
pub use passages::Passage;
pub use settings::{
    AnswerSettings, KnowledgeSettings, LlmSettings, SourceKind, DEFAULT_MIN_COVERAGE,
    DEFAULT_SYSTEM_PROMPT,
};
pub use small_talk::SmallTalk;

use crate::{metrics::AnswerMetrics, Pieces, Placeholder, Responder, ResponderError};

/// The answer when the documents have nothing on the question.
pub const STAFF_WILL_FOLLOW_UP: &str = "I could not find this in our documentation. \
A member of staff will follow up here.";
/// The first line of an answer from the documents.
pub const FROM_THE_DOCUMENTS: &str = "Here is what our documentation says:";
/// What ends an answer cut at `ANSWER_MAX_CHARS`.
pub const ELLIPSIS: char = '…';
/// What starts the last line of a model's answer that cites the documents.
pub const SOURCES_LINE: &str = "Sources: ";

/// The answer source could not start.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// Reading or indexing `KNOWLEDGE_DIR` failed.
    #[error("KNOWLEDGE_DIR: {0}")]
    Knowledge(#[from] KnowledgeError),
    /// The HTTP client of the model could not be built (TLS setup).
    #[error("cannot set up the HTTP client for LLM_BASE_URL: {0}")]
    Http(#[from] reqwest::Error),
}

/// The answer source of one worker: see the module documentation.
#[derive(Debug)]
pub struct AnswerSource {
    kind: Kind,
    max_chars: usize,
    metrics: AnswerMetrics,
}

#[derive(Debug)]
enum Kind {
    Placeholder(Placeholder),
    Knowledge(Arc<Knowledge>),
    Llm {
        model: LlmAnswers,
        knowledge: Option<Arc<Knowledge>>,
    },
}

impl AnswerSource {
    /// Starts the source `settings` choose: indexes the knowledge folder (and starts its
    /// rescans) and sets up the model's client.
    pub async fn start(settings: &AnswerSettings) -> Result<Self, AnswerError> {
        let knowledge = match (&settings.source, &settings.knowledge) {
            (SourceKind::Placeholder, _) | (_, None) => None,
            (_, Some(knowledge)) => Some(Arc::new(Knowledge::open(knowledge).await?)),
        };
        let metrics = AnswerMetrics::default();
        let kind = match (settings.source, knowledge, &settings.llm) {
            (SourceKind::Knowledge, Some(knowledge), _) => Kind::Knowledge(knowledge),
            (SourceKind::Llm, knowledge, Some(llm)) => Kind::Llm {
                model: LlmAnswers::new(llm.clone(), knowledge.clone(), metrics.clone())?,
                knowledge,
            },
            // Settings::load never yields these: knowledge without a folder, llm without a model.
            _ => Kind::Placeholder(Placeholder),
        };
        tracing::info!(
            source = kind.name(),
            max_chars = settings.max_chars,
            "answer source ready"
        );
        Ok(Self {
            kind,
            max_chars: settings.max_chars,
            metrics,
        })
    }

    /// The knowledge base, when the source uses one.
    pub fn knowledge(&self) -> Option<&Knowledge> {
        match &self.kind {
            Kind::Knowledge(knowledge) => Some(knowledge),
            Kind::Llm { knowledge, .. } => knowledge.as_deref(),
            Kind::Placeholder(_) => None,
        }
    }
}

impl Kind {
    fn name(&self) -> &'static str {
        match self {
            Self::Placeholder(_) => "placeholder",
            Self::Knowledge(_) => "knowledge",
            Self::Llm { .. } => "llm",
        }
    }
}

impl Responder for AnswerSource {
    async fn respond(&self, request: RelayRequest) -> Result<RelayReply, ResponderError> {
        self.answer(request, None).await
    }

    /// Only the model streams; the other sources answer at once, as with [`Self::respond`].
    async fn respond_streaming(
        &self,
        request: RelayRequest,
        pieces: Pieces,
    ) -> Result<RelayReply, ResponderError> {
        self.answer(request, Some(pieces)).await
    }

    fn source(&self) -> &'static str {
        self.kind.name()
    }

    fn register_metrics(&self, registry: &mut Registry) {
        self.metrics.register(registry);
    }
}

impl AnswerSource {
    async fn answer(
        &self,
        request: RelayRequest,
        pieces: Option<Pieces>,
    ) -> Result<RelayReply, ResponderError> {
        let reply = match &self.kind {
            Kind::Placeholder(placeholder) => placeholder.respond(request).await?,
            Kind::Knowledge(knowledge) => {
                let message = request.content.as_str();
                match SmallTalk::of(message) {
                    Some(talk) => RelayReply::new(talk.reply()),
                    None => {
                        let context = request.ticket.as_ref().map(|t| t.search_text());
                        let hits = knowledge.ask(message, context.as_deref()).await;
                        if hits.is_empty() {
                            self.metrics.abstained();
                        }
                        from_documents(&hits, self.max_chars)
                    }
                }
            }
            // Boxed: held inline, the model's kilobytes of state would size the future of
            // every request, whichever source answers it, and the worker moves each request's
            // future into its box whole.
            Kind::Llm { model, .. } => match pieces {
                Some(pieces) => Box::pin(model.respond_streaming(request, pieces)).await?,
                None => Box::pin(model.respond(request)).await?,
            },
        };
        // The bot keeps the source with each answer's feedback, to tell the sources apart. The
        // placeholder's reply stays `{"reply": ...}`, byte for byte what it always was.
        let reply = match &self.kind {
            Kind::Placeholder(_) => reply,
            kind => RelayReply {
                source: Some(kind.name().to_owned()),
                ..reply
            },
        };
        Ok(capped(reply, self.max_chars))
    }
}

/// The answer of the `knowledge` source: the sections with their sources, as many as fit in
/// `max_chars` (the first always, cut if it must be), or the staff message.
pub fn from_documents(hits: &[Hit], max_chars: usize) -> RelayReply {
    if hits.is_empty() {
        return RelayReply::ungrounded(STAFF_WILL_FOLLOW_UP);
    }
    let mut answer = FROM_THE_DOCUMENTS.to_owned();
    let mut sources = Vec::with_capacity(hits.len());
    for hit in hits {
        let source = hit.passage.source();
        let quoted = format!("\n\n**{source}**\n{}", hit.passage.text);
        let fits = answer.chars().count() + quoted.chars().count() <= max_chars;
        if !fits && !sources.is_empty() {
            break;
        }
        answer.push_str(&quoted);
        sources.push(source);
    }
    RelayReply::grounded(answer, sources)
}

/// `reply` with its text cut at `max_chars` (see [`cap`]), keeping a final [`SOURCES_LINE`]
/// whole when the reply has sources and the line leaves room for some text.
pub fn capped(reply: RelayReply, max_chars: usize) -> RelayReply {
    let RelayReply {
        reply: text,
        grounded,
        sources,
        source,
    } = reply;
    // Looked for only when there are sources: most replies have none, and the search costs an
    // allocation and a scan of the whole text.
    let footer_at = if sources.is_empty() {
        None
    } else {
        text.rfind(&format!("\n\n{SOURCES_LINE}"))
    };
    let text = match footer_at {
        Some(at) if text[at..].chars().count() < max_chars / 2 => {
            let footer = &text[at..];
            let mut body = cap(text[..at].to_owned(), max_chars - footer.chars().count());
            body.push_str(footer);
            body
        }
        _ => cap(text, max_chars),
    };
    RelayReply {
        reply: text,
        grounded,
        sources,
        source,
    }
}

/// `text` cut to at most `max_chars` characters, the last being [`ELLIPSIS`] when it was cut.
pub fn cap(text: String, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text,
        Some(_) => {
            let keep = max_chars.saturating_sub(1);
            let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
            let mut cut = text[..end].trim_end().to_owned();
            cut.push(ELLIPSIS);
            cut
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_cut_on_a_character_boundary_with_an_ellipsis() {
        assert_eq!(cap("short".to_owned(), 5), "short");
        assert_eq!(cap("abcdef".to_owned(), 5), "abcd…");
        assert_eq!(cap("ééééé é".to_owned(), 6), "ééééé…");
        assert_eq!(
            cap("ab  cdef".to_owned(), 5),
            "ab…",
            "no space before the ellipsis"
        );
        assert_eq!(cap("abc".to_owned(), 1), "…");
        assert_eq!(cap("a".repeat(5000), 4000).chars().count(), 4000);
    }

    #[test]
    fn no_passage_means_staff_will_follow_up_not_grounded() {
        assert_eq!(
            from_documents(&[], 4_000),
            RelayReply::ungrounded(STAFF_WILL_FOLLOW_UP)
        );
    }

    fn hit(heading: &str, text: &str) -> Hit {
        Hit {
            known_coverage: 1.0,
            words: 1,
            passage: Passage {
                document: "billing.md".to_owned(),
                heading: Some(heading.to_owned()),
                heading_path: vec![heading.to_owned()],
                text: text.to_owned(),
            },
            score: 1.0,
            coverage: 1.0,
            similarity: None,
            rank: 1.0,
        }
    }

    #[test]
    fn quoted_sections_are_the_sources_and_only_those_that_fit() {
        let hits = [
            hit("Refunds", "Within 14 days."),
            hit("Invoices", &"x".repeat(500)),
        ];
        let reply = from_documents(&hits, 4_000);
        assert_eq!(reply.grounded, Some(true));
        assert_eq!(
            reply.sources,
            ["billing.md › Refunds", "billing.md › Invoices"]
        );
        assert!(reply.reply.starts_with(FROM_THE_DOCUMENTS));
        assert!(reply
            .reply
            .contains("**billing.md › Refunds**\nWithin 14 days."));
        let short = from_documents(&hits, 200);
        assert_eq!(short.sources, ["billing.md › Refunds"], "{}", short.reply);
    }

    #[tokio::test]
    async fn the_future_of_a_request_does_not_hold_the_models_state() {
        let settings = AnswerSettings::load(&common::config::ConfigSource::from_vars([
            ("ANSWER_SOURCE", "llm"),
            ("LLM_BASE_URL", "http://127.0.0.1:9/v1"),
            ("LLM_MODEL", "m"),
        ]))
        .unwrap();
        let source = AnswerSource::start(&settings).await.unwrap();
        let Kind::Llm { model, .. } = &source.kind else {
            panic!("an llm source")
        };
        let request = RelayRequest::parse(
            br#"{"guild_id":"1","channel_id":"2","user_id":"3","content":"hi","message_id":"4"}"#,
        )
        .unwrap();
        // Not run: only their sizes are compared. The worker moves each request's future into
        // its box whole, so the model's state must sit behind a box of its own.
        let whole = std::mem::size_of_val(&source.respond(request.clone()));
        let model = std::mem::size_of_val(&model.respond(request));
        assert!(whole < model, "{whole} bytes hold the model's {model}");
    }

    #[test]
    fn a_cut_keeps_the_sources_line() {
        let text = format!(
            "{}\n\n{SOURCES_LINE}billing.md › Refunds",
            "word ".repeat(100)
        );
        let reply = RelayReply::grounded(text, vec!["billing.md › Refunds".to_owned()]);
        let cut = capped(reply.clone(), 100);
        assert!(cut.reply.chars().count() <= 100, "{}", cut.reply);
        assert!(
            cut.reply.ends_with("…\n\nSources: billing.md › Refunds"),
            "{}",
            cut.reply
        );
        assert_eq!(
            (cut.grounded, &cut.sources),
            (reply.grounded, &reply.sources)
        );
        let tiny = capped(reply, 20);
        assert!(
            tiny.reply.chars().count() <= 20,
            "no room for the line: a plain cut"
        );
        assert!(!tiny.reply.contains(SOURCES_LINE));
    }
}
