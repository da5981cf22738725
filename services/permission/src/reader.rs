//! What the walks need from storage: one call per level. Check, expand and
//! list-subjects read forwards (the tuples of a level's usersets),
//! list-objects backwards (the tuples whose subject is one of a level's
//! subjects). The SQL implementation answers each call with one query; the
//! in-memory one serves the table tests and the micro-benchmark.

use crate::model::{Subject, SubjectSet, Tuple};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Which tuples of the level's usersets a walk needs.
#[derive(Debug, Clone, Copy)]
pub enum Want<'a> {
    /// Every tuple (expand).
    Everything,
    /// Tuples whose subject is a subject set (to go one level deeper), and
    /// the tuple whose subject is exactly this one (a hit).
    SetsAnd(&'a Subject),
    /// Only the tuple whose subject is exactly this one (the last level).
    Exactly(&'a Subject),
}

impl Want<'_> {
    pub fn matches(&self, subject: &Subject) -> bool {
        match self {
            Want::Everything => true,
            Want::SetsAnd(wanted) => matches!(subject, Subject::Set(_)) || subject == *wanted,
            Want::Exactly(wanted) => subject == *wanted,
        }
    }
}

#[async_trait]
pub trait TupleReader: Send + Sync {
    /// The tuples whose `namespace:object#relation` is one of `usersets` and
    /// whose subject `want` selects, in insertion order.
    async fn read_level(
        &self,
        usersets: &[SubjectSet],
        want: Want<'_>,
    ) -> kernel::Result<Vec<Tuple>>;

    /// The tuples whose subject is one of `subjects`, in no given order.
    async fn read_by_subjects(&self, subjects: &[Subject]) -> kernel::Result<Vec<Tuple>>;
}

/// Tuples in memory, indexed by userset. Counts its reads, so tests can
/// show how many round trips a walk would cost.
#[derive(Debug, Default)]
pub struct MemoryTuples {
    by_userset: HashMap<SubjectSet, Vec<Subject>>,
    reads: AtomicUsize,
}

impl MemoryTuples {
    pub fn insert(&mut self, tuple: Tuple) {
        let subjects = self.by_userset.entry(tuple.userset).or_default();
        if !subjects.contains(&tuple.subject) {
            subjects.push(tuple.subject);
        }
    }

    /// How many `read_level` calls were made so far.
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::Relaxed)
    }
}

impl FromIterator<Tuple> for MemoryTuples {
    fn from_iter<I: IntoIterator<Item = Tuple>>(iter: I) -> Self {
        let mut tuples = MemoryTuples::default();
        for tuple in iter {
            tuples.insert(tuple);
        }
        tuples
    }
}

#[async_trait]
impl TupleReader for MemoryTuples {
    async fn read_level(
        &self,
        usersets: &[SubjectSet],
        want: Want<'_>,
    ) -> kernel::Result<Vec<Tuple>> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let mut found = Vec::new();
        for userset in usersets {
            for subject in self.by_userset.get(userset).into_iter().flatten() {
                if want.matches(subject) {
                    found.push(Tuple {
                        userset: userset.clone(),
                        subject: subject.clone(),
                    });
                }
            }
        }
        Ok(found)
    }

    async fn read_by_subjects(&self, subjects: &[Subject]) -> kernel::Result<Vec<Tuple>> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        // A scan: the in-memory reader serves tests, not large graphs.
        let mut found = Vec::new();
        for (userset, members) in &self.by_userset {
            for subject in members.iter().filter(|s| subjects.contains(s)) {
                found.push(Tuple {
                    userset: userset.clone(),
                    subject: subject.clone(),
                });
            }
        }
        Ok(found)
    }
}
