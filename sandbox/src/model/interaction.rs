//! Interactions: what Discord sends the bot when someone runs a slash command, presses a
//! button, chooses in a select menu or submits a form (INTERACTION_CREATE), and the answer the
//! bot gives (the callback's body: a message, "thinking", an update, or a form to open).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{
    channel::ChannelKind,
    command::{BOOLEAN_OPTION, ROLE_OPTION, STRING_OPTION, SUB_COMMAND_OPTION, USER_OPTION},
    component::STRING_SELECT,
    ids::APP_ID,
    limits::ATTACHMENT_SIZE_LIMIT,
    member::Member,
    message::{Component, Message, MessageBody},
    modal::ModalBody,
    permissions::{ADMINISTRATOR_PERMISSIONS, EVERYONE_PERMISSIONS},
    user::User,
    wire::{option_u64_string, u64_string, Never},
};

/// Interaction type of a slash command.
pub const COMMAND: u8 = 2;
/// Interaction type of a component (a button pressed, a select menu chosen in).
pub const COMPONENT: u8 = 3;
/// Interaction type of a form submitted.
pub const MODAL_SUBMIT: u8 = 5;
/// Component type of a button.
pub const BUTTON: u8 = 2;

/// The token of interaction `id` (unique per interaction, as on Discord).
pub fn interaction_token(id: u64) -> String {
    format!("token-{id}")
}

/// One option of a slash command as the person filled it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandOption {
    /// A STRING option (type 3): its name and value.
    String(String, String),
    /// A USER option (type 6): its name and the chosen user's ID.
    User(String, u64),
    /// A ROLE option (type 8): its name and the chosen role's ID (the role is not resolved).
    Role(String, u64),
    /// A BOOLEAN option (type 5): its name and value.
    Boolean(String, bool),
    /// A SUB_COMMAND (type 1): its name and its options.
    Subcommand(String, Vec<CommandOption>),
}

impl CommandOption {
    /// The option's name.
    pub fn name(&self) -> &str {
        match self {
            Self::String(name, _)
            | Self::User(name, _)
            | Self::Role(name, _)
            | Self::Boolean(name, _)
            | Self::Subcommand(name, _) => name,
        }
    }

    /// The option as `data.options` carries it.
    fn filled(&self) -> FilledOption {
        match self {
            Self::String(name, value) => FilledOption::valued(name, STRING_OPTION, value.as_str()),
            // Discord sends the user's ID as a string; the user is in `data.resolved`.
            Self::User(name, id) => FilledOption::valued(name, USER_OPTION, id.to_string()),
            Self::Role(name, id) => FilledOption::valued(name, ROLE_OPTION, id.to_string()),
            // A JSON boolean: serenity does not read "true" as one.
            Self::Boolean(name, value) => FilledOption::valued(name, BOOLEAN_OPTION, *value),
            Self::Subcommand(name, options) => FilledOption {
                name: name.clone(),
                kind: SUB_COMMAND_OPTION,
                value: None,
                options: Some(options.iter().map(Self::filled).collect()),
            },
        }
    }

    /// The users this option names, its subcommand's included.
    pub fn users(&self) -> Vec<u64> {
        match self {
            Self::User(_, id) => vec![*id],
            Self::Subcommand(_, options) => options.iter().flat_map(Self::users).collect(),
            Self::String(..) | Self::Role(..) | Self::Boolean(..) => Vec::new(),
        }
    }
}

/// An option in `data.options`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FilledOption {
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: u8,
    /// Its value (a user option's is the user's ID as a string, a boolean's a JSON boolean; a
    /// subcommand has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// A subcommand's options (always sent for one, even empty: serenity requires them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<FilledOption>>,
}

impl FilledOption {
    fn valued(name: &str, kind: u8, value: impl Into<serde_json::Value>) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            value: Some(value.into()),
            options: None,
        }
    }
}

/// The users (and their member objects) that user options name, by ID.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Resolved {
    /// The users.
    pub users: BTreeMap<String, User>,
    /// Their member objects, without the user and with their permissions in the channel.
    pub members: BTreeMap<String, Member>,
}

/// What a slash command interaction is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandData {
    /// The command's ID (the sandbox sends "1").
    #[serde(with = "u64_string")]
    pub id: u64,
    /// The command's name.
    pub name: String,
    /// A slash command (1).
    #[serde(rename = "type")]
    pub kind: u8,
    /// The options filled in.
    pub options: Vec<FilledOption>,
    /// The users the options name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved: Option<Resolved>,
}

impl CommandData {
    /// Command `name` with `options`; `members` are the members (with their user) that user
    /// options name, which Discord sends in `data.resolved`.
    pub fn new(name: &str, options: &[CommandOption], members: Vec<Member>) -> Self {
        let mut resolved = Resolved::default();
        for member in members {
            let Some(user) = member.user.clone() else {
                continue;
            };
            let id = user.id.to_string();
            resolved.users.insert(id.clone(), user);
            // A resolved member is partial: no `user`, and with its permissions in the channel.
            let partial = member.without_user().with_permissions(EVERYONE_PERMISSIONS);
            resolved.members.insert(id, partial);
        }
        Self {
            id: 1,
            name: name.to_owned(),
            kind: 1,
            options: options.iter().map(CommandOption::filled).collect(),
            resolved: (!resolved.users.is_empty()).then_some(resolved),
        }
    }
}

/// What a button or select menu interaction is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentData {
    /// The button's or select menu's custom ID.
    pub custom_id: String,
    /// A button (2) or a string select menu (3).
    pub component_type: u8,
    /// A select menu's chosen values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

/// What a form's submission is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModalSubmitData {
    /// The form's custom ID.
    pub custom_id: String,
    /// Its rows of text inputs, each with its custom ID and value.
    pub components: Vec<Component>,
}

/// An interaction's `data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum InteractionData {
    /// A slash command run.
    Command(CommandData),
    /// A button pressed, or a select menu chosen in.
    Component(ComponentData),
    /// A form submitted.
    ModalSubmit(ModalSubmitData),
}

/// The channel an interaction came from, as Discord sends it inside the interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PartialChannel {
    /// Its ID.
    #[serde(with = "u64_string")]
    pub id: u64,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: ChannelKind,
}

/// The INTERACTION_CREATE event's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interaction {
    /// The interaction ID.
    #[serde(with = "u64_string")]
    pub id: u64,
    /// The bot's application.
    #[serde(with = "u64_string")]
    pub application_id: u64,
    /// [`COMMAND`], [`COMPONENT`] or [`MODAL_SUBMIT`].
    #[serde(rename = "type")]
    pub kind: u8,
    /// The token the bot answers with.
    pub token: String,
    /// Always 1.
    pub version: u8,
    /// The guild.
    #[serde(with = "option_u64_string", skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<u64>,
    /// The channel.
    #[serde(with = "u64_string")]
    pub channel_id: u64,
    /// The channel, partly.
    pub channel: PartialChannel,
    /// Who acted, with their permissions in the channel.
    pub member: Member,
    /// What the bot may do in the channel: everything a member may, and Administrator.
    #[serde(with = "u64_string")]
    pub app_permissions: u64,
    /// The user's language.
    pub locale: &'static str,
    /// The guild's language.
    pub guild_locale: &'static str,
    /// None: the sandbox sells nothing.
    pub entitlements: Vec<Never>,
    /// Installed in the guild ("0": the guild's ID).
    pub authorizing_integration_owners: BTreeMap<&'static str, String>,
    /// Used in a guild (0).
    pub context: u8,
    /// The largest file the bot may attach to its answer.
    pub attachment_size_limit: u64,
    /// What it is about.
    pub data: InteractionData,
    /// The message whose component was used (or whose component opened the form).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
}

impl Interaction {
    /// What every interaction in a guild channel carries; `member` acts, with an
    /// administrator's permissions or everyone's.
    fn base(
        id: u64,
        guild_id: u64,
        channel_id: u64,
        member: Member,
        administrator: bool,
        kind: u8,
        data: InteractionData,
    ) -> Self {
        let permissions = if administrator {
            ADMINISTRATOR_PERMISSIONS
        } else {
            EVERYONE_PERMISSIONS
        };
        Self {
            id,
            application_id: APP_ID,
            kind,
            token: interaction_token(id),
            version: 1,
            guild_id: Some(guild_id),
            channel_id,
            channel: PartialChannel {
                id: channel_id,
                kind: ChannelKind::Text,
            },
            member: member.with_permissions(permissions),
            app_permissions: ADMINISTRATOR_PERMISSIONS,
            locale: "en-US",
            guild_locale: "en-US",
            entitlements: Vec::new(),
            authorizing_integration_owners: BTreeMap::from([("0", guild_id.to_string())]),
            context: 0,
            attachment_size_limit: ATTACHMENT_SIZE_LIMIT,
            data,
            message: None,
        }
    }

    /// Slash command `data` run by `member` in `channel_id` of `guild_id`.
    pub fn command(
        id: u64,
        guild_id: u64,
        channel_id: u64,
        member: Member,
        administrator: bool,
        data: CommandData,
    ) -> Self {
        let data = InteractionData::Command(data);
        Self::base(
            id,
            guild_id,
            channel_id,
            member,
            administrator,
            COMMAND,
            data,
        )
    }

    /// Button `custom_id` of `message` pressed by `member`.
    pub fn component(
        id: u64,
        guild_id: u64,
        member: Member,
        administrator: bool,
        message: Message,
        custom_id: &str,
    ) -> Self {
        let data = InteractionData::Component(ComponentData {
            custom_id: custom_id.to_owned(),
            component_type: BUTTON,
            values: None,
        });
        Self::on_message(id, guild_id, member, administrator, message, data)
    }

    /// `values` chosen by `member` in the string select menu `custom_id` of `message`.
    pub fn select(
        id: u64,
        guild_id: u64,
        member: Member,
        administrator: bool,
        message: Message,
        custom_id: &str,
        values: &[&str],
    ) -> Self {
        let data = InteractionData::Component(ComponentData {
            custom_id: custom_id.to_owned(),
            component_type: STRING_SELECT,
            values: Some(values.iter().map(|v| (*v).to_owned()).collect()),
        });
        Self::on_message(id, guild_id, member, administrator, message, data)
    }

    /// Form `data` submitted by `member` in `channel_id`; `message` is the message whose
    /// component opened the form, if one did.
    pub fn modal_submit(
        id: u64,
        guild_id: u64,
        channel_id: u64,
        member: Member,
        administrator: bool,
        data: ModalSubmitData,
        message: Option<Message>,
    ) -> Self {
        let data = InteractionData::ModalSubmit(data);
        let mut interaction = Self::base(
            id,
            guild_id,
            channel_id,
            member,
            administrator,
            MODAL_SUBMIT,
            data,
        );
        interaction.message = message;
        interaction
    }

    /// A component interaction (`data`) on `message`.
    fn on_message(
        id: u64,
        guild_id: u64,
        member: Member,
        administrator: bool,
        message: Message,
        data: InteractionData,
    ) -> Self {
        let channel = message.channel_id;
        let mut interaction = Self::base(
            id,
            guild_id,
            channel,
            member,
            administrator,
            COMPONENT,
            data,
        );
        interaction.message = Some(message);
        interaction
    }

    /// The user who acted.
    pub fn user(&self) -> Option<&User> {
        self.member.user.as_ref()
    }

    /// This interaction coming from a channel of type `kind` (a thread...).
    #[must_use]
    pub fn in_channel_of_kind(mut self, kind: ChannelKind) -> Self {
        self.channel.kind = kind;
        self
    }
}

/// How the bot answers an interaction (`POST /interactions/{id}/{token}/callback`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackKind {
    /// 1: pong.
    Pong,
    /// 4: a message now.
    Message,
    /// 5: "thinking", the message later.
    DeferredMessage,
    /// 6: nothing to show now (a button's message stays).
    DeferredUpdate,
    /// 7: change the message whose button was pressed.
    UpdateMessage,
    /// 9: open a form for the person who acted.
    Modal,
}

impl CallbackKind {
    /// The kind numbered `n`, if Discord has one.
    pub fn of(n: u8) -> Option<Self> {
        match n {
            1 => Some(Self::Pong),
            4 => Some(Self::Message),
            5 => Some(Self::DeferredMessage),
            6 => Some(Self::DeferredUpdate),
            7 => Some(Self::UpdateMessage),
            9 => Some(Self::Modal),
            _ => None,
        }
    }
}

/// The body of an interaction callback: `data` is a message for most kinds, a form for 9.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(try_from = "RawCallback")]
pub struct Callback {
    /// The [`CallbackKind`]'s number.
    pub kind: Option<u8>,
    /// The message, for kinds 4 and 7 (flags for 5).
    pub data: Option<MessageBody>,
    /// The form, for kind 9.
    pub modal: Option<ModalBody>,
}

/// A callback as written, before its `data` is read as its kind says.
#[derive(Deserialize)]
struct RawCallback {
    #[serde(rename = "type", default)]
    kind: Option<u8>,
    #[serde(default)]
    data: Option<Value>,
}

impl TryFrom<RawCallback> for Callback {
    type Error = serde_json::Error;

    fn try_from(raw: RawCallback) -> Result<Self, Self::Error> {
        let modal = raw.kind == Some(9);
        let data = raw.data.filter(|d| !d.is_null());
        Ok(Self {
            kind: raw.kind,
            data: match &data {
                Some(d) if !modal => Some(serde_json::from_value(d.clone())?),
                _ => None,
            },
            modal: match data {
                Some(d) if modal => Some(serde_json::from_value(d)?),
                _ => None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use serenity::model::application::{
        CommandDataOptionValue, Interaction as SerenityInteraction, ResolvedValue,
    };

    use super::*;
    use crate::model::{message::Component, user::User};

    fn read(interaction: &Interaction) -> SerenityInteraction {
        serde_json::from_value(serde_json::to_value(interaction).unwrap())
            .expect("a serenity Interaction")
    }

    #[test]
    fn a_command_run_by_an_administrator_or_not_is_serenitys_command_interaction() {
        for administrator in [true, false] {
            let member = Member::new(User::new(7, false), vec![6]);
            let data = CommandData::new("setup", &[], vec![]);
            let read = read(&Interaction::command(9, 1, 5, member, administrator, data));
            let command = read.command().expect("a command interaction");
            assert_eq!(command.data.name, "setup");
            assert_eq!(command.user.id.get(), 7);
            let member = command.member.unwrap();
            assert_eq!(member.permissions.unwrap().administrator(), administrator);
            assert_eq!(member.roles[0].get(), 6);
        }
    }

    #[test]
    fn a_user_option_is_a_user_with_its_resolved_user_and_member() {
        let runner = Member::new(User::new(7, false), vec![]);
        let chosen = Member::new(User::new(11, false), vec![6]);
        let options = [
            CommandOption::User("member".to_owned(), 11),
            CommandOption::String("reason".to_owned(), "help".to_owned()),
        ];
        let data = CommandData::new("ticket-add", &options, vec![chosen]);
        let read = read(&Interaction::command(9, 1, 5, runner, false, data));
        let command = read.command().expect("a command");
        assert!(matches!(
            command.data.options[0].value,
            CommandDataOptionValue::User(id) if id.get() == 11
        ));
        let resolved = command.data.options();
        let ResolvedValue::User(user, Some(member)) = &resolved[0].value else {
            panic!("the user option is not resolved to a user and member: {resolved:?}")
        };
        assert_eq!((user.id.get(), member.roles[0].get()), (11, 6));
        assert!(matches!(resolved[1].value, ResolvedValue::String("help")));
    }

    #[test]
    fn a_subcommand_carries_its_options_and_a_role_option_its_id() {
        let runner = Member::new(User::new(7, false), vec![]);
        let options = [CommandOption::Subcommand(
            "add".to_owned(),
            vec![
                CommandOption::String("name".to_owned(), "Billing".to_owned()),
                CommandOption::Role("support-role".to_owned(), 12),
            ],
        )];
        let data = CommandData::new("ticket-topic", &options, vec![]);
        let added = read(&Interaction::command(9, 1, 5, runner.clone(), true, data));
        let command = added.command().expect("a command");
        let bare = [CommandOption::Subcommand("list".to_owned(), vec![])];
        let data = CommandData::new("ticket-topic", &bare, vec![]);
        let listed = read(&Interaction::command(9, 1, 5, runner, true, data));
        assert!(
            matches!(&listed.command().expect("a command").data.options[0].value,
                CommandDataOptionValue::SubCommand(o) if o.is_empty()),
            "a subcommand without options is one still"
        );
        let CommandDataOptionValue::SubCommand(inner) = &command.data.options[0].value else {
            panic!("not a subcommand: {:?}", command.data.options);
        };
        assert_eq!(command.data.options[0].name, "add");
        assert_eq!(inner[0].value.as_str(), Some("Billing"));
        assert_eq!(inner[1].value.as_role_id().map(|r| r.get()), Some(12));
    }

    #[test]
    fn a_boolean_option_is_serenitys_boolean() {
        let runner = Member::new(User::new(7, false), vec![]);
        let options = [
            CommandOption::Boolean("assistant-while-claimed".to_owned(), true),
            CommandOption::Boolean("other".to_owned(), false),
        ];
        let data = CommandData::new("setup", &options, vec![]);
        let read = read(&Interaction::command(9, 1, 5, runner, true, data));
        let command = read.command().expect("a command");
        assert_eq!(command.data.options[0].value.as_bool(), Some(true));
        assert_eq!(command.data.options[1].value.as_bool(), Some(false));
    }

    #[test]
    fn a_button_press_carries_its_message_and_custom_id() {
        let mut message = Message::new(8, 5, Some(1), User::bot(), "pick");
        message.components = vec![Component {
            kind: 1,
            components: vec![serde_json::from_value(serde_json::json!(
                { "type": 2, "style": 1, "label": "Close", "custom_id": "close" }
            ))
            .unwrap()],
            ..serde_json::from_value(serde_json::json!({ "type": 1 })).unwrap()
        }];
        let member = Member::new(User::new(7, false), vec![]);
        let read = read(&Interaction::component(
            10, 1, member, false, message, "close",
        ));
        let component = read.message_component().expect("a button press");
        assert_eq!(component.data.custom_id, "close");
        assert_eq!(component.message.components.len(), 1);
        assert_eq!(CallbackKind::of(5), Some(CallbackKind::DeferredMessage));
        assert_eq!(CallbackKind::of(9), Some(CallbackKind::Modal));
        assert_eq!(CallbackKind::of(8), None);
    }

    fn message_with_menu() -> Message {
        let mut message = Message::new(8, 5, Some(1), User::bot(), "pick");
        message.components =
            serde_json::from_value(serde_json::json!([{ "type": 1, "components": [
            { "type": 3, "custom_id": "topic", "options": [{ "label": "Bug", "value": "bug" }] }
        ] }]))
            .unwrap();
        message
    }

    #[test]
    fn a_choice_in_a_select_menu_is_serenitys_string_select_with_its_values() {
        use serenity::model::application::ComponentInteractionDataKind;
        let member = Member::new(User::new(7, false), vec![]);
        let read = read(&Interaction::select(
            10,
            1,
            member,
            false,
            message_with_menu(),
            "topic",
            &["bug"],
        ));
        let component = read.message_component().expect("a component interaction");
        assert_eq!(component.data.custom_id, "topic");
        assert!(matches!(
            &component.data.kind,
            ComponentInteractionDataKind::StringSelect { values } if values == &["bug"]
        ));
    }

    #[test]
    fn a_submitted_form_is_serenitys_modal_interaction_with_its_values() {
        use serenity::model::application::ActionRowComponent;
        let member = Member::new(User::new(7, false), vec![6]);
        let answer = Component {
            custom_id: Some("subject".to_owned()),
            value: Some("printer".to_owned()),
            ..Component::of_kind(crate::model::component::TEXT_INPUT)
        };
        let data = ModalSubmitData {
            custom_id: "ticket-form".to_owned(),
            components: vec![Component::row(vec![answer])],
        };
        let interaction =
            Interaction::modal_submit(11, 1, 5, member, false, data, Some(message_with_menu()))
                .in_channel_of_kind(ChannelKind::PrivateThread);
        let read = read(&interaction);
        let modal = read.modal_submit().expect("a modal submit interaction");
        assert_eq!(modal.data.custom_id, "ticket-form");
        let ActionRowComponent::InputText(input) = &modal.data.components[0].components[0] else {
            panic!("a text input")
        };
        assert_eq!(
            (input.custom_id.as_str(), input.value.as_deref()),
            ("subject", Some("printer"))
        );
        assert_eq!(modal.member.as_ref().unwrap().roles[0].get(), 6);
        assert!(modal.message.is_some());
        assert_eq!(
            modal.channel.as_ref().map(|c| c.kind),
            Some(serenity::model::channel::ChannelType::PrivateThread)
        );
    }

    #[test]
    fn a_callback_reads_a_message_or_a_form_as_its_type_says() {
        let message: Callback =
            serde_json::from_value(serde_json::json!({ "type": 4, "data": { "content": "hi" } }))
                .unwrap();
        assert_eq!(message.data.unwrap().content.as_deref(), Some("hi"));
        assert!(message.modal.is_none());
        let form: Callback = serde_json::from_value(serde_json::json!({ "type": 9,
            "data": { "custom_id": "f", "title": "T", "components": [] } }))
        .unwrap();
        assert_eq!(form.modal.unwrap().title, "T");
        assert!(form.data.is_none());
        let bare: Callback = serde_json::from_value(serde_json::json!({ "type": 6 })).unwrap();
        assert!(bare.data.is_none() && bare.modal.is_none());
    }
}
