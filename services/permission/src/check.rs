//! Check: is `subject` in `namespace:object#relation`, directly or through
//! subject sets? A breadth-first walk, one `read_level` per level: each
//! level asks for the exact tuple (a hit ends the walk) and for the subject
//! sets to visit next. Each subject set is visited once, so cycles end, and
//! the walk follows at most `max_depth` subject-set edges (Keto's depth).

use crate::model::{Subject, Tuple};
use crate::reader::{TupleReader, Want};
use std::collections::HashSet;

pub async fn check(
    reader: &dyn TupleReader,
    query: &Tuple,
    max_depth: u32,
) -> kernel::Result<bool> {
    let mut visited = HashSet::from([query.userset.clone()]);
    let mut frontier = vec![query.userset.clone()];
    for level in 0..=max_depth {
        let last = level == max_depth;
        let want = if last {
            Want::Exactly(&query.subject)
        } else {
            Want::SetsAnd(&query.subject)
        };
        let mut next = Vec::new();
        for tuple in reader.read_level(&frontier, want).await? {
            if tuple.subject == query.subject {
                return Ok(true);
            }
            if let Subject::Set(set) = tuple.subject
                && !last
                && !visited.contains(&set)
            {
                visited.insert(set.clone());
                next.push(set);
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    Ok(false)
}
