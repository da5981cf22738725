//! Namespaces come from the project's revision (`namespaces: [{id, name}]`).
//! The API speaks names; tuples are stored by id, so renaming a namespace in
//! the config keeps its tuples, as in Keto.

use crate::model::{NamedSubjectSet, RelationTuple, Subject, SubjectSet, Tuple};
use kernel::Error;
use kernel::tenant::NamespaceRef;

/// A tenant's namespaces (a handful; a scan beats building a map per request).
#[derive(Debug, Clone, Copy)]
pub struct Namespaces<'a>(pub &'a [NamespaceRef]);

impl<'a> Namespaces<'a> {
    /// The id of a configured namespace; an unknown name is a 404 naming it.
    pub fn id(&self, name: &str) -> kernel::Result<i64> {
        self.0
            .iter()
            .find(|ns| ns.name == name)
            .map(|ns| ns.id)
            .ok_or_else(|| unknown_namespace(name))
    }

    pub fn name(&self, id: i64) -> Option<&'a str> {
        self.0
            .iter()
            .find(|ns| ns.id == id)
            .map(|ns| ns.name.as_str())
    }

    pub fn subject_set(&self, set: &NamedSubjectSet) -> kernel::Result<SubjectSet> {
        Ok(SubjectSet {
            namespace: self.id(&set.namespace)?,
            object: set.object.clone(),
            relation: set.relation.clone(),
        })
    }

    /// A complete tuple: namespace, object, relation and exactly one subject.
    pub fn tuple(&self, tuple: &RelationTuple) -> kernel::Result<Tuple> {
        let userset = SubjectSet {
            namespace: self.id(&tuple.namespace)?,
            object: tuple.object.clone(),
            relation: tuple.relation.clone(),
        };
        let subject = match (&tuple.subject_id, &tuple.subject_set) {
            (Some(id), None) => Subject::Id(id.clone()),
            (None, Some(set)) => Subject::Set(self.subject_set(set)?),
            (Some(_), Some(_)) => {
                return Err(Error::bad_request(
                    "give either subject_id or subject_set, not both",
                ));
            }
            (None, None) => {
                return Err(Error::bad_request(
                    "a relation tuple needs a subject: subject_id or subject_set",
                ));
            }
        };
        Ok(Tuple { userset, subject })
    }

    pub fn named_set(&self, set: &SubjectSet) -> Option<NamedSubjectSet> {
        Some(NamedSubjectSet {
            namespace: self.name(set.namespace)?.to_owned(),
            object: set.object.clone(),
            relation: set.relation.clone(),
        })
    }

    /// The API form of a stored tuple; `None` when a namespace it names was
    /// removed from the config since (such tuples are not shown).
    pub fn named(&self, tuple: &Tuple) -> Option<RelationTuple> {
        let (subject_id, subject_set) = match &tuple.subject {
            Subject::Id(id) => (Some(id.clone()), None),
            Subject::Set(set) => (None, Some(self.named_set(set)?)),
        };
        Some(RelationTuple {
            namespace: self.name(tuple.userset.namespace)?.to_owned(),
            object: tuple.userset.object.clone(),
            relation: tuple.userset.relation.clone(),
            subject_id,
            subject_set,
        })
    }
}

pub fn unknown_namespace(name: &str) -> Error {
    Error::not_found(format!("Unknown namespace with name \"{name}\"."))
}
