//! The optional `ticket` field of a relay request: the topic the member chose when opening the
//! ticket and the answers they gave in its intake form, so that an answer source can use them
//! (the model reads them; the knowledge search ranks with them).
//!
//! ```json
//! "ticket": {"topic": "Billing", "form": [{"question": "Order number", "answer": "A-1042"}]}
//! ```
//!
//! Bounded like `history`: a topic name of at most [`TopicName::MAX_CHARS`], at most
//! [`Form::MAX_QUESTIONS`] answers (Discord's limit of inputs in one form), each question at most
//! [`FormQuestion::MAX_CHARS`] (Discord's label limit) and each answer at most
//! [`FormAnswerText::MAX_CHARS`]; so the whole field stays under 6,000 characters.

use serde::Serialize;
use serde_json::Value;

use super::PayloadError;

/// A trimmed text of at most `MAX_CHARS` characters with a non-whitespace one: the three texts
/// of the field differ only in their limit.
macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $max:expr, $why:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            #[doc = $why]
            pub const MAX_CHARS: usize = $max;

            /// Accepts a text with a non-whitespace character and at most
            /// [`Self::MAX_CHARS`], trimmed.
            pub fn parse(value: &str) -> Result<Self, String> {
                bounded_text(value, Self::MAX_CHARS).map(Self)
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

bounded_text!(
    /// A ticket topic's name: not blank, at most [`TopicName::MAX_CHARS`] characters.
    TopicName,
    80,
    "Discord's limit for a button's label, where a topic is shown on a panel."
);
bounded_text!(
    /// A question of a topic's intake form: not blank, at most [`FormQuestion::MAX_CHARS`]
    /// characters.
    FormQuestion,
    45,
    "Discord's limit for the label of a form's input."
);
bounded_text!(
    /// A member's answer to one question: not blank, at most [`FormAnswerText::MAX_CHARS`]
    /// characters.
    FormAnswerText,
    1_000,
    "The most a form's input lets a member type (the bot sets it as the input's limit)."
);

/// One answered question: `{"question","answer"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct FormAnswer {
    /// The question as the form asked it.
    pub question: FormQuestion,
    /// What the member answered.
    pub answer: FormAnswerText,
}

/// The bounds of [`TicketContext::form`], part of the contract.
#[derive(Debug)]
pub struct Form;

impl Form {
    /// Most answers a request may carry: Discord's limit of inputs in one form.
    pub const MAX_QUESTIONS: usize = 5;
}

/// What the member said when opening the ticket: its topic and their answers to its form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct TicketContext {
    /// The topic chosen.
    pub topic: TopicName,
    /// The questions answered, in the form's order (unanswered optional ones left out); empty
    /// when the topic has no form.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub form: Vec<FormAnswer>,
}

impl TicketContext {
    /// The text the answer sources read: the topic, then one `question: answer` line each.
    pub fn describe(&self) -> String {
        let mut text = format!("Topic: {}", self.topic.as_str());
        for entry in &self.form {
            text.push_str(&format!(
                "\n{}: {}",
                entry.question.as_str(),
                entry.answer.as_str()
            ));
        }
        text
    }

    /// The words of the topic and the answers, for a search (no labels).
    pub fn search_text(&self) -> String {
        std::iter::once(self.topic.as_str())
            .chain(self.form.iter().map(|e| e.answer.as_str()))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The typed `ticket` field: absent or `null` is none; otherwise an object with a `topic` and
/// an optional `form`, each part checked in order.
///
/// Why from a `serde_json::Value`: the field is small and optional, bounded by the transport's
/// body limit before it is read, and a tree walked once gives each error its path
/// (`ticket.form[1].answer`) without another hand-written visitor.
pub(super) fn parse(value: Option<Value>) -> Result<Option<TicketContext>, PayloadError> {
    let object = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(object)) => object,
        Some(other) => return Err(not("ticket", "an object", &other)),
    };
    let topic = match object.get("topic") {
        None | Some(Value::Null) => return Err(PayloadError::new("ticket.topic", "is required")),
        Some(Value::String(topic)) => {
            TopicName::parse(topic).map_err(|p| PayloadError::new("ticket.topic", p))?
        }
        Some(other) => return Err(not("ticket.topic", "a string", other)),
    };
    let entries = match object.get("form") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(entries)) => entries.as_slice(),
        Some(other) => return Err(not("ticket.form", "an array", other)),
    };
    if entries.len() > Form::MAX_QUESTIONS {
        return Err(PayloadError::new(
            "ticket.form",
            format!(
                "at most {} answers, got {}",
                Form::MAX_QUESTIONS,
                entries.len()
            ),
        ));
    }
    let mut form = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let at = |name: &str| format!("ticket.form[{index}]{name}");
        let Value::Object(entry) = entry else {
            return Err(not(at(""), "an object", entry));
        };
        let field = |name: &str| match entry.get(name) {
            None | Some(Value::Null) => {
                Err(PayloadError::new(at(&format!(".{name}")), "is required"))
            }
            Some(Value::String(text)) => Ok(text.as_str()),
            Some(other) => Err(not(at(&format!(".{name}")), "a string", other)),
        };
        let question = FormQuestion::parse(field("question")?)
            .map_err(|p| PayloadError::new(at(".question"), p))?;
        let answer = FormAnswerText::parse(field("answer")?)
            .map_err(|p| PayloadError::new(at(".answer"), p))?;
        form.push(FormAnswer { question, answer });
    }
    Ok(Some(TicketContext { topic, form }))
}

fn bounded_text(value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("must not be empty or only whitespace".to_owned());
    }
    let chars = value.chars().count();
    if chars > max {
        return Err(format!("must be at most {max} characters, got {chars}"));
    }
    Ok(value.to_owned())
}

fn not(
    field: impl Into<std::borrow::Cow<'static, str>>,
    wanted: &str,
    got: &Value,
) -> PayloadError {
    let kind = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    PayloadError::new(field, format!("must be {wanted}, got {kind}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn error(value: Value) -> String {
        parse(Some(value)).unwrap_err().to_string()
    }

    #[test]
    fn names_questions_and_answers_are_trimmed_and_bounded_in_characters() {
        assert_eq!(TopicName::parse("  Billing ").unwrap().as_str(), "Billing");
        assert!(TopicName::parse(&"é".repeat(80)).is_ok());
        assert_eq!(
            TopicName::parse(&"a".repeat(81)).unwrap_err(),
            "must be at most 80 characters, got 81"
        );
        assert!(FormQuestion::parse(&"q".repeat(45)).is_ok());
        assert!(FormQuestion::parse(&"q".repeat(46)).is_err());
        assert!(FormAnswerText::parse(&"a".repeat(1_000)).is_ok());
        assert!(FormAnswerText::parse(&"a".repeat(1_001)).is_err());
        for blank in ["", "  ", "\n"] {
            assert!(TopicName::parse(blank).is_err());
            assert!(FormQuestion::parse(blank).is_err());
            assert!(FormAnswerText::parse(blank).is_err());
        }
    }

    #[test]
    fn absent_and_null_are_none_and_a_topic_alone_is_enough() {
        assert_eq!(parse(None).unwrap(), None);
        assert_eq!(parse(Some(Value::Null)).unwrap(), None);
        let context = parse(Some(json!({"topic": "Billing", "form": null})))
            .unwrap()
            .unwrap();
        assert_eq!(context.topic.as_str(), "Billing");
        assert!(context.form.is_empty());
        assert_eq!(
            serde_json::to_value(&context).unwrap(),
            json!({"topic": "Billing"}),
            "an empty form is not sent"
        );
    }

    #[test]
    fn a_form_parses_in_order_and_describes_itself() {
        let value = json!({"topic": "Billing", "form": [
            {"question": "Order number", "answer": "A-1042", "extra": 1},
            {"question": "What happened?", "answer": "Charged twice"},
        ]});
        let context = parse(Some(value.clone())).unwrap().unwrap();
        assert_eq!(context.form[1].answer.as_str(), "Charged twice");
        assert_eq!(
            context.describe(),
            "Topic: Billing\nOrder number: A-1042\nWhat happened?: Charged twice"
        );
        assert_eq!(context.search_text(), "Billing A-1042 Charged twice");
        let mut back = value;
        back["form"][0].as_object_mut().unwrap().remove("extra");
        assert_eq!(serde_json::to_value(&context).unwrap(), back);
    }

    #[test]
    fn each_error_names_the_part_at_fault() {
        let cases = [
            (json!("Billing"), "ticket: must be an object, got a string"),
            (json!({}), "ticket.topic: is required"),
            (
                json!({"topic": 3}),
                "ticket.topic: must be a string, got a number",
            ),
            (
                json!({"topic": " "}),
                "ticket.topic: must not be empty or only whitespace",
            ),
            (
                json!({"topic": "B", "form": {}}),
                "ticket.form: must be an array, got an object",
            ),
            (
                json!({"topic": "B", "form": ["x"]}),
                "ticket.form[0]: must be an object, got a string",
            ),
            (
                json!({"topic": "B", "form": [{"question": "q", "answer": "a"}, {"answer": "a"}]}),
                "ticket.form[1].question: is required",
            ),
            (
                json!({"topic": "B", "form": [{"question": "q", "answer": ["a"]}]}),
                "ticket.form[0].answer: must be a string, got an array",
            ),
            (
                json!({"topic": "B", "form": [{"question": "q", "answer": ""}]}),
                "ticket.form[0].answer: must not be empty or only whitespace",
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(error(value), expected);
        }
        let six: Vec<_> = (0..6)
            .map(|_| json!({"question": "q", "answer": "a"}))
            .collect();
        assert_eq!(
            error(json!({"topic": "B", "form": six})),
            "ticket.form: at most 5 answers, got 6"
        );
        let long = "a".repeat(1_001);
        assert_eq!(
            error(json!({"topic": "B", "form": [{"question": "q", "answer": long}]})),
            "ticket.form[0].answer: must be at most 1000 characters, got 1001"
        );
    }
}
