//! The permission API's inputs (`permission::params`, `model`, `limits`):
//! Keto query strings, the tuple text form `ns:obj#rel@subject`, and the
//! JSON bodies of create/check (`RelationQuery`) and patch (`PatchDelta`),
//! each followed by the length and NUL checks every path runs before SQL.
//!
//! The first byte picks the input kind; the rest is its text.
//! Invariants: Go's `ParseInt` reading agrees with Rust's for plain decimal
//! and hex numbers and reads back every `i64` it prints; a parsed tuple
//! prints as text that parses to the same tuple.

#![no_main]

use libfuzzer_sys::fuzz_target;
use permission::api::{PatchDelta, RelationQuery};
use permission::limits::{check_query, check_set, check_tuple};
use permission::model::RelationTuple;
use permission::params::{KetoQuery, parse_go_int};

fn query(text: &str) {
    let Ok(query) = KetoQuery::parse(text) else {
        return;
    };
    if let Ok(relation) = query.relation_query() {
        let _ = check_query(&relation);
        if let Ok(tuple) = relation.into_tuple() {
            let _ = check_tuple(&tuple);
        }
    }
    if let Ok(set) = query.subject_set() {
        let _ = check_set("", &set);
    }
    let _ = query.max_depth();
    let _ = query.page_size();
    let _ = query.page_token();
}

fn tuple_text(text: &str) {
    let Ok(tuple) = text.parse::<RelationTuple>() else {
        return;
    };
    let _ = check_tuple(&tuple);
    let printed = tuple.to_string();
    match printed.parse::<RelationTuple>() {
        Ok(again) => assert_eq!(again, tuple, "{text:?} printed as {printed:?}"),
        Err(e) => panic!("{text:?} printed as {printed:?}, which does not parse: {e}"),
    }
}

fn go_int(text: &str) {
    let parsed = parse_go_int(text);
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let plain_decimal = !unsigned.is_empty()
        && unsigned.bytes().all(|b| b.is_ascii_digit())
        && (unsigned == "0" || !unsigned.starts_with('0'));
    if plain_decimal {
        assert_eq!(parsed, text.parse::<i64>().ok(), "{text:?}");
    }
    let hex = unsigned
        .strip_prefix("0x")
        .or_else(|| unsigned.strip_prefix("0X"));
    if let Some(digits) = hex
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_hexdigit())
    {
        let magnitude = i128::from_str_radix(digits, 16).ok();
        let expected = magnitude
            .map(|m| if text.starts_with('-') { -m } else { m })
            .and_then(|v| i64::try_from(v).ok());
        assert_eq!(parsed, expected, "{text:?}");
    }
    if let Some(n) = parsed {
        assert_eq!(parse_go_int(&n.to_string()), Some(n), "{n} printed");
        let signed_hex = if n < 0 {
            format!("-0x{:x}", n.unsigned_abs())
        } else {
            format!("0x{n:x}")
        };
        assert_eq!(parse_go_int(&signed_hex), Some(n), "{signed_hex}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match mode % 5 {
        0 => query(&text),
        1 => tuple_text(&text),
        2 => {
            if let Ok(body) = serde_json::from_slice::<RelationQuery>(rest) {
                let _ = check_query(&body);
                let _ = body.is_empty();
                if let Ok(tuple) = body.into_tuple() {
                    let _ = check_tuple(&tuple);
                }
            }
        }
        3 => {
            if let Ok(deltas) = serde_json::from_slice::<Vec<PatchDelta>>(rest) {
                for delta in deltas {
                    if let Some(tuple) = &delta.relation_tuple {
                        let _ = check_tuple(tuple);
                    }
                }
            }
        }
        _ => go_int(&text),
    }
});
