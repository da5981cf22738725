//! Project members: who belongs to a project, with which role.

pub mod handler;
pub mod service;
pub mod store;

use serde::Serialize;
use uuid::Uuid;

/// `projectMember` (= `cloudAccount`), plus the member's role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberView {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: crate::access::Role,
}
