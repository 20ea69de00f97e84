//! Greetings, thanks and goodbyes: a message made only of them ("hi", "thank you so much", "ok
//! thx") gets a short human reply instead of a search of the documents, which has nothing to
//! find in it. A message that also asks something ("hi, my refund is late") is a question.

use tantivy::tokenizer::{LowerCaser, SimpleTokenizer, TextAnalyzer, TokenStream};

/// Longest message (in words) still taken for small talk.
const MAX_WORDS: usize = 8;

/// What a small-talk message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmallTalk {
    /// "hi", "good morning".
    Greeting,
    /// "thanks!", "ok thx", "that helped", and a bare "ok".
    Thanks,
    /// "bye", "see you".
    Goodbye,
}

pub(super) const GREETINGS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "heya",
    "hiya",
    "howdy",
    "yo",
    "sup",
    "hallo",
    "greetings",
    "morning",
    "afternoon",
    "evening",
    "gm",
    "hai",
    "helo",
    "wassup",
    "whatsup",
    "gday",
    "hola",
    "bonjour",
    "salut",
];
const THANKS: &[&str] = &[
    "thanks",
    "thank",
    "thx",
    "thnx",
    "thanx",
    "ty",
    "tysm",
    "cheers",
    "appreciate",
    "appreciated",
    "grateful",
    "helped",
    "helpful",
    "perfect",
    "great",
    "awesome",
    "cool",
    "nice",
    "ok",
    "okay",
    "k",
    "kk",
    "alright",
    "solved",
    "works",
    "worked",
    "thankyou",
    "thnks",
    "thks",
    "tyvm",
    "merci",
    "danke",
    "gracias",
    "understood",
    "noted",
    "gotcha",
    "brilliant",
    "excellent",
    "amazing",
    "wonderful",
    "lovely",
    "sweet",
    "fantastic",
    "legend",
    "fixed",
    "sorted",
    "resolved",
];
const GOODBYES: &[&str] = &[
    "bye",
    "goodbye",
    "cya",
    "later",
    "see",
    "night",
    "gn",
    "goodnight",
    "nite",
    "ttyl",
    "farewell",
    "ciao",
];
/// Words that may go with the ones above without making a question.
const FILLER: &[&str] = &[
    "a",
    "all",
    "again",
    "and",
    "everyone",
    "folks",
    "for",
    "good",
    "got",
    "guys",
    "it",
    "lot",
    "much",
    "so",
    "that",
    "there",
    "this",
    "very",
    "you",
    "your",
    "team",
    "help",
    "the",
    "really",
    "many",
    "oh",
    "lol",
    "yes",
    "yeah",
    "yep",
    "sure",
    "now",
    "then",
    "i",
    "u",
    "ya",
    "to",
    "me",
    "man",
    "mate",
    "friend",
    "staff",
    "support",
    "too",
    "hm",
    "hmm",
    "ah",
    "wow",
    "haha",
    "xd",
    "dear",
    "sir",
    "buddy",
    "everybody",
    "yall",
    // "have a nice day", "have a good one"
    "have",
    "day",
    "one",
    "weekend",
    // "morning, anyone around?", "hello, is anybody here?": a ping, the question still to come
    "is",
    "anyone",
    "anybody",
    "around",
    "here",
    "online",
    // "thats sorted", and the tails the tokenizer leaves of "that's", "you're", "i'm", "we'll"
    "thats",
    "s",
    "re",
    "m",
    "ll",
];

impl SmallTalk {
    /// What `message` is, when it is only small talk.
    pub fn of(message: &str) -> Option<Self> {
        let mut analyzer = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(LowerCaser)
            .build();
        let mut stream = analyzer.token_stream(message);
        let (mut greeting, mut thanks, mut goodbye, mut words) = (false, false, false, 0);
        while stream.advance() {
            let typed = stream.token().text.as_str();
            words += 1;
            if words > MAX_WORDS {
                return None;
            }
            let word = unstretched(typed);
            let word = word.as_str();
            if THANKS.contains(&word) {
                thanks = true;
            } else if GREETINGS.contains(&word) {
                greeting = true;
            } else if GOODBYES.contains(&word) {
                goodbye = true;
            } else if !FILLER.contains(&word) {
                return None;
            }
        }
        // Thanks outweigh the greeting or goodbye they come with ("thanks, bye").
        if thanks {
            Some(Self::Thanks)
        } else if goodbye {
            Some(Self::Goodbye)
        } else if greeting {
            Some(Self::Greeting)
        } else {
            None
        }
    }

    /// The reply of the sources that answer without a model.
    pub fn reply(self) -> &'static str {
        match self {
            Self::Greeting => {
                "Hi! What can I help you with? Ask your question here and I will look it up \
                 in our documentation."
            }
            Self::Thanks => "You're welcome! If anything else comes up, just ask here.",
            Self::Goodbye => "Bye! If anything else comes up, just write in this ticket.",
        }
    }
}

/// `word` as listed, when it is typed with letters held down (`hiii`, `heyyy`, `thanksss`,
/// `byee`): the first of the word itself, its runs of three or more letters cut to two, and
/// every run cut to one letter, that is one of the lists'.
fn unstretched(word: &str) -> String {
    let listed = |w: &str| {
        [GREETINGS, THANKS, GOODBYES, FILLER]
            .iter()
            .any(|l| l.contains(&w))
    };
    if listed(word) {
        return word.to_owned();
    }
    let cut = |longest: usize| {
        let mut out = String::with_capacity(word.len());
        let mut run = 0;
        let mut last = None;
        for c in word.chars() {
            run = if Some(c) == last { run + 1 } else { 1 };
            last = Some(c);
            if run <= longest {
                out.push(c);
            }
        }
        out
    };
    [cut(2), cut(1)]
        .into_iter()
        .find(|w| listed(w))
        .unwrap_or_else(|| word.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greetings_thanks_and_goodbyes_are_small_talk() {
        for (message, kind) in [
            ("hi", SmallTalk::Greeting),
            ("Hello!", SmallTalk::Greeting),
            ("hey there", SmallTalk::Greeting),
            ("good morning", SmallTalk::Greeting),
            ("yo", SmallTalk::Greeting),
            ("thanks!", SmallTalk::Thanks),
            ("thank you so much", SmallTalk::Thanks),
            ("ok thx", SmallTalk::Thanks),
            ("thanks, that helped", SmallTalk::Thanks),
            ("cool, thank you!", SmallTalk::Thanks),
            ("Thanks a lot, bye", SmallTalk::Thanks),
            ("bye!", SmallTalk::Goodbye),
            ("ok", SmallTalk::Thanks),
            ("hiii", SmallTalk::Greeting),
            ("heyyy guys", SmallTalk::Greeting),
            ("thanksss!!", SmallTalk::Thanks),
            ("tyvm, you too", SmallTalk::Thanks),
            ("gotcha, thx", SmallTalk::Thanks),
            ("ok byeee", SmallTalk::Thanks),
            ("gn everyone", SmallTalk::Goodbye),
            ("ty, have a nice day", SmallTalk::Thanks),
            ("appreciate it, have a good one", SmallTalk::Thanks),
            ("cheers thats sorted it", SmallTalk::Thanks),
            ("thanks, that's great", SmallTalk::Thanks),
            ("it's fixed now, thx", SmallTalk::Thanks),
            ("you're a legend", SmallTalk::Thanks),
            ("morning! anyone around?", SmallTalk::Greeting),
            ("hello, is anybody here?", SmallTalk::Greeting),
        ] {
            assert_eq!(SmallTalk::of(message), Some(kind), "{message:?}");
        }
    }

    #[test]
    fn a_message_that_asks_something_is_not_small_talk() {
        for message in [
            "hi, I forgot my password",
            "thanks, but how long does a refund take?",
            "hello is anyone there? my order never arrived",
            "",
            "?",
            "hi hi hi hi hi hi hi hi hi",
            "hiii, is the shop open",
            "good",
            "cool story, when is the next sale",
            "thanks, is there a one day pass",
            "anyone around to help with a refund?",
            "hi, is it down for everyone?",
            "that's not what I asked",
        ] {
            assert_eq!(SmallTalk::of(message), None, "{message:?}");
        }
    }
}
