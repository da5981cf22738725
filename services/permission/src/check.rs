//! Check: is `subject` in `namespace:object#relation`, directly or through
//! subject sets? A breadth-first walk, one `read_level` per level: each
//! level asks for the exact tuple (a hit ends the walk) and for the subject
//! sets to visit next. Each subject set is visited once, so cycles end.
//!
//! Depth is Keto v0.9's (`internal/check/engine.go`): `max_depth` is how
//! many levels of tuples are read, so depth 1 answers from the queried
//! userset's own tuples only, and a subject reachable through `k` subject
//! sets needs a depth of at least `k + 1`. Keto walks depth first and marks
//! sets visited across branches, which can miss a path a breadth-first walk
//! finds; on every graph where Keto's answer does not depend on the order of
//! its goroutines, the answers agree.

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
    for level in 0..max_depth {
        // Keto reads the last level's tuples but follows none of its sets,
        // so only the exact tuple is worth asking for there.
        let last = level + 1 == max_depth;
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
