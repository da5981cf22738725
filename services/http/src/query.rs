//! Query strings parsed the way Ory's Go servers parse them, so clients
//! written for Kratos and Keto send nothing we refuse:
//!
//! - an empty parameter (`?aal=&refresh=`) is the same as an absent one
//!   (Go's `r.URL.Query().Get` answers "" for both);
//! - booleans take every form of Go's `strconv.ParseBool`
//!   (`1 t T TRUE true True`, `0 f F FALSE false False`);
//! - unknown parameters are ignored.
//!
//! Handlers take [`Query<T>`] instead of actix's `web::Query<T>`; boolean
//! fields use [`go_bool`] or [`go_bool_opt`].

use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use kernel::Error;
use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use std::future::{Ready, ready};
use std::ops::Deref;

/// A query string deserialized into `T` after dropping empty parameters.
#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Parses a raw query string as [`Query`] does.
pub fn parse<T: DeserializeOwned>(query: &str) -> Result<T, Error> {
    let kept: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    from_pairs(&kept).map_err(|e| {
        // serde_urlencoded does not say which parameter failed: find the one
        // whose absence makes the rest parse, so the answer can name it.
        let culprit = (0..kept.len()).find(|&skip| {
            let rest: Vec<_> = kept
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, pair)| pair)
                .collect();
            from_pairs::<T, _>(&rest).is_ok()
        });
        match culprit {
            Some(i) => Error::bad_request(format!("query parameter `{}`: {e}", kept[i].0)),
            None => Error::bad_request(format!("the query string is not valid: {e}")),
        }
    })
}

fn from_pairs<T: DeserializeOwned, P: serde::Serialize>(pairs: &[P]) -> Result<T, String> {
    let encoded = serde_urlencoded::to_string(pairs).map_err(|e| e.to_string())?;
    serde_urlencoded::from_str(&encoded).map_err(|e| e.to_string())
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(req.query_string()).map(Query).map_err(ApiError))
    }
}

/// Go's `strconv.ParseBool`.
pub fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum BoolOrText {
    Bool(bool),
    Text(String),
}

fn to_bool<E: serde::de::Error>(value: BoolOrText) -> Result<bool, E> {
    match value {
        BoolOrText::Bool(b) => Ok(b),
        BoolOrText::Text(text) => parse_go_bool(&text).ok_or_else(|| {
            E::custom(format!(
                "`{text}` is not a boolean (use true, false, 1, 0, t, f, TRUE, FALSE, True or False)"
            ))
        }),
    }
}

/// `#[serde(default, deserialize_with = "go_bool")]` for a `bool` field.
pub fn go_bool<'de, D: Deserializer<'de>>(de: D) -> Result<bool, D::Error> {
    to_bool(BoolOrText::deserialize(de)?)
}

/// `#[serde(default, deserialize_with = "go_bool_opt")]` for an
/// `Option<bool>` field.
pub fn go_bool_opt<'de, D: Deserializer<'de>>(de: D) -> Result<Option<bool>, D::Error> {
    Option::<BoolOrText>::deserialize(de)?
        .map(to_bool)
        .transpose()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Debug, Deserialize, PartialEq, Default)]
    #[serde(default)]
    struct Flags {
        #[serde(deserialize_with = "go_bool")]
        refresh: bool,
        #[serde(deserialize_with = "go_bool_opt")]
        active: Option<bool>,
        aal: Option<String>,
        page: Option<u64>,
        #[serde(rename = "subject_set.namespace")]
        namespace: Option<String>,
    }

    #[test]
    fn empty_parameters_are_absent_and_unknown_ones_ignored() {
        let flags: Flags = parse("aal=&refresh=&return_to=&page=&active=&unknown=1").unwrap();
        assert_eq!(flags, Flags::default());
        let flags: Flags = parse("page=3&aal=aal2&subject_set.namespace=files").unwrap();
        assert_eq!(flags.page, Some(3));
        assert_eq!(flags.aal.as_deref(), Some("aal2"));
        assert_eq!(flags.namespace.as_deref(), Some("files"));
    }

    #[test]
    fn booleans_take_go_s_forms() {
        for (text, want) in [
            ("1", true),
            ("t", true),
            ("T", true),
            ("TRUE", true),
            ("true", true),
            ("True", true),
            ("0", false),
            ("f", false),
            ("F", false),
            ("FALSE", false),
            ("false", false),
            ("False", false),
        ] {
            let flags: Flags = parse(&format!("refresh={text}&active={text}")).unwrap();
            assert_eq!((flags.refresh, flags.active), (want, Some(want)), "{text}");
        }
        for bad in ["yes", "tRUE", "2", "on"] {
            let err = parse::<Flags>(&format!("active={bad}")).unwrap_err();
            assert_eq!(err.status(), 400, "{bad}");
            assert!(err.to_string().contains("not a boolean"), "{err}");
        }
    }

    #[test]
    fn a_number_out_of_range_is_a_400_naming_the_parameter() {
        let err = parse::<Flags>("aal=aal1&page=-1").unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.to_string().contains("`page`"), "{err}");
        let err = parse::<Flags>("page=99999999999999999999999").unwrap_err();
        assert_eq!(err.status(), 400);
    }
}
