//! The section vectors of the last index, kept in a file (`KNOWLEDGE_EMBEDDINGS_CACHE`) so that
//! a worker that restarts, or a second worker on the same machine, embeds only the sections it
//! has not seen: the model costs tens of milliseconds a section, a few hundred sections tens
//! of seconds before the worker can answer.
//!
//! A vector is found by the SHA-256 of the text it was embedded from, under the fingerprint of
//! the model that embedded it ([`ModelId`]): a file written by another model, or one that is
//! cut short or damaged, is ignored as a whole, and the sections are embedded again. The file
//! is replaced in one rename, so a reader never sees half of one. A file that is not a vector
//! cache at all (the variable pointed at the wrong file) is neither read whole nor overwritten.
//!
//! Layout (little-endian): `TAVC`, the format version (`u32`), the model's fingerprint (32
//! bytes), the vectors' dimension and count (`u32` each), then per vector the text's SHA-256
//! (32 bytes) and its `dimension` `f32`s.

use std::{
    collections::HashMap,
    io::{Read as _, Write as _},
    path::Path,
};

use sha2::{Digest, Sha256};

const MAGIC: &[u8; 4] = b"TAVC";
const VERSION: u32 = 1;
const HEADER: usize = 4 + 4 + 32 + 4 + 4;

/// The SHA-256 of a text: the key of its vector.
pub type TextDigest = [u8; 32];

/// Which model made a set of vectors: the SHA-256 of its files and of how its output is
/// pooled, and the vectors' dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelId {
    /// The SHA-256 of the model's files and pooling.
    pub fingerprint: [u8; 32],
    /// The length of its vectors.
    pub dimension: usize,
}

/// The SHA-256 of `text`.
pub fn digest(text: &str) -> TextDigest {
    Sha256::digest(text.as_bytes()).into()
}

/// Vectors read from a cache file, by the digest of their text.
#[derive(Debug, Default)]
pub struct VectorCache {
    vectors: HashMap<TextDigest, Vec<f32>>,
    foreign: bool,
}

/// Why a file gave no vectors.
enum Unread {
    Missing,
    Foreign,
    Io(std::io::Error),
    Invalid(&'static str),
}

impl From<std::io::Error> for Unread {
    fn from(err: std::io::Error) -> Self {
        match err.kind() {
            std::io::ErrorKind::NotFound => Self::Missing,
            _ => Self::Io(err),
        }
    }
}

impl VectorCache {
    /// The vectors `path` holds for `model`. Empty when the file does not exist yet, and (with
    /// a warning naming the file) when it cannot be read, is damaged, was written by another
    /// model, or is no vector cache at all.
    pub fn load(path: &Path, model: &ModelId) -> Self {
        let warn = |problem: &dyn std::fmt::Display, outcome: &str| {
            tracing::warn!(file = %path.display(), %problem, "knowledge vector cache {outcome}");
        };
        match read(path, model) {
            Ok(vectors) => Self {
                vectors,
                foreign: false,
            },
            Err(Unread::Missing) => Self::default(),
            Err(Unread::Foreign) => {
                let outcome = "left as it is: embedding every section, keeping no vectors";
                warn(&"not a vector cache (KNOWLEDGE_EMBEDDINGS_CACHE)", outcome);
                Self {
                    foreign: true,
                    ..Self::default()
                }
            }
            Err(Unread::Io(err)) => {
                warn(&err, "unreadable: embedding every section");
                Self::default()
            }
            Err(Unread::Invalid(problem)) => {
                warn(&problem, "ignored: embedding every section");
                Self::default()
            }
        }
    }

    /// Whether the file may be (over)written: not when it holds something else.
    pub fn writable(&self) -> bool {
        !self.foreign
    }

    /// The vector of the text whose digest is `key`.
    pub fn get(&self, key: &TextDigest) -> Option<&Vec<f32>> {
        self.vectors.get(key)
    }

    /// How many vectors the file held.
    pub fn len(&self) -> usize {
        self.vectors.len()
    }
}

/// Writes `vectors` (text digest, vector) of `model` to `path`, creating its folder if
/// needed, through a file beside it renamed over it.
pub fn save<'a>(
    path: &Path,
    model: &ModelId,
    vectors: impl ExactSizeIterator<Item = (TextDigest, &'a [f32])>,
) -> std::io::Result<()> {
    let dimension = model.dimension;
    let count = vectors.len();
    let mut bytes = Vec::with_capacity(HEADER + count * (32 + 4 * dimension));
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&VERSION.to_le_bytes());
    bytes.extend_from_slice(&model.fingerprint);
    bytes.extend_from_slice(&u32_of(dimension)?.to_le_bytes());
    bytes.extend_from_slice(&u32_of(count)?.to_le_bytes());
    for (key, vector) in vectors {
        if vector.len() != dimension {
            return Err(std::io::Error::other("a vector of another dimension"));
        }
        bytes.extend_from_slice(&key);
        vector
            .iter()
            .for_each(|x| bytes.extend_from_slice(&x.to_le_bytes()));
    }
    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(folder)?;
    // Workers sharing the file (containers sharing a volume, all of them pid 1) each write a
    // temporary file of a name of its own; it is removed if anything fails before the rename.
    let mut file = tempfile::NamedTempFile::new_in(folder)?;
    file.write_all(&bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map(drop).map_err(|err| err.error)
}

fn u32_of(n: usize) -> std::io::Result<u32> {
    u32::try_from(n).map_err(std::io::Error::other)
}

/// The vectors of the file at `path`: its header first, and the rest only when the header is
/// this model's and the file's length is the one the header announces.
fn read(path: &Path, model: &ModelId) -> Result<HashMap<TextDigest, Vec<f32>>, Unread> {
    let mut file = std::fs::File::open(path)?;
    let length = file.metadata()?.len();
    let mut head = Vec::with_capacity(HEADER);
    (&mut file).take(HEADER as u64).read_to_end(&mut head)?;
    let body_length = body_length(&head, model)?;
    if length != (HEADER + body_length) as u64 {
        return Err(Unread::Invalid("cut short or too long"));
    }
    let mut body = Vec::with_capacity(body_length);
    file.read_to_end(&mut body)?;
    parse_body(&body, model).map_err(Unread::Invalid)
}

/// The length of the vectors `head` announces, if it is a whole header for this model.
fn body_length(head: &[u8], model: &ModelId) -> Result<usize, Unread> {
    // A file that does not start as ours (some of the magic may be all that was written).
    let ours = head.starts_with(MAGIC) || MAGIC.starts_with(head);
    if !ours {
        return Err(Unread::Foreign);
    }
    let header = head
        .get(..HEADER)
        .ok_or(Unread::Invalid("shorter than its header"))?;
    let word = |at: usize| {
        u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let invalid = |problem| Err(Unread::Invalid(problem));
    if word(4) != VERSION {
        return invalid("written by another version");
    }
    if header[8..40] != model.fingerprint {
        return invalid("written for another model");
    }
    if word(40) as usize != model.dimension {
        return invalid("vectors of another dimension");
    }
    (word(44) as usize)
        .checked_mul(32 + 4 * model.dimension)
        .ok_or(Unread::Invalid("cut short or too long"))
}

/// The entries of a cache file after its header.
fn parse_body(body: &[u8], model: &ModelId) -> Result<HashMap<TextDigest, Vec<f32>>, &'static str> {
    let entry = 32 + 4 * model.dimension;
    if body.len() % entry != 0 {
        return Err("cut short or too long");
    }
    Ok(body
        .chunks_exact(entry)
        .map(|chunk| {
            let (key, floats) = chunk.split_at(32);
            let key: TextDigest = key.try_into().unwrap_or_default();
            let vector = floats
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (key, vector)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectors of a cache file's `bytes`, as [`read`] takes them from a file.
    fn parse(bytes: &[u8], model: &ModelId) -> Result<HashMap<TextDigest, Vec<f32>>, &'static str> {
        let body_length = body_length(bytes, model).map_err(|unread| match unread {
            Unread::Invalid(problem) => problem,
            _ => "not a vector cache",
        })?;
        if bytes.len() != HEADER + body_length {
            return Err("cut short or too long");
        }
        parse_body(&bytes[HEADER..], model)
    }

    const MODEL: ModelId = ModelId {
        fingerprint: [7; 32],
        dimension: 2,
    };

    fn saved(model: &ModelId, vectors: &[(&str, Vec<f32>)]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache/vectors.bin");
        let entries = vectors.iter().map(|(text, v)| (digest(text), v.as_slice()));
        save(&path, model, entries).unwrap();
        std::fs::read(path).unwrap()
    }

    #[test]
    fn saved_vectors_are_found_by_their_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new folder/vectors.bin");
        assert_eq!(VectorCache::load(&path, &MODEL).len(), 0, "no file yet");
        let vectors = [("refunds", vec![0.6, 0.8]), ("invoices", vec![1.0, 0.0])];
        let entries = vectors.iter().map(|(text, v)| (digest(text), v.as_slice()));
        save(&path, &MODEL, entries).unwrap();
        let cache = VectorCache::load(&path, &MODEL);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&digest("refunds")), Some(&vec![0.6, 0.8]));
        assert_eq!(cache.get(&digest("invoices")), Some(&vec![1.0, 0.0]));
        assert_eq!(cache.get(&digest("shipping")), None);
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1,
            "no temporary file left"
        );
        let wrong = [("refunds", vec![1.0, 0.0, 0.0])];
        let entries = wrong.iter().map(|(text, v)| (digest(text), v.as_slice()));
        assert!(save(&path, &MODEL, entries).is_err());
        assert_eq!(
            VectorCache::load(&path, &MODEL).len(),
            2,
            "the last whole file stays"
        );
    }

    #[test]
    fn another_model_or_a_damaged_file_is_refused_whole() {
        let bytes = saved(&MODEL, &[("refunds", vec![0.6, 0.8])]);
        assert!(parse(&bytes, &MODEL).is_ok());
        let other = ModelId {
            fingerprint: [8; 32],
            ..MODEL
        };
        assert_eq!(parse(&bytes, &other), Err("written for another model"));
        let wider = ModelId {
            dimension: 3,
            ..MODEL
        };
        assert_eq!(parse(&bytes, &wider), Err("vectors of another dimension"));
        let short = &bytes[..bytes.len() - 1];
        assert_eq!(parse(short, &MODEL), Err("cut short or too long"));
        assert_eq!(parse(&bytes[..10], &MODEL), Err("shorter than its header"));
        let mut foreign = bytes.clone();
        foreign[0] = b'X';
        assert_eq!(parse(&foreign, &MODEL), Err("not a vector cache"));
        assert_eq!(parse(b"TA", &MODEL), Err("shorter than its header"));
        let mut newer = bytes;
        newer[4] = 2;
        assert_eq!(parse(&newer, &MODEL), Err("written by another version"));
    }

    #[test]
    fn writers_sharing_the_file_leave_a_whole_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vectors.bin");
        std::thread::scope(|scope| {
            for writer in 0..8u8 {
                let path = &path;
                scope.spawn(move || {
                    for _ in 0..20 {
                        let text = format!("section of writer {writer}");
                        let vector = [f32::from(writer), 1.0];
                        save(path, &MODEL, std::iter::once((digest(&text), &vector[..]))).unwrap();
                        assert_eq!(VectorCache::load(path, &MODEL).len(), 1);
                    }
                });
            }
        });
        assert_eq!(VectorCache::load(&path, &MODEL).len(), 1);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_damaged_file_loads_as_an_empty_cache_to_write_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vectors.bin");
        for damaged in [&b"TAVC and then nothing useful"[..], b"TA", b""] {
            std::fs::write(&path, damaged).unwrap();
            let cache = VectorCache::load(&path, &MODEL);
            assert_eq!(cache.len(), 0);
            assert!(cache.writable(), "{damaged:?}");
        }
    }

    #[test]
    fn a_file_that_is_no_vector_cache_is_not_to_be_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        std::fs::write(&path, b"{\"__metadata__\": {}}").unwrap();
        let cache = VectorCache::load(&path, &MODEL);
        assert_eq!(cache.len(), 0);
        assert!(!cache.writable());
        assert!(VectorCache::load(&dir.path().join("new.bin"), &MODEL).writable());
    }
}
