//! Forms (modals): the form the bot opens as an interaction's answer (callback type 9), checked
//! as Discord checks it (a custom ID, a title, 1 to 5 rows of one text input each), and a
//! person's answers checked as the Discord client checks them before it submits (every
//! required field filled, each within its lengths), written as the submission's
//! `data.components` (rows of text inputs with their custom ID and value).

use serde::{Deserialize, Serialize};

use crate::model::{
    component::{ACTION_ROW, MAX_ID_CHARS, TEXT_INPUT},
    error::ApiError,
    message::Component,
};

/// Text input style of a one-line field.
pub const SHORT: u8 = 1;
/// Text input style of a several-line field.
pub const PARAGRAPH: u8 = 2;
/// Discord's most rows (so text inputs) in a form.
pub const MAX_ROWS: usize = 5;
/// Discord's longest title and label.
pub const MAX_TITLE_CHARS: usize = 45;
/// Discord's longest answer (and `min_length`, `max_length`).
pub const MAX_INPUT_CHARS: usize = 4000;
/// Discord's longest placeholder.
pub const MAX_PLACEHOLDER_CHARS: usize = 100;

/// The `data` of a modal callback, as the bot sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ModalBody {
    /// What the submission will carry, for the bot to know the form.
    pub custom_id: String,
    /// The form's title.
    pub title: String,
    /// Its rows, one text input each.
    pub components: Vec<Component>,
}

/// A form the bot opened, checked: 1 to 5 rows of one text input each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Modal {
    /// What the submission carries.
    pub custom_id: String,
    /// The form's title.
    pub title: String,
    /// Its rows, one text input each (style, label, custom ID, lengths, required, placeholder,
    /// pre-filled value).
    pub components: Vec<Component>,
}

fn invalid(message: String) -> ApiError {
    ApiError::invalid("data", "BASE_TYPE_BAD_LENGTH", message)
}

fn length(text: Option<&str>) -> usize {
    text.map_or(0, |t| t.chars().count())
}

impl Modal {
    /// The form `body` describes, or Discord's 400 50035 saying what is wrong with it.
    pub fn parse(body: ModalBody) -> Result<Self, ApiError> {
        if body.custom_id.is_empty() || length(Some(&body.custom_id)) > MAX_ID_CHARS {
            return Err(invalid(format!(
                "A form needs a custom_id of 1 to {MAX_ID_CHARS} characters."
            )));
        }
        if body.title.is_empty() || length(Some(&body.title)) > MAX_TITLE_CHARS {
            return Err(invalid(format!(
                "A form needs a title of 1 to {MAX_TITLE_CHARS} characters."
            )));
        }
        if body.components.is_empty() || body.components.len() > MAX_ROWS {
            return Err(invalid(format!("A form holds 1 to {MAX_ROWS} rows.")));
        }
        let mut seen: Vec<&str> = Vec::new();
        for (index, row) in body.components.iter().enumerate() {
            let [input] = row.components.as_slice() else {
                return Err(invalid(format!(
                    "Row {index} must hold exactly one text input."
                )));
            };
            if row.kind != ACTION_ROW || input.kind != TEXT_INPUT {
                return Err(invalid(format!(
                    "Row {index} must be an action row holding a text input."
                )));
            }
            check_input(index, input)?;
            let custom_id = input.custom_id.as_deref().unwrap_or_default();
            if seen.contains(&custom_id) {
                return Err(invalid(format!(
                    "The custom_id {custom_id:?} is used twice."
                )));
            }
            seen.push(custom_id);
        }
        Ok(Self {
            custom_id: body.custom_id,
            title: body.title,
            components: body.components,
        })
    }

    /// The text inputs, in order.
    pub fn inputs(&self) -> impl Iterator<Item = &Component> {
        self.components.iter().flat_map(|row| &row.components)
    }

    /// The submission's `data.components` for `answers` (`(custom_id, value)`), checked as the
    /// Discord client checks them: every field named exists, every required one (Discord's
    /// default) is filled, each answer within its lengths. A field not named is sent empty.
    pub fn answer(&self, answers: &[(&str, &str)]) -> Result<Vec<Component>, FormError> {
        if let Some((unknown, _)) = answers
            .iter()
            .find(|(id, _)| !self.inputs().any(|i| i.custom_id.as_deref() == Some(*id)))
        {
            return Err(FormError::UnknownField((*unknown).to_owned()));
        }
        self.inputs()
            .map(|input| {
                let custom_id = input.custom_id.clone().unwrap_or_default();
                let label = input.label.clone().unwrap_or_else(|| custom_id.clone());
                let value = answers
                    .iter()
                    .rev()
                    .find(|(id, _)| *id == custom_id)
                    .map_or("", |(_, value)| *value);
                let chars = value.chars().count();
                if chars == 0 {
                    if input.required.unwrap_or(true) {
                        return Err(FormError::Required(label));
                    }
                } else if let Some(min) = input.min_length.filter(|min| chars < usize::from(*min)) {
                    return Err(FormError::TooShort { label, min });
                }
                let max = input.max_length.map_or(MAX_INPUT_CHARS, usize::from);
                if chars > max {
                    return Err(FormError::TooLong { label, max });
                }
                let answer = Component {
                    custom_id: Some(custom_id),
                    value: Some(value.to_owned()),
                    ..Component::of_kind(TEXT_INPUT)
                };
                Ok(Component::row(vec![answer]))
            })
            .collect()
    }
}

fn check_input(index: usize, input: &Component) -> Result<(), ApiError> {
    let custom_id = input.custom_id.as_deref();
    if length(custom_id) == 0 || length(custom_id) > MAX_ID_CHARS {
        return Err(invalid(format!(
            "The text input of row {index} needs a custom_id of 1 to {MAX_ID_CHARS} characters."
        )));
    }
    let label = length(input.label.as_deref());
    if label == 0 || label > MAX_TITLE_CHARS {
        return Err(invalid(format!(
            "The text input of row {index} needs a label of 1 to {MAX_TITLE_CHARS} characters."
        )));
    }
    if !matches!(input.style, Some(SHORT | PARAGRAPH)) {
        return Err(invalid(format!(
            "The text input of row {index} needs style 1 (short) or 2 (paragraph)."
        )));
    }
    let min = input.min_length.map_or(0, usize::from);
    let max = input.max_length.map_or(MAX_INPUT_CHARS, usize::from);
    if min > MAX_INPUT_CHARS || max == 0 || max > MAX_INPUT_CHARS || min > max {
        return Err(invalid(format!(
            "The text input of row {index}: min_length ({min}) and max_length ({max}) must satisfy 0 <= min <= max <= {MAX_INPUT_CHARS}, max >= 1."
        )));
    }
    if length(input.placeholder.as_deref()) > MAX_PLACEHOLDER_CHARS {
        return Err(invalid(format!(
            "The placeholder of row {index} holds at most {MAX_PLACEHOLDER_CHARS} characters."
        )));
    }
    if length(input.value.as_deref()) > max {
        return Err(invalid(format!(
            "The value of row {index} is longer than its max_length ({max})."
        )));
    }
    Ok(())
}

/// Why answers to a form are not what the Discord client would submit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// A field the form does not have.
    #[error("the form has no field {0:?}")]
    UnknownField(String),
    /// A required field left empty.
    #[error("{0:?} is required")]
    Required(String),
    /// An answer shorter than the field's `min_length`.
    #[error("{label:?} needs at least {min} characters")]
    TooShort {
        /// The field's label.
        label: String,
        /// Its `min_length`.
        min: u16,
    },
    /// An answer longer than the field's `max_length`.
    #[error("{label:?} takes at most {max} characters")]
    TooLong {
        /// The field's label.
        label: String,
        /// Its `max_length` (or Discord's 4000).
        max: usize,
    },
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use serenity::{
        all::{
            CreateActionRow, CreateInputText, CreateInteractionResponse, CreateModal,
            InputTextStyle,
        },
        model::application::ActionRowComponent,
    };

    use super::*;

    /// The modal serenity sends for a bot's `CreateModal`.
    fn serenitys() -> ModalBody {
        let modal = CreateModal::new("ticket-form", "Open a ticket").components(vec![
            CreateActionRow::InputText(
                CreateInputText::new(InputTextStyle::Short, "Subject", "subject")
                    .min_length(3)
                    .max_length(40)
                    .placeholder("What is it about?"),
            ),
            CreateActionRow::InputText(
                CreateInputText::new(InputTextStyle::Paragraph, "Details", "details")
                    .required(false)
                    .value("It started when"),
            ),
        ]);
        let callback = serde_json::to_value(CreateInteractionResponse::Modal(modal)).unwrap();
        assert_eq!(callback["type"], 9);
        serde_json::from_value(callback["data"].clone()).unwrap()
    }

    #[test]
    fn serenitys_modal_is_read_whole() {
        let modal = Modal::parse(serenitys()).expect("a valid form");
        assert_eq!(
            (modal.custom_id.as_str(), modal.title.as_str()),
            ("ticket-form", "Open a ticket")
        );
        let inputs: Vec<&Component> = modal.inputs().collect();
        assert_eq!(inputs.len(), 2);
        assert_eq!(inputs[0].style, Some(SHORT));
        assert_eq!(
            (inputs[0].min_length, inputs[0].max_length),
            (Some(3), Some(40))
        );
        assert_eq!(inputs[0].placeholder.as_deref(), Some("What is it about?"));
        assert_eq!(inputs[1].required, Some(false));
        assert_eq!(inputs[1].value.as_deref(), Some("It started when"));
    }

    #[test]
    fn a_bad_form_is_refused_as_discord_does() {
        let good = serenitys();
        let mut six_rows = good.clone();
        six_rows.components = vec![good.components[0].clone(); 6];
        let mut twice = good.clone();
        twice.components[1] = good.components[0].clone();
        let mut no_title = good.clone();
        no_title.title.clear();
        let mut two_in_a_row = good.clone();
        two_in_a_row.components[0]
            .components
            .push(good.components[1].components[0].clone());
        let mut bad_lengths = good.clone();
        bad_lengths.components[0].components[0].min_length = Some(50);
        let mut no_label = good.clone();
        no_label.components[0].components[0].label = None;
        let mut button = good;
        button.components[0].components[0].kind = 2;
        for body in [
            six_rows,
            twice,
            no_title,
            two_in_a_row,
            bad_lengths,
            no_label,
            button,
        ] {
            assert!(
                matches!(
                    Modal::parse(body.clone()),
                    Err(ApiError::InvalidField { field: "data", .. })
                ),
                "{body:?}"
            );
        }
    }

    #[test]
    fn answers_are_checked_as_the_client_does_and_read_by_serenity() {
        let modal = Modal::parse(serenitys()).unwrap();
        assert_eq!(
            modal.answer(&[("details", "x")]),
            Err(FormError::Required("Subject".to_owned()))
        );
        assert_eq!(
            modal.answer(&[("subject", "ab")]),
            Err(FormError::TooShort {
                label: "Subject".to_owned(),
                min: 3
            })
        );
        assert!(matches!(
            modal.answer(&[("subject", &"x".repeat(41))]),
            Err(FormError::TooLong { max: 40, .. })
        ));
        assert_eq!(
            modal.answer(&[("subject", "printer"), ("nope", "x")]),
            Err(FormError::UnknownField("nope".to_owned()))
        );
        let rows = modal.answer(&[("subject", "printer")]).unwrap();
        let written = serde_json::to_value(&rows).unwrap();
        assert_eq!(
            written,
            json!([
                { "type": 1, "components": [{ "type": 4, "custom_id": "subject", "value": "printer" }] },
                { "type": 1, "components": [{ "type": 4, "custom_id": "details", "value": "" }] },
            ])
        );
        let read: Vec<serenity::model::application::ActionRow> =
            serde_json::from_value(written).unwrap();
        let ActionRowComponent::InputText(input) = &read[0].components[0] else {
            panic!("a text input")
        };
        assert_eq!(input.value.as_deref(), Some("printer"));
    }
}
