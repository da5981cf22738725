//! The permission engine of every tenant (Ory Keto v0.9 compatible):
//! relation tuples scoped by the project id, check and expand as pure walks
//! over a `TupleReader` (SQL or in-memory), the REST API and the gRPC API
//! (`ory.keto.relation_tuples.v1alpha2`).

pub mod api;
pub mod changes;
pub mod check;
pub mod check_cache;
pub mod cte;
pub mod engine;
pub mod expand;
pub mod feed;
pub mod grpc;
mod grpc_convert;
mod grpc_lookup;
pub mod handler;
pub mod limits;
pub mod lookup;
pub mod model;
pub mod namespace;
pub mod params;
pub mod positions;
pub mod reader;
pub mod tuple_store;
pub mod walk;
mod writes;

pub use engine::PermissionEngine;

/// Registers the permission engine's tenant routes.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    handler::configure(cfg);
}
