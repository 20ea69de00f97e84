//! The words the knowledge search compares: documents and questions go through one tantivy
//! analyzer (lower case, stop words, English stemming, the forms the stemmer misses), a
//! question's words are also searched as the support vocabulary's equivalents, and its words the
//! documents never use are matched to a near spelling they do use (typos).
//!
//! **Stop words.** tantivy's English list is Lucene's 33 words, which keeps the words questions
//! are made of ("how", "do", "I", "my", "can", "what") but help pages rarely use: counted as
//! meaningful they would weigh most in every question, since they are rare in the documents.
//! So the list is Snowball's English list (the project whose lists tantivy ships for the other
//! languages), less the particles that carry meaning in support questions (`up`, `down`,
//! `out`, `off`: sign up, server down, logged out, turn off), plus chat filler that is never
//! the subject of a question (`hi`, `thanks`, `pls`, `dont`, how `long`, `till`, `btw`,
//! `actually`...), the indefinite words a question means something else by (`stuff`,
//! `something`; not `someone`, which a help page about a hacked account uses too) and, after
//! stemming, the verbs requests are made of (`tell`, `need`, `get`, `make`, `help`...): "tell
//! me a joke" is about a joke, and a help page that happens to say "tell us" does not answer it.
//! Without these, one chat word the documents never use weighs like a rare word and sinks the
//! question's coverage.
//!
//! **Word forms.** The stemmer removes endings only; [`forms`] also makes one word of British
//! and American spellings (`programme`, `program`) and of irregular past tenses and their verb
//! (`paid`, `pay`), in documents and questions alike.
//!
//! **Support vocabulary.** People type short forms and other words than help pages use (`pw`,
//! `2fa`, `money back`, `present`): a question's word or phrase listed in [`synonyms`] is one
//! word of the question, searched as any of its equivalents. Phrases are matched on stems, word
//! by word (`logged into` is `log into`), and the listed phrases a document writes apart are
//! also indexed written together ([`joined_compounds`]), so that `log in` in a help page meets
//! `login` in a question.
//!
//! **Typos.** A question's word that no document contains, of at least
//! [`MIN_CORRECTED_CHARS`] letters after stemming, is replaced by the document word at the
//! smallest edit distance (1, or 2 from [`TWO_EDITS_CHARS`] letters; a swap of two letters is
//! one edit) that starts with the same letter, the most widespread one on a tie: `refnd` →
//! `refund`, `pasword` → `password`, `recieve` → `receiv`. The distances come from the
//! Levenshtein automata of tantivy's own fuzzy queries. Shorter words are left alone: at four
//! letters one edit reaches too many words. A word of the support vocabulary, or one of the
//! common English words below, is never corrected: it is spelt right, and the documents just
//! do not use it (`bread` is not `break`, `click` is not `clock`).
//!
//! **Common English words.** [`commonness`] tells how much of its weight a question's word keeps
//! for being frequent in English (see [`super::search`] for why): `terms/common-english.txt`
//! lists the 3,000 most frequent English words of wordfreq (Robyn Speer; its data and so that
//! list under CC BY-SA 4.0), by rank, and a stem takes the rank of its most frequent word.

use std::{
    collections::{HashMap, HashSet},
    sync::OnceLock,
};

mod forms;
mod synonyms;

use levenshtein_automata::{Distance, LevenshteinAutomatonBuilder};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
    TokenStream,
};

/// Most distinct words of a question that are searched (a 4,000-character message has fewer
/// than this many distinct words worth searching; the cap bounds the query's cost).
pub const MAX_QUERY_TERMS: usize = 64;
/// Words longer than this are not indexed (hashes, base64, URLs run together).
const MAX_WORD_BYTES: usize = 40;
/// Shortest (stemmed) unknown word that is corrected, with one edit.
pub const MIN_CORRECTED_CHARS: usize = 5;
/// Shortest (stemmed) unknown word corrected with up to two edits.
pub const TWO_EDITS_CHARS: usize = 9;
/// A word among this many of the most frequent in English weighs [`VERY_COMMON_WEIGHT`]...
pub const VERY_COMMON_RANK: usize = 300;
/// ...of its weight, and more the rarer it is, up to its whole weight at the end of the list
/// of common words (`terms/common-english.txt`, about 3,000 words).
pub const VERY_COMMON_WEIGHT: f32 = 0.5;

/// Snowball's English stop words less `up`, `down`, `out`, `off`, plus chat filler,
/// contractions typed without their apostrophe and indefinite words.
const STOP_WORDS: &[&str] = &[
    // Snowball English
    "i",
    "me",
    "my",
    "myself",
    "we",
    "our",
    "ours",
    "ourselves",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "he",
    "him",
    "his",
    "himself",
    "she",
    "her",
    "hers",
    "herself",
    "it",
    "its",
    "itself",
    "they",
    "them",
    "their",
    "theirs",
    "themselves",
    "what",
    "which",
    "who",
    "whom",
    "this",
    "that",
    "these",
    "those",
    "am",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "have",
    "has",
    "had",
    "having",
    "do",
    "does",
    "did",
    "doing",
    "would",
    "should",
    "could",
    "ought",
    "a",
    "an",
    "the",
    "and",
    "but",
    "if",
    "or",
    "because",
    "as",
    "until",
    "while",
    "of",
    "at",
    "by",
    "for",
    "with",
    "about",
    "against",
    "between",
    "into",
    "through",
    "during",
    "before",
    "after",
    "above",
    "below",
    "to",
    "from",
    "in",
    "on",
    "over",
    "under",
    "again",
    "further",
    "then",
    "once",
    "here",
    "there",
    "when",
    "where",
    "why",
    "how",
    "all",
    "any",
    "both",
    "each",
    "few",
    "more",
    "most",
    "other",
    "some",
    "such",
    "no",
    "nor",
    "not",
    "only",
    "own",
    "same",
    "so",
    "than",
    "too",
    "very",
    "s",
    "t",
    "can",
    "will",
    "just",
    "don",
    "now",
    "d",
    "ll",
    "m",
    "re",
    "ve",
    "y",
    // chat filler and apostrophe-less contractions
    "hi",
    "hello",
    "hey",
    "hiya",
    "yo",
    "thanks",
    "thank",
    "thx",
    "ty",
    "please",
    "pls",
    "plz",
    "guys",
    "lol",
    "ok",
    "okay",
    "yeah",
    "yep",
    "hmm",
    "um",
    "uh",
    "wtf",
    "idk",
    "u",
    "ur",
    "im",
    "ive",
    "dont",
    "cant",
    "wont",
    "doesnt",
    "didnt",
    "isnt",
    "arent",
    "wasnt",
    "werent",
    "havent",
    "hasnt",
    "couldnt",
    "wouldnt",
    "shouldnt",
    "youre",
    "theyre",
    "whats",
    "thats",
    "theres",
    "wheres",
    "hows",
    "lets",
    // the verbs requests are made of, whatever they are about
    "got",
    "made",
    "knew",
    "told",
    "gave",
    // how long, how much, how many; and chat adverbs
    "long",
    "much",
    "many",
    "actually",
    "really",
    "also",
    "maybe",
    "usually",
    "still",
    "even",
    "anyway",
    "already",
    "ago",
    "till",
    "til",
    "tho",
    "though",
    // indefinite words: a question is about what they stand for
    "stuff",
    "thing",
    "things",
    "something",
    "anything",
    // chat shorthand
    "smth",
    "sth",
    "btw",
    "tbh",
    "rn",
    "asap",
    "kinda",
    "sorta",
    "gonna",
    "wanna",
    "gotta",
    "bc",
    "cuz",
    "coz",
    "bro",
    "dude",
    "bruh",
];

/// The stems of the verbs requests are made of, whatever they are about, removed after
/// stemming so that every form goes (`getting`, `needed`, `helps`).
const REQUEST_VERBS: &[&str] = &[
    "tell", "give", "explain", "want", "need", "know", "get", "make", "help", "like",
];

/// The analyzer of documents and questions alike.
pub fn analyzer() -> TextAnalyzer {
    static ANALYZER: OnceLock<TextAnalyzer> = OnceLock::new();
    ANALYZER
        .get_or_init(|| {
            let words = |list: &[&str]| {
                list.iter()
                    .map(|word| (*word).to_owned())
                    .collect::<Vec<_>>()
            };
            TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(RemoveLongFilter::limit(MAX_WORD_BYTES))
                .filter(LowerCaser)
                .filter(StopWordFilter::remove(words(STOP_WORDS)))
                .filter(Stemmer::new(Language::English))
                .filter(forms::BaseForms)
                .filter(StopWordFilter::remove(words(REQUEST_VERBS)))
                .build()
        })
        .clone()
}

/// The distinct analysed words of `text`, in order of appearance, at most
/// [`MAX_QUERY_TERMS`] (no query syntax: every word is just a word).
pub fn words(text: &str) -> Vec<String> {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
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

/// A word of a question as searched: the analysed forms a section may contain any of (the
/// word itself, or every form of its entry in the support vocabulary).
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionWord {
    /// The forms: the word's own, or all of its vocabulary entry's.
    pub forms: Vec<String>,
    /// Found in the support vocabulary (so not a typo).
    pub listed: bool,
}

/// The distinct words of a question, each with its support-vocabulary forms, in order of
/// appearance, at most [`MAX_QUERY_TERMS`]. A listed phrase ("money back") is one word.
pub fn question(text: &str) -> Vec<QuestionWord> {
    let table = table();
    let tokens = tokens(text);
    let mut words: Vec<QuestionWord> = Vec::new();
    let mut at = 0;
    while at < tokens.len() && words.len() < MAX_QUERY_TERMS {
        let word = if let Some((length, concept)) = table.find(&tokens[at..]) {
            at += length;
            QuestionWord {
                forms: table.concepts[concept].clone(),
                listed: true,
            }
        } else {
            let token = &tokens[at];
            at += 1;
            let Some(form) = token.form(text) else {
                continue;
            };
            QuestionWord {
                forms: vec![form],
                listed: false,
            }
        };
        if !words.iter().any(|w| w.forms[0] == word.forms[0]) {
            words.push(word);
        }
    }
    words
}

/// The share of its weight that a question's word (`stem`, as analysed) keeps for being common
/// in English: see the module documentation.
pub fn commonness(stem: &str) -> f32 {
    let (ranks, listed) = common_words();
    match ranks.get(stem) {
        None => 1.0,
        Some(&rank) if rank < VERY_COMMON_RANK => VERY_COMMON_WEIGHT,
        Some(&rank) => {
            let rise = ((rank + 1) as f32 / VERY_COMMON_RANK as f32).ln()
                / (*listed as f32 / VERY_COMMON_RANK as f32).ln();
            VERY_COMMON_WEIGHT + (1.0 - VERY_COMMON_WEIGHT) * rise.min(1.0)
        }
    }
}

/// Whether `stem` is the stem of one of the common English words: spelt right, so never taken
/// for a typo of a document word (`bread` is not `break`).
pub fn is_common(stem: &str) -> bool {
    common_words().0.contains_key(stem)
}

/// Reads the list of common English words now: analysing it takes a few milliseconds, which
/// the first question would otherwise pay on an async thread. The index build calls it.
pub fn prepare() {
    common_words();
}

/// The stems of `terms/common-english.txt`, each with the rank of its most frequent word, and
/// how many words the list has.
fn common_words() -> &'static (HashMap<String, usize>, usize) {
    static RANKS: OnceLock<(HashMap<String, usize>, usize)> = OnceLock::new();
    RANKS.get_or_init(|| {
        let mut ranks = HashMap::new();
        let words = include_str!("terms/common-english.txt")
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with('#'));
        let mut listed = 0;
        for (rank, word) in words.enumerate() {
            listed = rank + 1;
            if let Some(token) = tokens(word).pop() {
                ranks.entry(token.stem).or_insert(rank);
            }
        }
        (ranks, listed)
    })
}

/// The hyphenated words of `text` written together (`e-mail` → `email`, `T-shirt` → `Tshirt`)
/// and the support vocabulary's phrases written together (`log in` → `login`), one per line:
/// indexed beside the text, since people type compounds either way, the tokenizer splits at
/// hyphens, and a question's listed phrase is searched as one word.
pub fn joined_compounds(text: &str) -> String {
    let mut joined = String::new();
    for word in text.split(|c: char| !(c.is_alphanumeric() || c == '-')) {
        let parts: Vec<&str> = word.split('-').collect();
        if parts.len() > 1 && parts.iter().all(|part| !part.is_empty()) {
            joined.push_str(&parts.concat());
            joined.push('\n');
        }
    }
    let table = table();
    let tokens = tokens(text);
    for at in 0..tokens.len() {
        if let Some((length, phrase)) = table.phrase_at(&tokens[at..]) {
            // Written with hyphens it was joined above.
            let hyphenated = tokens[at..at + length]
                .windows(2)
                .all(|pair| text.get(pair[0].end..pair[1].start) == Some("-"));
            if !hyphenated {
                joined.push_str(phrase);
                joined.push('\n');
            }
        }
    }
    joined
}

/// A word of a text before stop words are removed: stemmed, and where it was typed.
#[derive(Debug, Clone, PartialEq)]
struct Token {
    stem: String,
    /// Where it starts and ends in the text (bytes).
    start: usize,
    end: usize,
}

impl Token {
    /// The word of `text` as documents are indexed: none when it is a stop word.
    fn form(&self, text: &str) -> Option<String> {
        let stops = stop_words();
        let typed = text.get(self.start..self.end).unwrap_or_default();
        (!stops.0.contains(typed.to_lowercase().as_str()) && !stops.1.contains(self.stem.as_str()))
            .then(|| self.stem.clone())
    }
}

/// [`STOP_WORDS`] and [`REQUEST_VERBS`], for look-ups outside the analyzer.
fn stop_words() -> &'static (HashSet<&'static str>, HashSet<&'static str>) {
    static STOPS: OnceLock<(HashSet<&'static str>, HashSet<&'static str>)> = OnceLock::new();
    STOPS.get_or_init(|| {
        (
            STOP_WORDS.iter().copied().collect(),
            REQUEST_VERBS.iter().copied().collect(),
        )
    })
}

/// Every word of `text`, stop words included, in order.
fn tokens(text: &str) -> Vec<Token> {
    static STEMMED: OnceLock<TextAnalyzer> = OnceLock::new();
    let mut stemmed = STEMMED
        .get_or_init(|| {
            TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(RemoveLongFilter::limit(MAX_WORD_BYTES))
                .filter(LowerCaser)
                .filter(Stemmer::new(Language::English))
                .filter(forms::BaseForms)
                .build()
        })
        .clone();
    let mut stream = stemmed.token_stream(text);
    let mut tokens = Vec::new();
    while stream.advance() {
        let token = stream.token();
        tokens.push(Token {
            stem: token.text.clone(),
            start: token.offset_from,
            end: token.offset_to,
        });
    }
    tokens
}

/// The support vocabulary ([`synonyms`]), analysed.
#[derive(Debug, Default)]
struct Table {
    /// Each entry's stems, by its first stem.
    entries: HashMap<String, Vec<Entry>>,
    /// The forms each entry is searched as.
    concepts: Vec<Vec<String>>,
}

#[derive(Debug)]
struct Entry {
    stems: Vec<String>,
    /// Its words written together, for a phrase; what documents index it as.
    joined: Option<String>,
    concept: usize,
}

impl Table {
    fn build() -> Self {
        let mut table = Self::default();
        let listed = synonyms::SHORT_FORMS
            .iter()
            .map(|(short, long)| {
                let mut all = vec![*short];
                all.extend_from_slice(long);
                (vec![*short], all)
            })
            .chain(
                synonyms::SAME_MEANING
                    .iter()
                    .map(|group| (group.to_vec(), group.to_vec())),
            );
        for (typed, forms) in listed {
            let concept = table.concepts.len();
            let mut searched: Vec<String> = Vec::new();
            for expression in forms {
                if let Some(form) = words(&joined_words(expression)).pop() {
                    if !searched.contains(&form) {
                        searched.push(form);
                    }
                }
            }
            table.concepts.push(searched);
            for expression in typed {
                let stems: Vec<String> = tokens(expression).into_iter().map(|t| t.stem).collect();
                let Some(first) = stems.first().cloned() else {
                    continue;
                };
                let joined = (stems.len() > 1).then(|| joined_words(expression));
                table.entries.entry(first).or_default().push(Entry {
                    stems,
                    joined,
                    concept,
                });
            }
        }
        for entries in table.entries.values_mut() {
            // The longest phrase first.
            entries.sort_by_key(|entry| std::cmp::Reverse(entry.stems.len()));
        }
        table
    }

    /// The entry `tokens` start with, if any: how many tokens it spans and its concept.
    fn find(&self, tokens: &[Token]) -> Option<(usize, usize)> {
        self.entry_at(tokens)
            .map(|entry| (entry.stems.len(), entry.concept))
    }

    /// The phrase `tokens` start with, if any: how many tokens it spans, and its words
    /// written together.
    fn phrase_at(&self, tokens: &[Token]) -> Option<(usize, &str)> {
        self.entry_at(tokens)
            .and_then(|entry| Some((entry.stems.len(), entry.joined.as_deref()?)))
    }

    fn entry_at(&self, tokens: &[Token]) -> Option<&Entry> {
        let first = tokens.first()?;
        self.entries.get(&first.stem)?.iter().find(|entry| {
            entry.stems.len() <= tokens.len()
                && entry
                    .stems
                    .iter()
                    .zip(tokens)
                    .all(|(stem, token)| *stem == token.stem)
        })
    }
}

/// `expression`'s words written together, in lower case (`Log in` → `login`).
fn joined_words(expression: &str) -> String {
    expression
        .split(|c: char| !c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase()
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(Table::build)
}

/// Every word of the documents, with the number of sections containing it.
#[derive(Debug, Default)]
pub struct Vocabulary {
    words: Vec<(String, u32)>,
}

impl Vocabulary {
    /// A vocabulary of these words and section counts.
    pub fn new(words: Vec<(String, u32)>) -> Self {
        Self { words }
    }

    /// Distinct words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// The document word `word` (not one of them) is most likely a misspelling of, if any.
    pub fn correct(&self, word: &str) -> Option<&str> {
        let length = word.chars().count();
        if length < MIN_CORRECTED_CHARS {
            return None;
        }
        let edits = if length >= TWO_EDITS_CHARS { 2 } else { 1 };
        let dfa = automaton(edits).build_dfa(word);
        let mut best: Option<(u8, u32, &str)> = None;
        let first = word.chars().next();
        for (candidate, sections) in &self.words {
            // An edit changes the length by one at most: skip the rest cheaply. Typos almost
            // never change the first letter, and near spellings that do are other words
            // (`found` is not `bound`, `crack` is not `track`).
            if candidate.len().abs_diff(word.len()) > usize::from(edits)
                || candidate.chars().next() != first
            {
                continue;
            }
            if let Distance::Exact(distance) = dfa.eval(candidate) {
                let better = match best {
                    None => true,
                    Some((d, n, _)) => distance < d || (distance == d && *sections > n),
                };
                if better {
                    best = Some((distance, *sections, candidate));
                }
            }
        }
        best.map(|(_, _, candidate)| candidate)
    }
}

/// The automaton builder for `edits` edits, transpositions counting as one; built once (it
/// precomputes tables for every word).
fn automaton(edits: u8) -> &'static LevenshteinAutomatonBuilder {
    static ONE: OnceLock<LevenshteinAutomatonBuilder> = OnceLock::new();
    static TWO: OnceLock<LevenshteinAutomatonBuilder> = OnceLock::new();
    let cell = if edits <= 1 { &ONE } else { &TWO };
    cell.get_or_init(|| LevenshteinAutomatonBuilder::new(edits.clamp(1, 2), true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_words_are_stemmed_deduplicated_and_bounded() {
        assert_eq!(words("Refunds, REFUNDED refund!"), ["refund"]);
        let many: String = (0..200).map(|n| format!("w{n} ")).collect();
        assert_eq!(words(&many).len(), MAX_QUERY_TERMS);
    }

    #[test]
    fn words_common_in_english_weigh_less() {
        let weight = |word: &str| commonness(&words(word)[0]);
        // Among the 300 most frequent words.
        assert_eq!(weight("water"), VERY_COMMON_WEIGHT);
        assert_eq!(weight("years"), VERY_COMMON_WEIGHT, "as its stem");
        // Common, less so: between.
        let lock = weight("lock");
        assert!(VERY_COMMON_WEIGHT < lock && lock < 1.0, "{lock}");
        assert!(
            weight("police") < weight("lock"),
            "more frequent, less weight"
        );
        // Not among the common words: whole.
        assert_eq!(weight("refund"), 1.0);
        assert_eq!(weight("xyzzy"), 1.0);
    }

    #[test]
    fn the_words_questions_are_made_of_are_not_searched() {
        assert_eq!(
            words("Hi! How do I reset my password? thx"),
            ["reset", "password"]
        );
        assert_eq!(words("what's up, can't log in"), ["up", "log"]);
        assert!(words("hello, is it me you're looking for").contains(&"look".to_owned()));
        assert_eq!(
            words("server down, logged out"),
            ["server", "down", "log", "out"]
        );
        assert_eq!(
            words("btw my stuff is gone till monday tbh"),
            ["go", "monday"]
        );
    }

    fn forms(text: &str) -> Vec<Vec<String>> {
        question(text).into_iter().map(|word| word.forms).collect()
    }

    #[test]
    fn a_question_is_searched_with_the_support_vocabulary() {
        assert_eq!(
            forms("pw reset pls"),
            [vec!["pw", "password"], vec!["reset"]]
        );
        let money_back = forms("can i get my money back");
        assert_eq!(money_back.len(), 1, "one phrase, one word: {money_back:?}");
        assert!(money_back[0].contains(&"refund".to_owned()));
        assert!(money_back[0].contains(&"moneyback".to_owned()));
        assert_eq!(forms("I logged into my acct")[0][0], "login", "logged into");
        assert_eq!(forms("set up two factor"), forms("set up 2FA"));
        assert_eq!(forms("set up 2-step"), forms("set up 2fa"));
        assert_eq!(forms("a present for a friend")[0], forms("gift")[0]);
        assert!(question("pw").iter().all(|w| w.listed));
        assert!(!question("refnd").iter().any(|w| w.listed));
    }

    #[test]
    fn everyday_ways_of_asking_meet_the_words_help_pages_use() {
        let searched = |text: &str, word: &str| {
            forms(text)
                .iter()
                .any(|forms| forms.contains(&word.to_owned()))
        };
        assert!(searched("how much is pro", "price"), "how much");
        assert!(searched("any cheaper option", "discount"));
        assert!(searched("need proof of payment", "receipt"));
        assert!(searched("my son is 15", "child"));
        assert!(searched("the mic does nothing", "microphon"));
        assert!(searched("cancel on my samsung", "android"));
        assert!(searched("on the free tier", "plan"));
        assert!(searched("dispute a fine", "appeal"));
        assert_eq!(forms("talk to someone"), forms("speak to someone"));
        assert_eq!(forms("back tire is flat"), forms("back tyre is flat"));
        assert_eq!(forms("how do i sign up")[0], forms("create an account")[0]);
        // Searched as typed too: a page that says "son" still matches.
        assert!(searched("my son", "son"));
    }

    #[test]
    fn the_vocabulary_never_swallows_a_plain_question() {
        assert_eq!(
            forms("how do I reset my password"),
            [vec!["reset"], vec!["password"]]
        );
        assert_eq!(
            forms("back up my money"),
            [vec!["back"], vec!["up"], vec!["money"]]
        );
    }

    #[test]
    fn hyphenated_words_are_also_written_together() {
        assert_eq!(
            joined_compounds("Your e-mail, a T-shirt, two-factor codes - and -x- or 4-5"),
            "email\nTshirt\ntwofactor\n45\n"
        );
        assert_eq!(joined_compounds("no compounds here"), "");
    }

    #[test]
    fn listed_phrases_written_apart_are_also_written_together() {
        assert_eq!(
            joined_compounds("Log in, then sign up for two factor codes"),
            "login\nsignup\ntwofactor\n"
        );
        assert_eq!(
            joined_compounds("Two-factor codes"),
            "Twofactor\n",
            "once, though both a compound and a phrase"
        );
    }

    #[test]
    fn misspelt_words_become_the_nearest_document_word() {
        let vocabulary = Vocabulary::new(
            [
                ("refund", 3),
                ("password", 2),
                ("passport", 1),
                ("receiv", 1),
                ("account", 5),
                ("subscript", 1),
                ("word", 4),
            ]
            .into_iter()
            .map(|(w, n)| (w.to_owned(), n))
            .collect(),
        );
        assert_eq!(vocabulary.correct("refnd"), Some("refund"));
        assert_eq!(vocabulary.correct("pasword"), Some("password"));
        assert_eq!(
            vocabulary.correct("reciev"),
            Some("receiv"),
            "a swap is one edit"
        );
        assert_eq!(vocabulary.correct("acount"), Some("account"));
        assert_eq!(
            vocabulary.correct("subscribt"),
            Some("subscript"),
            "two edits at nine letters"
        );
        assert_eq!(vocabulary.correct("pizza"), None);
        assert_eq!(
            vocabulary.correct("bassword"),
            None,
            "the first letter stays"
        );
        assert_eq!(
            vocabulary.correct("wird"),
            None,
            "four letters are left alone"
        );
    }
}
