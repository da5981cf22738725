#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn integers_are_go_s_parse_int_base_0() {
    for (text, want) in [
        ("0", 0),
        ("7", 7),
        ("+7", 7),
        ("-7", -7),
        ("010", 8),
        ("0o17", 15),
        ("0O17", 15),
        ("0x1F", 31),
        ("0X1f", 31),
        ("0b101", 5),
        ("-0x10", -16),
        ("1_000", 1000),
        ("0x_1f", 31),
        ("0_7", 7),
        ("9223372036854775807", i64::MAX),
        ("-9223372036854775808", i64::MIN),
    ] {
        assert_eq!(parse_go_int(text), Some(want), "{text}");
    }
    for text in [
        "",
        "+",
        "-",
        " 5",
        "5 ",
        "deep",
        "08",
        "0x",
        "0b2",
        "1.5",
        "_1",
        "1_",
        "1__0",
        "0x1_",
        "9223372036854775808",
        "-9223372036854775809",
        "99999999999999999999999",
        "٣",
    ] {
        assert_eq!(parse_go_int(text), None, "{text}");
    }
}

#[test]
fn empty_depth_and_paging_are_absent_but_empty_tuple_keys_are_empty() {
    let q =
        KetoQuery::parse("max-depth=&page_size=&page_token=&subject_id=alice&unknown=1").unwrap();
    assert_eq!(q.max_depth().unwrap(), None);
    assert_eq!(q.page_size().unwrap(), None);
    assert_eq!(q.page_token(), None);
    assert_eq!(
        q.relation_query().unwrap().subject_id.as_deref(),
        Some("alice")
    );

    let q = KetoQuery::parse("namespace=files&object=&subject_id=").unwrap();
    let query = q.relation_query().unwrap();
    assert_eq!(query.object.as_deref(), Some(""));
    assert_eq!(query.subject_id.as_deref(), Some(""));
    assert_eq!(query.relation, None);
}

#[test]
fn a_repeated_key_counts_once_with_its_first_value() {
    let q = KetoQuery::parse("namespace=files&namespace=groups&max-depth=2&max-depth=x").unwrap();
    assert_eq!(
        q.relation_query().unwrap().namespace.as_deref(),
        Some("files")
    );
    assert_eq!(q.max_depth().unwrap(), Some(2));
    let q = KetoQuery::parse("namespace=&namespace=files").unwrap();
    assert_eq!(q.relation_query().unwrap().namespace.as_deref(), Some(""));
}

#[test]
fn bad_values_are_400s_only_where_read() {
    let q = KetoQuery::parse("max-depth=deep&page_size=0x&namespace=files").unwrap();
    let err = q.max_depth().unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(err.to_string().contains("max-depth"), "{err}");
    assert_eq!(q.page_size().unwrap_err().status(), 400);
    // A list never reads max-depth.
    assert_eq!(
        q.relation_query().unwrap().namespace.as_deref(),
        Some("files")
    );
    let q = KetoQuery::parse("max-depth=0x10&page_size=010").unwrap();
    assert_eq!(q.max_depth().unwrap(), Some(16));
    assert_eq!(q.page_size().unwrap(), Some(8));
}

#[test]
fn subjects_follow_keto_v0_9() {
    let set = |q: &str| KetoQuery::parse(q).unwrap().relation_query();
    let full = "subject_set.namespace=g&subject_set.object=eng&subject_set.relation=member";
    let query = set(full).unwrap();
    assert_eq!(query.subject_set.unwrap().to_string(), "g:eng#member");
    assert_eq!(
        set(&format!("subject_id=a&{full}")).unwrap_err().status(),
        400
    );
    assert_eq!(set("subject_set.namespace=g").unwrap_err().status(), 400);
    // Keto v0.9 takes subject_id and ignores an incomplete subject set beside it.
    let query = set("subject_id=a&subject_set.namespace=g").unwrap();
    assert_eq!(
        (query.subject_id.as_deref(), query.subject_set),
        (Some("a"), None)
    );
    // The pre-v0.7 `subject` key is refused, even empty.
    for q in ["subject=a", "subject="] {
        let err = set(q).unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.to_string().contains("subject_id"), "{err}");
    }
    assert_eq!(set("").unwrap(), RelationQuery::default());
}

#[test]
fn expand_needs_the_whole_set() {
    let q = KetoQuery::parse("namespace=files&object=a&relation=viewer").unwrap();
    assert_eq!(q.subject_set().unwrap().to_string(), "files:a#viewer");
    let q = KetoQuery::parse("namespace=files&relation=viewer").unwrap();
    assert_eq!(q.subject_set().unwrap_err().status(), 400);
}
