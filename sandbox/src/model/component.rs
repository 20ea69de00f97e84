//! Message components beyond buttons: string select menus (type 3) checked as Discord checks
//! them when the bot sends one, and a person's choice checked as the Discord client allows it
//! (values among the options, as many as the menu asks). The [`Component`] struct itself, one
//! shape for every component as in Discord's JSON, is in [`crate::model::message`].

use crate::model::{error::ApiError, message::Component};

/// Component type of an action row.
pub const ACTION_ROW: u8 = 1;
/// Component type of a string select menu.
pub const STRING_SELECT: u8 = 3;
/// Component type of a form's text input.
pub const TEXT_INPUT: u8 = 4;
/// Discord's most options of a select menu, and most values chosen at once.
pub const MAX_OPTIONS: usize = 25;
/// Discord's longest custom ID, option label or value.
pub const MAX_ID_CHARS: usize = 100;

impl Component {
    /// A component of type `kind` with nothing else set.
    pub fn of_kind(kind: u8) -> Self {
        Self {
            kind,
            components: Vec::new(),
            style: None,
            label: None,
            custom_id: None,
            url: None,
            disabled: None,
            emoji: None,
            placeholder: None,
            options: Vec::new(),
            min_values: None,
            max_values: None,
            min_length: None,
            max_length: None,
            required: None,
            value: None,
        }
    }

    /// An action row holding `components`.
    pub fn row(components: Vec<Component>) -> Self {
        Self {
            components,
            ..Self::of_kind(ACTION_ROW)
        }
    }

    /// The fewest values a select menu takes (Discord's default 1).
    pub fn fewest(&self) -> usize {
        self.min_values.map_or(1, usize::from)
    }

    /// The most values a select menu takes (Discord's default 1).
    pub fn most(&self) -> usize {
        self.max_values.map_or(1, usize::from)
    }
}

/// The string select menu `custom_id` among the rows of a message.
pub fn string_select<'a>(rows: &'a [Component], custom_id: &str) -> Option<&'a Component> {
    rows.iter()
        .flat_map(|row| &row.components)
        .find(|c| c.kind == STRING_SELECT && c.custom_id.as_deref() == Some(custom_id))
}

/// Discord's refusal of the select menus among `rows`, if any: a custom ID, 1 to 25 options
/// with distinct values, and 0 ≤ `min_values` ≤ `max_values` ≤ the options (at most 25).
pub fn select_refusal(rows: &[Component]) -> Option<ApiError> {
    let bad = |message: String| {
        Some(ApiError::invalid(
            "components",
            "COMPONENT_INVALID",
            message,
        ))
    };
    for select in rows
        .iter()
        .flat_map(|row| &row.components)
        .filter(|c| c.kind == STRING_SELECT)
    {
        let custom_id = select.custom_id.as_deref().unwrap_or_default();
        if custom_id.is_empty() || custom_id.chars().count() > MAX_ID_CHARS {
            return bad(format!(
                "A select menu needs a custom_id of 1 to {MAX_ID_CHARS} characters."
            ));
        }
        let options = &select.options;
        if options.is_empty() || options.len() > MAX_OPTIONS {
            return bad(format!(
                "Select menu {custom_id:?} needs 1 to {MAX_OPTIONS} options."
            ));
        }
        for (index, option) in options.iter().enumerate() {
            let sizes = [option.label.chars().count(), option.value.chars().count()];
            if sizes.iter().any(|n| *n == 0 || *n > MAX_ID_CHARS) {
                return bad(format!(
                    "Option {index} of {custom_id:?} needs a label and a value of 1 to {MAX_ID_CHARS} characters."
                ));
            }
            if options[..index].iter().any(|o| o.value == option.value) {
                return bad(format!(
                    "The option value {:?} of {custom_id:?} is already used.",
                    option.value
                ));
            }
        }
        let (fewest, most) = (select.fewest(), select.most());
        if most == 0 || most > MAX_OPTIONS || fewest > most || most > options.len() {
            return bad(format!(
                "Select menu {custom_id:?}: min_values ({fewest}) and max_values ({most}) must satisfy 0 <= min <= max <= its {} options.",
                options.len()
            ));
        }
    }
    None
}

/// Why a person's choice in a select menu is not one the Discord client would send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChoiceError {
    /// The menu is greyed out.
    #[error("the select menu {0:?} is disabled")]
    Disabled(String),
    /// A value that is not among the options.
    #[error("{value:?} is not an option of {custom_id:?}")]
    NotAnOption {
        /// The menu.
        custom_id: String,
        /// The value.
        value: String,
    },
    /// The same value twice.
    #[error("{0:?} is chosen twice")]
    Twice(String),
    /// Too few or too many values.
    #[error("choose {fewest} to {most} options of {custom_id:?} (not {chosen})")]
    Count {
        /// The menu.
        custom_id: String,
        /// Its fewest values.
        fewest: usize,
        /// Its most values.
        most: usize,
        /// How many were chosen.
        chosen: usize,
    },
}

/// Checks `values` chosen in `select` as the Discord client allows them.
pub fn check_choice(select: &Component, values: &[&str]) -> Result<(), ChoiceError> {
    let custom_id = select.custom_id.clone().unwrap_or_default();
    if select.disabled == Some(true) {
        return Err(ChoiceError::Disabled(custom_id));
    }
    for (index, value) in values.iter().enumerate() {
        if !select.options.iter().any(|o| o.value == *value) {
            return Err(ChoiceError::NotAnOption {
                custom_id,
                value: (*value).to_owned(),
            });
        }
        if values[..index].contains(value) {
            return Err(ChoiceError::Twice((*value).to_owned()));
        }
    }
    let (fewest, most) = (select.fewest(), select.most());
    if values.len() < fewest || values.len() > most {
        return Err(ChoiceError::Count {
            custom_id,
            fewest,
            most,
            chosen: values.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use serenity::model::application::{ActionRow, ActionRowComponent};

    use super::*;

    fn menu(extra: serde_json::Value) -> Vec<Component> {
        let mut select = json!({ "type": 3, "custom_id": "topic", "placeholder": "Pick a topic",
            "options": [
                { "label": "Billing", "value": "billing", "description": "Invoices", "emoji": { "name": "💳" } },
                { "label": "Bug", "value": "bug" },
                { "label": "Other", "value": "other" }
            ] });
        select
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(json!([{ "type": 1, "components": [select] }])).unwrap()
    }

    #[test]
    fn a_select_menu_is_serenitys_with_its_options() {
        let rows = menu(json!({ "min_values": 1, "max_values": 2 }));
        let read: Vec<ActionRow> =
            serde_json::from_value(serde_json::to_value(&rows).unwrap()).unwrap();
        let ActionRowComponent::SelectMenu(select) = &read[0].components[0] else {
            panic!("not a select menu: {read:?}")
        };
        assert_eq!(select.custom_id.as_deref(), Some("topic"));
        assert_eq!(select.options.len(), 3);
        assert_eq!(select.options[0].description.as_deref(), Some("Invoices"));
        assert_eq!((select.min_values, select.max_values), (Some(1), Some(2)));
        assert_eq!(select_refusal(&rows), None);
        assert!(string_select(&rows, "topic").is_some() && string_select(&rows, "x").is_none());
    }

    #[test]
    fn a_bad_select_menu_is_refused_as_discord_does() {
        for extra in [
            json!({ "custom_id": "" }),
            json!({ "options": [] }),
            json!({ "options": [{ "label": "a", "value": "x" }, { "label": "b", "value": "x" }] }),
            json!({ "min_values": 3, "max_values": 2 }),
            json!({ "max_values": 4 }),
            json!({ "max_values": 0 }),
        ] {
            let refusal = select_refusal(&menu(extra.clone()));
            assert!(
                matches!(
                    &refusal,
                    Some(ApiError::InvalidField {
                        field: "components",
                        ..
                    })
                ),
                "{extra}: {refusal:?}"
            );
        }
    }

    #[test]
    fn a_choice_must_be_among_the_options_as_many_as_the_menu_takes() {
        let rows = menu(json!({ "min_values": 1, "max_values": 2 }));
        let select = string_select(&rows, "topic").unwrap();
        assert_eq!(check_choice(select, &["bug"]), Ok(()));
        assert_eq!(check_choice(select, &["bug", "billing"]), Ok(()));
        assert!(matches!(
            check_choice(select, &[]),
            Err(ChoiceError::Count { chosen: 0, .. })
        ));
        assert!(matches!(
            check_choice(select, &["bug", "billing", "other"]),
            Err(ChoiceError::Count { chosen: 3, .. })
        ));
        assert!(matches!(
            check_choice(select, &["nope"]),
            Err(ChoiceError::NotAnOption { .. })
        ));
        assert_eq!(
            check_choice(select, &["bug", "bug"]),
            Err(ChoiceError::Twice("bug".to_owned()))
        );
        let disabled = menu(json!({ "disabled": true }));
        assert!(matches!(
            check_choice(string_select(&disabled, "topic").unwrap(), &["bug"]),
            Err(ChoiceError::Disabled(_))
        ));
    }
}
