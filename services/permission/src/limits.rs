//! Length limits of tuple fields, checked (with the NUL check) on every
//! path into the engine, REST and gRPC alike: writes, lists, checks,
//! expands and deletes, before any SQL. So a bad field is the same 400
//! (`INVALID_ARGUMENT`) on SQLite and PostgreSQL, never a database error.
//!
//! The limits follow Keto: `relation` was `VARCHAR(64)` in every Keto
//! schema; objects and subject ids were `VARCHAR(64)` until Keto v0.8 and
//! unbounded since (mapped to UUIDs), so Keyplane allows 1024 bytes, which
//! keeps every index row of `relation_tuples` (at most `nid`, a namespace
//! id or a 64-byte digest, an object or subject id, and a relation: about
//! 1.2 KB) well under PostgreSQL's B-tree row limit (2704 bytes on 8 KB
//! pages) and a created tuple's `Location` header small. Namespace names
//! are never stored (tuples keep the configured id), but are bounded too.

use crate::api::RelationQuery;
use crate::model::{NamedSubjectSet, RelationTuple};
use kernel::Result;
use kernel::text::check_text;

/// `namespace` and `subject_set.namespace`, in bytes.
pub const MAX_NAMESPACE_BYTES: usize = 256;
/// `object` and `subject_set.object`, in bytes.
pub const MAX_OBJECT_BYTES: usize = 1024;
/// `relation` and `subject_set.relation`, in bytes (Keto's `VARCHAR(64)`).
pub const MAX_RELATION_BYTES: usize = 64;
/// `subject_id`, in bytes.
pub const MAX_SUBJECT_ID_BYTES: usize = 1024;

fn userset(
    prefix: &str,
    namespace: Option<&str>,
    object: Option<&str>,
    relation: Option<&str>,
) -> Result<()> {
    for (name, value, max) in [
        ("namespace", namespace, MAX_NAMESPACE_BYTES),
        ("object", object, MAX_OBJECT_BYTES),
        ("relation", relation, MAX_RELATION_BYTES),
    ] {
        if let Some(value) = value {
            check_text(&format!("{prefix}{name}"), value, max)?;
        }
    }
    Ok(())
}

/// A subject set given whole (`subject_set.*`, or the root of an expand
/// with `prefix` "").
pub fn check_set(prefix: &str, set: &NamedSubjectSet) -> Result<()> {
    userset(
        prefix,
        Some(&set.namespace),
        Some(&set.object),
        Some(&set.relation),
    )
}

pub fn check_subject_id(id: &str) -> Result<()> {
    check_text("subject_id", id, MAX_SUBJECT_ID_BYTES)
}

fn check_subject(id: Option<&String>, set: Option<&NamedSubjectSet>) -> Result<()> {
    if let Some(id) = id {
        check_subject_id(id)?;
    }
    if let Some(set) = set {
        check_set("subject_set.", set)?;
    }
    Ok(())
}

/// A tuple to write, delete or check.
pub fn check_tuple(tuple: &RelationTuple) -> Result<()> {
    userset(
        "",
        Some(&tuple.namespace),
        Some(&tuple.object),
        Some(&tuple.relation),
    )?;
    check_subject(tuple.subject_id.as_ref(), tuple.subject_set.as_ref())
}

/// A query of a list or a delete: every field given.
pub fn check_query(query: &RelationQuery) -> Result<()> {
    userset(
        "",
        query.namespace.as_deref(),
        query.object.as_deref(),
        query.relation.as_deref(),
    )?;
    check_subject(query.subject_id.as_ref(), query.subject_set.as_ref())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_field_is_named_and_bounded() {
        let ok: RelationTuple = "files:readme#viewer@(groups:eng#member)".parse().unwrap();
        assert!(check_tuple(&ok).is_ok());
        type Setter = fn(&mut RelationTuple, String);
        let cases: [(&str, Setter); 6] = [
            ("`namespace`", |t, v| t.namespace = v),
            ("`object`", |t, v| t.object = v),
            ("`relation`", |t, v| t.relation = v),
            ("`subject_set.namespace`", |t, v| {
                t.subject_set.as_mut().unwrap().namespace = v
            }),
            ("`subject_set.object`", |t, v| {
                t.subject_set.as_mut().unwrap().object = v
            }),
            ("`subject_set.relation`", |t, v| {
                t.subject_set.as_mut().unwrap().relation = v
            }),
        ];
        for (field, set) in cases {
            for bad in ["a\0b".to_owned(), "x".repeat(1025)] {
                let mut tuple = ok.clone();
                set(&mut tuple, bad);
                let err = check_tuple(&tuple).unwrap_err();
                assert_eq!(err.status(), 400);
                assert!(err.to_string().contains(field), "{field}: {err}");
            }
        }
        let mut by_id: RelationTuple = "files:readme#viewer@alice".parse().unwrap();
        by_id.subject_id = Some("x".repeat(MAX_SUBJECT_ID_BYTES + 1));
        assert!(
            check_tuple(&by_id)
                .unwrap_err()
                .to_string()
                .contains("`subject_id`")
        );
        by_id.subject_id = Some("x".repeat(MAX_SUBJECT_ID_BYTES));
        by_id.object = "o".repeat(MAX_OBJECT_BYTES);
        by_id.relation = "r".repeat(MAX_RELATION_BYTES);
        assert!(check_tuple(&by_id).is_ok());
    }
}
