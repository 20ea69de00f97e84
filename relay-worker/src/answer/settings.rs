//! The settings of the answer sources (`ANSWER_SOURCE`, `KNOWLEDGE_*`, `LLM_*`), read from the
//! shared configuration sources and checked at start: every bad value is a [`ConfigError`]
//! naming its variable, every number has a range, and nothing here can panic.

use std::{
    fmt,
    ops::RangeInclusive,
    path::{Path, PathBuf},
    time::Duration,
};

use common::config::{ConfigError, ConfigSource};
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Where answers come from (`ANSWER_SOURCE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// `placeholder` (default): Phase 1's fixed reply.
    Placeholder,
    /// `knowledge`: the best passages of the documents in `KNOWLEDGE_DIR`, no model.
    Knowledge,
    /// `llm`: an OpenAI-compatible chat model, with the documents when `KNOWLEDGE_DIR` is set.
    Llm,
}

/// Everything the answer sources need, checked.
#[derive(Debug, Clone)]
pub struct AnswerSettings {
    /// `ANSWER_SOURCE`.
    pub source: SourceKind,
    /// `ANSWER_MAX_CHARS` (default 4,000, 1 to 100,000): longer answers are cut on a character
    /// boundary and end with an ellipsis.
    pub max_chars: usize,
    /// The documents: required by `knowledge`, optional context for `llm`.
    pub knowledge: Option<KnowledgeSettings>,
    /// The model: set when the source is `llm`.
    pub llm: Option<LlmSettings>,
}

/// The knowledge folder and how it is searched.
#[derive(Debug, Clone)]
pub struct KnowledgeSettings {
    /// `KNOWLEDGE_DIR`: a folder of Markdown (`.md`, `.markdown`) and text (`.txt`) files, read
    /// recursively.
    pub dir: PathBuf,
    /// `KNOWLEDGE_TOP_K` (default 3, 1 to 20): most passages in one answer.
    pub top_k: usize,
    /// `KNOWLEDGE_MIN_COVERAGE` (default [`DEFAULT_MIN_COVERAGE`], 0 to 1): the share of the
    /// question's weight the best section must contain for the documents to answer; below it,
    /// staff follows up (see `answer::search`).
    pub min_coverage: f32,
    /// `KNOWLEDGE_MIN_SCORE` (default 0, 0 to 1,000): a BM25 score the best section must also
    /// reach. Off by default: scores have no fixed scale, so a cut tuned on one set of
    /// documents does not carry to another.
    pub min_score: f32,
    /// `KNOWLEDGE_RELOAD_SECS` (default 30, 0 to 86,400; 0 = never): how often the folder is
    /// scanned for changed files (and the index rebuilt when there are some).
    pub reload_every: Option<Duration>,
    /// `KNOWLEDGE_EMBEDDINGS`: a folder holding a sentence-embedding model (all-MiniLM-L6-v2:
    /// `config.json`, `tokenizer.json`, `model.safetensors`; `scripts/model-bin` fetches it).
    /// When set, sections are ranked and judged by meaning as well as by words; unset, by words
    /// alone.
    pub embeddings: Option<PathBuf>,
    /// `KNOWLEDGE_EMBEDDINGS_CACHE`: a file the section vectors are kept in, so that a worker
    /// that starts again embeds only the sections it has not seen (its folder is created when
    /// missing; workers over the same documents may share it). Unset or empty: every start
    /// embeds every section.
    pub embeddings_cache: Option<PathBuf>,
}

/// The OpenAI-compatible chat completions endpoint and how to ask it.
#[derive(Clone)]
pub struct LlmSettings {
    /// `LLM_BASE_URL`: the API root that `chat/completions` is appended to, e.g.
    /// `https://api.openai.com/v1` or `http://localhost:11434/v1` (Ollama). Always ends in `/`.
    pub base_url: Url,
    /// `LLM_API_KEY`: sent as a bearer token when set (a local Ollama needs none).
    pub api_key: Option<SecretString>,
    /// `LLM_MODEL`: e.g. `gpt-4o-mini`, `llama3.2`.
    pub model: String,
    /// `LLM_SYSTEM_PROMPT`, or the contents of `LLM_SYSTEM_PROMPT_FILE`, else
    /// [`DEFAULT_SYSTEM_PROMPT`].
    pub system_prompt: String,
    /// `LLM_MAX_TOKENS` (default 512, 1 to 32,768): the answer's length limit, in tokens.
    pub max_tokens: u32,
    /// `LLM_TEMPERATURE` (default 0.2, 0 to 2).
    pub temperature: f32,
    /// `LLM_TIMEOUT_SECS` (default 30, 1 to 600): the whole budget of one answer, a wait for a
    /// rate limit's `Retry-After` and the retry included.
    pub timeout: Duration,
    /// `LLM_STREAM` (default `true`): ask the model with `"stream": true` when the requester
    /// wants the answer in pieces (`X-Relay-Stream`). `false` for a server that cannot stream.
    pub stream: bool,
}

impl fmt::Debug for LlmSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key is a SecretString already; the prompt may be long, so only its size shows.
        f.debug_struct("LlmSettings")
            .field(
                "base_url",
                &common::config::redact_url(self.base_url.as_str()),
            )
            .field("api_key", &self.api_key)
            .field("model", &self.model)
            .field("system_prompt_chars", &self.system_prompt.chars().count())
            .field("max_tokens", &self.max_tokens)
            .field("temperature", &self.temperature)
            .field("timeout", &self.timeout)
            .field("stream", &self.stream)
            .finish()
    }
}

/// The system prompt when neither `LLM_SYSTEM_PROMPT` nor `LLM_SYSTEM_PROMPT_FILE` is set.
pub const DEFAULT_SYSTEM_PROMPT: &str = "You are the support assistant of a Discord server, \
answering in a support ticket. Answer the member's last message briefly and politely, in the \
language they wrote in. If you are not sure, say so and that a member of staff will follow up; \
never invent facts, links or policies.";

const MAX_CHARS: RangeInclusive<u64> = 1..=100_000;
const TOP_K: RangeInclusive<u64> = 1..=20;
const MIN_SCORE: RangeInclusive<f64> = 0.0..=1_000.0;
const MIN_COVERAGE: RangeInclusive<f64> = 0.0..=1.0;
/// The default `KNOWLEDGE_MIN_COVERAGE`: a little more than a third, chosen on the tuned part of
/// the labelled questions (`tests/fixtures/knowledge-questions.toml`), where no off-topic
/// question's best section covers more than 0.34. Exactly a third would let one rare shared
/// word of three pass ("Who *won* the football league?").
pub const DEFAULT_MIN_COVERAGE: f32 = 0.35;
const RELOAD_SECS: RangeInclusive<u64> = 0..=86_400;
const MAX_TOKENS: RangeInclusive<u64> = 1..=32_768;
const TEMPERATURE: RangeInclusive<f64> = 0.0..=2.0;
const TIMEOUT_SECS: RangeInclusive<u64> = 1..=600;
/// A system prompt file larger than this is surely the wrong file.
const MAX_PROMPT_FILE_BYTES: u64 = 64 * 1024;

/// The variables as they arrive. Numbers are read as text so that every bad value, even one
/// of the wrong type or out of the integer's range, gets the same message with its range.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawSettings {
    answer_source: Option<String>,
    answer_max_chars: Option<String>,
    knowledge_dir: Option<String>,
    knowledge_top_k: Option<String>,
    knowledge_min_score: Option<String>,
    knowledge_min_coverage: Option<String>,
    knowledge_reload_secs: Option<String>,
    knowledge_embeddings: Option<String>,
    knowledge_embeddings_cache: Option<String>,
    llm_base_url: Option<String>,
    llm_api_key: Option<SecretString>,
    llm_model: Option<String>,
    llm_system_prompt: Option<String>,
    llm_system_prompt_file: Option<String>,
    llm_max_tokens: Option<String>,
    llm_temperature: Option<String>,
    llm_timeout_secs: Option<String>,
    #[serde(default)]
    llm_stream: Option<String>,
}

impl AnswerSettings {
    /// The placeholder source, as when nothing is set.
    pub fn placeholder() -> Self {
        Self {
            source: SourceKind::Placeholder,
            max_chars: 4_000,
            knowledge: None,
            llm: None,
        }
    }

    /// Reads and checks the answer settings.
    pub fn load(source: &ConfigSource) -> Result<Self, ConfigError> {
        let raw: RawSettings = source.get()?;
        let kind = match set(raw.answer_source).as_deref() {
            None | Some("placeholder") => SourceKind::Placeholder,
            Some("knowledge") => SourceKind::Knowledge,
            Some("llm") => SourceKind::Llm,
            Some(other) => {
                return Err(ConfigError::invalid(
                    "ANSWER_SOURCE",
                    format!("{other:?} is not one of placeholder, knowledge, llm"),
                ))
            }
        };
        let max_chars = integer("ANSWER_MAX_CHARS", raw.answer_max_chars, 4_000, MAX_CHARS)?;
        let knowledge = match set(raw.knowledge_dir) {
            None if kind == SourceKind::Knowledge => {
                return Err(ConfigError::invalid(
                    "KNOWLEDGE_DIR",
                    "is required when ANSWER_SOURCE=knowledge",
                ))
            }
            None => None,
            Some(dir) => Some(KnowledgeSettings {
                dir: directory("KNOWLEDGE_DIR", &dir)?,
                top_k: integer("KNOWLEDGE_TOP_K", raw.knowledge_top_k, 3, TOP_K)? as usize,
                min_coverage: number(
                    "KNOWLEDGE_MIN_COVERAGE",
                    raw.knowledge_min_coverage,
                    f64::from(DEFAULT_MIN_COVERAGE),
                    MIN_COVERAGE,
                )? as f32,
                min_score: number(
                    "KNOWLEDGE_MIN_SCORE",
                    raw.knowledge_min_score,
                    0.0,
                    MIN_SCORE,
                )? as f32,
                reload_every: match integer(
                    "KNOWLEDGE_RELOAD_SECS",
                    raw.knowledge_reload_secs,
                    30,
                    RELOAD_SECS,
                )? {
                    0 => None,
                    secs => Some(Duration::from_secs(secs)),
                },
                embeddings: set(raw.knowledge_embeddings)
                    .map(|dir| directory("KNOWLEDGE_EMBEDDINGS", &dir))
                    .transpose()?,
                embeddings_cache: set(raw.knowledge_embeddings_cache)
                    .map(|path| file_to_write("KNOWLEDGE_EMBEDDINGS_CACHE", &path))
                    .transpose()?,
            }),
        };
        let llm = if kind == SourceKind::Llm {
            Some(LlmSettings {
                base_url: base_url(&required("LLM_BASE_URL", raw.llm_base_url)?)?,
                api_key: raw
                    .llm_api_key
                    .filter(|key| !key.expose_secret().trim().is_empty()),
                model: required("LLM_MODEL", raw.llm_model)?,
                system_prompt: system_prompt(raw.llm_system_prompt, raw.llm_system_prompt_file)?,
                max_tokens: integer("LLM_MAX_TOKENS", raw.llm_max_tokens, 512, MAX_TOKENS)? as u32,
                temperature: number("LLM_TEMPERATURE", raw.llm_temperature, 0.2, TEMPERATURE)?
                    as f32,
                timeout: Duration::from_secs(integer(
                    "LLM_TIMEOUT_SECS",
                    raw.llm_timeout_secs,
                    30,
                    TIMEOUT_SECS,
                )?),
                stream: boolean("LLM_STREAM", raw.llm_stream, true)?,
            })
        } else {
            None
        };
        Ok(Self {
            source: kind,
            max_chars: max_chars as usize,
            knowledge,
            llm,
        })
    }
}

/// `X=` (as .env templates and compose files write) means unset.
fn set(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`, any case); `default` when unset.
fn boolean(key: &str, value: Option<String>, default: bool) -> Result<bool, ConfigError> {
    match set(value).map(|v| v.to_ascii_lowercase()).as_deref() {
        None => Ok(default),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(other) => Err(ConfigError::invalid(
            key,
            format!("{other:?} is not true or false"),
        )),
    }
}

fn required(key: &str, value: Option<String>) -> Result<String, ConfigError> {
    set(value).ok_or_else(|| ConfigError::invalid(key, "is required when ANSWER_SOURCE=llm"))
}

fn integer(
    key: &str,
    value: Option<String>,
    default: u64,
    range: RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let Some(text) = set(value) else {
        return Ok(default);
    };
    match text.parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(ConfigError::invalid(
            key,
            format!(
                "{text:?} is not a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        )),
    }
}

fn number(
    key: &str,
    value: Option<String>,
    default: f64,
    range: RangeInclusive<f64>,
) -> Result<f64, ConfigError> {
    let Some(text) = set(value) else {
        return Ok(default);
    };
    match text.parse::<f64>() {
        // NaN is in no range, so it is refused here too.
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(ConfigError::invalid(
            key,
            format!(
                "{text:?} is not a number from {} to {}",
                range.start(),
                range.end()
            ),
        )),
    }
}

fn directory(key: &str, path: &str) -> Result<PathBuf, ConfigError> {
    let dir = PathBuf::from(path);
    match std::fs::metadata(&dir) {
        Ok(meta) if meta.is_dir() => Ok(dir),
        Ok(_) => Err(ConfigError::invalid(
            key,
            format!("{path:?} is not a folder"),
        )),
        Err(err) => Err(ConfigError::invalid(
            key,
            format!("cannot read {path:?}: {err}"),
        )),
    }
}

/// A file the worker will write: not a folder.
fn file_to_write(key: &str, path: &str) -> Result<PathBuf, ConfigError> {
    let file = PathBuf::from(path);
    if file.is_dir() || path.ends_with('/') {
        return Err(ConfigError::invalid(
            key,
            format!("{path:?} is a folder; name a file in it"),
        ));
    }
    Ok(file)
}

fn base_url(text: &str) -> Result<Url, ConfigError> {
    let problem = |why: &str| {
        ConfigError::invalid(
            "LLM_BASE_URL",
            format!(
                "{:?} {why} (like https://api.openai.com/v1 or http://localhost:11434/v1)",
                common::config::redact_url(text)
            ),
        )
    };
    let mut url = Url::parse(text).map_err(|err| problem(&format!("is not a URL: {err}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(problem("is not an http(s) URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(problem("must have no query or fragment"));
    }
    // Url::join replaces the last segment of a base without a trailing slash.
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

fn system_prompt(text: Option<String>, file: Option<String>) -> Result<String, ConfigError> {
    match (set(text), set(file)) {
        (Some(_), Some(_)) => Err(ConfigError::invalid(
            "LLM_SYSTEM_PROMPT_FILE",
            "set LLM_SYSTEM_PROMPT or LLM_SYSTEM_PROMPT_FILE, not both",
        )),
        (Some(text), None) => Ok(text),
        (None, Some(path)) => read_prompt(Path::new(&path)),
        (None, None) => Ok(DEFAULT_SYSTEM_PROMPT.to_owned()),
    }
}

fn read_prompt(path: &Path) -> Result<String, ConfigError> {
    let key = "LLM_SYSTEM_PROMPT_FILE";
    let shown = path.display();
    let size = std::fs::metadata(path)
        .map_err(|err| ConfigError::invalid(key, format!("cannot read {shown}: {err}")))?
        .len();
    if size > MAX_PROMPT_FILE_BYTES {
        return Err(ConfigError::invalid(
            key,
            format!("{shown} has {size} bytes; at most {MAX_PROMPT_FILE_BYTES}"),
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|err| ConfigError::invalid(key, format!("cannot read {shown}: {err}")))?;
    if text.trim().is_empty() {
        return Err(ConfigError::invalid(key, format!("{shown} is empty")));
    }
    Ok(text.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<AnswerSettings, ConfigError> {
        AnswerSettings::load(&ConfigSource::from_vars(vars.iter().copied()))
    }

    fn error(vars: &[(&str, &str)]) -> String {
        load(vars).unwrap_err().to_string()
    }

    /// The knowledge settings over the folder `dir`, with `extra` set.
    fn knowledge(
        dir: &str,
        extra: &[(&str, &str)],
    ) -> Result<Option<KnowledgeSettings>, ConfigError> {
        let mut vars = vec![("ANSWER_SOURCE", "knowledge"), ("KNOWLEDGE_DIR", dir)];
        vars.extend_from_slice(extra);
        load(&vars).map(|settings| settings.knowledge)
    }

    fn llm<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut vars = vec![
            ("ANSWER_SOURCE", "llm"),
            ("LLM_BASE_URL", "http://localhost:11434/v1"),
            ("LLM_MODEL", "llama3.2"),
        ];
        vars.extend_from_slice(extra);
        vars
    }

    #[test]
    fn nothing_set_is_the_placeholder() {
        let settings = load(&[]).unwrap();
        assert_eq!(settings.source, SourceKind::Placeholder);
        assert_eq!(settings.max_chars, 4_000);
        assert!(settings.knowledge.is_none() && settings.llm.is_none());
        assert_eq!(
            load(&[("ANSWER_SOURCE", "")]).unwrap().source,
            SourceKind::Placeholder
        );
    }

    #[test]
    fn an_unknown_source_is_named() {
        let err = error(&[("ANSWER_SOURCE", "gpt")]);
        assert!(
            err.contains("ANSWER_SOURCE") && err.contains("placeholder, knowledge, llm"),
            "{err}"
        );
    }

    #[test]
    fn the_embedding_model_is_optional_and_must_be_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_str().unwrap();
        let with = |model: &str| knowledge(path, &[("KNOWLEDGE_EMBEDDINGS", model)]);
        assert_eq!(knowledge(path, &[]).unwrap().unwrap().embeddings, None);
        assert_eq!(with("").unwrap().unwrap().embeddings, None);
        assert_eq!(
            with(path).unwrap().unwrap().embeddings.as_deref(),
            Some(dir.path())
        );
        let err = with("/no/such/model").unwrap_err().to_string();
        assert!(err.contains("KNOWLEDGE_EMBEDDINGS: cannot read"), "{err}");
    }

    #[test]
    fn the_vector_cache_is_optional_and_must_name_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_str().unwrap();
        let with = |cache: &str| knowledge(path, &[("KNOWLEDGE_EMBEDDINGS_CACHE", cache)]);
        assert_eq!(
            knowledge(path, &[]).unwrap().unwrap().embeddings_cache,
            None
        );
        assert_eq!(with(" ").unwrap().unwrap().embeddings_cache, None);
        let file = dir.path().join("not yet/vectors.bin");
        let named = with(file.to_str().unwrap()).unwrap().unwrap();
        assert_eq!(named.embeddings_cache, Some(file));
        for folder in [path.to_owned(), format!("{path}/later/")] {
            let err = with(&folder).unwrap_err().to_string();
            assert!(
                err.contains("KNOWLEDGE_EMBEDDINGS_CACHE") && err.contains("is a folder"),
                "{err}"
            );
        }
    }

    #[test]
    fn knowledge_needs_an_existing_folder() {
        let err = error(&[("ANSWER_SOURCE", "knowledge")]);
        assert!(err.contains("KNOWLEDGE_DIR: is required"), "{err}");
        let err = error(&[
            ("ANSWER_SOURCE", "knowledge"),
            ("KNOWLEDGE_DIR", "/no/such/dir"),
        ]);
        assert!(err.contains("KNOWLEDGE_DIR: cannot read"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_str().unwrap();
        let settings = load(&[("ANSWER_SOURCE", "knowledge"), ("KNOWLEDGE_DIR", path)]).unwrap();
        let knowledge = settings.knowledge.unwrap();
        assert_eq!(
            (knowledge.top_k, knowledge.min_coverage, knowledge.min_score),
            (3, DEFAULT_MIN_COVERAGE, 0.0)
        );
        assert_eq!(knowledge.reload_every, Some(Duration::from_secs(30)));
    }

    #[test]
    fn llm_needs_a_base_url_and_a_model() {
        let err = error(&[("ANSWER_SOURCE", "llm"), ("LLM_MODEL", "m")]);
        assert!(
            err.contains("LLM_BASE_URL: is required when ANSWER_SOURCE=llm"),
            "{err}"
        );
        let err = error(&[("ANSWER_SOURCE", "llm"), ("LLM_BASE_URL", "http://h/v1")]);
        assert!(err.contains("LLM_MODEL: is required"), "{err}");
        for bad in [
            "localhost:11434",
            "ftp://h/v1",
            "not a url",
            "http://h/v1?x=1",
        ] {
            let err = error(&[
                ("ANSWER_SOURCE", "llm"),
                ("LLM_BASE_URL", bad),
                ("LLM_MODEL", "m"),
            ]);
            assert!(err.contains("LLM_BASE_URL"), "{bad}: {err}");
        }
    }

    #[test]
    fn llm_defaults_and_a_slash_ended_base_url() {
        let settings = load(&llm(&[("LLM_API_KEY", "")])).unwrap().llm.unwrap();
        assert_eq!(settings.base_url.as_str(), "http://localhost:11434/v1/");
        assert!(settings.api_key.is_none(), "an empty key is no key");
        assert_eq!((settings.max_tokens, settings.temperature), (512, 0.2));
        assert_eq!(settings.timeout, Duration::from_secs(30));
        assert_eq!(settings.system_prompt, DEFAULT_SYSTEM_PROMPT);
        assert!(settings.stream, "streams unless told not to");
        let off = load(&llm(&[("LLM_STREAM", "false")])).unwrap().llm.unwrap();
        assert!(!off.stream);
        let err = error(&llm(&[("LLM_STREAM", "maybe")]));
        assert!(err.contains("LLM_STREAM"), "{err}");
    }

    #[test]
    fn every_number_out_of_range_is_named_with_its_range() {
        let cases = [
            ("ANSWER_MAX_CHARS", "0", "from 1 to 100000"),
            ("ANSWER_MAX_CHARS", "-5", "from 1 to 100000"),
            (
                "LLM_MAX_TOKENS",
                "99999999999999999999999",
                "from 1 to 32768",
            ),
            ("LLM_TEMPERATURE", "2.5", "from 0 to 2"),
            ("LLM_TEMPERATURE", "NaN", "from 0 to 2"),
            ("LLM_TIMEOUT_SECS", "0", "from 1 to 600"),
            ("LLM_TIMEOUT_SECS", "ten", "from 1 to 600"),
        ];
        for (key, value, range) in cases {
            let err = error(&llm(&[(key, value)]));
            assert!(
                err.contains(key) && err.contains(range),
                "{key}={value}: {err}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_str().unwrap();
        for (key, value, range) in [
            ("KNOWLEDGE_TOP_K", "0", "from 1 to 20"),
            ("KNOWLEDGE_TOP_K", "21", "from 1 to 20"),
            ("KNOWLEDGE_MIN_SCORE", "-1", "from 0 to 1000"),
            ("KNOWLEDGE_MIN_SCORE", "inf", "from 0 to 1000"),
            ("KNOWLEDGE_MIN_COVERAGE", "1.5", "from 0 to 1"),
            ("KNOWLEDGE_MIN_COVERAGE", "-0.1", "from 0 to 1"),
            ("KNOWLEDGE_RELOAD_SECS", "86401", "from 0 to 86400"),
        ] {
            let vars = [
                ("ANSWER_SOURCE", "knowledge"),
                ("KNOWLEDGE_DIR", path),
                (key, value),
            ];
            let err = error(&vars);
            assert!(
                err.contains(key) && err.contains(range),
                "{key}={value}: {err}"
            );
        }
    }

    #[test]
    fn the_system_prompt_comes_from_the_variable_or_the_file_not_both() {
        let settings = load(&llm(&[("LLM_SYSTEM_PROMPT", "Be brief.")])).unwrap();
        assert_eq!(settings.llm.unwrap().system_prompt, "Be brief.");
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), "From a file.\n").unwrap();
        let path = file.path().to_str().unwrap();
        let settings = load(&llm(&[("LLM_SYSTEM_PROMPT_FILE", path)])).unwrap();
        assert_eq!(settings.llm.unwrap().system_prompt, "From a file.");
        let both = [("LLM_SYSTEM_PROMPT", "x"), ("LLM_SYSTEM_PROMPT_FILE", path)];
        assert!(error(&llm(&both)).contains("not both"));
        let err = error(&llm(&[("LLM_SYSTEM_PROMPT_FILE", "/no/such/prompt")]));
        assert!(err.contains("LLM_SYSTEM_PROMPT_FILE: cannot read"), "{err}");
    }

    #[test]
    fn debug_hides_the_api_key() {
        let settings = load(&llm(&[("LLM_API_KEY", "sk-very-secret")])).unwrap();
        let shown = format!("{settings:?}");
        assert!(!shown.contains("sk-very-secret"), "{shown}");
    }

    #[test]
    fn debug_and_errors_hide_the_user_part_of_llm_base_url() {
        let settings = load(&[
            ("ANSWER_SOURCE", "llm"),
            ("LLM_BASE_URL", "https://me:pa55word@models.example/v1"),
            ("LLM_MODEL", "m"),
        ])
        .unwrap();
        let shown = format!("{settings:?}");
        assert!(shown.contains("https://***@models.example/v1/"), "{shown}");
        assert!(!shown.contains("pa55word"), "{shown}");
        for bad in ["ftp://me:pa55word@h/v1", "http://me:pa55word@h/v1?x=1"] {
            let err = error(&[
                ("ANSWER_SOURCE", "llm"),
                ("LLM_BASE_URL", bad),
                ("LLM_MODEL", "m"),
            ]);
            assert!(
                err.contains("LLM_BASE_URL") && err.contains("***@h"),
                "{err}"
            );
            assert!(!err.contains("pa55word"), "{err}");
        }
    }
}
