//! Where answers come from, chosen at start by `ANSWER_SOURCE`: Phase 1's placeholder, the
//! documents of a knowledge folder (no model), or an OpenAI-compatible chat model. One
//! [`AnswerSource`] implements [`Responder`] for all three by matching on an enum, so the
//! worker stays generic over one concrete type and nothing is boxed.
//!
//! Every answer is capped at `ANSWER_MAX_CHARS` here, whatever its source.
//!
//! Streaming later: [`Responder::respond_stream`] has a default (the whole answer as one
//! piece); a streaming source overrides it, and [`AnswerSource`] forwards it per variant, so
//! callers written against the trait need no change.

mod in_flight;
mod knowledge;
mod llm;
mod passages;
mod settings;

use std::sync::Arc;

use common::payload::{RelayReply, RelayRequest};

pub use knowledge::{Hit, Knowledge, KnowledgeError};
pub use llm::{LlmAnswers, STAFF_LABEL};
pub use passages::Passage;
pub use settings::{
    AnswerSettings, KnowledgeSettings, LlmSettings, SourceKind, DEFAULT_SYSTEM_PROMPT,
};

use crate::{Placeholder, Responder, ResponderError};

/// The answer when the documents have nothing on the question.
pub const STAFF_WILL_FOLLOW_UP: &str = "I could not find this in our documentation. \
A member of staff will follow up here.";
/// The first line of an answer from the documents.
pub const FROM_THE_DOCUMENTS: &str = "Here is what our documentation says:";
/// What ends an answer cut at `ANSWER_MAX_CHARS`.
pub const ELLIPSIS: char = '…';

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
        let kind = match (settings.source, knowledge, &settings.llm) {
            (SourceKind::Knowledge, Some(knowledge), _) => Kind::Knowledge(knowledge),
            (SourceKind::Llm, knowledge, Some(llm)) => Kind::Llm {
                model: LlmAnswers::new(llm.clone(), knowledge.clone())?,
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
        let reply = match &self.kind {
            Kind::Placeholder(placeholder) => placeholder.respond(request).await?,
            // A search takes well under a millisecond (see answer_bench): no blocking pool.
            Kind::Knowledge(knowledge) => {
                RelayReply::new(from_documents(&knowledge.answer(request.content.as_str())))
            }
            Kind::Llm { model, .. } => model.respond(request).await?,
        };
        Ok(RelayReply::new(cap(reply.reply, self.max_chars)))
    }
}

/// The answer of the `knowledge` source: the passages with their sources, or the staff message.
pub fn from_documents(hits: &[Hit]) -> String {
    if hits.is_empty() {
        return STAFF_WILL_FOLLOW_UP.to_owned();
    }
    let mut answer = FROM_THE_DOCUMENTS.to_owned();
    for hit in hits {
        answer.push_str(&format!(
            "\n\n**{}**\n{}",
            hit.passage.source(),
            hit.passage.text
        ));
    }
    answer
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
    fn no_passage_means_staff_will_follow_up() {
        assert_eq!(from_documents(&[]), STAFF_WILL_FOLLOW_UP);
    }
}
