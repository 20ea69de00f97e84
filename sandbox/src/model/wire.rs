//! How Discord writes 64-bit numbers: IDs and permission bits are decimal strings on the wire,
//! since JavaScript numbers cannot hold them. These serde helpers write strings, as Discord
//! does, and read strings or numbers, since the bot's requests (serenity) and the tests send
//! either.

use serde::{de, Deserialize, Deserializer, Serializer};

/// A string or a number on the wire.
#[derive(Deserialize)]
#[serde(untagged)]
enum Decimal {
    Text(String),
    Number(u64),
}

impl Decimal {
    fn value<E: de::Error>(self) -> Result<u64, E> {
        match self {
            Self::Number(n) => Ok(n),
            Self::Text(text) => text
                .parse()
                .map_err(|_| E::custom(format!("{text:?} is not a snowflake"))),
        }
    }
}

/// `u64` as a decimal string.
pub mod u64_string {
    use super::{Decimal, Deserialize, Deserializer, Serializer};

    /// Writes the decimal string.
    pub fn serialize<S: Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    /// Reads a decimal string or a number.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        Decimal::deserialize(deserializer)?.value()
    }
}

/// `Option<u64>` as a decimal string or `null`.
pub mod option_u64_string {
    use super::{Decimal, Deserialize, Deserializer, Serializer};

    /// Writes the decimal string, or `null`.
    pub fn serialize<S: Serializer>(value: &Option<u64>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => serializer.collect_str(value),
            None => serializer.serialize_none(),
        }
    }

    /// Reads a decimal string, a number or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<u64>, D::Error> {
        Option::<Decimal>::deserialize(deserializer)?
            .map(Decimal::value)
            .transpose()
    }
}

/// `Vec<u64>` as a list of decimal strings.
pub mod vec_u64_string {
    use serde::ser::SerializeSeq;

    use super::{Decimal, Deserialize, Deserializer, Serializer};

    /// Writes a list of decimal strings.
    pub fn serialize<S: Serializer>(values: &[u64], serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(values.len()))?;
        for value in values {
            seq.serialize_element(&value.to_string())?;
        }
        seq.end()
    }

    /// Reads a list of decimal strings or numbers.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u64>, D::Error> {
        Vec::<Decimal>::deserialize(deserializer)?
            .into_iter()
            .map(Decimal::value)
            .collect()
    }
}

/// The element of a list the sandbox never fills (emojis, stickers, entitlements...): the list
/// is always `[]` on the wire, and the type says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Never {}

/// For a field whose presence matters even when it is `null` (a PATCH that clears a channel's
/// category): absent is `None`, `null` is `Some(None)`. Use with `#[serde(default)]`.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        #[serde(with = "u64_string")]
        id: u64,
        #[serde(with = "option_u64_string")]
        parent: Option<u64>,
        #[serde(with = "vec_u64_string")]
        roles: Vec<u64>,
    }

    #[test]
    fn ids_are_written_as_strings_and_read_from_strings_or_numbers() {
        let sample = Sample {
            id: u64::MAX,
            parent: None,
            roles: vec![1, 2],
        };
        let written = serde_json::to_value(&sample).unwrap();
        assert_eq!(
            written,
            json!({ "id": u64::MAX.to_string(), "parent": null, "roles": ["1", "2"] })
        );
        let read: Sample =
            serde_json::from_value(json!({ "id": 7, "parent": "8", "roles": [1, "2"] })).unwrap();
        assert_eq!((read.id, read.parent, read.roles), (7, Some(8), vec![1, 2]));
        assert!(serde_json::from_value::<Sample>(
            json!({ "id": "x", "parent": null, "roles": [] })
        )
        .is_err());
    }
}
