//! What a question asks, as far as its first words tell: whether it asks if something is offered
//! ("do you sell gift vouchers", "is there a dark mode"). Documents answer such a question only
//! by naming the thing, so the search leaves it to staff when much of it is in words the
//! documents never use (see `search.rs`), however close a section is in meaning: a section
//! about vouchers for delays is about the topic, and says nothing of gift vouchers.

use tantivy::tokenizer::{LowerCaser, SimpleTokenizer, TextAnalyzer, TokenStream};

use super::small_talk::GREETINGS;

/// Words before the question that change nothing in it ("hi, quick question: is there…").
const LEAD_IN: &[&str] = &[
    "so",
    "ok",
    "okay",
    "um",
    "also",
    "and",
    "but",
    "quick",
    "question",
    "just",
    "wondering",
    "please",
    "pls",
    "btw",
];

/// What "do you …" and "does <the product> …" ask about when they ask if something is offered.
const OFFERING_VERBS: &[&str] = &[
    "sell", "make", "have", "offer", "ship", "stock", "run", "do", "provide", "support", "carry",
    "deliver", "accept", "rent", "hire", "lend",
];

/// What follows "is there a" when it asks how, or for someone, not for a thing offered.
const NOT_A_THING: &[&str] = &[
    "way",
    "anything",
    "anyone",
    "anybody",
    "someone",
    "somebody",
    "something",
];

/// Whether `question` asks if something is offered or exists: "do you / does it / do they
/// <sell, have, offer…> X", "is there / are there X", "have you got X". "Do I have to…" asks
/// what to do, and "is there a way to…" how.
pub fn asks_whether_offered(question: &str) -> bool {
    let mut analyzer = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(LowerCaser)
        .build();
    let mut stream = analyzer.token_stream(question);
    let mut words: Vec<String> = Vec::new();
    while stream.advance() && words.len() < 6 {
        let word = stream.token().text.as_str();
        let lead_in = GREETINGS.contains(&word)
            || LEAD_IN.contains(&word)
            || (word == "there" && words.is_empty());
        if words.is_empty() && lead_in {
            continue;
        }
        // "do you guys have", "do u all sell": the subject is still "you".
        let after_you = matches!(words.last().map(String::as_str), Some("you" | "u"));
        if after_you && words.len() == 2 && ["guys", "all", "folks", "lot"].contains(&word) {
            continue;
        }
        words.push(word.to_owned());
    }
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["is" | "are", "there", rest @ ..] => {
            !rest.iter().take(3).any(|word| NOT_A_THING.contains(word))
        }
        ["have", "you", "got", ..] => true,
        ["do" | "does", subject, verb, rest @ ..] => {
            !["i", "we", "my", "me"].contains(subject)
                && OFFERING_VERBS.contains(verb)
                && !(*verb == "have" && rest.first() == Some(&"to"))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_about_whether_something_is_offered() {
        for question in [
            "do you sell gift vouchers",
            "Do you ship to Ireland?",
            "hi, do you make smart radiator valves?",
            "does tallybook run payroll for my two employees",
            "does it support multiple users",
            "is there a dark mode",
            "are there any sailings on christmas day",
            "hey there, is there a student discount?",
            "have you got lifejackets for babies",
            "quick question: do they accept paypal",
            "do you rent tandems",
            "do you guys have electric scooters too or just bikes",
        ] {
            assert!(asks_whether_offered(question), "{question}");
        }
    }

    #[test]
    fn questions_about_what_to_do_or_how_are_not() {
        for question in [
            "do i have to plug the bike in after my ride",
            "do you have to be 18 to ride",
            "do we need a passport",
            "is there a way to change my email",
            "is there anyone I can talk to",
            "is there something wrong with the app today",
            "how do i cancel",
            "can i bring my dog",
            "does it work with alexa",
            "my card was charged twice, do you know why",
            "there is a problem with my bike",
            "do you",
            "",
        ] {
            assert!(!asks_whether_offered(question), "{question}");
        }
    }
}
