//! The control plane: projects and their config revisions, accounts and
//! API tokens.

pub mod revision;
