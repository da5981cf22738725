//! Export and import of a whole tenant: `GET /projects/{id}/export`
//! streams one NDJSON archive (config, identity schemas, identities with
//! their credentials, relation tuples; see `archive`), `POST
//! /projects/{id}/import` streams one back in, batch by batch. Neither
//! holds the archive in memory: the export reads page after page from one
//! snapshot, the import reads line after line and writes a batch per
//! transaction (docs/export-import.md).

pub mod archive;
mod export;
pub mod handler;
mod import;

pub use import::{ConfigChoice, Ids, ImportOptions, ImportReport, Mode, Tally};

use controlplane::project::service::ProjectService;
use identity::IdentityEngine;
use kernel::clock::SharedClock;
use store::Database;

/// The header that carries the archive key, which second factors are
/// sealed with inside an archive (never a query parameter: URLs are
/// logged).
pub const ARCHIVE_KEY_HEADER: &str = "Keyplane-Archive-Key";

#[derive(Clone)]
pub struct TransferService {
    db: Database,
    projects: ProjectService,
    /// Checks imported traits against the project's schemas.
    identities: IdentityEngine,
    /// Told of imported tuples, so checks after an import see them.
    permissions: permission::PermissionEngine,
    clock: SharedClock,
}

impl TransferService {
    pub fn new(
        db: Database,
        projects: ProjectService,
        identities: IdentityEngine,
        permissions: permission::PermissionEngine,
        clock: SharedClock,
    ) -> Self {
        Self {
            db,
            projects,
            identities,
            permissions,
            clock,
        }
    }
}

pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    handler::configure(cfg);
}
