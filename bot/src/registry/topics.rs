//! Ticket topics, kept by ID in the guild's entry: a name, an optional description, Support
//! role and emoji, and up to five intake questions (Discord's limit of inputs in one form).
//! A ticket opened under a topic records the topic's name and the member's answers in its own
//! entry ([`super::TicketEntry::topic`], [`super::TicketEntry::form`]); every relay request of
//! the ticket carries them to the worker as the contract's `ticket` field ([`context`]).

use common::payload::{FormAnswer, FormAnswerText, FormQuestion, TicketContext, TopicName};
use serde::{Deserialize, Serialize};
use serenity::all::RoleId;

/// Most topics a guild may have: a select menu's limit of options.
pub const MAX_TOPICS: usize = 25;
/// Most questions a topic may ask: Discord's limit of inputs in one form.
pub const MAX_QUESTIONS: usize = common::payload::Form::MAX_QUESTIONS;

/// One topic of a guild.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    /// Its ID in the guild, never reused while the topic exists (panel buttons carry it).
    pub id: u32,
    /// Its name, unique in the guild regardless of case ([`TopicName`]'s rules).
    pub name: String,
    /// What it is for, shown under it in a select menu.
    #[serde(default)]
    pub description: Option<String>,
    /// A role that sees and handles its tickets, besides the guild's Support role.
    #[serde(default)]
    pub support_role_id: Option<RoleId>,
    /// A Unicode emoji shown on its button.
    #[serde(default)]
    pub emoji: Option<String>,
    /// The intake form, in order; empty: the ticket opens at once.
    #[serde(default)]
    pub questions: Vec<TopicQuestion>,
}

/// How much room an answer gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuestionStyle {
    /// One line.
    Short,
    /// Several lines.
    Paragraph,
}

/// One question of a topic's intake form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicQuestion {
    /// The input's label ([`FormQuestion`]'s rules).
    pub label: String,
    /// Short or paragraph.
    pub style: QuestionStyle,
    /// Whether the form cannot be sent without it.
    pub required: bool,
}

impl TopicQuestion {
    /// Reads one line of `/ticket-topic questions`: `label | short or paragraph | required or
    /// optional`, the last two optional (short and required by default).
    pub fn parse(line: &str) -> Result<Self, String> {
        let mut parts = line.split('|').map(str::trim);
        let label = FormQuestion::parse(parts.next().unwrap_or_default())
            .map_err(|problem| format!("the question {problem}"))?;
        let mut question = Self {
            label: label.as_str().to_owned(),
            style: QuestionStyle::Short,
            required: true,
        };
        for part in parts {
            match part.to_ascii_lowercase().as_str() {
                "short" => question.style = QuestionStyle::Short,
                "paragraph" | "long" => question.style = QuestionStyle::Paragraph,
                "required" => question.required = true,
                "optional" => question.required = false,
                other => {
                    return Err(format!(
                        "`{other}` is neither short, paragraph, required nor optional"
                    ))
                }
            }
        }
        Ok(question)
    }

    /// The line [`TopicQuestion::parse`] reads back.
    pub fn line(&self) -> String {
        let style = match self.style {
            QuestionStyle::Short => "short",
            QuestionStyle::Paragraph => "paragraph",
        };
        let required = if self.required {
            "required"
        } else {
            "optional"
        };
        format!("{} | {style} | {required}", self.label)
    }
}

/// One answered question, as a ticket's entry keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormEntry {
    /// The question, as the form asked it.
    pub question: String,
    /// The member's answer.
    pub answer: String,
}

/// What a ticket is opened with: its topic and the answers to its form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intake {
    /// The topic chosen.
    pub topic: Topic,
    /// The questions answered, in the form's order (empty answers left out).
    pub form: Vec<FormEntry>,
}

impl Intake {
    /// The intake of a topic with `answers` to its questions, by position; blank answers are
    /// left out and long ones cut to the contract's limit.
    pub fn answered(topic: Topic, answers: &[Option<String>]) -> Self {
        let form = topic
            .questions
            .iter()
            .zip(answers)
            .filter_map(|(question, answer)| {
                let answer = answer.as_deref()?.trim();
                (!answer.is_empty()).then(|| FormEntry {
                    question: question.label.clone(),
                    answer: answer.chars().take(FormAnswerText::MAX_CHARS).collect(),
                })
            })
            .collect();
        Self { topic, form }
    }
}

/// The contract's `ticket` field for a ticket with `topic` and `form`: `None` without a topic;
/// an entry that breaks the contract's rules (written by hand) is left out, not sent.
pub fn context(topic: Option<&str>, form: &[FormEntry]) -> Option<TicketContext> {
    let topic = TopicName::parse(topic?).ok()?;
    let form = form
        .iter()
        .filter_map(|entry| {
            Some(FormAnswer {
                question: FormQuestion::parse(&entry.question).ok()?,
                answer: FormAnswerText::parse(&entry.answer).ok()?,
            })
        })
        .take(MAX_QUESTIONS)
        .collect();
    Some(TicketContext { topic, form })
}

/// The next free topic ID among `topics`.
pub fn next_id(topics: &[Topic]) -> u32 {
    topics.iter().map(|t| t.id).max().map_or(1, |id| id + 1)
}

/// The topic named `name` (any case) among `topics`.
pub fn named<'a>(topics: &'a [Topic], name: &str) -> Option<&'a Topic> {
    let name = name.trim();
    topics.iter().find(|t| t.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(questions: Vec<TopicQuestion>) -> Topic {
        Topic {
            id: 1,
            name: "Billing".into(),
            description: None,
            support_role_id: None,
            emoji: None,
            questions,
        }
    }

    #[test]
    fn a_question_line_reads_its_label_style_and_need_and_writes_back() {
        let question = TopicQuestion::parse(" Order number ").unwrap();
        assert_eq!(question.label, "Order number");
        assert_eq!(question.style, QuestionStyle::Short);
        assert!(question.required);
        let long = TopicQuestion::parse("What happened? | Paragraph | optional").unwrap();
        assert_eq!(long.style, QuestionStyle::Paragraph);
        assert!(!long.required);
        assert_eq!(long.line(), "What happened? | paragraph | optional");
        assert_eq!(TopicQuestion::parse(&long.line()).unwrap(), long);
        assert!(TopicQuestion::parse(" | short")
            .unwrap_err()
            .contains("empty"));
        assert!(TopicQuestion::parse(&"q".repeat(46)).is_err());
        assert_eq!(
            TopicQuestion::parse("x | huge").unwrap_err(),
            "`huge` is neither short, paragraph, required nor optional"
        );
    }

    #[test]
    fn answers_keep_the_form_order_without_blanks_and_within_the_contract() {
        let questions = ["A", "B", "C"]
            .map(|label| TopicQuestion::parse(label).unwrap())
            .to_vec();
        let long = "x".repeat(1_200);
        let intake = Intake::answered(
            topic(questions),
            &[Some(" one ".into()), Some("  ".into()), Some(long)],
        );
        assert_eq!(intake.form.len(), 2);
        assert_eq!(
            intake.form[0],
            FormEntry {
                question: "A".into(),
                answer: "one".into()
            }
        );
        assert_eq!(intake.form[1].question, "C");
        assert_eq!(
            intake.form[1].answer.chars().count(),
            FormAnswerText::MAX_CHARS
        );

        let sent = context(Some("Billing"), &intake.form).unwrap();
        assert_eq!(sent.topic.as_str(), "Billing");
        assert_eq!(sent.form.len(), 2);
        assert_eq!(context(None, &intake.form), None, "no topic: no field");
        let bad = [FormEntry {
            question: String::new(),
            answer: "x".into(),
        }];
        assert!(context(Some("Billing"), &bad).unwrap().form.is_empty());
    }

    #[test]
    fn topics_are_found_by_name_in_any_case_and_ids_are_not_reused() {
        let mut topics = vec![topic(Vec::new())];
        assert_eq!(named(&topics, " billing").map(|t| t.id), Some(1));
        assert!(named(&topics, "Shipping").is_none());
        assert_eq!(next_id(&topics), 2);
        topics[0].id = 7;
        assert_eq!(next_id(&topics), 8);
        assert_eq!(next_id(&[]), 1);
    }
}
