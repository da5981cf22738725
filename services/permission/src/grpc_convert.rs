//! Conversions between Keto's protobuf messages and the engine's types,
//! shared by Keto's services (`grpc`) and Keyplane's (`grpc_lookup`).

use crate::api::RelationQuery;
use crate::expand::NodeType;
use crate::grpc::pb;
use crate::model::{NamedSubjectSet, RelationTuple};

pub(crate) fn named_set(set: pb::SubjectSet) -> NamedSubjectSet {
    NamedSubjectSet {
        namespace: set.namespace,
        object: set.object,
        relation: set.relation,
    }
}

pub(crate) fn pb_set(set: NamedSubjectSet) -> pb::SubjectSet {
    pb::SubjectSet {
        namespace: set.namespace,
        object: set.object,
        relation: set.relation,
    }
}

/// `(subject_id, subject_set)` of a protobuf subject.
pub(crate) fn split_subject(
    subject: Option<pb::Subject>,
) -> (Option<String>, Option<NamedSubjectSet>) {
    match subject.and_then(|s| s.r#ref) {
        Some(pb::subject::Ref::Id(id)) => (Some(id), None),
        Some(pb::subject::Ref::Set(set)) => (None, Some(named_set(set))),
        None => (None, None),
    }
}

pub(crate) fn pb_subject(id: Option<String>, set: Option<NamedSubjectSet>) -> Option<pb::Subject> {
    let r#ref = match (id, set) {
        (Some(id), _) => pb::subject::Ref::Id(id),
        (None, Some(set)) => pb::subject::Ref::Set(pb_set(set)),
        (None, None) => return None,
    };
    Some(pb::Subject { r#ref: Some(r#ref) })
}

pub(crate) fn tuple_from_pb(tuple: pb::RelationTuple) -> RelationTuple {
    let (subject_id, subject_set) = split_subject(tuple.subject);
    RelationTuple {
        namespace: tuple.namespace,
        object: tuple.object,
        relation: tuple.relation,
        subject_id,
        subject_set,
    }
}

pub(crate) fn tuple_to_pb(tuple: RelationTuple) -> pb::RelationTuple {
    pb::RelationTuple {
        namespace: tuple.namespace,
        object: tuple.object,
        relation: tuple.relation,
        subject: pb_subject(tuple.subject_id, tuple.subject_set),
    }
}

pub(crate) fn query_from_pb(query: pb::RelationQuery) -> RelationQuery {
    let (subject_id, subject_set) = split_subject(query.subject);
    RelationQuery {
        namespace: query.namespace,
        object: query.object,
        relation: query.relation,
        subject_id,
        subject_set,
    }
}

/// The fields of the deprecated `query` of list and delete requests (two
/// generated types with the same fields).
pub(crate) type LegacyQuery = (String, String, String, Option<pb::Subject>);

/// The query of a list or delete request: `relation_query`, else the
/// deprecated `query` (where empty strings mean "any"), else everything.
pub(crate) fn request_query(
    current: Option<pb::RelationQuery>,
    legacy: Option<LegacyQuery>,
) -> RelationQuery {
    match (current, legacy) {
        (Some(query), _) => query_from_pb(query),
        (None, Some((namespace, object, relation, subject))) => {
            let given = |s: String| (!s.is_empty()).then_some(s);
            let (subject_id, subject_set) = split_subject(subject);
            RelationQuery {
                namespace: given(namespace),
                object: given(object),
                relation: given(relation),
                subject_id,
                subject_set,
            }
        }
        (None, None) => RelationQuery::default(),
    }
}

pub(crate) fn tree_to_pb(tree: crate::api::ExpandTree) -> pb::SubjectTree {
    let node_type = match tree.node_type {
        NodeType::Union => pb::NodeType::Union,
        NodeType::Leaf => pb::NodeType::Leaf,
    };
    pb::SubjectTree {
        node_type: node_type.into(),
        subject: pb_subject(tree.subject_id, tree.subject_set),
        children: tree.children.into_iter().map(tree_to_pb).collect(),
    }
}
