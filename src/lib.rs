//! Durable task execution persisted in PostgreSQL or SQLite.
//!
//! (Crate documentation is completed as the executor lands.)

#![forbid(unsafe_code)]

pub mod model;
pub mod storage;
