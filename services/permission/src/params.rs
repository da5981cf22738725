//! Query strings of the REST API, read as Keto v0.9 reads them (Go's
//! `url.Values`), on top of the shared `http::query` rules:
//!
//! - a repeated key counts once, with its first value (`Values.Get`);
//! - unknown keys are ignored; `subject`, Keto's old key, is refused;
//! - `max-depth`, `page_size` and `page_token` given empty are absent
//!   (the shared rule; Keto reads the last two with `Get(..) != ""`);
//! - the tuple keys (`namespace`, `object`, `relation`, `subject_id`,
//!   `subject_set.*`) given empty are the empty string, because Keto reads
//!   them with `Values.Has`: `subject_id=` matches no tuple rather than
//!   every tuple, so an empty variable in a client can never widen a list
//!   or a `DELETE` to a whole namespace;
//! - integers are Go's `strconv.ParseInt(s, 0, 64)`: `0x10`, `0o17`,
//!   `017` (octal), `1_000`; anything else, or out of range, is a 400.
//!
//! Each value is parsed only by the endpoints that read it, as in Keto: a
//! bad `max-depth` fails a check or an expand, not a list.

use crate::api::RelationQuery;
use crate::model::NamedSubjectSet;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use http::ApiError;
use kernel::{Error, Result};
use serde::Deserialize;
use std::collections::HashSet;
use std::future::{Ready, ready};

#[derive(Debug, Default, Deserialize)]
struct Raw {
    namespace: Option<String>,
    object: Option<String>,
    relation: Option<String>,
    subject_id: Option<String>,
    #[serde(rename = "subject_set.namespace")]
    set_namespace: Option<String>,
    #[serde(rename = "subject_set.object")]
    set_object: Option<String>,
    #[serde(rename = "subject_set.relation")]
    set_relation: Option<String>,
    subject: Option<String>,
    #[serde(rename = "max-depth")]
    max_depth: Option<String>,
    page_size: Option<String>,
    page_token: Option<String>,
    snaptoken: Option<String>,
    /// The change feed: where to resume, and how long to wait for news.
    since: Option<String>,
    wait: Option<String>,
}

impl Raw {
    /// The tuple keys keep an empty value (`Values.Has`).
    fn keep_empty(&mut self, key: &str) {
        let slot = match key {
            "namespace" => &mut self.namespace,
            "object" => &mut self.object,
            "relation" => &mut self.relation,
            "subject_id" => &mut self.subject_id,
            "subject_set.namespace" => &mut self.set_namespace,
            "subject_set.object" => &mut self.set_object,
            "subject_set.relation" => &mut self.set_relation,
            "subject" => &mut self.subject,
            _ => return,
        };
        *slot = Some(String::new());
    }
}

/// The query string of a permission endpoint (an actix extractor).
#[derive(Debug, Default)]
pub struct KetoQuery(Raw);

impl KetoQuery {
    pub fn parse(query: &str) -> Result<KetoQuery> {
        let mut seen = HashSet::new();
        let first: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .filter(|(key, _)| seen.insert(key.to_string()))
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        let once = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&first)
            .finish();
        let mut raw: Raw = http::query::parse(&once)?;
        for (key, value) in &first {
            if value.is_empty() {
                raw.keep_empty(key);
            }
        }
        Ok(KetoQuery(raw))
    }

    /// The tuple keys as a query (Keto's `RelationQuery.FromURLQuery`): no
    /// subject keys, `subject_id` (any incomplete `subject_set.*` beside it
    /// is ignored, as in Keto v0.9), or all three `subject_set.*`.
    pub fn relation_query(&self) -> Result<RelationQuery> {
        let raw = &self.0;
        if raw.subject.is_some() {
            return Err(Error::bad_request(
                "provide \"subject_id\" or \"subject_set.*\"; support for \"subject\" was dropped",
            ));
        }
        let set = match (&raw.set_namespace, &raw.set_object, &raw.set_relation) {
            (Some(namespace), Some(object), Some(relation)) => Some(NamedSubjectSet {
                namespace: namespace.clone(),
                object: object.clone(),
                relation: relation.clone(),
            }),
            _ => None,
        };
        let any_set_key =
            raw.set_namespace.is_some() || raw.set_object.is_some() || raw.set_relation.is_some();
        let (subject_id, subject_set) = match (&raw.subject_id, set) {
            (Some(_), Some(_)) => {
                return Err(Error::bad_request(
                    "give either subject_id or subject_set, not both",
                ));
            }
            (Some(id), None) => (Some(id.clone()), None),
            (None, Some(set)) => (None, Some(set)),
            (None, None) if any_set_key => {
                return Err(Error::bad_request(
                    "incomplete subject set: give subject_set.namespace, subject_set.object and subject_set.relation together",
                ));
            }
            (None, None) => (None, None),
        };
        Ok(RelationQuery {
            namespace: raw.namespace.clone(),
            object: raw.object.clone(),
            relation: raw.relation.clone(),
            subject_id,
            subject_set,
        })
    }

    /// The subject set to expand: namespace, object and relation.
    pub fn subject_set(&self) -> Result<NamedSubjectSet> {
        let missing = |field: &str| Error::bad_request(format!("`{field}` is required"));
        let raw = &self.0;
        Ok(NamedSubjectSet {
            namespace: raw.namespace.clone().ok_or_else(|| missing("namespace"))?,
            object: raw.object.clone().ok_or_else(|| missing("object"))?,
            relation: raw.relation.clone().ok_or_else(|| missing("relation"))?,
        })
    }

    /// `max-depth`; absent (or empty) is `None`, which means the limit.
    pub fn max_depth(&self) -> Result<Option<i64>> {
        int_param("max-depth", self.0.max_depth.as_deref())
    }

    pub fn page_size(&self) -> Result<Option<i64>> {
        int_param("page_size", self.0.page_size.as_deref())
    }

    pub fn page_token(&self) -> Option<&str> {
        self.0.page_token.as_deref()
    }

    /// `snaptoken`: answer from data at least this fresh.
    pub fn snaptoken(&self) -> Result<Option<crate::changes::Snaptoken>> {
        crate::changes::Snaptoken::parse_optional(self.0.snaptoken.as_deref())
    }

    /// `since` of the change feed: a snaptoken, or absent for the start.
    pub fn since(&self) -> Result<Option<crate::changes::Snaptoken>> {
        crate::changes::Snaptoken::parse_optional(self.0.since.as_deref())
    }

    /// `wait` of the change feed, in seconds.
    pub fn wait(&self) -> Result<Option<i64>> {
        int_param("wait", self.0.wait.as_deref())
    }

    /// Depth and paging of list-objects and list-subjects.
    pub fn lookup_params(&self) -> Result<crate::lookup::LookupParams<'_>> {
        Ok(crate::lookup::LookupParams {
            max_depth: self.max_depth()?,
            page_size: self.page_size()?,
            page_token: self.page_token(),
        })
    }
}

impl FromRequest for KetoQuery {
    type Error = ApiError;
    type Future = Ready<std::result::Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(KetoQuery::parse(req.query_string()).map_err(ApiError))
    }
}

fn int_param(key: &str, value: Option<&str>) -> Result<Option<i64>> {
    value
        .map(|text| {
            parse_go_int(text).ok_or_else(|| {
                Error::bad_request(format!(
                    "unable to parse '{key}' query parameter to int: `{text}` is not an integer"
                ))
            })
        })
        .transpose()
}

/// Go's `strconv.ParseInt(text, 0, 64)`: an optional sign, then a `0x`,
/// `0o`, `0b` or bare `0` (octal) prefix or none, with `_` allowed only
/// between digits (or after the prefix). `None` on a syntax or range error.
pub fn parse_go_int(text: &str) -> Option<i64> {
    let (negative, unsigned) = match text.as_bytes().first()? {
        b'+' => (false, &text[1..]),
        b'-' => (true, &text[1..]),
        _ => (false, text),
    };
    let lower = unsigned.to_ascii_lowercase();
    let (radix, digits, prefixed) = match lower.as_bytes() {
        [b'0', b'x', _, ..] => (16, &lower[2..], true),
        [b'0', b'o', _, ..] => (8, &lower[2..], true),
        [b'0', b'b', _, ..] => (2, &lower[2..], true),
        [b'0', ..] => (8, &lower[1..], true),
        [] => return None,
        _ => (10, lower.as_str(), false),
    };
    // `_` separates digits: never first (unless after a prefix), last or doubled.
    let mut after_digit = prefixed;
    let mut magnitude: u64 = 0;
    for c in digits.chars() {
        if c == '_' {
            if !after_digit {
                return None;
            }
            after_digit = false;
            continue;
        }
        let digit = c.to_digit(radix)?;
        magnitude = magnitude
            .checked_mul(u64::from(radix))?
            .checked_add(u64::from(digit))?;
        after_digit = true;
    }
    if !after_digit {
        return None;
    }
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

#[cfg(test)]
#[path = "params_tests.rs"]
mod tests;
