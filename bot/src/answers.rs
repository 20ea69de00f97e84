//! The assistant's answers as the bot posts them: the buttons under each one (Talk to a human,
//! 👍 Helpful, 👎 Not helpful), the ping "Talk to a human" sends the Support team, and a memory
//! of recent answers, so that a press finds the question it answered and the source that wrote
//! it without asking Discord.
//!
//! The memory lives in this process only, and holds the latest [`REMEMBERED`] answers: after
//! a restart (or for an older answer) the question is read back from the channel and the
//! source is unknown.

use std::collections::{HashMap, VecDeque};

use parking_lot::Mutex;
use serenity::all::{
    ButtonStyle, CreateActionRow, CreateButton, MessageId, ReactionType, RoleId, UserId,
};

/// The custom ID of "Talk to a human".
pub const HUMAN_BUTTON: &str = "answer:human";
/// The custom ID of "👍 Helpful".
pub const UP_BUTTON: &str = "answer:up";
/// The custom ID of "👎 Not helpful".
pub const DOWN_BUTTON: &str = "answer:down";

/// Answers remembered: far more than are rated or escalated while fresh, a few hundred KiB.
pub const REMEMBERED: usize = 4096;

/// The longest question quoted to the Support team, in characters.
pub const QUESTION_CHARS: usize = 200;

/// The buttons under an answer: all three, or only "Talk to a human" when the answer source
/// said the documents do not back it (`grounded: false`: its text says so already, and there
/// is nothing to rate).
pub fn buttons(grounded: Option<bool>) -> Vec<CreateActionRow> {
    let human = CreateButton::new(HUMAN_BUTTON)
        .label("Talk to a human")
        .style(ButtonStyle::Primary);
    let row = if grounded == Some(false) {
        vec![human]
    } else {
        vec![
            human,
            CreateButton::new(UP_BUTTON)
                .label("Helpful")
                .emoji(ReactionType::Unicode("👍".to_owned()))
                .style(ButtonStyle::Secondary),
            CreateButton::new(DOWN_BUTTON)
                .label("Not helpful")
                .emoji(ReactionType::Unicode("👎".to_owned()))
                .style(ButtonStyle::Secondary),
        ]
    };
    vec![CreateActionRow::Buttons(row)]
}

/// A question quoted on one line, cut to [`QUESTION_CHARS`] (with "…" when it was longer).
pub fn one_line(question: &str) -> String {
    let flat = question.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= QUESTION_CHARS {
        return flat;
    }
    let mut cut: String = flat.chars().take(QUESTION_CHARS - 1).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

/// What follows the team and the asker in the ping.
const ASKED: &str = " asked to talk to a human";
/// How the ping names the team when the guild has no Support role on record.
const NO_ROLE: &str = "Support team:";

/// The one line that tells the Support team (and only them: the message allows mentions of
/// that role alone) that `by` asked for a human, quoting their question.
pub fn support_ping(support: Option<RoleId>, by: UserId, question: Option<&str>) -> String {
    let team = support.map_or_else(|| NO_ROLE.to_owned(), |role| format!("<@&{role}>"));
    match question.filter(|q| !q.is_empty()) {
        Some(question) => format!("{team} <@{by}>{ASKED}. Their question: \"{question}\""),
        None => format!("{team} <@{by}>{ASKED} in this ticket."),
    }
}

/// Whether the bot's message `text` is a [`support_ping`] (the assistant's history leaves it
/// out: the assistant did not say it).
pub fn is_support_ping(text: &str) -> bool {
    let Some((before, _)) = text.split_once(ASKED) else {
        return false;
    };
    let mention = |text: &str, prefix: &str| {
        text.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix('>'))
            .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
    };
    match before.rsplit_once(' ') {
        Some((team, asker)) => mention(asker, "<@") && (team == NO_ROLE || mention(team, "<@&")),
        None => false,
    }
}

/// What the bot remembers of one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    /// The member's message it answered, on one line ([`one_line`]).
    pub question: String,
    /// Which answer source wrote it, when the worker said.
    pub source: Option<String>,
}

/// The latest answers, by the message that carries their buttons.
#[derive(Default)]
pub struct RecentAnswers {
    inner: Mutex<Memory>,
}

#[derive(Default)]
struct Memory {
    by_message: HashMap<MessageId, Answered>,
    order: VecDeque<MessageId>,
}

impl std::fmt::Debug for RecentAnswers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecentAnswers").finish_non_exhaustive()
    }
}

impl RecentAnswers {
    /// Remembers the answer whose buttons are on `message`, forgetting the oldest beyond
    /// [`REMEMBERED`].
    pub fn remember(&self, message: MessageId, answered: Answered) {
        let mut memory = self.inner.lock();
        if memory.by_message.insert(message, answered).is_none() {
            memory.order.push_back(message);
        }
        while memory.order.len() > REMEMBERED {
            if let Some(old) = memory.order.pop_front() {
                memory.by_message.remove(&old);
            }
        }
    }

    /// The answer on `message`, if it is recent.
    pub fn get(&self, message: MessageId) -> Option<Answered> {
        self.inner.lock().by_message.get(&message).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom_ids(rows: &[CreateActionRow]) -> Vec<String> {
        let json = serde_json::to_value(rows).unwrap();
        json[0]["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["custom_id"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn a_grounded_or_unknown_answer_gets_three_buttons_an_ungrounded_one_only_the_human() {
        let all = [HUMAN_BUTTON, UP_BUTTON, DOWN_BUTTON];
        assert_eq!(custom_ids(&buttons(None)), all);
        assert_eq!(custom_ids(&buttons(Some(true))), all);
        assert_eq!(custom_ids(&buttons(Some(false))), [HUMAN_BUTTON]);
    }

    #[test]
    fn the_ping_names_the_role_the_asker_and_the_question_and_is_known_again() {
        let text = support_ping(
            Some(RoleId::new(7)),
            UserId::new(8),
            Some("where is my order?"),
        );
        assert_eq!(
            text,
            "<@&7> <@8> asked to talk to a human. Their question: \"where is my order?\""
        );
        let without = support_ping(None, UserId::new(8), Some(""));
        assert_eq!(
            without,
            "Support team: <@8> asked to talk to a human in this ticket."
        );
        assert!(is_support_ping(&text) && is_support_ping(&without));
        for answer in [
            "Someone asked to talk to a human yesterday.",
            "<@&7> <@x> asked to talk to a human.",
            "Hi <@8> asked to talk to a human.",
        ] {
            assert!(!is_support_ping(answer), "{answer}");
        }
    }

    #[test]
    fn a_question_is_quoted_on_one_line_and_cut() {
        assert_eq!(
            one_line("my printer\n  is on   fire"),
            "my printer is on fire"
        );
        let long = "word ".repeat(100);
        let cut = one_line(&long);
        assert_eq!(cut.chars().count(), QUESTION_CHARS);
        assert!(cut.ends_with("word…"), "{cut}");
        let spaced = format!("{}  tail", "x".repeat(QUESTION_CHARS - 2));
        assert!(
            one_line(&spaced).ends_with("x…"),
            "no space before the ellipsis"
        );
        let exact = "é".repeat(QUESTION_CHARS);
        assert_eq!(one_line(&exact), exact);
    }

    #[test]
    fn only_the_latest_answers_are_remembered() {
        let answers = RecentAnswers::default();
        let answered = |n: usize| Answered {
            question: format!("q{n}"),
            source: None,
        };
        for n in 1..=REMEMBERED + 1 {
            answers.remember(MessageId::new(n as u64), answered(n));
        }
        assert_eq!(answers.get(MessageId::new(1)), None);
        assert_eq!(answers.get(MessageId::new(2)), Some(answered(2)));
        let last = MessageId::new((REMEMBERED + 1) as u64);
        assert_eq!(answers.get(last), Some(answered(REMEMBERED + 1)));
    }
}
