//! How well the `knowledge` source answers: the labelled questions of
//! `tests/fixtures/knowledge-questions.toml` asked of the fixture documents, through the real
//! source. The set's held-out third was never looked at while the gate's defaults were chosen;
//! its figures are printed apart. The blind set (`tests/fixtures/blind/`: three organisations'
//! documents and questions, written without sight of the search code or the tuning set) tells
//! how the answers carry to documents nobody tuned on; only its totals are ever printed.
//!
//! ```sh
//! cargo nextest run -p relay-worker --run-ignored only --no-capture knowledge_quality_figures
//! QUALITY_VERBOSE=1 ...   # also the tuned part's misses, and its best three sections per question
//! ```

use std::fmt;

use common::payload::RelayReply;
use relay_worker::{
    answer::{AnswerSettings, AnswerSource, Knowledge, KnowledgeSettings},
    Responder,
};
use serde::Deserialize;

use crate::helpers::*;

#[derive(Debug, Deserialize)]
struct Questions {
    on_topic: Vec<OnTopic>,
    off_topic: Vec<Question>,
    small_talk: Vec<Question>,
}

#[derive(Debug, Deserialize)]
struct OnTopic {
    /// The organisation's folder, in the blind set.
    #[serde(default)]
    org: String,
    text: String,
    answers: Vec<String>,
    #[serde(default)]
    held_out: bool,
}

#[derive(Debug, Deserialize)]
struct Question {
    #[serde(default)]
    org: String,
    text: String,
    #[serde(default)]
    held_out: bool,
}

fn questions() -> Questions {
    let path = fixtures().with_file_name("knowledge-questions.toml");
    let text = std::fs::read_to_string(&path).expect("the labelled questions");
    toml::from_str(&text).expect("knowledge-questions.toml parses")
}

/// The blind set: three organisations' documents and questions, written by someone who never
/// saw the search code nor the tuning set, and never used to choose anything.
fn blind() -> std::path::PathBuf {
    fixtures().with_file_name("blind")
}

/// The development set: five more organisations, written the same way by someone who saw
/// neither the search code nor the other sets, and tuned on (its misses are printed when
/// verbose): documents nobody wrote the search for, to tune for people's questions rather than
/// for one set of documents.
fn dev() -> std::path::PathBuf {
    fixtures().with_file_name("dev")
}

/// The questions of a set of organisations (`questions.toml` in `dir`).
fn org_questions(dir: &std::path::Path) -> Questions {
    let path = dir.join("questions.toml");
    let text = std::fs::read_to_string(&path).expect("the set's questions");
    toml::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// The questions of one organisation of `set`, all counted as `held_out` or not.
fn of_org(set: &Questions, org: &str, held_out: bool) -> Questions {
    let question = |q: &Question| Question {
        org: q.org.clone(),
        text: q.text.clone(),
        held_out,
    };
    Questions {
        on_topic: set
            .on_topic
            .iter()
            .filter(|q| q.org == org)
            .map(|q| OnTopic {
                org: q.org.clone(),
                text: q.text.clone(),
                answers: q.answers.clone(),
                held_out,
            })
            .collect(),
        off_topic: set
            .off_topic
            .iter()
            .filter(|q| q.org == org)
            .map(question)
            .collect(),
        small_talk: set
            .small_talk
            .iter()
            .filter(|q| q.org == org)
            .map(question)
            .collect(),
    }
}

/// The organisations of a set, each once.
fn orgs(set: &Questions) -> Vec<&str> {
    let mut orgs: Vec<&str> = set.on_topic.iter().map(|q| q.org.as_str()).collect();
    orgs.sort_unstable();
    orgs.dedup();
    orgs
}

/// The figures of every organisation of the blind set, added up (all of it counts as held out,
/// so that its misses are never printed).
async fn measure_blind(search: Search) -> Figures {
    measure_orgs(search, "blind", &blind(), true, false).await
}

/// The figures of every organisation of the development set, added up; its misses are printed
/// when `verbose`.
async fn measure_dev(search: Search, verbose: bool) -> Figures {
    measure_orgs(search, "dev", &dev(), false, verbose).await
}

async fn measure_orgs(
    search: Search,
    name: &str,
    dir: &std::path::Path,
    held_out: bool,
    verbose: bool,
) -> Figures {
    let set = org_questions(dir);
    let mut all = Figures::default();
    for org in orgs(&set) {
        let questions = of_org(&set, org, held_out);
        // Every question of the set has the same `held_out`: one of the two parts is empty.
        let (mut figures, other) = measure_set(search, &dir.join(org), &questions, verbose).await;
        figures.add(&other);
        if verbose {
            let index = Knowledge::open(&search.knowledge(&dir.join(org)))
                .await
                .unwrap();
            dump(&index, &questions);
        }
        println!("{name} {org}: {figures}");
        all.add(&figures);
    }
    all
}

/// What an answer was.
#[derive(Debug)]
enum Outcome {
    /// Passages quoted from these sources, in order.
    Sources(Vec<String>),
    /// The staff follow-up.
    StaffFollowUp,
    /// A reply that is neither (small talk).
    Neither,
}

impl From<&RelayReply> for Outcome {
    fn from(reply: &RelayReply) -> Self {
        match reply.grounded {
            Some(true) => Self::Sources(reply.sources.clone()),
            Some(false) => Self::StaffFollowUp,
            None => Self::Neither,
        }
    }
}

/// The figures of one part of the set.
#[derive(Debug, Default)]
struct Figures {
    on_topic: usize,
    hit_at_1: usize,
    hit_at_3: usize,
    false_abstentions: usize,
    /// Sources quoted, over the documented questions answered from the documents.
    sources_quoted: usize,
    off_topic: usize,
    abstentions: usize,
    small_talk: usize,
    small_talk_replies: usize,
}

impl Figures {
    fn rate(part: usize, whole: usize) -> f64 {
        part as f64 / whole.max(1) as f64
    }

    fn hit_at_1(&self) -> f64 {
        Self::rate(self.hit_at_1, self.on_topic)
    }

    fn hit_at_3(&self) -> f64 {
        Self::rate(self.hit_at_3, self.on_topic)
    }

    fn false_abstention(&self) -> f64 {
        Self::rate(self.false_abstentions, self.on_topic)
    }

    fn abstention(&self) -> f64 {
        Self::rate(self.abstentions, self.off_topic)
    }

    fn small_talk_replies(&self) -> f64 {
        Self::rate(self.small_talk_replies, self.small_talk)
    }

    fn add(&mut self, other: &Self) {
        self.on_topic += other.on_topic;
        self.hit_at_1 += other.hit_at_1;
        self.hit_at_3 += other.hit_at_3;
        self.false_abstentions += other.false_abstentions;
        self.sources_quoted += other.sources_quoted;
        self.off_topic += other.off_topic;
        self.abstentions += other.abstentions;
        self.small_talk += other.small_talk;
        self.small_talk_replies += other.small_talk_replies;
    }
}

fn share(part: usize, whole: usize) -> String {
    if whole == 0 {
        return "-".to_owned();
    }
    format!(
        "{:.0}% ({part}/{whole})",
        100.0 * part as f64 / whole as f64
    )
}

impl fmt::Display for Figures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "hit@1 {}, hit@3 {}, on-topic false abstention {}, off-topic abstention {}, small talk replies {}, {:.2} sources per answer",
            share(self.hit_at_1, self.on_topic),
            share(self.hit_at_3, self.on_topic),
            share(self.false_abstentions, self.on_topic),
            share(self.abstentions, self.off_topic),
            share(self.small_talk_replies, self.small_talk),
            self.sources_quoted as f64 / (self.on_topic - self.false_abstentions).max(1) as f64,
        )
    }
}

fn pick<'a>(held_out: bool, tuned: &'a mut Figures, held: &'a mut Figures) -> &'a mut Figures {
    if held_out {
        held
    } else {
        tuned
    }
}

/// The figures of the tuned part and of the held-out part; misses of the tuned part are
/// printed when `verbose` (the held-out part's never are: they must not steer the tuning).
async fn measure(search: Search, verbose: bool) -> (Figures, Figures) {
    measure_set(search, &fixtures(), &questions(), verbose).await
}

/// [`measure`] for the questions `set` over the documents of `dir`.
async fn measure_set(
    search: Search,
    dir: &std::path::Path,
    set: &Questions,
    verbose: bool,
) -> (Figures, Figures) {
    let settings = AnswerSettings {
        knowledge: Some(search.knowledge(dir)),
        ..knowledge_source(dir)
    };
    let source = AnswerSource::start(&settings).await.unwrap();
    let mut asked = 0;
    let mut answers = std::collections::HashMap::new();
    let texts = set
        .on_topic
        .iter()
        .map(|q| &q.text)
        .chain(set.off_topic.iter().map(|q| &q.text))
        .chain(set.small_talk.iter().map(|q| &q.text));
    for text in texts {
        asked += 1;
        let reply = source.respond(request(text, asked)).await.unwrap();
        answers.insert(text.clone(), reply);
    }
    let ask = |text: &str| Outcome::from(&answers[text]);
    let mut tuned = Figures::default();
    let mut held_out = Figures::default();
    for question in &set.on_topic {
        let figures = pick(question.held_out, &mut tuned, &mut held_out);
        figures.on_topic += 1;
        let outcome = ask(&question.text);
        match &outcome {
            Outcome::Sources(sources) => {
                let hit = |k: usize| sources.iter().take(k).any(|s| question.answers.contains(s));
                figures.hit_at_1 += usize::from(hit(1));
                figures.hit_at_3 += usize::from(hit(3));
                figures.sources_quoted += sources.len();
                if verbose && !question.held_out && !hit(1) {
                    println!(
                        "miss@1 {:?} -> {sources:?} (want {:?})",
                        question.text, question.answers
                    );
                }
            }
            Outcome::StaffFollowUp | Outcome::Neither => {
                figures.false_abstentions += 1;
                if verbose && !question.held_out {
                    println!("abstained on {:?}", question.text);
                }
            }
        }
    }
    for question in &set.off_topic {
        let figures = pick(question.held_out, &mut tuned, &mut held_out);
        figures.off_topic += 1;
        match ask(&question.text) {
            Outcome::StaffFollowUp => figures.abstentions += 1,
            other => {
                if verbose && !question.held_out {
                    println!("answered off-topic {:?} -> {other:?}", question.text);
                }
            }
        }
    }
    for question in &set.small_talk {
        let figures = pick(question.held_out, &mut tuned, &mut held_out);
        figures.small_talk += 1;
        if let Outcome::Neither = ask(&question.text) {
            figures.small_talk_replies += 1;
        }
    }
    (tuned, held_out)
}

/// How the sections are searched.
#[derive(Debug, Clone, Copy)]
enum Search {
    /// By words alone (no `KNOWLEDGE_EMBEDDINGS`).
    Words,
    /// By words and meaning (`KNOWLEDGE_EMBEDDINGS`, as deployed).
    Meaning,
}

impl Search {
    fn knowledge(self, dir: &std::path::Path) -> KnowledgeSettings {
        KnowledgeSettings {
            embeddings: match self {
                Self::Words => None,
                Self::Meaning => Some(model_dir()),
            },
            ..knowledge(dir)
        }
    }
}

/// Prints the figures (see the module documentation for the command): by meaning, then by
/// words alone.
#[tokio::test]
#[ignore = "prints figures; run with --run-ignored only --no-capture"]
async fn knowledge_quality_figures() {
    let verbose = std::env::var_os("QUALITY_VERBOSE").is_some();
    for search in [Search::Meaning, Search::Words] {
        // The misses are printed for the search as deployed.
        let verbose = verbose && matches!(search, Search::Meaning);
        let (tuned, held_out) = measure(search, verbose).await;
        if verbose {
            let index = Knowledge::open(&search.knowledge(&fixtures()))
                .await
                .unwrap();
            dump(&index, &questions());
        }
        println!("{search:?}");
        println!("tuned:    {tuned}");
        println!("held out: {held_out}");
        println!("dev:      {}", measure_dev(search, verbose).await);
        println!("blind:    {}", measure_blind(search).await);
    }
}

/// Floors a little below the figures measured with the default settings and the model (tuned
/// | held out: hit@1 86% | 89%, hit@3 91% | 89%, on-topic false abstention 2% | 4%, off-topic
/// abstention 100% | 88%, small talk replies 100% | 100%): a change that makes the answers
/// worse fails here, and one that makes them better should raise the floors.
#[tokio::test]
async fn the_answers_stay_at_least_as_good_as_measured() {
    assert_floors(
        Search::Meaning,
        [FLOORS_TUNED, FLOORS_HELD_OUT, FLOORS_DEV, FLOORS_BLIND],
    )
    .await;
}

/// The same by words alone (tuned | held out: hit@1 78% | 86%, hit@3 83% | 89%, on-topic false
/// abstention 3% | 4%, off-topic abstention 100% | 100%, small talk replies 100% | 100%).
#[tokio::test]
async fn the_answers_by_words_alone_stay_at_least_as_good_as_measured() {
    assert_floors(
        Search::Words,
        [
            WORDS_FLOORS_TUNED,
            WORDS_FLOORS_HELD_OUT,
            WORDS_FLOORS_DEV,
            WORDS_FLOORS_BLIND,
        ],
    )
    .await;
}

async fn assert_floors(
    search: Search,
    [tuned_floors, held_floors, dev_floors, blind_floors]: [[f64; 5]; 4],
) {
    let (tuned, held_out) = measure(search, false).await;
    let dev = measure_dev(search, false).await;
    let blind = measure_blind(search).await;
    for (part, figures, floors) in [
        ("tuned", &tuned, tuned_floors),
        ("held out", &held_out, held_floors),
        ("dev", &dev, dev_floors),
        ("blind", &blind, blind_floors),
    ] {
        let [hit_at_1, hit_at_3, false_abstention, abstention, small_talk] = floors;
        let shown = format!("{search:?}, {part}: {figures}");
        assert!(figures.hit_at_1() >= hit_at_1, "{shown}");
        assert!(figures.hit_at_3() >= hit_at_3, "{shown}");
        assert!(figures.false_abstention() <= false_abstention, "{shown}");
        assert!(figures.abstention() >= abstention, "{shown}");
        assert!(figures.small_talk_replies() >= small_talk, "{shown}");
    }
}

/// hit@1, hit@3 (at least), on-topic false abstention (at most), off-topic abstention and small
/// talk replies (at least), searching by meaning.
const FLOORS_TUNED: [f64; 5] = [0.80, 0.85, 0.08, 0.90, 0.85];
const FLOORS_HELD_OUT: [f64; 5] = [0.80, 0.80, 0.12, 0.80, 0.66];
/// Measured on the development set's five organisations: hit@1 75%, hit@3 82%, false abstention
/// 10%, abstention 76%, small talk 100%.
const FLOORS_DEV: [f64; 5] = [0.70, 0.77, 0.14, 0.70, 0.90];
/// Measured on the blind set: hit@1 80%, hit@3 86%, false abstention 8%, abstention 90%, small
/// talk 100%.
const FLOORS_BLIND: [f64; 5] = [0.72, 0.78, 0.14, 0.84, 0.90];

/// The same by words alone.
const WORDS_FLOORS_TUNED: [f64; 5] = [0.74, 0.78, 0.08, 0.90, 0.85];
const WORDS_FLOORS_HELD_OUT: [f64; 5] = [0.80, 0.82, 0.10, 0.85, 0.66];
/// Measured on the development set's five organisations: hit@1 56%, hit@3 59%, false
/// abstention 27%, abstention 80%, small talk 100%.
const WORDS_FLOORS_DEV: [f64; 5] = [0.52, 0.55, 0.32, 0.74, 0.90];
/// Measured on the blind set: hit@1 70%, hit@3 71%, false abstention 17%, abstention 83%, small
/// talk 100%.
const WORDS_FLOORS_BLIND: [f64; 5] = [0.64, 0.66, 0.22, 0.76, 0.90];

#[tokio::test]
async fn every_label_of_the_questions_is_a_section_of_the_fixtures() {
    let set = questions();
    assert_labels_are_sections(&fixtures(), &set).await;
    assert!(set.on_topic.len() >= 40 && set.off_topic.len() >= 10);
}

#[tokio::test]
async fn every_label_of_the_development_set_is_a_section_of_its_documents() {
    let set = org_questions(&dev());
    for org in orgs(&set) {
        assert_labels_are_sections(&dev().join(org), &of_org(&set, org, false)).await;
    }
    assert!(set.on_topic.len() >= 100 && set.off_topic.len() >= 40);
}

/// Every section the documented questions of `set` are labelled with is one of `dir`'s.
async fn assert_labels_are_sections(dir: &std::path::Path, set: &Questions) {
    let sources = Knowledge::open(&knowledge(dir)).await.unwrap().sources();
    for question in &set.on_topic {
        for label in &question.answers {
            assert!(
                sources.contains(label),
                "{}: {:?}: no section {label:?}",
                dir.display(),
                question.text
            );
        }
    }
}

/// The best three sections of every tuned question of `set`, with their score and coverage.
fn dump(knowledge: &Knowledge, set: &Questions) {
    let show = |kind: &str, text: &str, answers: &[String]| {
        let hits = knowledge.search(text, 3);
        let line: Vec<String> = hits
            .iter()
            .map(|h| {
                let mark = if answers.contains(&h.passage.source()) {
                    "*"
                } else {
                    ""
                };
                let similarity = h
                    .similarity
                    .map(|s| format!(" ~{s:.2}"))
                    .unwrap_or_default();
                format!(
                    "{mark}{} {:.1} {:.2}{similarity}",
                    h.passage.source(),
                    h.score,
                    h.coverage
                )
            })
            .collect();
        println!("{kind} {text:?}\n      {}", line.join(" | "));
    };
    for q in set.on_topic.iter().filter(|q| !q.held_out) {
        show("ON ", &q.text, &q.answers);
    }
    for q in set.off_topic.iter().filter(|q| !q.held_out) {
        show("OFF", &q.text, &[]);
    }
}
