//! Relation tuples as the engine sees them: namespaces by their configured
//! id, subjects either an opaque id or a subject set. `object#relation` of a
//! tuple is itself a subject set (Zanzibar's "userset"), which is what makes
//! check and expand a graph walk.

use sha2::{Digest, Sha256};
use std::fmt;

/// `namespace:object#relation`: the set of subjects that have `relation` on
/// `object`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubjectSet {
    pub namespace: i64,
    pub object: String,
    pub relation: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    Id(String),
    Set(SubjectSet),
}

/// `userset@subject`: `subject` has `userset.relation` on `userset.object`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tuple {
    pub userset: SubjectSet,
    pub subject: Subject,
}

/// Feeds length-prefixed fields to a digest, so no choice of strings can
/// make two different field lists hash the same input.
struct Fields(Sha256);

impl Fields {
    fn new() -> Self {
        Fields(Sha256::new())
    }

    fn add(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update((bytes.len() as u64).to_be_bytes());
        self.0.update(bytes);
        self
    }

    fn set(&mut self, set: &SubjectSet) -> &mut Self {
        self.add(&set.namespace.to_be_bytes())
            .add(set.object.as_bytes())
            .add(set.relation.as_bytes())
    }

    fn hex(self) -> String {
        hex::encode(self.0.finalize())
    }
}

impl SubjectSet {
    /// A digest of `namespace:object#relation`: what a walk looks a level of
    /// usersets up by, with one `IN` list on one index.
    pub fn key(&self) -> String {
        let mut fields = Fields::new();
        fields.set(self);
        fields.hex()
    }
}

impl Tuple {
    /// A digest of the whole tuple, unique per tenant: what makes inserts
    /// idempotent and exact lookups one index probe. Fields are length
    /// prefixed so no choice of strings can make two tuples collide.
    pub fn key(&self) -> String {
        let mut fields = Fields::new();
        fields.set(&self.userset);
        match &self.subject {
            Subject::Id(id) => fields.add(b"id").add(id.as_bytes()),
            Subject::Set(set) => fields.add(b"set").set(set),
        };
        fields.hex()
    }
}

/// A subject set by namespace *name*: the API's `SubjectSet`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct NamedSubjectSet {
    pub namespace: String,
    pub object: String,
    pub relation: String,
}

/// A tuple by namespace names: the API's `InternalRelationTuple`, and the
/// text form `namespace:object#relation@subject` used in tests and docs,
/// where the subject is an id or `(namespace:object#relation)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct RelationTuple {
    pub namespace: String,
    pub object: String,
    pub relation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_set: Option<NamedSubjectSet>,
}

impl fmt::Display for NamedSubjectSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}#{}", self.namespace, self.object, self.relation)
    }
}

impl fmt::Display for RelationTuple {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}#{}@", self.namespace, self.object, self.relation)?;
        match (&self.subject_id, &self.subject_set) {
            (Some(id), _) => write!(f, "{id}"),
            (None, Some(set)) => write!(f, "({set})"),
            (None, None) => Ok(()),
        }
    }
}

fn parse_set(text: &str) -> Result<NamedSubjectSet, String> {
    let (namespace, rest) = text
        .split_once(':')
        .ok_or_else(|| format!("`{text}`: expected namespace:object#relation"))?;
    let (object, relation) = rest
        .rsplit_once('#')
        .ok_or_else(|| format!("`{text}`: expected namespace:object#relation"))?;
    Ok(NamedSubjectSet {
        namespace: namespace.to_owned(),
        object: object.to_owned(),
        relation: relation.to_owned(),
    })
}

impl std::str::FromStr for RelationTuple {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (userset, subject) = text
            .rsplit_once('@')
            .ok_or_else(|| format!("`{text}`: expected userset@subject"))?;
        let userset = parse_set(userset)?;
        let (subject_id, subject_set) =
            match subject.strip_prefix('(').and_then(|s| s.strip_suffix(')')) {
                Some(set) => (None, Some(parse_set(set)?)),
                None if subject.contains(':') && subject.contains('#') => {
                    (None, Some(parse_set(subject)?))
                }
                None => (Some(subject.to_owned()), None),
            };
        Ok(RelationTuple {
            namespace: userset.namespace,
            object: userset.object,
            relation: userset.relation,
            subject_id,
            subject_set,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn text_form_round_trips() {
        for text in [
            "files:readme#viewer@alice",
            "files:readme#viewer@(groups:eng#member)",
            "files:a:b#c#viewer@(groups:x:y#member)",
        ] {
            let tuple: RelationTuple = text.parse().unwrap();
            assert_eq!(tuple.to_string(), text);
        }
        let bare: RelationTuple = "f:r#v@groups:eng#member".parse().unwrap();
        assert_eq!(bare.subject_set.unwrap().relation, "member");
        assert!("no-subject".parse::<RelationTuple>().is_err());
    }

    #[test]
    fn keys_separate_ids_from_sets_and_fields() {
        let set = SubjectSet {
            namespace: 1,
            object: "a".into(),
            relation: "b".into(),
        };
        let by_id = Tuple {
            userset: set.clone(),
            subject: Subject::Id("x".into()),
        };
        let shifted = Tuple {
            userset: SubjectSet {
                object: "ab".into(),
                relation: String::new(),
                ..set.clone()
            },
            subject: Subject::Id("x".into()),
        };
        let by_set = Tuple {
            userset: set.clone(),
            subject: Subject::Set(set),
        };
        assert_ne!(by_id.key(), shifted.key());
        assert_ne!(by_id.key(), by_set.key());
        assert_eq!(by_id.key(), by_id.clone().key());
        assert_eq!(by_id.key().len(), 64);
    }
}
