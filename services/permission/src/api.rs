//! The wire shapes of the REST API (Keto v0.9's): `RelationQuery`,
//! `PatchDelta`, the list page, and the expand tree. Query strings are read
//! in `params`.

use crate::expand::{NodeType, Tree};
use crate::model::{NamedSubjectSet, RelationTuple, Subject};
use crate::namespace::Namespaces;
use kernel::Error;
use serde::{Deserialize, Serialize};

/// `RelationQuery`: a tuple with any field left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_set: Option<NamedSubjectSet>,
}

impl RelationQuery {
    pub fn is_empty(&self) -> bool {
        *self == RelationQuery::default()
    }

    /// The complete tuple this query names (create and check need one).
    pub fn into_tuple(self) -> kernel::Result<RelationTuple> {
        let missing = |field: &str| Error::bad_request(format!("`{field}` is required"));
        Ok(RelationTuple {
            namespace: self.namespace.ok_or_else(|| missing("namespace"))?,
            object: self.object.ok_or_else(|| missing("object"))?,
            relation: self.relation.ok_or_else(|| missing("relation"))?,
            subject_id: self.subject_id,
            subject_set: self.subject_set,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PatchAction {
    Insert,
    Delete,
}

/// One change of `PATCH /admin/relation-tuples`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchDelta {
    pub action: Option<PatchAction>,
    pub relation_tuple: Option<RelationTuple>,
}

#[derive(Debug, Serialize)]
pub struct RelationTuplesPage {
    pub relation_tuples: Vec<RelationTuple>,
    /// Empty on the last page.
    pub next_page_token: String,
}

#[derive(Debug, Serialize)]
pub struct CheckResponse {
    pub allowed: bool,
}

/// `POST /relation-tuples/batch/check`: the tuples to check, in order.
#[derive(Debug, Clone, Deserialize)]
pub struct BatchCheckBody {
    #[serde(default)]
    pub tuples: Vec<RelationQuery>,
}

/// One answer of a batch check (Ory's `checkPermissionResultWithError`):
/// a tuple that cannot be checked (unknown namespace, missing field) is
/// `allowed: false` with the reason, and the others are still answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchCheckResult {
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct BatchCheckResponse {
    pub results: Vec<BatchCheckResult>,
}

/// A page of `GET /relation-tuples/list-objects`.
#[derive(Debug, Serialize)]
pub struct ObjectsPage {
    pub namespace: String,
    pub relation: String,
    /// Sorted; empty on a page past the last.
    pub objects: Vec<String>,
    /// Empty on the last page.
    pub next_page_token: String,
}

/// A page of `GET /relation-tuples/list-subjects`.
#[derive(Debug, Serialize)]
pub struct SubjectsPage {
    /// Sorted.
    pub subject_ids: Vec<String>,
    /// Empty on the last page.
    pub next_page_token: String,
}

/// `expandTree`.
#[derive(Debug, Serialize)]
pub struct ExpandTree {
    #[serde(rename = "type")]
    pub node_type: NodeType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_set: Option<NamedSubjectSet>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<ExpandTree>,
}

impl ExpandTree {
    /// The API tree; nodes in namespaces since removed from the config are
    /// left out.
    pub fn from_tree(tree: &Tree, namespaces: Namespaces<'_>) -> Option<ExpandTree> {
        let (subject_id, subject_set) = match &tree.subject {
            Subject::Id(id) => (Some(id.clone()), None),
            Subject::Set(set) => (None, Some(namespaces.named_set(set)?)),
        };
        Some(ExpandTree {
            node_type: tree.node_type,
            subject_id,
            subject_set,
            children: tree
                .children
                .iter()
                .filter_map(|child| ExpandTree::from_tree(child, namespaces))
                .collect(),
        })
    }
}
