//! Custom hostnames: proving a customer's domain points at the project.
pub mod dns;
