//! The query of `GET /channels/{id}/messages` (`limit`, `before`, `after`), checked as Discord
//! checks it, and the page of messages it selects. The bot pages through a whole ticket with
//! `before=` to write its transcript, so each message must come exactly once, and in Discord's
//! order: newest first, whatever the anchor.

use serde_json::{json, Value};

/// Messages in a page when the query names no `limit` (Discord's default).
pub(crate) const DEFAULT_LIMIT: usize = 50;
/// The most messages Discord returns in one page.
pub(crate) const MAX_LIMIT: usize = 100;

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// The newest messages.
    Latest,
    /// The messages just older than this ID.
    Before(u64),
    /// The messages just newer than this ID.
    After(u64),
}

/// A parsed `GET /channels/{id}/messages` query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MessagesQuery {
    /// How many messages at most, 1 to [`MAX_LIMIT`].
    pub(crate) limit: usize,
    /// Where the page starts.
    pub(crate) anchor: Anchor,
}

/// A query Discord refuses with 400 "Invalid Form Body" (code 50035).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum QueryError {
    /// `limit=0`.
    #[error("int value should be greater than or equal to 1.")]
    LimitBelowOne,
    /// `limit=101` and more.
    #[error("int value should be less than or equal to 100.")]
    LimitAboveMax,
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
            Self::LimitBelowOne | Self::LimitAboveMax | Self::NotAnInt(_) => "limit",
            Self::NotASnowflake { field, .. } => field,
        }
    }

    /// Discord's code for this kind of fault.
    fn code(&self) -> &'static str {
        match self {
            Self::LimitBelowOne => "NUMBER_TYPE_MIN",
            Self::LimitAboveMax => "NUMBER_TYPE_MAX",
            Self::NotAnInt(_) | Self::NotASnowflake { .. } => "NUMBER_TYPE_COERCE",
        }
    }

    /// The JSON body of Discord's 400 answer.
    pub(crate) fn body(&self) -> Value {
        json!({
            "message": "Invalid Form Body",
            "code": 50_035,
            "errors": { self.field(): { "_errors": [
                { "code": self.code(), "message": self.to_string() }
            ]}},
        })
    }
}

impl MessagesQuery {
    /// Reads a query string such as `limit=100&before=123`; unknown parameters are ignored, as
    /// Discord ignores them. With both `before` and `after`, `before` wins (Discord documents
    /// them as exclusive).
    pub(crate) fn parse(query: Option<&str>) -> Result<Self, QueryError> {
        let mut limit = DEFAULT_LIMIT;
        let (mut before, mut after) = (None, None);
        for pair in query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "limit" => {
                    let parsed: usize = value
                        .parse()
                        .map_err(|_| QueryError::NotAnInt(value.to_owned()))?;
                    limit = match parsed {
                        0 => return Err(QueryError::LimitBelowOne),
                        n if n > MAX_LIMIT => return Err(QueryError::LimitAboveMax),
                        n => n,
                    };
                }
                "before" => before = Some(snowflake("before", value)?),
                "after" => after = Some(snowflake("after", value)?),
                _ => {}
            }
        }
        let anchor = match (before, after) {
            (Some(id), _) => Anchor::Before(id),
            (None, Some(id)) => Anchor::After(id),
            (None, None) => Anchor::Latest,
        };
        Ok(Self { limit, anchor })
    }

    /// The page this query selects from `items` (ID and message, in any order): at most
    /// `limit` of them, next to the anchor, newest first.
    pub(crate) fn page<T>(&self, mut items: Vec<(u64, T)>) -> Vec<T> {
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

fn snowflake(field: &'static str, value: &str) -> Result<u64, QueryError> {
    value.parse().map_err(|_| QueryError::NotASnowflake {
        field,
        value: value.to_owned(),
    })
}

/// The last `n` of `items`, in their order.
fn last<T>(mut items: Vec<T>, n: usize) -> Vec<T> {
    let start = items.len().saturating_sub(n);
    items.split_off(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(query: &str, count: u64) -> Vec<u64> {
        let query = MessagesQuery::parse(Some(query)).unwrap();
        query.page((1..=count).map(|id| (id, id)).collect())
    }

    #[test]
    fn without_a_query_the_newest_fifty_come_newest_first() {
        let page = MessagesQuery::parse(None)
            .unwrap()
            .page((1..=60).map(|id| (id, id)).collect());
        assert_eq!(page, (11..=60).rev().collect::<Vec<_>>());
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
        let query = MessagesQuery::parse(Some("limit=2")).unwrap();
        assert_eq!(query.page(vec![(3, 'c'), (1, 'a'), (2, 'b')]), ['c', 'b']);
    }

    #[test]
    fn a_bad_limit_or_anchor_is_discords_invalid_form_body() {
        let error = |q: &str| MessagesQuery::parse(Some(q)).unwrap_err();
        assert_eq!(error("limit=0"), QueryError::LimitBelowOne);
        assert_eq!(error("limit=101"), QueryError::LimitAboveMax);
        assert_eq!(error("limit=ten"), QueryError::NotAnInt("ten".to_owned()));
        assert!(MessagesQuery::parse(Some("limit=100")).is_ok());
        let body = error("before=x").body();
        assert_eq!(body["code"], 50_035);
        assert_eq!(
            body["errors"]["before"]["_errors"][0]["code"],
            "NUMBER_TYPE_COERCE"
        );
        assert_eq!(
            error("limit=101").body()["errors"]["limit"]["_errors"][0]["message"],
            "int value should be less than or equal to 100."
        );
    }
}
