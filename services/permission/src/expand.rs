//! Expand: the tree of who is in `namespace:object#relation`. Built level by
//! level (one `read_level` per level) into an arena, then nested. As in Keto
//! v0.9, a subject set is expanded at most once (a second sighting, e.g. in
//! a cycle, is a leaf), and with `max_depth` d the sets at depth d-1 are
//! leaves: depth 1 returns the root alone as a leaf.

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

struct Node {
    subject: Subject,
    node_type: NodeType,
    children: Vec<usize>,
}

pub async fn expand(
    reader: &dyn TupleReader,
    root: &SubjectSet,
    max_depth: u32,
) -> kernel::Result<Tree> {
    let mut arena = vec![Node {
        subject: Subject::Set(root.clone()),
        node_type: if max_depth <= 1 {
            NodeType::Leaf
        } else {
            NodeType::Union
        },
        children: Vec::new(),
    }];
    let mut visited = HashSet::from([root.clone()]);
    // Nodes to expand at this level, by the subject set each stands for.
    let mut frontier: Vec<(usize, SubjectSet)> = if max_depth <= 1 {
        Vec::new()
    } else {
        vec![(0, root.clone())]
    };
    let mut level: u32 = 0;
    while !frontier.is_empty() {
        let usersets: Vec<SubjectSet> = frontier.iter().map(|(_, set)| set.clone()).collect();
        let mut subjects: HashMap<SubjectSet, Vec<Subject>> = HashMap::new();
        for tuple in reader.read_level(&usersets, Want::Everything).await? {
            subjects
                .entry(tuple.userset)
                .or_default()
                .push(tuple.subject);
        }
        // Children at depth level+1 are expanded only while depth allows.
        let children_expand = level + 2 < max_depth;
        let mut next = Vec::new();
        for (parent, set) in frontier {
            for subject in subjects.remove(&set).unwrap_or_default() {
                let expandable = match &subject {
                    Subject::Set(child) => children_expand && visited.insert(child.clone()),
                    Subject::Id(_) => false,
                };
                let index = arena.len();
                if expandable && let Subject::Set(child) = &subject {
                    next.push((index, child.clone()));
                }
                arena.push(Node {
                    subject,
                    node_type: if expandable {
                        NodeType::Union
                    } else {
                        NodeType::Leaf
                    },
                    children: Vec::new(),
                });
                arena[parent].children.push(index);
            }
        }
        frontier = next;
        level += 1;
    }
    Ok(nest(&mut arena, 0))
}

fn nest(arena: &mut [Node], index: usize) -> Tree {
    let children = std::mem::take(&mut arena[index].children);
    let children = children
        .into_iter()
        .map(|child| nest(arena, child))
        .collect();
    let node = &arena[index];
    Tree {
        node_type: node.node_type,
        subject: node.subject.clone(),
        children,
    }
}
