//! List objects, list subjects and batch check: the questions check answers
//! one at a time, asked many at once. The walks are in `walk`; here they
//! are validated against the tenant's namespaces and limits, and paged.
//!
//! Pages are keyed on the last item returned (answers are sorted), so a
//! page never repeats an item of an earlier one. Each page walks the graph
//! again, at most `max_depth` reads, and sees the tuples as they are then:
//! an object granted meanwhile shows up on a later page if it sorts after
//! the cursor.

use crate::api::{BatchCheckResult, ObjectsPage, RelationQuery, SubjectsPage};
use crate::engine::{PermissionEngine, effective_depth, page_size};
use crate::limits;
use crate::model::{NamedSubjectSet, Subject};
use crate::namespace::Namespaces;
use crate::walk;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::future::join_all;
use kernel::tenant::TenantCtx;
use kernel::{Error, Result};
use std::collections::BTreeSet;
use std::ops::Bound;

/// What a lookup page token holds before the last item it returned (so a
/// list page's token is not taken for a lookup's, nor the reverse).
const TOKEN_PREFIX: &str = "after:";

fn page_token(last: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{TOKEN_PREFIX}{last}"))
}

fn parse_page_token(token: Option<&str>) -> Result<Option<String>> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|text| text.strip_prefix(TOKEN_PREFIX).map(str::to_owned))
        .map(Some)
        .ok_or_else(|| Error::bad_request("the page_token is not one this server issued"))
}

/// The items after `after`, at most `size` of them, and the next token.
fn page_of(items: &BTreeSet<String>, size: u64, after: Option<String>) -> (Vec<String>, String) {
    let start = after.map_or(Bound::Unbounded, Bound::Excluded);
    let mut rest = items.range((start, Bound::Unbounded));
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let page: Vec<String> = rest.by_ref().take(size).cloned().collect();
    let next = match (rest.next(), page.last()) {
        (Some(_), Some(last)) => page_token(last),
        _ => String::new(),
    };
    (page, next)
}

/// The text a batch result carries for a tuple that could not be checked.
fn reason(err: &Error) -> String {
    err.reason.clone().unwrap_or_else(|| err.message.clone())
}

/// Paging and depth of a lookup request.
#[derive(Debug, Clone, Copy, Default)]
pub struct LookupParams<'a> {
    pub max_depth: Option<i64>,
    pub page_size: Option<i64>,
    pub page_token: Option<&'a str>,
}

impl PermissionEngine {
    /// `GET /relation-tuples/list-objects`: the objects of `namespace` on
    /// which the subject has `relation`, directly or through subject sets.
    pub async fn list_objects(
        &self,
        tenant: &TenantCtx,
        query: &RelationQuery,
        params: LookupParams<'_>,
    ) -> Result<ObjectsPage> {
        limits::check_query(query)?;
        if query.object.is_some() {
            return Err(Error::bad_request(
                "list-objects answers with the objects: leave `object` out",
            ));
        }
        let missing = |field: &str| Error::bad_request(format!("`{field}` is required"));
        let namespace_name = query
            .namespace
            .as_deref()
            .ok_or_else(|| missing("namespace"))?;
        let relation = query
            .relation
            .as_deref()
            .ok_or_else(|| missing("relation"))?;
        let namespaces = Namespaces(&tenant.config.namespaces);
        let namespace = namespaces.id(namespace_name)?;
        let subject = match (&query.subject_id, &query.subject_set) {
            (Some(id), _) => Subject::Id(id.clone()),
            (None, Some(set)) => Subject::Set(namespaces.subject_set(set)?),
            (None, None) => {
                return Err(Error::bad_request(
                    "give the subject: `subject_id`, or `subject_set.namespace`, `subject_set.object` and `subject_set.relation`",
                ));
            }
        };
        let size = page_size(params.page_size)?;
        let after = parse_page_token(params.page_token)?;
        let depth = effective_depth(tenant.config.max_read_depth, params.max_depth);
        let reader = self.reader(tenant);
        let objects = walk::objects(reader.as_ref(), namespace, relation, &subject, depth).await?;
        let (objects, next_page_token) = page_of(&objects, size, after);
        Ok(ObjectsPage {
            namespace: namespace_name.to_owned(),
            relation: relation.to_owned(),
            objects,
            next_page_token,
        })
    }

    /// `GET /relation-tuples/list-subjects`: the subject ids in
    /// `namespace:object#relation`, directly or through subject sets.
    pub async fn list_subjects(
        &self,
        tenant: &TenantCtx,
        root: &NamedSubjectSet,
        params: LookupParams<'_>,
    ) -> Result<SubjectsPage> {
        limits::check_set("", root)?;
        let root = Namespaces(&tenant.config.namespaces).subject_set(root)?;
        let size = page_size(params.page_size)?;
        let after = parse_page_token(params.page_token)?;
        let depth = effective_depth(tenant.config.max_read_depth, params.max_depth);
        let subjects = walk::subjects(self.reader(tenant).as_ref(), &root, depth).await?;
        let (subject_ids, next_page_token) = page_of(&subjects, size, after);
        Ok(SubjectsPage {
            subject_ids,
            next_page_token,
        })
    }

    /// `POST /relation-tuples/batch/check`: every tuple checked, all at
    /// once, answers in the request's order. A batch larger than the
    /// project's `limit.max_batch_check_size` is refused whole; a tuple
    /// that cannot be checked answers with its error; a storage failure
    /// fails the request (an answer of "no" would hide it).
    pub async fn batch_check(
        &self,
        tenant: &TenantCtx,
        tuples: Vec<RelationQuery>,
        max_depth: Option<i64>,
    ) -> Result<Vec<BatchCheckResult>> {
        let limit = tenant.config.max_batch_check_size;
        if i64::try_from(tuples.len()).unwrap_or(i64::MAX) > limit {
            return Err(Error::bad_request(format!(
                "the batch holds {} tuples; this project allows at most {limit} (limit.max_batch_check_size)",
                tuples.len()
            )));
        }
        let checks = tuples.into_iter().map(|query| async move {
            let tuple = query.into_tuple()?;
            self.check(tenant, &tuple, max_depth).await
        });
        join_all(checks)
            .await
            .into_iter()
            .map(|answer| match answer {
                Ok(allowed) => Ok(BatchCheckResult {
                    allowed,
                    error: None,
                }),
                Err(err) if err.kind.status() < 500 => Ok(BatchCheckResult {
                    allowed: false,
                    error: Some(reason(&err)),
                }),
                Err(err) => Err(err),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn items(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn pages_cover_every_item_once() {
        let all = items(&["a", "b", "c", "d", "e"]);
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let (page, next) = page_of(&all, 2, after);
            assert!(page.len() <= 2);
            seen.extend(page);
            if next.is_empty() {
                break;
            }
            after = parse_page_token(Some(&next)).unwrap();
        }
        assert_eq!(seen, ["a", "b", "c", "d", "e"]);
        // An exact multiple of the size ends without an empty extra page.
        let (page, next) = page_of(&items(&["a", "b"]), 2, None);
        assert_eq!((page.len(), next.as_str()), (2, ""));
    }

    #[test]
    fn tokens_are_checked() {
        assert_eq!(parse_page_token(None).unwrap(), None);
        assert_eq!(parse_page_token(Some("")).unwrap(), None);
        assert_eq!(
            parse_page_token(Some(&page_token("x y"))).unwrap(),
            Some("x y".to_owned())
        );
        // A list page's token (`v1:<seq>`) is not a lookup token.
        assert!(parse_page_token(Some(&URL_SAFE_NO_PAD.encode("v1:3"))).is_err());
        assert!(parse_page_token(Some("!!")).is_err());
    }
}
