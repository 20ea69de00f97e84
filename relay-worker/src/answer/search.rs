//! The index of the documents' sections and how a question is answered from it: ranking (BM25),
//! the grounding gate (does the best section cover the question?), and what is quoted.
//!
//! **The unit is a section.** Each heading's passages are one tantivy document, so one heading
//! is ranked, judged and quoted once, and the words of a question spread over two paragraphs
//! of one section count together. Its heading path is indexed twice, in the text and alone in
//! a field searched at [`HEADING_BOOST`]: a heading that names the topic is strong evidence.
//!
//! **The gate.** BM25 scores have no fixed scale (they grow with the number of sections and
//! shrink with their length), so no absolute cut carries from one set of documents to another.
//! What carries is a share: the *coverage* of a section is the part of the question's weight
//! that it contains, each word weighing its inverse document frequency (BM25's own IDF, from
//! tantivy's term statistics). Common words weigh little, and so do the words common in
//! English, whatever the documents: in a few pages an everyday word ("year", "win", "water")
//! can be as rare as the topic, and an off-topic question ("who won the champions league last
//! year") then seemed covered. A word among the 300 most frequent in English keeps half its
//! weight, and the next ones, up to about 3,000, keep more the rarer they are
//! ([`terms::commonness`]). A word of the support vocabulary counts once, found in any of its
//! forms, and weighs as its most widespread form. A word the documents never use (and that is
//! not a typo of one, see [`super::terms`]) is in no section, and weighs halfway between the
//! question's average known word and the rarest document word: it may be the topic the
//! documents lack ("What's your favourite *pizza* topping?", whose other words are common) or
//! a word of chat the search does not know ("does premium make you *stronger* in pvp", whose
//! other words are specific). Weighing it as the rarest word let one slang word sink a
//! documented question; as an average one, an off-topic question with one common document word
//! got through. Sections are ranked by BM25 times coverage ([`Hit::rank`]). The documents
//! answer when the best section's coverage reaches `KNOWLEDGE_MIN_COVERAGE` (default 0.35)
//! and its score reaches `KNOWLEDGE_MIN_SCORE` (an absolute floor, 0 by default). Further
//! sections are quoted, up to `KNOWLEDGE_TOP_K`, only when they pass the same gate and rank at
//! least [`RUNNER_UP_SHARE`] of the best: a runner-up far behind is noise.
//!
//! **Long questions.** People tell their ticket with its story ("lost my job a few months ago
//! and im on benefits now, is there any cheaper option, i rely on the bikes to get to
//! interviews"): the words of the story are words the documents never use, and they sink the
//! coverage of the section that answers. So a section that contains at least
//! [`LONG_QUESTION_WORDS`] of the question's words, and [`LONG_QUESTION_KNOWN_COVERAGE`] of the
//! weight of the words the documents do use, also passes, with a coverage down to
//! [`LONG_QUESTION_SHARE`] of the minimum. An off-topic question rarely has three words the
//! documents use, all in one section.
//!
//! **Meaning as well as words.** Words miss a question put in other words ("my card expired,
//! how do i put a new one in" asks about *updating your payment method*; "on a train with no
//! signal" about *offline lessons*), and a synonym list never ends. With
//! `KNOWLEDGE_EMBEDDINGS` set, every section and every question is also a sentence embedding
//! ([`super::embeddings`]), and the [`NEAREST`] sections by cosine join BM25's candidates. A
//! section is then ranked by its similarity plus a little of its lexical rank
//! ([`hybrid_rank`]). The best of the first [`SIMILAR_GATED`] sections that passes answers: it
//! is [`SIMILAR_ALONE`] to the question, or passes the lexical gate below and is at least
//! [`SIMILAR_WITH_WORDS`], or is [`SIMILAR_NEAR`] and nearly passes that gate
//! ([`Gate::passes`]). A model's similarity, unlike a BM25 score, has one scale for every set
//! of documents; short forms it never learnt ("forgot pw") still answer by their words. On the
//! labelled sets this answered more questions rightly and left fewer to staff (the README's
//! quality figures); without the model, everything below decides alone.
//!
//! **Whether something is offered.** "Do you sell gift vouchers?" shares *vouchers* with a
//! ferry's section on meal vouchers during a delay, and is close to it in meaning: that section
//! is about the topic, and does not answer. Documents answer such a question only by naming
//! the thing asked for, so a question that asks whether something is offered or exists
//! ([`question::asks_whether_offered`]) goes to staff when less than [`OFFERED_KNOWN_SHARE`] of
//! its weight is in words the documents use, however close a section is in meaning or words.
//! On the development set this left 9 more of its 80 off-topic questions to staff and cost
//! none of its 200 documented ones. The price: such a question put in a word the documents
//! lack ("a discount for pensioners" where they say *seniors*) goes to staff too.
//!
//! **The ticket's context.** A ticket opened under a topic carries the topic and the member's
//! form answers; their words join the query at [`CONTEXT_BOOST`], so that of two sections the
//! question fits alike, the one about the topic ranks first. They never count in the coverage:
//! the gate still asks whether the documents answer the member's *question*, and a topic cannot
//! turn an off-topic question into a grounded answer, nor a question with no word the documents
//! know into a search.
//!
//! **The quote** of a section is its passages that contain the most of the question (those
//! with at least half the best passage's weight, at most [`QUOTED_PASSAGES`]), in document
//! order; sections sharing a source (a text file's paragraphs) are quoted under it once.

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};

use rayon::prelude::*;

use tantivy::{
    collector::TopDocs,
    query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery},
    schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST},
    DocAddress, DocSet, Index, IndexReader, ReloadPolicy, Searcher, TantivyDocument, Term,
};

use super::{
    embeddings::{self, Embedder, EmbeddingError},
    passages::{self, Passage, Section},
    question,
    terms::{self, Vocabulary},
    vector_cache::{self, TextDigest, VectorCache},
};

/// How much more a word in a section's headings counts than one in its text.
pub const HEADING_BOOST: f32 = 1.0;
/// How much a word of the ticket's topic or form answers counts next to one of the question.
pub const CONTEXT_BOOST: f32 = 0.3;
/// A section with at least this many of the question's words...
pub const LONG_QUESTION_WORDS: usize = 3;
/// ...and at least this share of the weight of its words the documents use...
pub const LONG_QUESTION_KNOWN_COVERAGE: f32 = 0.6;
/// ...answers with a coverage down to this share of `KNOWLEDGE_MIN_COVERAGE`.
pub const LONG_QUESTION_SHARE: f32 = 0.6;
/// Sections ranked by BM25 before the gate looks at them.
const CANDIDATES: usize = 10;
/// Sections nearest the question's embedding that join the candidates.
const NEAREST: usize = 5;
/// How much the lexical match counts next to the embeddings' similarity in [`hybrid_rank`].
pub const LEXICAL_WEIGHT: f32 = 0.2;
/// With embeddings, a section at least this similar to the question answers on its own...
pub const SIMILAR_ALONE: f32 = 0.45;
/// ...and one at least this similar answers when it also passes the lexical gate: the model
/// vetoes only words that meet by chance in a section about something else.
pub const SIMILAR_WITH_WORDS: f32 = 0.1;
/// A section nearly similar enough alone, at least this similar, answers with a coverage down
/// to [`LONG_QUESTION_SHARE`] of the minimum: meaning and words each fall a little short of
/// their own bar, and agree.
pub const SIMILAR_NEAR: f32 = 0.42;
/// The share of its weight a question asking whether something is offered must have in words
/// the documents use to be answered: see the module documentation.
pub const OFFERED_KNOWN_SHARE: f32 = 0.7;
/// With embeddings, how many of the best-ranked sections the gate looks at for an answer.
pub const SIMILAR_GATED: usize = 3;
/// A runner-up section is quoted only when its rank is at least this share of the best one's...
pub const RUNNER_UP_SHARE: f32 = 0.6;
/// ...or this share with embeddings, whose ranks lie closer together (similarities of a
/// question to the sections of one help centre mostly fall between 0.2 and 0.7).
pub const SIMILAR_RUNNER_UP_SHARE: f32 = 0.75;
/// Most passages quoted from one section.
pub const QUOTED_PASSAGES: usize = 2;
/// The index writer's memory: tantivy's minimum per thread; one thread.
const WRITER_MEMORY: usize = 15_000_000;
const TOKENIZER: &str = "knowledge";

/// What makes the documents an answer: see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gate {
    /// `KNOWLEDGE_MIN_COVERAGE`: the share of the question's weight the best section must contain.
    pub min_coverage: f32,
    /// `KNOWLEDGE_MIN_SCORE`: the BM25 score it must reach.
    pub min_score: f32,
    /// `KNOWLEDGE_TOP_K`: most sections quoted.
    pub top_k: usize,
}

impl Gate {
    /// Whether `hit` answers the question: its embeddings' similarity when there are some,
    /// and its coverage (see the module documentation).
    pub fn passes(&self, hit: &Hit) -> bool {
        let covered = self.covers(hit) && hit.score >= self.min_score;
        match hit.similarity {
            Some(similarity) => {
                let nearly_covered = hit.coverage >= self.min_coverage * LONG_QUESTION_SHARE;
                similarity >= SIMILAR_ALONE
                    || (similarity >= SIMILAR_NEAR && nearly_covered)
                    || (similarity >= SIMILAR_WITH_WORDS && covered)
            }
            None => covered,
        }
    }

    /// Whether `hit` covers enough of the question: see the module documentation.
    pub fn covers(&self, hit: &Hit) -> bool {
        hit.coverage >= self.min_coverage
            || (hit.words >= LONG_QUESTION_WORDS
                && hit.known_coverage >= LONG_QUESTION_KNOWN_COVERAGE
                && hit.coverage >= self.min_coverage * LONG_QUESTION_SHARE)
    }
}

/// A section found for a question.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// What is quoted: the section's document and headings, and its passages that match best.
    pub passage: Passage,
    /// Its BM25 score for the question.
    pub score: f32,
    /// The share (0 to 1) of the question's weight it contains.
    pub coverage: f32,
    /// The share (0 to 1) of the weight of the question's words the documents use that it
    /// contains: [`Hit::coverage`] without the words no section has.
    pub known_coverage: f32,
    /// How many of the question's distinct words (a support-vocabulary entry counts once) it
    /// contains.
    pub words: usize,
    /// The cosine of the question's and the section's sentence embeddings, when the index has
    /// a model (`KNOWLEDGE_EMBEDDINGS`).
    pub similarity: Option<f32>,
    /// What sections are ranked by: see [`lexical_rank`] and [`hybrid_rank`].
    pub rank: f32,
}

/// The rank of a section without embeddings: the BM25 score times the coverage, so that of two
/// sections matching a question about as well, the one that covers more of it comes first.
pub fn lexical_rank(score: f32, coverage: f32) -> f32 {
    score * coverage
}

/// The rank of a section with embeddings: its similarity, plus [`LEXICAL_WEIGHT`] times its
/// lexical rank as a share of the best lexical rank among the candidates.
pub fn hybrid_rank(similarity: f32, lexical: f32, best_lexical: f32) -> f32 {
    similarity + LEXICAL_WEIGHT * share(lexical, best_lexical)
}

/// The sections of the documents, indexed.
pub struct SectionIndex {
    reader: IndexReader,
    fields: Fields,
    sections: Vec<Section>,
    vocabulary: Vocabulary,
    /// Each section's document address, by ordinal.
    addresses: Vec<DocAddress>,
    vectors: Option<Vectors>,
}

/// The sections' sentence embeddings, and the model that embeds questions.
struct Vectors {
    embedder: Arc<Embedder>,
    /// By section ordinal.
    sections: Vec<Vec<f32>>,
}

impl std::fmt::Debug for SectionIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SectionIndex")
            .field("sections", &self.sections.len())
            .field("words", &self.vocabulary.len())
            .finish()
    }
}

#[derive(Debug, Clone, Copy)]
struct Fields {
    /// Headings and text: what coverage and statistics are counted on.
    all: Field,
    /// The heading path alone, searched again with a boost.
    headings: Field,
    /// The section's position in `sections`.
    ordinal: Field,
}

/// A word of the question as searched.
#[derive(Debug, Clone, PartialEq)]
struct QueryTerm {
    /// The analysed forms of the word (or the document word it was corrected to), any of which
    /// a section may contain.
    forms: Vec<String>,
    /// Its inverse document frequency.
    weight: f32,
    /// Whether any section contains it.
    known: bool,
}

impl SectionIndex {
    /// Indexes `sections` in memory.
    pub fn new(sections: Vec<Section>) -> tantivy::Result<Self> {
        let searched = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqs),
        );
        let mut schema = Schema::builder();
        let fields = Fields {
            all: schema.add_text_field("all", searched.clone()),
            headings: schema.add_text_field("headings", searched),
            ordinal: schema.add_u64_field("ordinal", FAST),
        };
        let index = Index::create_in_ram(schema.build());
        index.tokenizers().register(TOKENIZER, terms::analyzer());
        let mut writer = index.writer_with_num_threads::<TantivyDocument>(1, WRITER_MEMORY)?;
        for (ordinal, section) in sections.iter().enumerate() {
            let headings = section.heading_path.join("\n");
            let mut doc = TantivyDocument::default();
            doc.add_text(fields.all, &headings);
            doc.add_text(fields.all, terms::joined_compounds(&headings));
            for passage in &section.passages {
                doc.add_text(fields.all, passage);
                doc.add_text(fields.all, terms::joined_compounds(passage));
            }
            doc.add_text(fields.headings, &headings);
            doc.add_text(fields.headings, terms::joined_compounds(&headings));
            doc.add_u64(fields.ordinal, ordinal as u64);
            writer.add_document(doc)?;
        }
        writer.commit()?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let searcher = reader.searcher();
        let vocabulary = vocabulary(&searcher, fields.all)?;
        let mut addresses = vec![DocAddress::new(0, 0); sections.len()];
        for (segment_ord, segment) in searcher.segment_readers().iter().enumerate() {
            let ordinals = segment.fast_fields().u64("ordinal")?;
            for doc_id in 0..segment.max_doc() {
                if let Some(slot) = ordinals
                    .first(doc_id)
                    .and_then(|ordinal| addresses.get_mut(ordinal as usize))
                {
                    *slot = DocAddress::new(segment_ord as u32, doc_id);
                }
            }
        }
        terms::prepare();
        Ok(Self {
            reader,
            fields,
            sections,
            vocabulary,
            addresses,
            vectors: None,
        })
    }

    /// Embeds every section with `embedder`, which then embeds each question too: sections
    /// are ranked and judged by their meaning as well as their words (see the module
    /// documentation).
    ///
    /// A section whose text is unchanged since `previous` (the index this one replaces) keeps
    /// its vector, and so does one whose text `cache` holds (the vectors of an earlier
    /// process): a section costs the model tens of milliseconds, and a rescan usually finds
    /// one file changed among many.
    ///
    /// Returns how many sections the model embedded.
    pub fn embed(
        &mut self,
        embedder: Arc<Embedder>,
        previous: Option<&SectionIndex>,
        cache: Option<&VectorCache>,
    ) -> Result<usize, EmbeddingError> {
        let known: BTreeMap<TextDigest, &[f32]> = previous
            .filter(|index| {
                let vectors = index.vectors.as_ref();
                vectors.is_some_and(|v| Arc::ptr_eq(&v.embedder, &embedder))
            })
            .and_then(SectionIndex::vectors_by_text)
            .unwrap_or_default();
        let embedded = AtomicUsize::new(0);
        // One section per core at a time: the model's matrix products barely use a second
        // core for one text, so sections side by side index about twice as fast on two.
        let sections = self
            .sections
            .par_iter()
            .map(|section| {
                let text = embedded_text(section);
                let key = vector_cache::digest(&text);
                let kept = known.get(&key).copied();
                match kept.or_else(|| cache?.get(&key).map(Vec::as_slice)) {
                    Some(vector) => Ok(vector.to_vec()),
                    None => {
                        embedded.fetch_add(1, Ordering::Relaxed);
                        embedder.embed(&text)
                    }
                }
            })
            .collect::<Result<_, _>>()?;
        self.vectors = Some(Vectors { embedder, sections });
        Ok(embedded.into_inner())
    }

    /// Each section's vector by the digest of the text it was embedded from (a text two
    /// sections share, once), in the digests' order; `None` before [`SectionIndex::embed`].
    pub fn vectors_by_text(&self) -> Option<BTreeMap<TextDigest, &[f32]>> {
        let vectors = self.vectors.as_ref()?;
        let digests = self
            .sections
            .iter()
            .map(|s| vector_cache::digest(&embedded_text(s)));
        Some(
            digests
                .zip(vectors.sections.iter().map(Vec::as_slice))
                .collect(),
        )
    }

    /// Whether questions are embedded (see [`SectionIndex::embed`]).
    pub fn embedded(&self) -> bool {
        self.vectors.is_some()
    }

    /// The sections that answer `question` under `gate`, best first, each source once; none
    /// when the documents do not cover it.
    #[cfg(test)]
    pub fn answer(&self, question: &str, gate: &Gate) -> tantivy::Result<Vec<Hit>> {
        self.answer_in(question, None, gate)
    }

    /// [`SectionIndex::answer`], ranked with the words of the ticket's `context` too (see
    /// the module documentation); the gate looks at the question alone.
    pub fn answer_in(
        &self,
        question: &str,
        context: Option<&str>,
        gate: &Gate,
    ) -> tantivy::Result<Vec<Hit>> {
        let searcher = self.reader.searcher();
        let terms = self.query_terms(&searcher, question)?;
        // Decided before the search, which embeds the question (milliseconds).
        if question::asks_whether_offered(question) && known_share(&terms) < OFFERED_KNOWN_SHARE {
            return Ok(Vec::new());
        }
        let ranked = self.ranked(&searcher, question, &terms, context, CANDIDATES)?;
        Ok(select(ranked, gate))
    }

    /// The best sections for `question`, best first, whatever their coverage: the
    /// [`CANDIDATES`] (at least `limit`) best by BM25, ranked again by [`Hit::rank`], then cut
    /// to `limit`.
    pub fn search(&self, question: &str, limit: usize) -> tantivy::Result<Vec<Hit>> {
        self.search_in(question, None, limit)
    }

    fn search_in(
        &self,
        question: &str,
        context: Option<&str>,
        limit: usize,
    ) -> tantivy::Result<Vec<Hit>> {
        let searcher = self.reader.searcher();
        let terms = self.query_terms(&searcher, question)?;
        self.ranked(&searcher, question, &terms, context, limit)
    }

    /// [`SectionIndex::search_in`] with the question's words already looked up.
    fn ranked(
        &self,
        searcher: &Searcher,
        question: &str,
        terms: &[QueryTerm],
        context: Option<&str>,
        limit: usize,
    ) -> tantivy::Result<Vec<Hit>> {
        let known: Vec<&QueryTerm> = terms.iter().filter(|t| t.known).collect();
        let similarities = self.similarities(question);
        if (known.is_empty() && similarities.is_none()) || limit == 0 {
            return Ok(Vec::new());
        }
        let total: f32 = terms.iter().map(|t| t.weight).sum();
        let total_known: f32 = known.iter().map(|t| t.weight).sum();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(known.len() * 2);
        // Every form of a word counts: a section that writes it in two (`Two-factor
        // authentication (2FA)`) is about it.
        for form in known.iter().flat_map(|term| &term.forms) {
            clauses.push((Occur::Should, self.term_query(self.fields.all, form)));
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    self.term_query(self.fields.headings, form),
                    HEADING_BOOST,
                )),
            ));
        }
        let context_terms = match context {
            Some(context) => self.query_terms(searcher, context)?,
            None => Vec::new(),
        };
        let asked = |form: &String| known.iter().any(|t| t.forms.contains(form));
        for form in context_terms
            .iter()
            .filter(|t| t.known)
            .flat_map(|t| &t.forms)
            .filter(|form| !asked(form))
        {
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    self.term_query(self.fields.all, form),
                    CONTEXT_BOOST,
                )),
            ));
        }
        let candidates = TopDocs::with_limit(limit.max(CANDIDATES));
        let mut top = if clauses.is_empty() {
            Vec::new()
        } else {
            searcher.search(&BooleanQuery::new(clauses), &candidates)?
        };
        if let Some(similarities) = &similarities {
            for ordinal in nearest(similarities, NEAREST) {
                let address = self.addresses[ordinal];
                if !top.iter().any(|(_, a)| *a == address) {
                    top.push((0.0, address));
                }
            }
        }
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let mut contained = Vec::with_capacity(known.len());
            for term in &known {
                for form in &term.forms {
                    if contains(
                        searcher,
                        &Term::from_field_text(self.fields.all, form),
                        address,
                    )? {
                        contained.push(*term);
                        break;
                    }
                }
            }
            let covered: f32 = contained.iter().map(|t| t.weight).sum();
            let Some((ordinal, section)) = self.section(searcher, address)? else {
                continue;
            };
            let coverage = share(covered, total);
            hits.push(Hit {
                passage: quote(section, &contained),
                score,
                coverage,
                known_coverage: share(covered, total_known),
                words: contained.len(),
                similarity: similarities.as_ref().map(|s| s[ordinal]),
                rank: lexical_rank(score, coverage),
            });
        }
        if similarities.is_some() {
            let best = hits.iter().map(|h| h.rank).fold(0.0_f32, f32::max);
            for hit in &mut hits {
                hit.rank = hybrid_rank(hit.similarity.unwrap_or(0.0), hit.rank, best);
            }
        }
        hits.sort_by(|a, b| b.rank.total_cmp(&a.rank));
        hits.truncate(limit);
        Ok(hits)
    }

    /// Sections indexed.
    pub fn sections(&self) -> usize {
        self.sections.len()
    }

    /// The source of every section, in document order (a text file's once per paragraph group).
    pub fn sources(&self) -> Vec<String> {
        self.sections
            .iter()
            .map(|section| passages::source(&section.document, section.heading.as_deref()))
            .collect()
    }

    fn section(
        &self,
        searcher: &Searcher,
        address: DocAddress,
    ) -> tantivy::Result<Option<(usize, &Section)>> {
        let ordinals = searcher
            .segment_reader(address.segment_ord)
            .fast_fields()
            .u64("ordinal")?;
        Ok(ordinals.first(address.doc_id).and_then(|ordinal| {
            let ordinal = ordinal as usize;
            self.sections.get(ordinal).map(|section| (ordinal, section))
        }))
    }

    /// The similarity of every section to `question`, by ordinal, when the index has
    /// embeddings; a question the model fails on is searched by its words alone.
    fn similarities(&self, question: &str) -> Option<Vec<f32>> {
        let vectors = self.vectors.as_ref()?;
        match vectors.embedder.embed(question) {
            Ok(asked) => Some(
                vectors
                    .sections
                    .iter()
                    .map(|section| embeddings::cosine(&asked, section))
                    .collect(),
            ),
            Err(err) => {
                tracing::warn!(error = %err, "cannot embed a question; searching its words alone");
                None
            }
        }
    }

    fn term_query(&self, field: Field, word: &str) -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(field, word),
            IndexRecordOption::WithFreqs,
        ))
    }

    /// The question's words, with their vocabulary forms or corrected when misspelt, and their
    /// weights.
    fn query_terms(&self, searcher: &Searcher, question: &str) -> tantivy::Result<Vec<QueryTerm>> {
        let sections = searcher.num_docs();
        let mut terms: Vec<QueryTerm> = Vec::new();
        for word in terms::question(question) {
            let mut forms = word.forms;
            let mut frequency = 0;
            for form in &forms {
                frequency = frequency.max(self.doc_freq(searcher, form)?);
            }
            if frequency == 0 && !word.listed && !terms::is_common(&forms[0]) {
                if let Some(corrected) = self.vocabulary.correct(&forms[0]) {
                    forms = vec![corrected.to_owned()];
                    frequency = self.doc_freq(searcher, &forms[0])?;
                }
            }
            if terms.iter().any(|t| t.forms[0] == forms[0]) {
                continue;
            }
            terms.push(QueryTerm {
                weight: idf(frequency.max(1), sections) * terms::commonness(&forms[0]),
                known: frequency > 0,
                forms,
            });
        }
        // Unknown words: see the module documentation.
        let known: Vec<f32> = terms.iter().filter(|t| t.known).map(|t| t.weight).collect();
        if !known.is_empty() {
            let average = known.iter().sum::<f32>() / known.len() as f32;
            let unknown = (average + idf(1, sections)) / 2.0;
            for term in terms.iter_mut().filter(|t| !t.known) {
                term.weight = unknown;
            }
        }
        Ok(terms)
    }

    fn doc_freq(&self, searcher: &Searcher, word: &str) -> tantivy::Result<u64> {
        searcher.doc_freq(&Term::from_field_text(self.fields.all, word))
    }
}

/// The share (0 to 1) of the question's weight in words the documents use.
fn known_share(terms: &[QueryTerm]) -> f32 {
    let known: f32 = terms.iter().filter(|t| t.known).map(|t| t.weight).sum();
    share(known, terms.iter().map(|t| t.weight).sum())
}

fn share(part: f32, whole: f32) -> f32 {
    if whole > 0.0 {
        part / whole
    } else {
        0.0
    }
}

/// BM25's inverse document frequency (as tantivy computes it).
fn idf(frequency: u64, sections: u64) -> f32 {
    let (n, total) = (frequency as f32, sections as f32);
    (1.0 + (total - n + 0.5) / (n + 0.5)).ln()
}

/// Whether the document at `address` contains `term`, from the term's postings.
fn contains(searcher: &Searcher, term: &Term, address: DocAddress) -> tantivy::Result<bool> {
    let inverted = searcher
        .segment_reader(address.segment_ord)
        .inverted_index(term.field())?;
    let Some(mut postings) = inverted.read_postings(term, IndexRecordOption::Basic)? else {
        return Ok(false);
    };
    // A postings list starts on its first document, and seek only moves forward.
    Ok(postings.doc() <= address.doc_id && postings.seek(address.doc_id) == address.doc_id)
}

/// Every word of `field` with the number of sections containing it.
fn vocabulary(searcher: &Searcher, field: Field) -> tantivy::Result<Vocabulary> {
    let mut words: BTreeMap<String, u32> = BTreeMap::new();
    for segment in searcher.segment_readers() {
        let inverted = segment.inverted_index(field)?;
        let mut stream = inverted.terms().stream()?;
        while stream.advance() {
            if let Ok(word) = std::str::from_utf8(stream.key()) {
                *words.entry(word.to_owned()).or_default() += stream.value().doc_freq;
            }
        }
    }
    Ok(Vocabulary::new(words.into_iter().collect()))
}

/// The passages of `section` that contain the most of `terms`: see the module documentation.
fn quote(section: &Section, terms: &[&QueryTerm]) -> Passage {
    let passage = |text: String| Passage {
        document: section.document.clone(),
        heading: section.heading.clone(),
        heading_path: section.heading_path.clone(),
        text,
    };
    if let [only] = section.passages.as_slice() {
        return passage(only.clone());
    }
    let found = |words: &[String], term: &QueryTerm| term.forms.iter().any(|f| words.contains(f));
    let mut words: Vec<Vec<String>> = section.passages.iter().map(|t| terms::words(t)).collect();
    if terms
        .iter()
        .any(|term| !words.iter().any(|w| found(w, term)))
    {
        // A word the section contains only written together (a compound, a listed phrase).
        for (words, text) in words.iter_mut().zip(&section.passages) {
            words.extend(terms::words(&terms::joined_compounds(text)));
        }
    }
    let weights: Vec<f32> = words
        .iter()
        .map(|words| {
            terms
                .iter()
                .filter(|t| found(words, t))
                .map(|t| t.weight)
                .sum()
        })
        .collect();
    let best = weights.iter().copied().fold(0.0_f32, f32::max);
    let mut chosen: Vec<usize> = (0..section.passages.len())
        .filter(|&i| best > 0.0 && weights[i] >= best / 2.0)
        .collect();
    if chosen.len() > QUOTED_PASSAGES {
        // Keep the heaviest, then restore document order.
        chosen.sort_by(|&a, &b| weights[b].total_cmp(&weights[a]).then(a.cmp(&b)));
        chosen.truncate(QUOTED_PASSAGES);
        chosen.sort_unstable();
    }
    if chosen.is_empty() {
        chosen.push(0);
    }
    let text = chosen
        .iter()
        .filter_map(|&i| section.passages.get(i).map(String::as_str))
        .collect::<Vec<_>>()
        .join("\n\n");
    passage(text)
}

/// What a section's embedding is made of: its heading path, then its text.
fn embedded_text(section: &Section) -> String {
    format!(
        "{}\n{}",
        section.heading_path.join(" › "),
        section.passages.join("\n")
    )
}

/// The ordinals of the `count` highest of `similarities`, highest first.
fn nearest(similarities: &[f32], count: usize) -> Vec<usize> {
    let mut ordinals: Vec<usize> = (0..similarities.len()).collect();
    ordinals.sort_by(|&a, &b| similarities[b].total_cmp(&similarities[a]));
    ordinals.truncate(count);
    ordinals
}

/// The hits `gate` lets through, from `ranked` (best first): see the module documentation.
pub fn select(mut ranked: Vec<Hit>, gate: &Gate) -> Vec<Hit> {
    let passes = |hit: &Hit| gate.passes(hit);
    // With embeddings the rank (mostly the similarity) and the gate (the similarity, or the
    // words) can disagree: "forgot pw" is far from every section in meaning, yet all its words
    // are in one. The first of the best few that passes answers.
    if ranked.first().is_some_and(|hit| hit.similarity.is_some()) {
        if let Some(first) = ranked.iter().take(SIMILAR_GATED).position(passes) {
            ranked.drain(..first);
        }
    }
    let Some(best) = ranked.first() else {
        return Vec::new();
    };
    if !passes(best) {
        return Vec::new();
    }
    let share = match best.similarity {
        Some(_) => SIMILAR_RUNNER_UP_SHARE,
        None => RUNNER_UP_SHARE,
    };
    let floor = best.rank * share;
    let mut chosen: Vec<Hit> = Vec::new();
    for hit in ranked {
        if !chosen.is_empty() && (!passes(&hit) || hit.rank < floor) {
            continue;
        }
        let source = hit.passage.source();
        if let Some(same) = chosen.iter_mut().find(|c| c.passage.source() == source) {
            same.passage.text.push_str("\n\n");
            same.passage.text.push_str(&hit.passage.text);
            continue;
        }
        if chosen.len() == gate.top_k {
            continue;
        }
        chosen.push(hit);
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    const GATE: Gate = Gate {
        min_coverage: 0.33,
        min_score: 0.0,
        top_k: 3,
    };

    fn index(documents: &[(&str, &str)]) -> SectionIndex {
        let all = documents
            .iter()
            .flat_map(|(name, text)| passages::split(name, text, name.ends_with(".md")))
            .collect();
        SectionIndex::new(passages::sections(all)).unwrap()
    }

    /// The sentence-embedding model `scripts/test` provides.
    fn embedder() -> Arc<Embedder> {
        let dir = std::env::var_os("KNOWLEDGE_EMBEDDINGS")
            .filter(|dir| !dir.is_empty())
            .expect("KNOWLEDGE_EMBEDDINGS: run scripts/test, or export it from scripts/model-bin");
        Arc::new(Embedder::load(std::path::Path::new(&dir)).unwrap())
    }

    #[test]
    fn a_rebuild_embeds_only_the_sections_that_changed() {
        let embedder = embedder();
        let mut first = shop();
        assert_eq!(first.embed(Arc::clone(&embedder), None, None).unwrap(), 4);
        let mut again = shop();
        assert_eq!(
            again
                .embed(Arc::clone(&embedder), Some(&first), None)
                .unwrap(),
            0
        );
        let mut changed = index(&[(
            "billing.md",
            "# Billing\n\n## Refunds\n\nRefunds are paid back to the card within 5 days of \
             approval.\n\n## Invoices\n\nEvery payment has an invoice under Billing.\n",
        )]);
        assert_eq!(
            changed
                .embed(Arc::clone(&embedder), Some(&first), None)
                .unwrap(),
            1
        );
        let vector = |index: &SectionIndex| index.vectors.as_ref().unwrap().sections[0].clone();
        assert_eq!(vector(&changed), vector(&first), "Refunds kept its vector");
        // Another model's vectors are never reused.
        let mut other = shop();
        assert_eq!(
            other.embed(self::embedder(), Some(&first), None).unwrap(),
            4
        );
    }

    fn shop() -> SectionIndex {
        index(&[
            (
                "billing.md",
                "# Billing\n\n## Refunds\n\nRefunds are paid back to the card within 5 days of \
                 approval.\n\n## Invoices\n\nEvery payment has an invoice under Account.\n",
            ),
            (
                "account.md",
                "# Account\n\n## Password reset\n\nReset your password from the login page; \
                 the e-mail with the link arrives within minutes.\n\n## Deleting your account\n\n\
                 Delete the account under Privacy.\n",
            ),
        ])
    }

    #[test]
    fn whether_something_is_offered_is_answered_only_by_documents_that_name_it() {
        let ferry = index(&[
            (
                "fares.md",
                "# Fares\n\n## Vouchers for delays\n\nWhen a sailing is delayed by more than an \
                 hour, you get a voucher for the café. Vouchers are valid for a year.\n\n\
                 ## Student discount\n\nStudents travel at half fare with a student card.\n",
            ),
            (
                "booking.md",
                "# Booking\n\n## Changing a booking\n\nChange your sailing online up to an \
                 hour before departure.\n",
            ),
        ]);
        let first = |question: &str| {
            let hits = ferry.answer(question, &GATE).unwrap();
            sources(&hits).first().cloned()
        };
        assert_eq!(
            first("is there a student discount?").as_deref(),
            Some("fares.md › Student discount")
        );
        // Vouchers are the documents' topic, gift vouchers are not.
        assert_eq!(first("do you sell gift vouchers?"), None);
        assert_eq!(first("hi, are there gift vouchers"), None);
        // The same words asking what to do are searched as any question.
        assert_eq!(
            first("how do i use a gift voucher").as_deref(),
            Some("fares.md › Vouchers for delays")
        );
    }

    fn sources(hits: &[Hit]) -> Vec<String> {
        hits.iter().map(|hit| hit.passage.source()).collect()
    }

    #[test]
    fn a_covered_question_gets_its_section_first() {
        let index = shop();
        let hits = index
            .answer("How long until my refund is paid back?", &GATE)
            .unwrap();
        assert_eq!(sources(&hits)[0], "billing.md › Refunds");
        assert!(hits[0].coverage > 0.5, "{hits:?}");
        let typo = index.answer("pasword resset", &GATE).unwrap();
        assert_eq!(sources(&typo), ["account.md › Password reset"]);
        let joined = index.answer("no email arrives", &GATE).unwrap();
        assert_eq!(
            sources(&joined)[0],
            "account.md › Password reset",
            "e-mail is email"
        );
    }

    #[test]
    fn a_question_in_other_words_finds_the_documents_words() {
        let index = shop();
        for (question, section) in [
            ("can i get my money back?", "billing.md › Refunds"),
            ("forgot my pw", "account.md › Password reset"),
            ("i cant log in", "account.md › Password reset"),
            (
                "how do i delete my acct",
                "account.md › Deleting your account",
            ),
            (
                "I paid twice, where is the invoice",
                "billing.md › Invoices",
            ),
        ] {
            let hits = index.answer(question, &GATE).unwrap();
            assert_eq!(
                sources(&hits).first().map(String::as_str),
                Some(section),
                "{question:?}"
            );
        }
    }

    #[test]
    fn one_word_the_documents_do_not_use_does_not_sink_a_documented_question() {
        let index = shop();
        let hits = index.search("refund for my skateboard", 1).unwrap();
        assert_eq!(sources(&hits), ["billing.md › Refunds"]);
        assert!(hits[0].coverage >= GATE.min_coverage, "{hits:?}");
    }

    #[test]
    fn a_question_of_words_the_documents_do_not_use_is_not_covered() {
        let index = shop();
        for question in [
            "What's your favourite pizza topping?",
            "Write me a poem about the sea",
            "who won the football world cup in 2018",
            "the and of",
            "AND OR \"( :",
        ] {
            let hits = index.answer(question, &GATE).unwrap();
            assert!(hits.is_empty(), "{question:?}: {hits:?}");
        }
        let one_shared_word = index.search("a good account of Roman history", 1).unwrap();
        assert!(
            one_shared_word[0].coverage < GATE.min_coverage,
            "{one_shared_word:?}"
        );
    }

    #[test]
    fn a_long_question_told_with_its_story_is_answered_by_the_section_with_its_words() {
        let index = shop();
        let question = "so i paid for the year in march, then my dog got sick, the vet \
                        bills piled up and my landlord raised the rent: can my refund be paid \
                        back to the card";
        let hits = index.search(question, 1).unwrap();
        assert_eq!(sources(&hits), ["billing.md › Refunds"]);
        assert!(
            hits[0].coverage < GATE.min_coverage,
            "the story sinks it: {hits:?}"
        );
        assert!(hits[0].words >= LONG_QUESTION_WORDS, "{hits:?}");
        let answered = index.answer(question, &GATE).unwrap();
        assert_eq!(sources(&answered), ["billing.md › Refunds"]);
    }

    #[test]
    fn a_low_coverage_passes_only_with_several_words_and_most_of_the_known_ones() {
        let low = GATE.min_coverage * LONG_QUESTION_SHARE;
        let with = |coverage: f32, known_coverage: f32, words: usize| Hit {
            known_coverage,
            words,
            ..hit(("a.md", "One"), 5.0, coverage)
        };
        assert!(GATE.covers(&with(GATE.min_coverage, 0.1, 1)));
        assert!(GATE.covers(&with(
            low,
            LONG_QUESTION_KNOWN_COVERAGE,
            LONG_QUESTION_WORDS
        )));
        assert!(!GATE.covers(&with(
            low,
            LONG_QUESTION_KNOWN_COVERAGE,
            LONG_QUESTION_WORDS - 1
        )));
        assert!(!GATE.covers(&with(low, 0.5, LONG_QUESTION_WORDS + 2)));
        assert!(!GATE.covers(&with(low * 0.9, 1.0, LONG_QUESTION_WORDS + 2)));
        // A stricter minimum is stricter for long questions too.
        let strict = Gate {
            min_coverage: 0.7,
            ..GATE
        };
        assert!(!strict.covers(&with(low, 1.0, LONG_QUESTION_WORDS + 2)));
    }

    #[test]
    fn a_word_common_in_english_says_less_than_one_as_rare_in_the_documents() {
        let index = index(&[(
            "help.md",
            "# Help\n\n## Leaks\n\nIf water drips from the unit, switch it off.\n\n\
             ## Refunds\n\nA refund reaches the card in five days.\n",
        )]);
        // Each word is in one section; "water" is among the most frequent English words.
        let hits = index.search("water refund", 2).unwrap();
        assert_eq!(sources(&hits), ["help.md › Refunds", "help.md › Leaks"]);
        assert!(hits[0].coverage > 0.6 && hits[1].coverage < 0.4, "{hits:?}");
    }

    #[test]
    fn a_common_english_word_is_never_taken_for_a_typo_of_a_document_word() {
        let index = index(&[(
            "help.md",
            "# Help\n\n## Breakdowns\n\nIf the bike breaks down, call us.\n\n\
             ## Refunds\n\nA refund reaches the card in five days.\n",
        )]);
        // "bread" is one edit from "break", but a word, not a typo.
        assert!(index
            .answer("how do i make sourdough bread", &GATE)
            .unwrap()
            .is_empty());
        // A typo is still corrected.
        let hits = index.answer("how long is a refnd", &GATE).unwrap();
        assert_eq!(sources(&hits), ["help.md › Refunds"]);
    }

    #[test]
    fn the_ticket_context_ranks_sections_but_never_passes_the_gate_for_the_question() {
        let index = index(&[(
            "help.md",
            "# Help\n\n## Refunds\n\nA refund takes about five working days.\n\n\
             ## Shipping\n\nA parcel takes about five working days.\n",
        )]);
        let question = "how many working days does it take?";
        for (topic, section) in [
            ("Refunds", "help.md › Refunds"),
            ("Shipping", "help.md › Shipping"),
        ] {
            let hits = index.answer_in(question, Some(topic), &GATE).unwrap();
            assert_eq!(
                sources(&hits).first().map(String::as_str),
                Some(section),
                "{topic}"
            );
            let plain = index.search(question, 2).unwrap();
            let with = index.search_in(question, Some(topic), 2).unwrap();
            assert_eq!(
                plain.iter().map(|h| h.coverage).sum::<f32>(),
                with.iter().map(|h| h.coverage).sum::<f32>(),
                "the coverage is the question's alone"
            );
        }
        let shop = shop();
        for question in ["What's your favourite pizza topping?", "the and of"] {
            let hits = shop
                .answer_in(question, Some("Billing refund invoice payment"), &GATE)
                .unwrap();
            assert!(hits.is_empty(), "{question:?}: {hits:?}");
        }
    }

    #[test]
    fn the_score_floor_still_applies() {
        let strict = Gate {
            min_score: 1_000.0,
            ..GATE
        };
        assert!(shop().answer("refund", &strict).unwrap().is_empty());
    }

    fn hit(source: (&str, &str), score: f32, coverage: f32) -> Hit {
        Hit {
            known_coverage: coverage,
            words: 1,
            passage: Passage {
                document: source.0.to_owned(),
                heading: Some(source.1.to_owned()),
                heading_path: vec![source.1.to_owned()],
                text: format!("text of {}", source.1),
            },
            score,
            coverage,
            similarity: None,
            rank: lexical_rank(score, coverage),
        }
    }

    #[test]
    fn meaning_and_words_that_each_fall_a_little_short_answer_together() {
        let similar = |similarity: f32, coverage: f32| Hit {
            similarity: Some(similarity),
            ..hit(("a.md", "One"), 5.0, coverage)
        };
        let nearly = GATE.min_coverage * LONG_QUESTION_SHARE;
        for (similarity, coverage, answers, why) in [
            (SIMILAR_ALONE, 0.0, true, "similar enough alone"),
            (SIMILAR_NEAR, nearly, true, "both nearly"),
            (SIMILAR_NEAR, nearly - 0.05, false, "too few words"),
            (SIMILAR_NEAR - 0.05, nearly, false, "too far in meaning"),
            (SIMILAR_WITH_WORDS, GATE.min_coverage, true, "covered"),
            (SIMILAR_WITH_WORDS - 0.05, 1.0, false, "vetoed by the model"),
        ] {
            assert_eq!(
                GATE.passes(&similar(similarity, coverage)),
                answers,
                "{why}"
            );
        }
    }

    #[test]
    fn runner_ups_are_quoted_only_when_close_and_covered_and_one_heading_once() {
        let ranked = vec![
            hit(("a.md", "One"), 10.0, 1.0),
            hit(("a.md", "One"), 9.0, 0.9),
            hit(("a.md", "Two"), 8.0, 0.8),
            hit(("a.md", "Far"), 3.0, 1.0),
            hit(("a.md", "Thin"), 9.0, 0.2),
            hit(("a.md", "Three"), 7.0, 0.9),
            hit(("a.md", "Four"), 7.0, 0.9),
        ];
        let chosen = select(ranked, &GATE);
        assert_eq!(
            sources(&chosen),
            ["a.md › One", "a.md › Two", "a.md › Three"]
        );
        assert_eq!(
            chosen[0].passage.text, "text of One\n\ntext of One",
            "merged"
        );
        assert!(select(vec![hit(("a.md", "One"), 10.0, 0.3)], &GATE).is_empty());
        assert!(select(Vec::new(), &GATE).is_empty());
    }

    #[test]
    fn a_long_section_quotes_its_best_passages() {
        let filler = "Unrelated words about other things entirely. ".repeat(20);
        let text = format!(
            "## Long\n\n{filler}\n\nRefunds take ten days.\n\n{filler}\n\nAsk for refunds by mail.\n\n{filler}"
        );
        let index = index(&[("a.md", &text)]);
        let hits = index.search("refunds", 1).unwrap();
        assert_eq!(
            hits[0].passage.text, "Refunds take ten days.\n\nAsk for refunds by mail.",
            "the matching passages, in order, without the filler between them"
        );
    }
}
