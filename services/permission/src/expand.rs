//! Expand: the tree of who is in `namespace:object#relation`, shaped exactly
//! as Keto v0.9's `expand.Engine.BuildTree` shapes it, but read level by
//! level (one `read_level` per level) instead of one query per node.
//!
//! Keto's rules, with `rest` the depth left at a node (the request's
//! effective depth at the root, one less per level):
//!
//! - a subject id is a leaf;
//! - a subject set already met anywhere earlier in the depth-first walk
//!   (a cycle, or a second path to it) is a leaf, and so is a set with no
//!   tuples;
//! - a set with tuples and `rest <= 1` is a leaf: depth 1 is the root alone
//!   and depth d ends with leaves at depth d-1;
//! - otherwise a union of its tuples' subjects, in order, each built with
//!   `rest - 1`.
//!
//! The "met earlier" rule depends on the order of a depth-first walk, so
//! the tree is built depth first in memory from tuples read breadth first:
//! every set the walk expands (at depth k, with `rest >= 2`) is at most k
//! edges from the root, so reading the levels `0..=d-2` gives the walk every
//! tuple it looks at. A root with no tuples, where Keto answers with no tree
//! at all, is a union with no children.

use crate::model::{Subject, SubjectSet};
use crate::reader::{TupleReader, Want};
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeType {
    Union,
    Leaf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    pub node_type: NodeType,
    pub subject: Subject,
    pub children: Vec<Tree>,
}

impl Tree {
    fn leaf(subject: Subject) -> Tree {
        Tree {
            node_type: NodeType::Leaf,
            subject,
            children: Vec::new(),
        }
    }
}

/// The subjects of each set the walk may expand, by set.
type Members = HashMap<SubjectSet, Vec<Subject>>;

pub async fn expand(
    reader: &dyn TupleReader,
    root: &SubjectSet,
    max_depth: u32,
) -> kernel::Result<Tree> {
    let members = read_levels(reader, root, max_depth).await?;
    if members.get(root).is_none_or(Vec::is_empty) {
        return Ok(Tree {
            node_type: NodeType::Union,
            subject: Subject::Set(root.clone()),
            children: Vec::new(),
        });
    }
    let mut met = HashSet::new();
    let tree = build(root, max_depth, &members, &mut met);
    Ok(tree.unwrap_or_else(|| Tree::leaf(Subject::Set(root.clone()))))
}

/// Reads, one query per level, the tuples of every set within `d-2` edges of
/// the root (the root's always: whether it has any decides the answer).
async fn read_levels(
    reader: &dyn TupleReader,
    root: &SubjectSet,
    max_depth: u32,
) -> kernel::Result<Members> {
    let levels = max_depth.saturating_sub(1).max(1);
    let mut members = Members::new();
    let mut seen = HashSet::from([root.clone()]);
    let mut frontier = vec![root.clone()];
    for _ in 0..levels {
        for set in &frontier {
            members.entry(set.clone()).or_default();
        }
        let mut next = Vec::new();
        for tuple in reader.read_level(&frontier, Want::Everything).await? {
            if let Subject::Set(child) = &tuple.subject
                && seen.insert(child.clone())
            {
                next.push(child.clone());
            }
            members
                .entry(tuple.userset)
                .or_default()
                .push(tuple.subject);
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    Ok(members)
}

/// Keto's `BuildTree` for one set: `None` where Keto returns no tree (a set
/// met before, or one without tuples), which the parent shows as a leaf.
/// Recursion is bounded by the depth (`limit.max_read_depth` is at most 1000).
fn build(
    set: &SubjectSet,
    rest: u32,
    members: &Members,
    met: &mut HashSet<SubjectSet>,
) -> Option<Tree> {
    if !met.insert(set.clone()) {
        return None;
    }
    if rest <= 1 {
        // Keto reads the set and answers a leaf, or no tree when it is
        // empty: a leaf in the parent either way.
        return Some(Tree::leaf(Subject::Set(set.clone())));
    }
    let subjects = members.get(set).filter(|s| !s.is_empty())?;
    let children = subjects
        .iter()
        .map(|subject| match subject {
            Subject::Id(_) => Tree::leaf(subject.clone()),
            Subject::Set(child) => {
                build(child, rest - 1, members, met).unwrap_or_else(|| Tree::leaf(subject.clone()))
            }
        })
        .collect();
    Some(Tree {
        node_type: NodeType::Union,
        subject: Subject::Set(set.clone()),
        children,
    })
}
