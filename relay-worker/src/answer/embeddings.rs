//! Sentence embeddings: a small BERT model (all-MiniLM-L6-v2, from `KNOWLEDGE_EMBEDDINGS`) that
//! turns a question or a section into a vector, so that the knowledge search can tell that
//! "my card expired, how do i put a new one in" asks about *updating your payment method*
//! although the two share no word.
//!
//! The model runs on the CPU with candle (Hugging Face's Rust tensor library), read from the
//! three files every sentence-transformers model folder has: `config.json`, `tokenizer.json`
//! and `model.safetensors`. A vector is the mean of the last layer over the text's tokens,
//! scaled to length 1 (the model's own pooling), so the dot product of two is their cosine.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use sha2::{Digest, Sha256};
use tokenizers::{Tokenizer, TruncationParams};

use super::vector_cache::ModelId;

/// The longest text embedded, in tokens: the length the model was trained on. A longer section
/// is embedded from its headings and first paragraphs.
pub const MAX_TOKENS: usize = 256;

/// The model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddingError {
    /// A file of the model folder is missing or unreadable.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `config.json` is not a BERT configuration.
    #[error("{path} is not a BERT model configuration: {source}")]
    Config {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// `tokenizer.json` could not be loaded, or a text could not be tokenized.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The weights do not fit the configuration, or a computation failed.
    #[error("model: {0}")]
    Model(#[from] candle_core::Error),
}

/// A loaded sentence-embedding model. Embedding is CPU work (about 10 ms for a question):
/// callers on an async thread run it on the blocking pool.
pub struct Embedder {
    model: BertModel,
    tokenizer: Tokenizer,
    dir: PathBuf,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder").field("dir", &self.dir).finish()
    }
}

impl Embedder {
    /// Loads the model in `dir` (`config.json`, `tokenizer.json`, `model.safetensors`).
    pub fn load(dir: &Path) -> Result<Self, EmbeddingError> {
        Self::from_files(dir, read_files(dir)?).map(|(embedder, _)| embedder)
    }

    /// [`Embedder::load`], and which model it is (the SHA-256 of its files and pooling, taken
    /// from the bytes loaded), for vectors kept across restarts. Hashing the weights takes
    /// about 80 ms that only a worker keeping its vectors needs to spend.
    pub fn load_identified(dir: &Path) -> Result<(Self, ModelId), EmbeddingError> {
        let files = read_files(dir)?;
        let fingerprint = fingerprint(&files.each_ref().map(Vec::as_slice));
        let (embedder, dimension) = Self::from_files(dir, files)?;
        let id = ModelId {
            fingerprint,
            dimension,
        };
        Ok((embedder, id))
    }

    /// The model of `dir` from its files' bytes, and the length of its vectors.
    fn from_files(
        dir: &Path,
        [config_file, tokenizer_file, weights_file]: [Vec<u8>; 3],
    ) -> Result<(Self, usize), EmbeddingError> {
        let config: Config =
            serde_json::from_slice(&config_file).map_err(|source| EmbeddingError::Config {
                path: dir.join("config.json"),
                source,
            })?;
        let mut tokenizer = Tokenizer::from_bytes(tokenizer_file)
            .map_err(|err| EmbeddingError::Tokenizer(err.to_string()))?;
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|err| EmbeddingError::Tokenizer(err.to_string()))?;
        // Read into memory rather than mapped: mapping a file is `unsafe` (another process
        // could change it underneath), and 90 MB once per process is cheap.
        let weights =
            VarBuilder::from_buffered_safetensors(weights_file, DType::F32, &Device::Cpu)?;
        let model = BertModel::load(weights, &config)?;
        let embedder = Self {
            model,
            tokenizer,
            dir: dir.to_path_buf(),
        };
        Ok((embedder, config.hidden_size))
    }

    /// The folder the model was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The unit vector of `text` (its first [`MAX_TOKENS`] tokens).
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, EmbeddingError> {
        let encoding = self
            .tokenizer
            .encode(text, true)
            .map_err(|err| EmbeddingError::Tokenizer(err.to_string()))?;
        let ids = Tensor::new(encoding.get_ids(), &Device::Cpu)?.unsqueeze(0)?;
        let types = ids.zeros_like()?;
        let mask = Tensor::new(encoding.get_attention_mask(), &Device::Cpu)?.unsqueeze(0)?;
        let states = self.model.forward(&ids, &types, Some(&mask))?;
        let tokens = encoding.get_ids().len().max(1) as f64;
        let mean: Vec<f32> = (states.sum(1)? / tokens)?.squeeze(0)?.to_vec1()?;
        Ok(unit(mean))
    }
}

/// The files of a model folder.
const FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// The bytes of [`FILES`] in `dir`.
fn read_files(dir: &Path) -> Result<[Vec<u8>; 3], EmbeddingError> {
    let [config, tokenizer, weights] = FILES.map(|name| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|source| EmbeddingError::Read { path, source })
    });
    Ok([config?, tokenizer?, weights?])
}

/// The SHA-256 of the model's `files` and of how a vector is made from its output (the pooling
/// and [`MAX_TOKENS`]): a change to either makes vectors that must not be mixed with these.
fn fingerprint(files: &[&[u8]]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(format!("mean pooling, unit length, {MAX_TOKENS} tokens"));
    for file in files {
        hash.update((file.len() as u64).to_le_bytes());
        hash.update(file);
    }
    hash.finalize().into()
}

/// `vector` scaled to length 1 (unchanged when it is all zeros).
fn unit(mut vector: Vec<f32>) -> Vec<f32> {
    let length = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if length > 0.0 {
        vector.iter_mut().for_each(|x| *x /= length);
    }
    vector
}

/// The cosine of two unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_scaled_to_length_one() {
        let v = unit(vec![3.0, 4.0]);
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
        assert_eq!(unit(vec![0.0, 0.0]), vec![0.0, 0.0]);
        assert!((cosine(&v, &v) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn a_change_to_any_file_is_another_model() {
        let files = |texts: [&'static str; 3]| texts.map(str::as_bytes);
        let model = fingerprint(&files(["{}", "tok", "weights"]));
        assert_eq!(model, fingerprint(&files(["{}", "tok", "weights"])));
        assert_ne!(model, fingerprint(&files(["{}", "tok", "weightz"])));
        assert_ne!(model, fingerprint(&files(["{ }", "tok", "weights"])));
        // The lengths are hashed too, so bytes moved from one file to the next differ.
        assert_ne!(model, fingerprint(&files(["{}", "to", "kweights"])));
    }

    #[test]
    fn a_folder_without_the_model_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = Embedder::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("config.json"), "{err}");
    }
}
