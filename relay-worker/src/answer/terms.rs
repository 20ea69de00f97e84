//! The words the knowledge search compares: documents and questions go through one tantivy
//! analyzer (lower case, stop words, English stemming), and a question's words the documents
//! never use are matched to a near spelling they do use (typos).
//!
//! **Stop words.** tantivy's English list is Lucene's 33 words, which keeps the words questions
//! are made of ("how", "do", "I", "my", "can", "what") but help pages rarely use: counted as
//! meaningful they would weigh most in every question, since they are rare in the documents.
//! So the list is Snowball's English list (the project whose lists tantivy ships for the other
//! languages), less the particles that carry meaning in support questions (`up`, `down`,
//! `out`, `off`: sign up, server down, logged out, turn off), plus chat filler that is never
//! the subject of a question (`hi`, `thanks`, `pls`, `dont`, how `long`, `actually`...) and,
//! after stemming, the verbs requests are made of (`tell`, `need`, `get`, `make`, `help`...):
//! "tell me a joke" is about a joke, and a help page that happens to say "tell us" does not
//! answer it.
//!
//! **Typos.** A question's word that no document contains, of at least
//! [`MIN_CORRECTED_CHARS`] letters after stemming, is replaced by the document word at the
//! smallest edit distance (1, or 2 from [`TWO_EDITS_CHARS`] letters; a swap of two letters is
//! one edit) that starts with the same letter, the most widespread one on a tie: `refnd` →
//! `refund`, `pasword` → `password`, `recieve` → `receiv`. The distances come from the Levenshtein automata of tantivy's own fuzzy
//! queries. Shorter words are left alone: at four letters one edit reaches too many words.

use std::sync::OnceLock;

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

/// Snowball's English stop words less `up`, `down`, `out`, `off`, plus chat filler and
/// contractions typed without their apostrophe.
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
];

/// The stems of the verbs requests are made of, whatever they are about, removed after
/// stemming so that every form goes (`getting`, `needed`, `helps`).
const REQUEST_VERBS: &[&str] = &[
    "tell", "give", "explain", "want", "need", "know", "get", "make", "help", "like",
];

/// The analyzer of documents and questions alike.
pub fn analyzer() -> TextAnalyzer {
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
        .filter(StopWordFilter::remove(words(REQUEST_VERBS)))
        .build()
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

/// The hyphenated words of `text` written together (`e-mail` → `email`, `T-shirt` → `Tshirt`),
/// one per line: indexed beside the text, since people type compounds either way and the
/// tokenizer splits at hyphens.
pub fn joined_compounds(text: &str) -> String {
    let mut joined = String::new();
    for word in text.split(|c: char| !(c.is_alphanumeric() || c == '-')) {
        let parts: Vec<&str> = word.split('-').collect();
        if parts.len() > 1 && parts.iter().all(|part| !part.is_empty()) {
            joined.push_str(&parts.concat());
            joined.push('\n');
        }
    }
    joined
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
