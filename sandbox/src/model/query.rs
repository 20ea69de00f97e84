//! The queries of `GET /channels/{id}/messages` (`limit`, `before`, `after`) and of
//! `GET /guilds/{id}/members` (`limit`, `after`), checked as Discord checks them, and the page
//! each selects. The bot pages through a whole ticket with `before=` to write its transcript,
//! so each message must come exactly once, and in Discord's order: newest first, whatever the
//! anchor; members come by user ID, oldest first, after the anchor.

use serde::Deserialize;

use crate::model::error::{ApiError, FieldError};

/// Messages in a page when the query names no `limit` (Discord's default).
pub const DEFAULT_LIMIT: usize = 50;
/// The most messages Discord returns in one page.
pub const MAX_LIMIT: usize = 100;
/// Members in a page when the query names no `limit` (Discord's default).
pub const DEFAULT_MEMBERS_LIMIT: usize = 1;
/// The most members Discord returns in one page.
pub const MAX_MEMBERS_LIMIT: usize = 1000;

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The newest messages.
    Latest,
    /// The messages just older than this ID.
    Before(u64),
    /// The messages just newer than this ID.
    After(u64),
}

/// A parsed `GET /channels/{id}/messages` query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessagesQuery {
    /// How many messages at most, 1 to [`MAX_LIMIT`].
    pub limit: usize,
    /// Where the page starts.
    pub anchor: Anchor,
}

/// A query Discord refuses with 400 "Invalid Form Body" (code 50035).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryError {
    /// `limit=0`.
    #[error("int value should be greater than or equal to 1.")]
    LimitBelowOne,
    /// `limit` above the most a page holds (101 for messages, 1001 for members).
    #[error("int value should be less than or equal to {0}.")]
    LimitAboveMax(usize),
    /// `limit=ten`.
    #[error("Value \"{0}\" is not int.")]
    NotAnInt(String),
    /// `before=` or `after=` that is not a snowflake.
    #[error("Value \"{value}\" is not snowflake.")]
    NotASnowflake {
        /// `before` or `after`.
        field: &'static str,
        /// What the query held.
        value: String,
    },
}

impl QueryError {
    /// The query parameter at fault.
    fn field(&self) -> &'static str {
        match self {
            Self::LimitBelowOne | Self::LimitAboveMax(_) | Self::NotAnInt(_) => "limit",
            Self::NotASnowflake { field, .. } => field,
        }
    }

    /// Discord's code for this kind of fault.
    fn code(&self) -> &'static str {
        match self {
            Self::LimitBelowOne => "NUMBER_TYPE_MIN",
            Self::LimitAboveMax(_) => "NUMBER_TYPE_MAX",
            Self::NotAnInt(_) | Self::NotASnowflake { .. } => "NUMBER_TYPE_COERCE",
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> Self {
        Self::InvalidField {
            field: error.field(),
            error: FieldError {
                code: error.code(),
                message: error.to_string(),
            },
        }
    }
}

/// The query string as it arrives: each parameter as text, checked by [`MessagesQuery::parse`]
/// so that a bad one gets Discord's answer naming it. Unknown parameters are ignored, as
/// Discord ignores them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MessagesParams {
    /// How many messages at most.
    pub limit: Option<String>,
    /// Messages older than this ID.
    pub before: Option<String>,
    /// Messages newer than this ID.
    pub after: Option<String>,
}

impl MessagesQuery {
    /// Checks the parameters. With both `before` and `after`, `before` wins (Discord documents
    /// them as exclusive).
    pub fn parse(params: MessagesParams) -> Result<Self, QueryError> {
        let limit = limit(params.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
        let before = params.before.map(|v| snowflake("before", v)).transpose()?;
        let after = params.after.map(|v| snowflake("after", v)).transpose()?;
        let anchor = match (before, after) {
            (Some(id), _) => Anchor::Before(id),
            (None, Some(id)) => Anchor::After(id),
            (None, None) => Anchor::Latest,
        };
        Ok(Self { limit, anchor })
    }

    /// The page this query selects from `items` (ID and message, in any order): at most
    /// `limit` of them, next to the anchor, newest first.
    pub fn page<T>(&self, mut items: Vec<(u64, T)>) -> Vec<T> {
        items.sort_by_key(|(id, _)| *id);
        let mut chosen: Vec<(u64, T)> = match self.anchor {
            Anchor::Latest => last(items, self.limit),
            Anchor::Before(anchor) => last(
                items.into_iter().filter(|(id, _)| *id < anchor).collect(),
                self.limit,
            ),
            // The oldest messages after the anchor: paging forward must skip none.
            Anchor::After(anchor) => items
                .into_iter()
                .filter(|(id, _)| *id > anchor)
                .take(self.limit)
                .collect(),
        };
        chosen.reverse();
        chosen.into_iter().map(|(_, item)| item).collect()
    }
}

/// The query string of `GET /guilds/{id}/members` as it arrives (see [`MessagesParams`]).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MembersParams {
    /// How many members at most.
    pub limit: Option<String>,
    /// Members whose user ID is greater than this one.
    pub after: Option<String>,
}

/// A parsed `GET /guilds/{id}/members` query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MembersQuery {
    /// How many members at most, 1 to [`MAX_MEMBERS_LIMIT`].
    pub limit: usize,
    /// The members after this user ID (0: from the first).
    pub after: u64,
}

impl MembersQuery {
    /// Checks the parameters.
    pub fn parse(params: MembersParams) -> Result<Self, QueryError> {
        Ok(Self {
            limit: limit(params.limit, DEFAULT_MEMBERS_LIMIT, MAX_MEMBERS_LIMIT)?,
            after: params
                .after
                .map(|v| snowflake("after", v))
                .transpose()?
                .unwrap_or(0),
        })
    }

    /// The page this query selects from `items` (user ID and member, in any order): at most
    /// `limit` of them with an ID above `after`, by ID.
    pub fn page<T>(&self, mut items: Vec<(u64, T)>) -> Vec<T> {
        items.sort_by_key(|(id, _)| *id);
        items
            .into_iter()
            .filter(|(id, _)| *id > self.after)
            .take(self.limit)
            .map(|(_, item)| item)
            .collect()
    }
}

/// `limit`: `default` when absent, else 1 to `max`.
fn limit(value: Option<String>, default: usize, max: usize) -> Result<usize, QueryError> {
    let Some(value) = value else {
        return Ok(default);
    };
    match value.parse::<usize>() {
        Err(_) => Err(QueryError::NotAnInt(value)),
        Ok(0) => Err(QueryError::LimitBelowOne),
        Ok(n) if n > max => Err(QueryError::LimitAboveMax(max)),
        Ok(n) => Ok(n),
    }
}

fn snowflake(field: &'static str, value: String) -> Result<u64, QueryError> {
    value
        .parse()
        .map_err(|_| QueryError::NotASnowflake { field, value })
}

/// The last `n` of `items`, in their order.
fn last<T>(mut items: Vec<T>, n: usize) -> Vec<T> {
    let start = items.len().saturating_sub(n);
    items.split_off(start)
}

#[cfg(test)]
mod tests {
    use axum::extract::Query;
    use serde_json::Value;

    use super::*;

    /// The query string read as the route reads it (axum's `Query`), then checked.
    fn parse(query: &str) -> Result<MessagesQuery, QueryError> {
        let uri = format!("/messages?{query}").parse().unwrap();
        let Query(params) = Query::<MessagesParams>::try_from_uri(&uri).unwrap();
        MessagesQuery::parse(params)
    }

    fn ids(query: &str, count: u64) -> Vec<u64> {
        parse(query)
            .unwrap()
            .page((1..=count).map(|id| (id, id)).collect())
    }

    fn body(error: QueryError) -> Value {
        serde_json::to_value(ApiError::from(error).body()).unwrap()
    }

    #[test]
    fn without_a_query_the_newest_fifty_come_newest_first() {
        assert_eq!(ids("", 60), (11..=60).rev().collect::<Vec<_>>());
    }

    #[test]
    fn before_and_after_take_the_messages_next_to_the_anchor_newest_first() {
        assert_eq!(ids("limit=3&before=10", 20), [9, 8, 7]);
        assert_eq!(ids("limit=3&after=10", 20), [13, 12, 11]);
        assert_eq!(ids("limit=3&before=2", 20), [1]);
        assert_eq!(ids("limit=3&after=20", 20), Vec::<u64>::new());
        assert_eq!(ids("before=5&after=1&limit=2", 20), [4, 3], "before wins");
        assert_eq!(
            ids("limit=2&around=4&x", 20),
            [20, 19],
            "unknown keys ignored"
        );
    }

    #[test]
    fn the_page_is_in_id_order_whatever_the_stored_order() {
        let query = parse("limit=2").unwrap();
        assert_eq!(query.page(vec![(3, 'c'), (1, 'a'), (2, 'b')]), ['c', 'b']);
    }

    #[test]
    fn a_bad_limit_or_anchor_is_discords_invalid_form_body() {
        let error = |q: &str| parse(q).unwrap_err();
        assert_eq!(error("limit=0"), QueryError::LimitBelowOne);
        assert_eq!(error("limit=101"), QueryError::LimitAboveMax(100));
        assert_eq!(error("limit=ten"), QueryError::NotAnInt("ten".to_owned()));
        assert!(parse("limit=100").is_ok());
        let before = body(error("before=x"));
        assert_eq!(before["code"], 50_035);
        assert_eq!(before["message"], "Invalid Form Body");
        assert_eq!(
            before["errors"]["before"]["_errors"][0]["code"],
            "NUMBER_TYPE_COERCE"
        );
        assert_eq!(
            body(error("limit=101"))["errors"]["limit"]["_errors"][0]["message"],
            "int value should be less than or equal to 100."
        );
    }

    fn members(query: &str) -> Result<MembersQuery, QueryError> {
        let uri = format!("/members?{query}").parse().unwrap();
        let Query(params) = Query::<MembersParams>::try_from_uri(&uri).unwrap();
        MembersQuery::parse(params)
    }

    #[test]
    fn members_come_one_by_default_by_user_id_after_the_anchor() {
        let stored = || vec![(30, 'c'), (10, 'a'), (20, 'b')];
        assert_eq!(members("").unwrap().page(stored()), ['a']);
        assert_eq!(
            members("limit=1000").unwrap().page(stored()),
            ['a', 'b', 'c']
        );
        assert_eq!(
            members("limit=5&after=10").unwrap().page(stored()),
            ['b', 'c']
        );
        assert_eq!(members("limit=1&after=20").unwrap().page(stored()), ['c']);
        assert!(members("limit=5&after=30")
            .unwrap()
            .page(stored())
            .is_empty());
        assert_eq!(
            members("limit=1001").unwrap_err(),
            QueryError::LimitAboveMax(1000)
        );
        assert_eq!(members("limit=0").unwrap_err(), QueryError::LimitBelowOne);
        assert_eq!(
            body(members("after=me").unwrap_err())["errors"]["after"]["_errors"][0]["code"],
            "NUMBER_TYPE_COERCE"
        );
    }
}
