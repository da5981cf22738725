//! The import: line after line from the request body, identities and
//! tuples gathered into batches, each batch checked and written in one
//! transaction with its audit event. A bad line fails its batch (nothing
//! of it is written) and stops the import with the line's number; the
//! batches before it stay, so the import resumes by sending the same
//! archive again with `mode=merge` (what exists is skipped).

mod batch;
mod options;

pub use options::{ConfigChoice, Ids, ImportOptions, ImportReport, Mode, Tally};

use crate::TransferService;
use crate::archive::{self, Counts, IdentitySchema, Lines, Record, at_line};
use actix_web::web::Bytes;
use controlplane::access::Action;
use controlplane::account::Caller;
use controlplane::project::service::PortableConfig;
use futures_util::Stream;
use identity::identity::bulk_store;
use identity::identity::portable::PortableIdentity;
use kernel::sealed::SecretBox;
use kernel::tenant::TenantCtx;
use kernel::{Error, ErrorKind, Result};
use permission::model::RelationTuple;
use permission::tuple_store::{self, TupleFilter};
use serde_json::json;
use std::collections::HashSet;
use uuid::Uuid;

const IDENTITY_BATCH: usize = 5_000;
const TUPLE_BATCH: usize = 20_000;

/// Where in the archive the reader is: records come in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Section {
    Header,
    Config,
    Identities,
    Tuples,
    End,
}

struct Importer<'a> {
    service: &'a TransferService,
    caller: Caller,
    options: ImportOptions,
    tenant: TenantCtx,
    key: Option<SecretBox>,
    header_seen: bool,
    section: Section,
    config: Option<PortableConfig>,
    schemas: Vec<serde_json::Value>,
    identities: Vec<(u64, PortableIdentity)>,
    tuples: Vec<(u64, RelationTuple)>,
    /// The archive's identity ids, for tuples to follow them (`ids=new`).
    archive_ids: HashSet<Uuid>,
    seen: Counts,
    report: ImportReport,
}

impl TransferService {
    /// The import's query, read once the caller may import here.
    pub async fn import_options(
        &self,
        caller: Caller,
        id: Uuid,
        query: &str,
    ) -> Result<ImportOptions> {
        self.projects
            .authorize(caller, id, Action::ImportProject)
            .await?;
        http::query::parse(query)
    }

    /// `POST /projects/{id}/import`.
    pub async fn import<S, E>(
        &self,
        caller: Caller,
        id: Uuid,
        options: ImportOptions,
        archive_key: Option<&str>,
        body: S,
    ) -> Result<ImportReport>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        self.projects
            .authorize(caller, id, Action::ImportProject)
            .await?;
        let key = archive_key.map(archive::archive_key).transpose()?;
        let tenant = self.tenant(id).await?;
        if options.mode == Mode::Empty && !self.is_empty(id).await? {
            return Err(Error::conflict(
                "The project already has identities or relation tuples: import into an empty \
                 project, or with mode=merge",
            )
            .with_id("project_not_empty"));
        }
        let mut importer = Importer {
            service: self,
            caller,
            options,
            tenant,
            key,
            header_seen: false,
            section: Section::Header,
            config: None,
            schemas: Vec::new(),
            identities: Vec::new(),
            tuples: Vec::new(),
            archive_ids: HashSet::new(),
            seen: Counts::default(),
            report: ImportReport {
                mode: options.mode,
                ids: options.ids,
                ..ImportReport::default()
            },
        };
        let mut lines = Lines::new(body);
        match importer.run(&mut lines).await {
            Ok(()) => Ok(importer.report),
            Err(mut e) => {
                // Say what stays committed, so the caller can resume.
                let mut details = match e.details.take().map(|d| *d) {
                    Some(details @ serde_json::Value::Object(_)) => details,
                    Some(other) => json!({ "cause": other }),
                    None => json!({}),
                };
                details["committed"] = json!({
                    "identities": importer.report.identities.imported,
                    "relation_tuples": importer.report.relation_tuples.imported,
                    "batches": importer.report.batches,
                    "config_applied": importer.report.config.is_some(),
                });
                Err(e.with_details(details))
            }
        }
    }

    async fn tenant(&self, id: Uuid) -> Result<TenantCtx> {
        self.projects
            .tenant_by_id(id)
            .await?
            .ok_or_else(|| Error::not_found("The project does not exist."))
    }

    async fn is_empty(&self, id: Uuid) -> Result<bool> {
        let conn = &self.db.conn;
        let no_identities = bulk_store::page_after(conn, id, None, 1).await?.is_empty();
        let no_tuples = tuple_store::list(conn, id, &TupleFilter::default(), 0, 1)
            .await?
            .is_empty();
        Ok(no_identities && no_tuples)
    }
}

impl Importer<'_> {
    async fn run<S, E>(&mut self, lines: &mut Lines<S>) -> Result<()>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        while let Some((number, line)) = lines.next().await? {
            let record = archive::parse(number, &line)?;
            self.accept(number, record).await?;
        }
        self.report.lines = lines.number();
        if self.section != Section::End {
            return Err(Error::bad_request(format!(
                "the archive ends at line {} without its `end` line: cut short? What was \
                 committed stays; send the whole archive again with mode=merge",
                lines.number()
            ))
            .with_id("archive_incomplete"));
        }
        Ok(())
    }

    /// Moves to `section`, which must not come before the current one.
    async fn enter(&mut self, number: u64, section: Section, kind: &str) -> Result<()> {
        if section < self.section || (section == Section::Header && self.header_seen) {
            return Err(at_line(number, format!("a `{kind}` line out of order")));
        }
        if self.section == Section::End {
            return Err(at_line(number, "a line after the `end` line"));
        }
        if self.section <= Section::Config && section > Section::Config {
            self.apply_config(number).await?;
        }
        if self.section == Section::Identities && section > Section::Identities {
            self.flush_identities().await?;
        }
        if self.section == Section::Tuples && section > Section::Tuples {
            self.flush_tuples().await?;
        }
        self.section = section;
        Ok(())
    }

    async fn accept(&mut self, number: u64, record: Record) -> Result<()> {
        // The first record, not line 1: blank lines are numbered and
        // skipped, and an archive opening with one must not skip this.
        if !self.header_seen && !matches!(record, Record::Header(_)) {
            return Err(at_line(
                number,
                "not a Keyplane export: its first line must be its header",
            ));
        }
        match record {
            Record::Header(header) => {
                self.enter(number, Section::Header, "header").await?;
                self.header_seen = true;
                if header.format != archive::FORMAT || header.version != archive::VERSION {
                    return Err(at_line(
                        number,
                        format!(
                            "format {} version {} is not one this server reads ({} version {})",
                            header.format,
                            header.version,
                            archive::FORMAT,
                            archive::VERSION
                        ),
                    ));
                }
                if let (Some(key), Some(check)) = (&self.key, &header.archive_key_check)
                    && !archive::key_matches(key, check)
                {
                    return Err(at_line(
                        number,
                        "the archive key given is not the one this archive was exported with",
                    )
                    .with_id("archive_key_invalid"));
                }
                self.report.source_project = Some(header.project.id);
            }
            Record::Config(config) => {
                self.enter(number, Section::Config, "config").await?;
                if self.config.replace(config).is_some() {
                    return Err(at_line(number, "a second `config` line"));
                }
            }
            Record::IdentitySchema(IdentitySchema { id, url }) => {
                self.enter(number, Section::Config, "identity_schema")
                    .await?;
                self.schemas.push(json!({ "id": id, "url": url }));
            }
            Record::Identity(identity) => {
                self.enter(number, Section::Identities, "identity").await?;
                self.seen.identities += 1;
                if self.options.ids == Ids::New {
                    self.archive_ids.insert(identity.id);
                }
                self.identities.push((number, *identity));
                if self.identities.len() >= IDENTITY_BATCH {
                    self.flush_identities().await?;
                }
            }
            Record::RelationTuple(tuple) => {
                self.enter(number, Section::Tuples, "relation_tuple")
                    .await?;
                self.seen.relation_tuples += 1;
                self.tuples.push((number, tuple));
                if self.tuples.len() >= TUPLE_BATCH {
                    self.flush_tuples().await?;
                }
            }
            Record::End(counts) => {
                // Checked before the last batches are written: an archive
                // that does not add up leaves them out.
                if (counts.identities, counts.relation_tuples)
                    != (self.seen.identities, self.seen.relation_tuples)
                {
                    return Err(at_line(
                        number,
                        format!(
                            "the archive says {} identities and {} relation tuples, but holds {} and {}",
                            counts.identities,
                            counts.relation_tuples,
                            self.seen.identities,
                            self.seen.relation_tuples
                        ),
                    ));
                }
                self.enter(number, Section::End, "end").await?;
            }
        }
        Ok(())
    }

    /// Applies the archive's config (when chosen) before the first data
    /// line: its schemas and namespaces are what the data is checked
    /// against.
    async fn apply_config(&mut self, number: u64) -> Result<()> {
        let default = match self.options.mode {
            Mode::Empty => ConfigChoice::Apply,
            Mode::Merge => ConfigChoice::Keep,
        };
        let Some(config) = self.config.take() else {
            return Ok(());
        };
        if self.options.config.unwrap_or(default) == ConfigChoice::Keep {
            return Ok(());
        }
        let id = self.tenant.project_id;
        let schemas = std::mem::take(&mut self.schemas);
        let applied = self
            .service
            .projects
            .import_config(self.caller, id, config, schemas)
            .await
            .map_err(|e| match e.kind {
                ErrorKind::BadRequest => {
                    let reason = e.reason.clone().unwrap_or_else(|| e.message.clone());
                    at_line(number, format!("the archive's config: {reason}"))
                }
                _ => e,
            })?;
        self.report.config = Some(applied);
        self.tenant = self.service.tenant(id).await?;
        Ok(())
    }
}
