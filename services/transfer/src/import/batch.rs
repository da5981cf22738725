//! Batches: archive records checked, turned into rows and written, one
//! transaction (with its audit event) per batch.

use super::{Ids, Importer, Mode};
use crate::archive::at_line;
use identity::identity::portable::{PortableIdentity, Sealing};
use identity::identity::{Identity, bulk_store};
use kernel::{Error, ErrorKind, Result};
use permission::changes::{self, Operation};
use permission::limits;
use permission::model::{RelationTuple, Tuple};
use permission::namespace::Namespaces;
use permission::tuple_store;
use serde_json::json;
use std::collections::HashSet;
use store::audit::{self, Change};
use store::sql::db_error;
use uuid::Uuid;

impl Importer<'_> {
    /// The id an archive id gets here.
    fn new_id(&self, old: Uuid) -> Uuid {
        match self.options.ids {
            Ids::Keep => old,
            Ids::New => Uuid::new_v5(&self.tenant.project_id, old.as_bytes()),
        }
    }

    /// An archive identity, checked and ready to store.
    fn identity(&mut self, number: u64, portable: PortableIdentity) -> Result<Identity> {
        self.service
            .identities
            .check_traits(&self.tenant, &portable.schema_id, &portable.traits)
            .map_err(|e| at_line(number, e.reason.unwrap_or(e.message)))?;
        let from = Sealing::Archive(self.key.as_ref());
        let to = Sealing::Project {
            cipher: self.tenant.config.identity_config.cipher.as_deref(),
            project_id: self.tenant.project_id,
        };
        let mut left_out = Vec::new();
        let new_id = |old| self.new_id(old);
        let identity = portable
            .into_identity(new_id, from, to, &mut left_out)
            .map_err(|e| at_line(number, e))?;
        for kind in left_out {
            *self.report.left_out.entry(kind).or_default() += 1;
        }
        Ok(identity)
    }

    pub(super) async fn flush_identities(&mut self) -> Result<()> {
        if self.identities.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.identities);
        let mut lines = Vec::with_capacity(batch.len());
        let mut identities = Vec::with_capacity(batch.len());
        for (number, portable) in batch {
            identities.push(self.identity(number, portable)?);
            lines.push(number);
        }
        let nid = self.tenant.project_id;
        let db = &self.service.db;
        let txn = db.begin_write().await?;
        let ids: Vec<Uuid> = identities.iter().map(|i| i.id).collect();
        let existing: HashSet<Uuid> = bulk_store::existing(&txn, nid, &ids)
            .await?
            .into_iter()
            .collect();
        if !existing.is_empty() && self.options.mode == Mode::Empty {
            // Only an archive naming an identity twice gets here.
            let at = lines[ids.iter().position(|id| existing.contains(id)).unwrap_or(0)];
            return Err(at_line(at, "an identity id that came before"));
        }
        let (lines, identities): (Vec<u64>, Vec<Identity>) = lines
            .into_iter()
            .zip(identities)
            .filter(|(_, i)| !existing.contains(&i.id))
            .unzip();
        let ids: Vec<Uuid> = identities.iter().map(|i| i.id).collect();
        if let Some(taken) = bulk_store::any_used_elsewhere(&txn, nid, &ids).await? {
            let at = lines[ids.iter().position(|id| *id == taken).unwrap_or(0)];
            return Err(at_line(
                at,
                format!(
                    "identity id {taken} is used on this server by another project \
                     (ids are unique per server): import with ids=new"
                ),
            ));
        }
        if let Err(e) = bulk_store::insert_many(&txn, nid, &identities).await {
            drop(txn);
            return Err(self.locate_failure(&lines, &identities, e).await);
        }
        let (first, last) = (lines.first(), lines.last());
        if let (Some(first), Some(last)) = (first, last) {
            let event = Change::project(nid, "identity.import", format!("lines {first}-{last}"))
                .with_patch(json!([
                    { "op": "add", "path": "/identities", "value": identities.len() }
                ]));
            audit::append(&txn, event, self.service.clock.now()).await?;
        }
        txn.commit().await.map_err(db_error)?;
        self.report.identities.imported += identities.len() as u64;
        self.report.identities.existing += existing.len() as u64;
        self.report.batches += 1;
        Ok(())
    }

    /// Which line made a batch fail: the batch again, one identity at a
    /// time, in a transaction that is rolled back.
    async fn locate_failure(&self, lines: &[u64], identities: &[Identity], error: Error) -> Error {
        let nid = self.tenant.project_id;
        let Ok(txn) = self.service.db.begin_write().await else {
            return error;
        };
        for (number, identity) in lines.iter().zip(identities) {
            if let Err(e) = bulk_store::insert_many(&txn, nid, std::slice::from_ref(identity)).await
            {
                return match e.kind {
                    ErrorKind::Conflict => at_line(
                        *number,
                        "one of its identifiers (an email, a username, a provider's subject) \
                         belongs to another identity of the project, or one of its ids is taken",
                    ),
                    _ => e,
                };
            }
        }
        error
    }

    pub(super) async fn flush_tuples(&mut self) -> Result<()> {
        if self.tuples.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.tuples);
        let namespaces = Namespaces(&self.tenant.config.namespaces);
        let mut tuples = Vec::with_capacity(batch.len());
        let (first, last) = (batch[0].0, batch[batch.len() - 1].0);
        for (number, mut tuple) in batch {
            limits::check_tuple(&tuple)
                .and_then(|()| {
                    self.follow_identities(&mut tuple);
                    namespaces.tuple(&tuple)
                })
                .map(|resolved| tuples.push(resolved))
                .map_err(|e| at_line(number, e.reason.unwrap_or(e.message)))?;
        }
        let nid = self.tenant.project_id;
        let now = self.service.clock.now();
        let txn = self.service.db.begin_write().await?;
        let inserted = tuple_store::insert_many(&txn, nid, &tuples, now).await?;
        // The feed sees an import as the inserts it made.
        let applied: Vec<(Operation, &Tuple)> =
            inserted.iter().map(|t| (Operation::Insert, t)).collect();
        let recorded = changes::record(&txn, nid, &applied, now).await?;
        let inserted = inserted.len() as u64;
        let event = Change::project(
            nid,
            "relation_tuple.import",
            format!("lines {first}-{last}"),
        )
        .with_patch(json!([
            { "op": "add", "path": "/relation_tuples", "value": inserted }
        ]));
        audit::append(&txn, event, now).await?;
        txn.commit().await.map_err(db_error)?;
        if let Some(position) = recorded {
            self.service.permissions.committed(nid, position.0).await;
        }
        self.report.relation_tuples.imported += inserted;
        self.report.relation_tuples.existing += tuples.len() as u64 - inserted;
        self.report.batches += 1;
        Ok(())
    }

    /// With `ids=new`, a tuple naming an identity of the archive (as
    /// subject or object) names it by its new id.
    fn follow_identities(&self, tuple: &mut RelationTuple) {
        if self.options.ids == Ids::Keep || self.archive_ids.is_empty() {
            return;
        }
        let follow = |text: &mut String| {
            if let Ok(old) = Uuid::parse_str(text)
                && self.archive_ids.contains(&old)
            {
                *text = self.new_id(old).to_string();
            }
        };
        follow(&mut tuple.object);
        if let Some(subject) = tuple.subject_id.as_mut() {
            follow(subject);
        }
        if let Some(set) = tuple.subject_set.as_mut() {
            follow(&mut set.object);
        }
    }
}
