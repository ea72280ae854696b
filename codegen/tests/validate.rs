//! One test per kind of spec error: each asserts the whole message, including
//! the file:line:column a maintainer needs to find the mistake.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use durable_execution_codegen::{Error, load, load_bytes};

const PATH: &str = "spec/jobs.yaml";

/// A small valid spec; each test breaks one thing in it.
const BASE: &str = r#"table:
  name: jobs
  doc: Jobs.
  columns:
    - name: id
      type: id
      doc: Key.
    - name: job_id
      type: text
      doc: Public id.
    - name: note
      type: text
      nullable: true
      doc: Free text.
    - name: attempts
      type: integer
      default: "0"
      doc: Attempts so far.
  indexes:
    - name: ix_jobs_job_id
      columns: [job_id]
      unique: true
      doc: Lookup by id.
queries:
  - name: get_job
    doc: One job.
    params:
      - { name: job_id, type: text }
    returns: rows
    sql: |
      SELECT {{ columns() }} FROM {{ table }}
      WHERE job_id = :job_id
  - name: notes
    doc: Notes of every job.
    returns:
      columns:
        - { name: note, type: text, nullable: true }
    postgres: |
      SELECT note FROM {{ table }}
    sqlite: |
      SELECT note FROM {{ table }}
statements:
  - name: lock_jobs
    doc: Locks the table.
    dialects: [postgres]
    postgres: LOCK TABLE {{ table }}
"#;

fn error_of(text: &str) -> String {
    match load(PATH, text) {
        Ok(_) => panic!("the spec should be rejected:\n{text}"),
        Err(Error::Read(e)) => e.to_string(),
        Err(Error::Validate(e)) => e.to_string(),
        Err(other) => panic!("unexpected error kind: {other}"),
    }
}

fn error_of_bytes(bytes: &[u8]) -> String {
    match load_bytes(PATH, bytes) {
        Ok(_) => panic!("the spec should be rejected"),
        Err(Error::Read(e)) => e.to_string(),
        Err(other) => panic!("unexpected error kind: {other}"),
    }
}

fn broken(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "fixture does not contain {from:?}");
    BASE.replacen(from, to, 1)
}

#[test]
fn the_base_spec_is_valid() {
    let spec = load(PATH, BASE).expect("valid");
    assert_eq!(spec.table.columns.len(), 4);
    assert_eq!(spec.source_path, PATH);
}

#[test]
fn yaml_syntax_error() {
    let text = broken("  name: jobs\n", "  name: jobs: x\n");
    assert_eq!(
        error_of(&text),
        "spec/jobs.yaml:2:13: mapping values are not allowed in this context"
    );
}

#[test]
fn unknown_field() {
    let text = broken("      nullable: true\n", "      nulable: true\n");
    assert_eq!(
        error_of(&text),
        "spec/jobs.yaml:13:7: table.columns[2]: unknown field `nulable`, expected one of `name`, `type`, `nullable`, `default`, `doc`, `renamed_from`"
    );
}

#[test]
fn unknown_type() {
    let text = broken("      type: integer\n", "      type: int\n");
    assert_eq!(
        error_of(&text),
        "spec/jobs.yaml:16:13: table.columns[3].type: unknown variant `int`, expected one of `id`, `text`, `integer`, `bigint`, `boolean`, `json`, `timestamp`"
    );
}

#[test]
fn unknown_column_in_an_index() {
    let text = broken("columns: [job_id]", "columns: [job_ids]");
    assert_eq!(
        error_of(&text),
        "spec/jobs.yaml:21:17: index `ix_jobs_job_id` references unknown column `job_ids` (columns of `jobs`: id, job_id, note, attempts)"
    );
}

#[test]
fn param_declared_but_unused() {
    let text = broken(
        "      - { name: job_id, type: text }\n",
        "      - { name: job_id, type: text }\n      - { name: limit, type: bigint }\n",
    );
    let message = error_of(&text);
    assert_eq!(
        message,
        "spec/jobs.yaml:29:17: query `get_job`: parameter `limit` is declared but not used in the postgres SQL\n\
         spec/jobs.yaml:29:17: query `get_job`: parameter `limit` is declared but not used in the sqlite SQL"
    );
}

#[test]
fn param_used_but_undeclared() {
    let text = broken(
        "WHERE job_id = :job_id",
        "WHERE job_id = :job_id AND note = :note::text",
    );
    assert_eq!(
        error_of(&text),
        "spec/jobs.yaml:32:41: query `get_job` (postgres): parameter `:note` is used but not declared in `params`\n\
         spec/jobs.yaml:32:41: query `get_job` (sqlite): parameter `:note` is used but not declared in `params`"
    );
}

#[test]
fn casts_strings_and_comments_are_not_params() {
    let text = broken(
        "WHERE job_id = :job_id",
        "WHERE job_id = :job_id::text AND note <> ':x' -- :y",
    );
    assert!(load(PATH, &text).is_ok());
}

#[test]
fn nullable_column_read_into_a_non_optional_field() {
    let text = broken(
        "{ name: note, type: text, nullable: true }",
        "{ name: note, type: text }",
    );
    assert_eq!(
        error_of(&text),
        "spec/jobs.yaml:37:19: query `notes`: result column `note` is declared non-null but table column `note` is nullable; a NULL would fail at run time. Add `nullable: true` or list the column by name"
    );
}

#[test]
fn non_snake_case_name() {
    let text = broken(
        "    - name: job_id\n      type: text\n",
        "    - name: jobId\n      type: text\n",
    );
    let text = text
        .replace("[job_id]", "[jobId]")
        .replace("WHERE job_id = :job_id", "WHERE jobId = :job_id");
    assert_eq!(
        error_of(&text),
        "spec/jobs.yaml:8:13: column name `jobId` is not snake_case (lowercase letters, digits and `_`, starting with a letter)"
    );
}

#[test]
fn duplicate_column() {
    let text = broken("    - name: note\n", "    - name: job_id\n");
    assert_eq!(
        error_of(&text),
        "spec/jobs.yaml:11:13: duplicate column name `job_id`"
    );
}

#[test]
fn duplicate_index() {
    let text = broken(
        "      doc: Lookup by id.\n",
        "      doc: Lookup by id.\n    - name: ix_jobs_job_id\n      columns: [note]\n      doc: Again.\n",
    );
    assert_eq!(
        error_of(&text),
        "spec/jobs.yaml:24:13: duplicate index name `ix_jobs_job_id`"
    );
}

#[test]
fn duplicate_query() {
    let text = broken("  - name: notes\n", "  - name: get_job\n");
    let message = error_of(&text);
    assert!(
        message.contains("spec/jobs.yaml:33:11: duplicate query name `get_job`"),
        "{message}"
    );
}

#[test]
fn query_missing_sql_for_a_dialect() {
    let text = broken("    sqlite: |\n      SELECT note FROM {{ table }}\n", "");
    assert_eq!(
        error_of(&text),
        "spec/jobs.yaml:33:11: query `notes` has no SQL for sqlite: add `sql:` (both dialects) or `sqlite:`, or restrict `dialects`"
    );
}

#[test]
fn unknown_template_variable() {
    let text = broken(
        "SELECT note FROM {{ table }}\n    sqlite",
        "SELECT note FROM {{ tabel }}\n    sqlite",
    );
    assert_eq!(
        error_of(&text),
        "spec/jobs.yaml:39:7: query `notes` (postgres): unknown template variable `tabel` (available: `table`, `columns(alias?)`)"
    );
}

#[test]
fn select_star() {
    let text = broken("SELECT {{ columns() }} FROM", "SELECT * FROM");
    assert_eq!(
        error_of(&text),
        "spec/jobs.yaml:31:14: query `get_job` (postgres): `*` column lists are not allowed (rows are decoded by name and cornucopia decodes `*` by position); use `{{ columns() }}` or list the columns\n\
         spec/jobs.yaml:31:14: query `get_job` (sqlite): `*` column lists are not allowed (rows are decoded by name and cornucopia decodes `*` by position); use `{{ columns() }}` or list the columns"
    );
}

#[test]
fn returning_star() {
    let text = broken(
        "    postgres: |\n      SELECT note FROM {{ table }}\n",
        "    postgres: |\n      UPDATE {{ table }} SET note = NULL\n      RETURNING *\n",
    );
    assert_eq!(
        error_of(&text),
        "spec/jobs.yaml:40:17: query `notes` (postgres): `*` column lists are not allowed (rows are decoded by name and cornucopia decodes `*` by position); use `{{ columns() }}` or list the columns"
    );
}

#[test]
fn every_error_is_reported_at_once() {
    let text = broken("columns: [job_id]", "columns: [nope]")
        .replace("type: integer", "type: integer\n      nullable: false");
    let text = text.replace("  - name: notes\n", "  - name: Notes\n");
    let message = error_of(&text);
    assert_eq!(message.lines().count(), 2, "{message}");
}

#[test]
fn unknown_column_only_in_the_sqlite_sql() {
    let text = broken(
        "    sqlite: |\n      SELECT note FROM {{ table }}\n",
        "    sqlite: |\n      SELECT note FROM {{ table }} WHERE attempt > 0\n",
    );
    assert_eq!(
        error_of(&text),
        "spec/jobs.yaml:41:42: query `notes` (sqlite): unknown column `attempt`: `jobs` has no such column (columns of `jobs`: id, job_id, note, attempts) and this SQL defines no alias, CTE or record column `attempt`"
    );
}

#[test]
fn unknown_column_only_in_the_postgres_sql() {
    let text = broken(
        "    postgres: |\n      SELECT note FROM {{ table }}\n",
        "    postgres: |\n      SELECT note\n      FROM {{ table }}\n      ORDER BY attempts, notes\n",
    );
    assert_eq!(
        error_of(&text),
        "spec/jobs.yaml:41:26: query `notes` (postgres): unknown column `notes`: `jobs` has no such column (columns of `jobs`: id, job_id, note, attempts) and this SQL defines no alias, CTE or record column `notes`"
    );
}

#[test]
fn unknown_qualified_column() {
    let text = broken(
        "SELECT {{ columns() }} FROM {{ table }}\n      WHERE job_id = :job_id",
        "SELECT {{ columns(\"j\") }} FROM {{ table }} AS j\n      WHERE j.jobid = :job_id",
    );
    assert_eq!(
        error_of(&text),
        "spec/jobs.yaml:32:15: query `get_job` (postgres): unknown column `j.jobid`: `jobs` has no column `jobid` (columns of `jobs`: id, job_id, note, attempts)\n\
         spec/jobs.yaml:32:15: query `get_job` (sqlite): unknown column `j.jobid`: `jobs` has no column `jobid` (columns of `jobs`: id, job_id, note, attempts)"
    );
}

#[test]
fn unknown_column_of_a_derived_table_and_unknown_write_targets() {
    let text = broken(
        "    postgres: |\n      SELECT note FROM {{ table }}\n",
        "    postgres: |\n      UPDATE {{ table }} AS t SET notes = u.note, attempts = t.attempts + 1\n      FROM jsonb_to_recordset(:items::jsonb) AS u(job_id text, note text)\n      WHERE t.job_id = u.jobid\n",
    );
    let text = text.replace(
        "    returns:\n      columns:\n        - { name: note, type: text, nullable: true }\n    postgres",
        "    params:\n      - { name: items, type: json }\n    returns:\n      columns:\n        - { name: note, type: text, nullable: true }\n    postgres",
    );
    let text = text.replace(
        "    sqlite: |\n      SELECT note FROM {{ table }}\n",
        "    sqlite: |\n      SELECT note FROM {{ table }} WHERE job_id IN (SELECT value FROM json_each(:items))\n",
    );
    assert_eq!(
        error_of(&text),
        "spec/jobs.yaml:41:35: query `notes` (postgres): unknown column `notes`: `jobs` has no such column (columns of `jobs`: id, job_id, note, attempts)\n\
         spec/jobs.yaml:43:26: query `notes` (postgres): unknown column `u.jobid`: `u` has no column `jobid` (its columns: job_id, note)"
    );
}

#[test]
fn reserved_word_as_a_column_name() {
    let text = broken("    - name: note\n", "    - name: select\n");
    assert_eq!(
        error_of(&text),
        "spec/jobs.yaml:11:13: column name `select` is an SQL reserved word: PostgreSQL or SQLite rejects it unquoted and the generated SQL does not quote names; rename it (e.g. `jobs_select` or a more specific word)"
    );
}

#[test]
fn reserved_word_as_a_result_column_name() {
    let text = broken(
        "{ name: note, type: text, nullable: true }",
        "{ name: order, type: text, nullable: true }",
    )
    .replace("SELECT note FROM", "SELECT note AS order FROM");
    let message = error_of(&text);
    assert!(
        message.starts_with(
            "spec/jobs.yaml:37:19: result column name `order` is an SQL reserved word: PostgreSQL or SQLite rejects it unquoted"
        ),
        "{message}"
    );
}

#[test]
fn non_utf8_spec() {
    let text = BASE.replacen("doc: Free text.", "doc: Fr\u{e9}e \u{0}text.", 1);
    let mut bytes = text.into_bytes();
    let nul = bytes.iter().position(|&b| b == 0).expect("marker");
    bytes[nul] = 0xFF;
    assert_eq!(
        error_of_bytes(&bytes),
        "spec/jobs.yaml:14:17: invalid UTF-8 byte 0xFF: the spec must be UTF-8 text (re-save the file as UTF-8)"
    );
}

#[test]
fn the_real_spec_is_valid() {
    let path = "spec/task_executions.yaml";
    let bytes = include_bytes!("../../spec/task_executions.yaml");
    match load_bytes(path, bytes) {
        Ok(spec) => {
            assert_eq!(spec.table.name, "task_executions");
            assert!(!spec.queries.is_empty());
        }
        Err(e) => panic!("{path} should validate:\n{e}"),
    }
}

#[test]
fn renamed_from_must_name_a_column_that_no_longer_exists() {
    let text = broken(
        "      nullable: true\n",
        "      nullable: true\n      renamed_from: job_id\n",
    );
    let err = error_of(&text);
    assert!(
        err.contains("renamed from `job_id`, which is a column of the spec"),
        "{err}"
    );
}

#[test]
fn fillfactor_is_accepted_in_range() {
    let text = broken(
        "  doc: Jobs.\n",
        "  doc: Jobs.\n  postgres:\n    fillfactor: 70\n",
    );
    let spec = load(PATH, &text).expect("valid");
    assert_eq!(spec.table.fillfactor(), Some(70));
    assert_eq!(load(PATH, BASE).expect("valid").table.fillfactor(), None);
}

#[test]
fn fillfactor_out_of_range() {
    for (value, column) in [("9", 17), ("101", 17), ("-5", 17)] {
        let text = broken(
            "  doc: Jobs.\n",
            &format!("  doc: Jobs.\n  postgres:\n    fillfactor: {value}\n"),
        );
        assert_eq!(
            error_of(&text),
            format!(
                "spec/jobs.yaml:5:{column}: fillfactor {value} is out of range: PostgreSQL accepts 10 to 100 (percent of each heap page that inserts fill; 100, the default, leaves no room for HOT updates)"
            )
        );
    }
}

#[test]
fn unknown_table_storage_parameter() {
    let text = broken(
        "  doc: Jobs.\n",
        "  doc: Jobs.\n  postgres:\n    filfactor: 70\n",
    );
    assert_eq!(
        error_of(&text),
        "spec/jobs.yaml:5:5: table.postgres: unknown field `filfactor`, expected `fillfactor`"
    );
}

#[test]
fn fillfactor_must_be_an_integer() {
    let text = broken(
        "  doc: Jobs.\n",
        "  doc: Jobs.\n  postgres:\n    fillfactor: high\n",
    );
    assert_eq!(
        error_of(&text),
        "spec/jobs.yaml:5:17: table.postgres.fillfactor: invalid type: string \"high\", expected i64"
    );
}
