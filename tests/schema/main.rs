//! Schema tests: the generated DDL really applies to PostgreSQL and SQLite and
//! matches the spec, replaying the migrations gives the schema file, a spec
//! edit becomes migration 0002, and every generated file is labelled and
//! reproducible.
//!
//! PostgreSQL tests use `DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) and FAIL when no server is
//! reachable; each test creates and drops its own database, so they run in
//! parallel.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod add_column;
mod architecture;
mod common;
mod drift;
mod evolve;
mod files;
mod postgres;
mod scenarios;
mod sqlite;
mod statements;
