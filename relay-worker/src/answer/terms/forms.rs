//! The forms of one word that the English stemmer leaves apart, made one: help pages written
//! in one spelling and questions typed in another must meet, and so must a question's past
//! tense and a page's present.
//!
//! - **British and American spellings**: `programme` and `program`, `colour` and `color`,
//!   `organise` and `organize`, `centre` and `center`, `catalogue` and `catalog`, `licence` and
//!   `license`. Narrow rules on stems, so one rule covers every form of a word (`organise`,
//!   `organised`, `organisation` are all `organis`). Because documents and questions both go
//!   through them, a rule that also catches a word it was not meant for (`detour` → `detor`)
//!   changes nothing a search can see; only two distinct words made one would, and the rules
//!   are narrow enough not to.
//! - **Irregular past tenses** of the verbs support questions are told in ("I *paid* twice",
//!   "it was *sent* to the wrong address", "I *lost* my key", "I *forgot* my password"): the
//!   stemmer only removes endings, so `paid` never meets `pay`. A short list; forms that are
//!   also other words in help pages (`left`, `saw`, `felt`, `stuck`) are left out.
//!
//! A token filter after the stemmer does both: see [`BaseForms`].

use tantivy::tokenizer::{
    Language, RawTokenizer, Stemmer, TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer,
};

/// Irregular past tenses and participles, as stemmed, and the stem of their verb.
const IRREGULAR: &[(&str, &str)] = &[
    ("paid", "pay"),
    ("sent", "send"),
    ("lost", "lose"),
    ("broke", "break"),
    ("broken", "break"),
    ("forgot", "forget"),
    ("forgotten", "forget"),
    ("bought", "buy"),
    ("sold", "sell"),
    ("spent", "spend"),
    ("took", "take"),
    ("taken", "take"),
    ("chose", "choos"),
    ("chosen", "choos"),
    ("kept", "keep"),
    ("won", "win"),
    ("stole", "steal"),
    ("stolen", "steal"),
    ("shown", "show"),
    ("wrote", "write"),
    ("written", "write"),
    ("built", "build"),
    ("caught", "catch"),
    ("froze", "freez"),
    ("frozen", "freez"),
    ("began", "begin"),
    ("begun", "begin"),
    ("ran", "run"),
    ("came", "come"),
    ("went", "go"),
    ("gone", "go"),
    ("hid", "hide"),
    ("hidden", "hide"),
    ("meant", "mean"),
    ("met", "meet"),
    ("held", "hold"),
    ("drove", "drive"),
    ("driven", "drive"),
    ("spoke", "speak"),
    ("spoken", "speak"),
    ("found", "find"),
    ("torn", "tear"),
    ("worn", "wear"),
];

/// The token filter: see the module documentation. Put it after [`Stemmer`].
#[derive(Clone)]
pub struct BaseForms;

impl TokenFilter for BaseForms {
    type Tokenizer<T: Tokenizer> = BaseFormsFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> Self::Tokenizer<T> {
        BaseFormsFilter { tokenizer }
    }
}

#[derive(Clone)]
pub struct BaseFormsFilter<T> {
    tokenizer: T,
}

impl<T: Tokenizer> Tokenizer for BaseFormsFilter<T> {
    type TokenStream<'a> = BaseFormsStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        BaseFormsStream {
            tail: self.tokenizer.token_stream(text),
        }
    }
}

pub struct BaseFormsStream<T> {
    tail: T,
}

impl<T: TokenStream> TokenStream for BaseFormsStream<T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        if let Some(base) = base_form(&self.tail.token().text) {
            self.tail.token_mut().text = base;
        }
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// The stem `stem` is another form of, if any.
fn base_form(stem: &str) -> Option<String> {
    match IRREGULAR.iter().find(|(form, _)| *form == stem) {
        Some((_, base)) => Some((*base).to_owned()),
        None => american(stem),
    }
}

/// The American stem of a British `stem`, when it has another.
fn american(stem: &str) -> Option<String> {
    let stem_of = |word: String| {
        let mut stemmer = TextAnalyzer::builder(RawTokenizer::default())
            .filter(Stemmer::new(Language::English))
            .build();
        let mut stream = stemmer.token_stream(&word);
        let stem = stream.advance().then(|| stream.token().text.clone());
        drop(stream);
        stem.unwrap_or(word)
    };
    let length = stem.chars().count();
    if !stem.is_ascii() || length < 4 {
        return None;
    }
    // programme, gramme: English stems never end in a double m otherwise.
    if let Some(single) = stem.strip_suffix("mm") {
        return Some(format!("{single}m"));
    }
    // organis(e|ation|ing), recognis, apologis: the stem of the -ize spelling, which the
    // stemmer shortens further (organize → organ).
    if let Some(root) = stem.strip_suffix("is") {
        if root.len() >= 3 && !root.ends_with(['a', 'e', 'i', 'o', 'u']) {
            return Some(stem_of(format!("{root}ize")));
        }
    }
    // analys(e|ing), paralys: the -yze spelling.
    if let Some(root) = stem.strip_suffix("lys") {
        return Some(format!("{root}lyz"));
    }
    // catalogu(e), dialogu(e).
    if let Some(root) = stem.strip_suffix("ogu") {
        return Some(format!("{root}og"));
    }
    // centr(e|es|al), metr(e), litr(e), theatr(e): the -er spelling.
    if let Some(root) = stem.strip_suffix("tr") {
        if root.ends_with(['a', 'e', 'i', 'o', 'u', 'n']) {
            return Some(format!("{root}ter"));
        }
    }
    // licence, defence, offence.
    for (british, american) in [
        ("licenc", "licens"),
        ("defenc", "defens"),
        ("offenc", "offens"),
    ] {
        if let Some(root) = stem.strip_suffix(british) {
            return Some(format!("{root}{american}"));
        }
    }
    // colour, behaviour, favourit(e), honour, neighbour; not hour, four, your, pour, tour.
    match stem.find("our") {
        Some(at) if at >= 3 => Some(format!("{}or{}", &stem[..at], &stem[at + 3..])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analysed(word: &str) -> String {
        let mut analyzer = TextAnalyzer::builder(RawTokenizer::default())
            .filter(Stemmer::new(Language::English))
            .filter(BaseForms)
            .build();
        let mut stream = analyzer.token_stream(word);
        assert!(stream.advance());
        stream.token().text.clone()
    }

    fn assert_one_word(pairs: &[(&str, &str)]) {
        for (one, other) in pairs {
            assert_eq!(analysed(one), analysed(other), "{one}");
        }
    }

    #[test]
    fn british_and_american_spellings_are_one_word() {
        assert_one_word(&[
            ("programme", "program"),
            ("programmes", "programs"),
            ("colour", "color"),
            ("coloured", "colored"),
            ("behaviour", "behavior"),
            ("favourite", "favorite"),
            ("honour", "honor"),
            ("organise", "organize"),
            ("organisation", "organization"),
            ("recognised", "recognized"),
            ("apologise", "apologize"),
            ("customise", "customize"),
            ("personalised", "personalized"),
            ("analyse", "analyze"),
            ("catalogue", "catalog"),
            ("dialogue", "dialog"),
            ("centre", "center"),
            ("centres", "centers"),
            ("metres", "meters"),
            ("theatre", "theater"),
            ("licence", "license"),
            ("defence", "defense"),
        ]);
    }

    #[test]
    fn irregular_past_tenses_are_their_verb() {
        assert_one_word(&[
            ("paid", "pay"),
            ("sent", "sending"),
            ("lost", "lose"),
            ("forgotten", "forget"),
            ("bought", "buying"),
            ("chosen", "choose"),
            ("frozen", "freezes"),
            ("found", "finding"),
        ]);
    }

    #[test]
    fn words_that_only_look_british_stay_apart() {
        for (one, other) in [
            ("hour", "hor"),
            ("four", "for"),
            ("your", "yor"),
            ("tour", "tor"),
            ("this", "thiz"),
            ("basis", "baze"),
            ("electric", "electer"),
            ("fence", "fens"),
            ("neuter", "neutron"),
        ] {
            assert_ne!(analysed(one), analysed(other), "{one}");
        }
    }
}
