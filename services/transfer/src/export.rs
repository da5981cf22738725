//! The export: checks and the audit event first (they can still answer an
//! error), then a stream that reads the tenant page after page from one
//! read snapshot and writes each page as lines. Memory stays at one page
//! whatever the tenant's size.

use crate::TransferService;
use crate::archive::{self, Counts, Header, IdentitySchema, Record, SourceProject};
use actix_web::web::Bytes;
use controlplane::access::Action;
use controlplane::account::Caller;
use futures_util::Stream;
use identity::identity::bulk_store;
use identity::identity::portable::{PortableIdentity, Sealing};
use identity::strategy::totp::TOTP;
use kernel::sealed::SecretBox;
use kernel::tenant::NamespaceRef;
use kernel::{Error, Result};
use permission::namespace::Namespaces;
use permission::tuple_store::{self, TupleFilter};
use sea_orm::DatabaseTransaction;
use std::sync::Arc;
use store::audit::{self, Change};
use store::sql::db_error;
use uuid::Uuid;

/// Identities per page: each page is one query per table.
const IDENTITY_PAGE: u64 = 500;
const TUPLE_PAGE: u64 = 5_000;

enum Stage {
    Head(Vec<u8>),
    Identities(Option<Uuid>),
    Tuples(i64),
    End,
    Done,
}

struct Exporter {
    snapshot: DatabaseTransaction,
    nid: Uuid,
    stage: Stage,
    cipher: Option<Arc<SecretBox>>,
    key: Option<SecretBox>,
    namespaces: Vec<NamespaceRef>,
    counts: Counts,
}

impl TransferService {
    /// `GET /projects/{id}/export`: the archive as a stream of chunks.
    pub async fn export(
        &self,
        caller: Caller,
        id: Uuid,
        archive_key: Option<&str>,
    ) -> Result<impl Stream<Item = Result<Bytes>> + use<>> {
        let project = self
            .projects
            .authorize(caller, id, Action::ExportProject)
            .await?;
        let key = archive_key.map(archive::archive_key).transpose()?;
        let tenant = self
            .projects
            .tenant_by_id(id)
            .await?
            .ok_or_else(|| Error::not_found("The project does not exist."))?;
        if key.is_none() {
            let seeds = bulk_store::count_credentials(&self.db.conn, id, TOTP).await?;
            if seeds > 0 {
                return Err(Error::bad_request(format!(
                    "{seeds} identities have a TOTP second factor, whose seed leaves only sealed \
                     with an archive key: send one (at least 32 characters) in the \
                     {} header, and the same one with the import",
                    crate::ARCHIVE_KEY_HEADER
                ))
                .with_id("archive_key_required"));
            }
        }
        let (config, schemas) = self.projects.export_config(&project).await?;
        let mut head = Vec::new();
        let header = Header {
            format: archive::FORMAT.to_owned(),
            version: archive::VERSION,
            project: SourceProject {
                id: project.id,
                slug: project.slug.clone(),
                name: project.name.clone(),
            },
            revision_id: project.current_revision_id,
            exported_at: self.clock.now(),
            archive_key_check: key.as_ref().map(archive::key_check),
        };
        archive::line(&Record::Header(header), &mut head)?;
        archive::line(&Record::Config(config), &mut head)?;
        for schema in schemas {
            let schema = IdentitySchema {
                id: schema["id"].as_str().unwrap_or_default().to_owned(),
                url: schema["url"].as_str().unwrap_or_default().to_owned(),
            };
            archive::line(&Record::IdentitySchema(schema), &mut head)?;
        }
        // An export hands out every password hash: who took one is
        // recorded, though reads otherwise are not.
        let txn = self.db.begin_write().await?;
        let event = Change::project(id, "project.export", id).with_patch(serde_json::json!([
            { "op": "add", "path": "/archive_key", "value": key.is_some() }
        ]));
        audit::append(&txn, event, self.clock.now()).await?;
        txn.commit().await.map_err(db_error)?;
        let exporter = Exporter {
            snapshot: self.db.begin_snapshot().await?,
            nid: id,
            stage: Stage::Head(head),
            cipher: tenant.config.identity_config.cipher.clone(),
            key,
            namespaces: tenant.config.namespaces.clone(),
            counts: Counts::default(),
        };
        Ok(futures_util::stream::try_unfold(
            exporter,
            |mut exporter| async move {
                loop {
                    match exporter.next_chunk().await? {
                        Some(chunk) if chunk.is_empty() => continue,
                        Some(chunk) => return Ok(Some((Bytes::from(chunk), exporter))),
                        None => return Ok(None),
                    }
                }
            },
        ))
    }
}

impl Exporter {
    /// The next lines; empty when a stage ended without any, None when the
    /// archive is complete.
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>> {
        let mut out = Vec::new();
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::Head(head) => {
                out = head;
                self.stage = Stage::Identities(None);
            }
            Stage::Identities(after) => {
                let page =
                    bulk_store::page_after(&self.snapshot, self.nid, after, IDENTITY_PAGE).await?;
                self.stage = match page.last() {
                    Some(last) if page.len() as u64 == IDENTITY_PAGE => {
                        Stage::Identities(Some(last.id))
                    }
                    _ => Stage::Tuples(0),
                };
                for identity in page {
                    self.identity_line(identity, &mut out)?;
                }
            }
            Stage::Tuples(after) => {
                let page = tuple_store::list(
                    &self.snapshot,
                    self.nid,
                    &TupleFilter::default(),
                    after,
                    TUPLE_PAGE,
                )
                .await?;
                self.stage = match page.last() {
                    Some((seq, _)) if page.len() as u64 == TUPLE_PAGE => Stage::Tuples(*seq),
                    _ => Stage::End,
                };
                let namespaces = Namespaces(&self.namespaces);
                for (_, tuple) in page {
                    match namespaces.named(&tuple) {
                        Some(named) => {
                            self.counts.relation_tuples += 1;
                            archive::line(&Record::RelationTuple(named), &mut out)?;
                        }
                        // Its namespace was removed from the config: it
                        // cannot be named, nor checked.
                        None => self
                            .counts
                            .leave_out(vec!["relation_tuple_of_removed_namespace".to_owned()]),
                    }
                }
            }
            Stage::End => archive::line(&Record::End(self.counts.clone()), &mut out)?,
            Stage::Done => return Ok(None),
        }
        Ok(Some(out))
    }

    fn identity_line(
        &mut self,
        identity: identity::identity::Identity,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let from = Sealing::Project {
            cipher: self.cipher.as_deref(),
            project_id: self.nid,
        };
        let id = identity.id;
        let mut left_out = Vec::new();
        let portable = PortableIdentity::export(
            identity,
            from,
            Sealing::Archive(self.key.as_ref()),
            &mut left_out,
        )
        .map_err(|e| Error::internal(format!("exporting identity {id}: {e}")))?;
        self.counts.leave_out(left_out);
        self.counts.identities += 1;
        archive::line(&Record::Identity(Box::new(portable)), out)
    }
}
