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
//! **What counts as an answer** is decided in [`super::search`]: sections ranked by BM25, and
//! a gate on the share of the question the best one covers, which carries from one set of
//! documents to another where a BM25 score does not; with `KNOWLEDGE_EMBEDDINGS`, by meaning
//! too. The model is loaded once, and each rebuild embeds only the sections that changed; with
//! `KNOWLEDGE_EMBEDDINGS_CACHE`, the vectors are kept in a file for the next process too.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, RwLock, Weak},
    time::{Duration, SystemTime},
};

use tokio::sync::watch;

pub use super::search::Hit;
use super::{
    embeddings::{Embedder, EmbeddingError},
    passages,
    search::{Gate, SectionIndex},
    settings::KnowledgeSettings,
    vector_cache::{self, ModelId, VectorCache},
};

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
    /// The sentence-embedding model could not be loaded or run.
    #[error("knowledge embeddings: {0}")]
    Embedding(#[from] EmbeddingError),
    /// The rebuild task ended abnormally.
    #[error("the knowledge index build was cancelled or panicked")]
    Aborted,
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
    embedder: Option<Arc<Embedder>>,
    vector_file: Option<VectorFile>,
    gate: Gate,
    current: RwLock<Arc<Snapshot>>,
    generation: watch::Sender<u64>,
}

/// One build: the index and what it was built from.
#[derive(Debug)]
struct Snapshot {
    index: SectionIndex,
    files: Vec<FileStamp>,
    passages: usize,
    /// Sections the model embedded for this build (the others kept their vectors).
    embedded: usize,
}

/// The file the section vectors are kept in for the next process (`KNOWLEDGE_EMBEDDINGS_CACHE`),
/// and the model they are of.
#[derive(Debug, Clone)]
struct VectorFile {
    path: PathBuf,
    model: ModelId,
}

impl VectorFile {
    /// The vectors the file holds for the model.
    fn read(&self) -> VectorCache {
        VectorCache::load(&self.path, &self.model)
    }

    /// Replaces the file with `index`'s vectors, unless they are as many as `holding`, the
    /// count of the same vectors the file holds already. A failure is a warning.
    fn write(&self, index: &SectionIndex, holding: Option<usize>) {
        let Some(vectors) = index.vectors_by_text() else {
            return;
        };
        if holding == Some(vectors.len()) {
            return;
        }
        let entries = vectors.iter().map(|(key, vector)| (*key, *vector));
        match vector_cache::save(&self.path, &self.model, entries) {
            Ok(()) => tracing::debug!(
                file = %self.path.display(),
                vectors = vectors.len(),
                "knowledge vector cache written"
            ),
            Err(err) => tracing::warn!(
                file = %self.path.display(),
                error = %err,
                "cannot write the knowledge vector cache (KNOWLEDGE_EMBEDDINGS_CACHE)"
            ),
        }
    }
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
        let model = settings.embeddings.clone();
        let cache = settings.embeddings_cache.clone();
        let (snapshot, embedder, vector_file) = tokio::task::spawn_blocking(move || {
            // The model is fingerprinted only when its vectors are kept.
            let (embedder, file) = match (model, cache) {
                (Some(model), Some(path)) => {
                    let (embedder, model) = Embedder::load_identified(&model)?;
                    (Some(Arc::new(embedder)), Some(VectorFile { path, model }))
                }
                (Some(model), None) => (Some(Arc::new(Embedder::load(&model)?)), None),
                (None, _) => (None, None),
            };
            // The file is read once, here: later builds take vectors from the index they replace.
            let kept = file.as_ref().map(VectorFile::read);
            let snapshot = build(&dir, embedder.as_ref(), None, kept.as_ref())?;
            let file = file.filter(|_| kept.as_ref().is_some_and(VectorCache::writable));
            if let (Some(file), Some(kept)) = (&file, &kept) {
                // Every vector came from the file when none was embedded: it holds them all
                // unless some section went away.
                file.write(
                    &snapshot.index,
                    (snapshot.embedded == 0).then(|| kept.len()),
                );
            }
            Ok::<_, KnowledgeError>((snapshot, embedder, file))
        })
        .await
        .map_err(|_| KnowledgeError::Aborted)??;
        tracing::info!(
            dir = %settings.dir.display(),
            files = snapshot.files.len(),
            passages = snapshot.passages,
            sections = snapshot.index.sections(),
            embeddings = embedder.as_ref().map(|e| e.dir().display().to_string()),
            embedded = snapshot.embedded,
            "knowledge indexed"
        );
        let shared = Arc::new(Shared {
            dir: settings.dir.clone(),
            embedder,
            vector_file,
            gate: Gate {
                min_coverage: settings.min_coverage,
                min_score: settings.min_score,
                top_k: settings.top_k,
            },
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

    /// Sections in the current index (a heading's passages, or a passage without heading).
    pub fn sections(&self) -> usize {
        self.snapshot().index.sections()
    }

    /// The source of every section (`billing.md › Refunds`), in document order.
    pub fn sources(&self) -> Vec<String> {
        self.snapshot().index.sources()
    }

    /// The sections that answer `question`, best first, each source once, at most
    /// `KNOWLEDGE_TOP_K`; none when the documents do not cover it (see [`super::search`]).
    pub fn answer(&self, question: &str) -> Vec<Hit> {
        self.answer_in(question, None)
    }

    /// [`Knowledge::answer`] for a ticket opened with `context` (its topic and form answers):
    /// their words help rank the sections, the gate still judges the question alone.
    pub fn answer_in(&self, question: &str, context: Option<&str>) -> Vec<Hit> {
        let gate = self.shared.gate;
        logged(self.snapshot().index.answer_in(question, context, &gate))
    }

    /// [`Knowledge::answer_in`] from an async thread: with embeddings a question costs the
    /// model's few milliseconds of CPU, so it is asked on the blocking pool; without them, a
    /// search takes well under a millisecond (see `answer_bench`) and runs in place.
    pub async fn ask(&self, question: &str, context: Option<&str>) -> Vec<Hit> {
        let gate = self.shared.gate;
        let snapshot = self.snapshot();
        if !snapshot.index.embedded() {
            return logged(snapshot.index.answer_in(question, context, &gate));
        }
        let (question, context) = (question.to_owned(), context.map(str::to_owned));
        tokio::task::spawn_blocking(move || {
            logged(
                snapshot
                    .index
                    .answer_in(&question, context.as_deref(), &gate),
            )
        })
        .await
        .unwrap_or_else(|err| {
            tracing::error!(error = %err, "knowledge search panicked");
            Vec::new()
        })
    }

    /// The `limit` best sections for `question`, best first, whatever their coverage or score.
    pub fn search(&self, question: &str, limit: usize) -> Vec<Hit> {
        logged(self.snapshot().index.search(question, limit))
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

fn logged(hits: tantivy::Result<Vec<Hit>>) -> Vec<Hit> {
    hits.unwrap_or_else(|err| {
        // Only an index fault gets here (reading a RAM index does no I/O).
        tracing::error!(error = %err, "knowledge search failed");
        Vec::new()
    })
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
        let embedder = shared.embedder.clone();
        let file = shared.vector_file.clone();
        let current = Arc::clone(&shared.current.read().unwrap_or_else(|e| e.into_inner()));
        let outcome = tokio::task::spawn_blocking(move || {
            let files = stamps(&dir)?;
            if files == current.files {
                return Ok(None);
            }
            let snapshot = build(&dir, embedder.as_ref(), Some(&current.index), None)?;
            if let Some(file) = file {
                file.write(&snapshot.index, None);
            }
            Ok(Some(snapshot))
        })
        .await
        .unwrap_or(Err(KnowledgeError::Aborted));
        match outcome {
            Ok(None) => {}
            Ok(Some(snapshot)) => {
                tracing::info!(
                    files = snapshot.files.len(),
                    passages = snapshot.passages,
                    embedded = snapshot.embedded,
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

/// Indexes every passage of the documents under `dir`, with `embedder`'s vectors when given
/// (those of `previous`'s sections that did not change are kept, and so are those `kept`
/// holds).
fn build(
    dir: &Path,
    embedder: Option<&Arc<Embedder>>,
    previous: Option<&SectionIndex>,
    kept: Option<&VectorCache>,
) -> Result<Snapshot, KnowledgeError> {
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
    index(all, files, embedder, previous, kept)
}

/// Builds the in-memory index of `passages`.
fn index(
    passages: Vec<passages::Passage>,
    files: Vec<FileStamp>,
    embedder: Option<&Arc<Embedder>>,
    previous: Option<&SectionIndex>,
    kept: Option<&VectorCache>,
) -> Result<Snapshot, KnowledgeError> {
    let count = passages.len();
    let mut index = SectionIndex::new(passages::sections(passages))?;
    let mut embedded = 0;
    if let Some(embedder) = embedder {
        embedded = index.embed(Arc::clone(embedder), previous, kept)?;
    }
    Ok(Snapshot {
        index,
        files,
        passages: count,
        embedded,
    })
}
