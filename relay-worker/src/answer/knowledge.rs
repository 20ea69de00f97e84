//! The knowledge base: the passages of `KNOWLEDGE_DIR` in a tantivy full-text index (BM25),
//! kept in memory, searched for every question, and rebuilt when the files change.
//!
//! **How changes are found: a periodic scan.** Every `KNOWLEDGE_RELOAD_SECS` (default 30) a
//! task lists the folder and compares each document's path, size and modification time with
//! the last build; on any difference it rebuilds the whole index off the async threads and
//! swaps it in at once (searches in progress finish on the old one). Chosen over file-system
//! events (`notify`) because a scan works the same on every file system the folder may live
//! on (Docker bind mounts from macOS or Windows hosts, NFS, Kubernetes ConfigMaps swapped by
//! symlink) where inotify events are missing or arrive for the wrong path, needs no debounce
//! (an editor's burst of writes is one change at the next scan), and costs one `stat` per file
//! per period. A full rebuild is simple and cheap at this size: `answer_bench` measures it.
//! Each build bumps [`Knowledge::generation`], the signal tests wait on.
//!
//! **What counts as an answer.** The question is analysed like the passages (lower case,
//! English stop words removed, stemmed) and every remaining word is an optional term, searched
//! in the text and in the passage's headings (weighted double: a heading that names the topic
//! is strong evidence). The documents answer when the best passage's BM25 score reaches
//! `KNOWLEDGE_MIN_SCORE` (default 3.0). BM25 scores are not normalised; on the fixture documents
//! (test `the_default_threshold_separates_documented_from_unrelated_questions`) documented
//! questions score 4 to 15 and unrelated ones 0 to 1.8, which is what the default is chosen
//! from. The search is lexical: a question sharing one distinctive word with a heading
//! ("a good *account* of Roman history" against "Your account") scores like a documented one.
//! Scores grow with the number of passages (rarer words weigh more): raise the threshold when
//! off-topic questions get passages, lower it when documented ones get "staff will follow up".

use std::{
    path::{Path, PathBuf},
    sync::{Arc, RwLock, Weak},
    time::{Duration, SystemTime},
};

use tantivy::{
    collector::TopDocs,
    query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery},
    schema::{IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED},
    tokenizer::{
        Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter,
        TextAnalyzer, TokenStream,
    },
    Index, IndexReader, ReloadPolicy, TantivyDocument, Term,
};
use tokio::sync::watch;

use super::{
    passages::{self, Passage},
    settings::KnowledgeSettings,
};

/// Most distinct words of a question that are searched (a 4,000-character message has fewer
/// than this many distinct words worth searching; the cap bounds the query's cost).
const MAX_QUERY_TERMS: usize = 64;
/// How much more a word in a passage's headings counts than one in its text.
const HEADING_BOOST: f32 = 2.0;
/// The index writer's memory: tantivy's minimum per thread; one thread, one segment.
const WRITER_MEMORY: usize = 15_000_000;
/// Words longer than this are not indexed (hashes, base64, URLs run together).
const MAX_WORD_BYTES: usize = 40;
const TOKENIZER: &str = "knowledge";

/// The knowledge base could not be built.
#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    /// The folder or a file in it could not be listed.
    #[error("cannot read the knowledge folder {path}: {source}")]
    Read {
        /// The folder or file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The search index failed.
    #[error("cannot build the knowledge index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// The rebuild task ended abnormally.
    #[error("the knowledge index build was cancelled or panicked")]
    Aborted,
}

/// A passage found for a question, with its BM25 score.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The passage.
    pub passage: Passage,
    /// Its BM25 score for the question.
    pub score: f32,
}

/// The searchable documents of one folder, rebuilt in the background when they change.
/// Dropping it stops the rescans.
#[derive(Debug)]
pub struct Knowledge {
    shared: Arc<Shared>,
    rescans: Option<tokio::task::JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    top_k: usize,
    min_score: f32,
    current: RwLock<Arc<Snapshot>>,
    generation: watch::Sender<u64>,
}

/// One build: the index and what it was built from.
struct Snapshot {
    reader: IndexReader,
    fields: Fields,
    files: Vec<FileStamp>,
    passages: usize,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("files", &self.files.len())
            .field("passages", &self.passages)
            .finish()
    }
}

#[derive(Debug, Clone, Copy)]
struct Fields {
    document: tantivy::schema::Field,
    heading: tantivy::schema::Field,
    headings: tantivy::schema::Field,
    text: tantivy::schema::Field,
}

/// What a scan compares: a file's path, size and modification time.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    path: PathBuf,
    len: u64,
    modified: Option<SystemTime>,
}

impl Knowledge {
    /// Reads and indexes the folder (off the async threads), then rescans it every
    /// `reload_every` in a task of its own.
    pub async fn open(settings: &KnowledgeSettings) -> Result<Self, KnowledgeError> {
        let dir = settings.dir.clone();
        let snapshot = tokio::task::spawn_blocking(move || build(&dir))
            .await
            .map_err(|_| KnowledgeError::Aborted)??;
        tracing::info!(
            dir = %settings.dir.display(),
            files = snapshot.files.len(),
            passages = snapshot.passages,
            "knowledge indexed"
        );
        let shared = Arc::new(Shared {
            dir: settings.dir.clone(),
            top_k: settings.top_k,
            min_score: settings.min_score,
            current: RwLock::new(Arc::new(snapshot)),
            generation: watch::Sender::new(1),
        });
        let rescans = settings
            .reload_every
            .map(|every| tokio::spawn(rescan(Arc::downgrade(&shared), every)));
        Ok(Self { shared, rescans })
    }

    /// How many times the index was built (1 after [`Self::open`]); it grows by one per
    /// rebuild after a change was found.
    pub fn generation(&self) -> u64 {
        *self.shared.generation.borrow()
    }

    /// Tells each new [`Self::generation`], for tests and monitoring.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.shared.generation.subscribe()
    }

    /// Passages in the current index.
    pub fn passages(&self) -> usize {
        self.snapshot().passages
    }

    /// The passages that answer `question`: the best ones, up to `KNOWLEDGE_TOP_K`, when the
    /// best reaches `KNOWLEDGE_MIN_SCORE`; else none.
    pub fn answer(&self, question: &str) -> Vec<Hit> {
        let hits = self.search(question, self.shared.top_k);
        match hits.first() {
            Some(best) if best.score >= self.shared.min_score => hits,
            _ => Vec::new(),
        }
    }

    /// The `limit` best passages for `question`, best first, whatever their score.
    pub fn search(&self, question: &str, limit: usize) -> Vec<Hit> {
        let snapshot = self.snapshot();
        match snapshot.search(question, limit) {
            Ok(hits) => hits,
            Err(err) => {
                // Only an index fault gets here (reading a RAM index does no I/O).
                tracing::error!(error = %err, "knowledge search failed");
                Vec::new()
            }
        }
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(
            &self
                .shared
                .current
                .read()
                .unwrap_or_else(|e| e.into_inner()),
        )
    }
}

impl Drop for Knowledge {
    fn drop(&mut self) {
        if let Some(task) = self.rescans.take() {
            task.abort();
        }
    }
}

/// Rescans until the knowledge base is dropped; failures keep the last good index.
async fn rescan(shared: Weak<Shared>, every: Duration) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let dir = shared.dir.clone();
        let known = shared
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .files
            .clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let files = stamps(&dir)?;
            if files == known {
                return Ok(None);
            }
            build(&dir).map(Some)
        })
        .await
        .unwrap_or(Err(KnowledgeError::Aborted));
        match outcome {
            Ok(None) => {}
            Ok(Some(snapshot)) => {
                tracing::info!(
                    files = snapshot.files.len(),
                    passages = snapshot.passages,
                    "knowledge changed: reindexed"
                );
                *shared.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(snapshot);
                shared.generation.send_modify(|generation| *generation += 1);
            }
            Err(err) => {
                tracing::warn!(error = %err, "knowledge rescan failed; keeping the last index");
            }
        }
    }
}

fn read_error(path: &Path) -> impl FnOnce(std::io::Error) -> KnowledgeError + '_ {
    move |source| KnowledgeError::Read {
        path: path.to_path_buf(),
        source,
    }
}

fn stamps(dir: &Path) -> Result<Vec<FileStamp>, KnowledgeError> {
    passages::document_files(dir)
        .map_err(read_error(dir))?
        .into_iter()
        .map(|path| {
            let meta = std::fs::metadata(&path).map_err(read_error(&path))?;
            Ok(FileStamp {
                len: meta.len(),
                modified: meta.modified().ok(),
                path,
            })
        })
        .collect()
}

fn analyzer() -> TextAnalyzer {
    let builder = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_WORD_BYTES))
        .filter(LowerCaser);
    match StopWordFilter::new(Language::English) {
        Some(stop_words) => builder
            .filter(stop_words)
            .filter(Stemmer::new(Language::English))
            .build(),
        None => builder.filter(Stemmer::new(Language::English)).build(),
    }
}

/// Indexes every passage of the documents under `dir`.
fn build(dir: &Path) -> Result<Snapshot, KnowledgeError> {
    let files = stamps(dir)?;
    let mut all = Vec::new();
    for file in &files {
        if file.len > passages::MAX_FILE_BYTES {
            tracing::warn!(file = %file.path.display(), bytes = file.len, "knowledge file too large; skipped");
            continue;
        }
        let text = match std::fs::read(&file.path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => text,
                Err(_) => {
                    tracing::warn!(file = %file.path.display(), "knowledge file is not UTF-8; skipped");
                    continue;
                }
            },
            // Deleted between the listing and now: the next scan sees it gone.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => return Err(read_error(&file.path)(err)),
        };
        let name = passages::document_name(dir, &file.path);
        let markdown = !name.to_ascii_lowercase().ends_with(".txt");
        all.extend(passages::split(&name, &text, markdown));
    }
    index(all, files)
}

/// Builds the in-memory index of `passages`.
fn index(passages: Vec<Passage>, files: Vec<FileStamp>) -> Result<Snapshot, KnowledgeError> {
    let searched = TextOptions::default().set_stored().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let mut schema = Schema::builder();
    let fields = Fields {
        document: schema.add_text_field("document", STORED),
        heading: schema.add_text_field("heading", STORED),
        headings: schema.add_text_field("headings", searched.clone()),
        text: schema.add_text_field("text", searched),
    };
    let index = Index::create_in_ram(schema.build());
    index.tokenizers().register(TOKENIZER, analyzer());
    let mut writer = index.writer_with_num_threads::<TantivyDocument>(1, WRITER_MEMORY)?;
    let count = passages.len();
    for passage in passages {
        let mut doc = TantivyDocument::default();
        doc.add_text(fields.document, &passage.document);
        if let Some(heading) = &passage.heading {
            doc.add_text(fields.heading, heading);
        }
        doc.add_text(fields.headings, passage.heading_path.join("\n"));
        doc.add_text(fields.text, &passage.text);
        writer.add_document(doc)?;
    }
    writer.commit()?;
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()?;
    Ok(Snapshot {
        reader,
        fields,
        files,
        passages: count,
    })
}

impl Snapshot {
    fn search(&self, question: &str, limit: usize) -> tantivy::Result<Vec<Hit>> {
        let words = query_words(question);
        if words.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(words.len() * 2);
        for word in &words {
            let in_text = Term::from_field_text(self.fields.text, word);
            let in_headings = Term::from_field_text(self.fields.headings, word);
            clauses.push((
                Occur::Should,
                Box::new(TermQuery::new(in_text, IndexRecordOption::WithFreqs)),
            ));
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(in_headings, IndexRecordOption::WithFreqs)),
                    HEADING_BOOST,
                )),
            ));
        }
        let searcher = self.reader.searcher();
        let top = searcher.search(&BooleanQuery::new(clauses), &TopDocs::with_limit(limit))?;
        top.into_iter()
            .map(|(score, address)| {
                let doc: TantivyDocument = searcher.doc(address)?;
                let text = |field| {
                    doc.get_first(field)
                        .and_then(|value| value.as_str())
                        .map(str::to_owned)
                };
                let heading = text(self.fields.heading);
                Ok(Hit {
                    score,
                    passage: Passage {
                        document: text(self.fields.document).unwrap_or_default(),
                        heading_path: heading.iter().cloned().collect(),
                        heading,
                        text: text(self.fields.text).unwrap_or_default(),
                    },
                })
            })
            .collect()
    }
}

/// The distinct analysed words of a question (no query syntax: every word is just a word).
fn query_words(question: &str) -> Vec<String> {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(question);
    let mut words: Vec<String> = Vec::new();
    while stream.advance() {
        let word = &stream.token().text;
        if !words.iter().any(|w| w == word) {
            words.push(word.clone());
            if words.len() == MAX_QUERY_TERMS {
                break;
            }
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passage(document: &str, heading: &str, text: &str) -> Passage {
        Passage {
            document: document.to_owned(),
            heading: Some(heading.to_owned()),
            heading_path: vec![heading.to_owned()],
            text: text.to_owned(),
        }
    }

    #[test]
    fn the_best_passage_comes_first_with_its_source() {
        let snapshot = index(
            vec![
                passage(
                    "billing.md",
                    "Refunds",
                    "Refunds are paid back to the card within 5 days.",
                ),
                passage(
                    "account.md",
                    "Password",
                    "Reset your password from the login page.",
                ),
            ],
            Vec::new(),
        )
        .unwrap();
        let hits = snapshot.search("How do I get a refund?", 3).unwrap();
        assert_eq!(hits[0].passage.source(), "billing.md › Refunds");
        assert!(hits.iter().all(|h| h.passage.document != "account.md"));
        assert!(
            snapshot.search("the and of", 3).unwrap().is_empty(),
            "stop words only"
        );
        assert!(
            snapshot.search("AND OR \"( :", 3).unwrap().is_empty(),
            "no query syntax"
        );
    }

    #[test]
    fn question_words_are_stemmed_deduplicated_and_bounded() {
        assert_eq!(query_words("Refunds, REFUNDED refund!"), ["refund"]);
        let many: String = (0..200).map(|n| format!("w{n} ")).collect();
        assert_eq!(query_words(&many).len(), MAX_QUERY_TERMS);
    }
}
