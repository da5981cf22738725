//! Keyplane's schema, as reversible sea-orm migrations.
//!
//! Rules: one ALTER per statement (SQLite cannot do more), every `up` has a
//! `down` that restores the previous schema exactly, and every migration is
//! tested up → down → up on SQLite and PostgreSQL (`tests/tests/migrations.rs`).
//! Migrations are frozen once released: change the schema with a new one.

pub use sea_orm_migration::prelude::*;

mod m20261121_000001_accounts;
mod m20261121_000002_projects;
mod m20261121_000003_identities;
mod m20261121_000004_relation_tuples;
mod m20261122_000005_members_invites_courier;
mod m20261122_000006_courier_html_smtp;
mod m20261122_000007_verification_tokens;
mod m20261122_000008_subscriptions;
mod m20261122_000009_custom_hostnames;
mod m20261201_000010_ui_branding;
mod m20261202_000001_login_throttle;
mod m20261202_000011_sealed_mail_secrets;
mod m20261202_000012_flow_internal_context;
mod m20261203_000013_audit_events;
mod m20261203_000014_permission_engine_ii;
mod m20261204_000015_tuple_object_subject_index;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_accounts::Migration),
            Box::new(m20261121_000002_projects::Migration),
            Box::new(m20261121_000003_identities::Migration),
            Box::new(m20261121_000004_relation_tuples::Migration),
            Box::new(m20261122_000005_members_invites_courier::Migration),
            Box::new(m20261122_000006_courier_html_smtp::Migration),
            Box::new(m20261122_000007_verification_tokens::Migration),
            Box::new(m20261122_000008_subscriptions::Migration),
            Box::new(m20261122_000009_custom_hostnames::Migration),
            Box::new(m20261201_000010_ui_branding::Migration),
            Box::new(m20261202_000011_sealed_mail_secrets::Migration),
            Box::new(m20261202_000001_login_throttle::Migration),
            Box::new(m20261202_000012_flow_internal_context::Migration),
            Box::new(m20261203_000013_audit_events::Migration),
            Box::new(m20261203_000014_permission_engine_ii::Migration),
            Box::new(m20261204_000015_tuple_object_subject_index::Migration),
        ]
    }
}
