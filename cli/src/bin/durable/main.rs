//! `durable`: the command-line program of durable-execution.
//!
//! `durable demo` runs a small workflow end to end on an embedded SQLite
//! file; the other commands print the schema, migrate a database and inspect
//! or cancel executions. See `durable --help`.

use anyhow::Result;
use clap::{Parser, Subcommand};
use durable_execution::migrate::Dialect;
use std::process::ExitCode;

/// `println!` that returns an error instead of panicking when stdout is
/// closed (`durable show … | head`).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)?
    }};
}

/// `print!` that returns an error instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout(), $($arg)*)?
    }};
}

mod admin;
mod db;
mod demo;
mod ops;
mod tree;

/// Durable task execution persisted in PostgreSQL or SQLite.
#[derive(Debug, Parser)]
#[command(name = "durable", version, long_about = None)]
struct Cli {
    /// Database: a PostgreSQL `postgres://` URL or libpq `key=value` string
    /// (`host=db user=app dbname=app sslmode=verify-full sslrootcert=ca.pem`),
    /// or a SQLite file path (optionally `sqlite://path`). Default:
    /// $DATABASE_URL, else ./durable.sqlite3.
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        default_value = "durable.sqlite3"
    )]
    database: String,

    /// Machine-readable output: one JSON document on stdout (`status`,
    /// `list`, `show`, `migrate`, `pending-sql`, `prune`; shapes in the README).
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs a demo workflow (parent with children and finalize, a 3-step
    /// sequence, a task retried with backoff) and shows its progress.
    /// Resumes an unfinished demo run found in the database.
    Demo,
    /// Prints the current schema DDL, generated from the spec.
    Ddl {
        /// SQL dialect.
        #[arg(long, default_value_t = Dialect::Postgres, value_parser = dialect_parser())]
        dialect: Dialect,
    },
    /// Applies the pending migrations.
    Migrate {
        /// Stop after this version (staged rollouts); migrations only go forward.
        #[arg(long, value_name = "VERSION")]
        to: Option<i64>,
    },
    /// Prints the SQL `migrate` would run, without running it.
    PendingSql,
    /// Schema tools.
    Schema {
        #[command(subcommand)]
        command: SchemaCommand,
    },
    /// Counts executions by task and status; oldest ready; expired leases.
    Status,
    /// Shows an execution and its subtree.
    Show {
        /// The execution id (`te_…`).
        execution_id: String,
    },
    /// Lists executions, newest first, one page at a time.
    List(ops::ListArgs),
    /// Cancels an execution and every active descendant; refused when it
    /// is already finished.
    Cancel {
        /// The execution id (`te_…`).
        execution_id: String,
    },
    /// Wakes the sleeping execution of a sleeping task by its key:
    /// completed with `--output`, or failed with `--error`.
    Wake {
        /// The sleeping task's id.
        task_id: String,
        /// The key the execution sleeps under.
        key: String,
        /// Complete it with this output (JSON).
        #[arg(
            long,
            value_name = "JSON",
            conflicts_with = "error",
            required_unless_present = "error"
        )]
        output: Option<String>,
        /// Fail it with this error message.
        #[arg(long, value_name = "MESSAGE")]
        error: Option<String>,
    },
    /// Re-runs a top-level execution that finished without completing
    /// (failed, timed out, children or finalize failed, cancelled): back
    /// to ready with attempt 0; its previous children are deleted.
    Retry {
        /// The execution id (`te_…`).
        execution_id: String,
    },
    /// Deletes finished executions: every tree whose top-level execution
    /// finished more than `--older-than` ago and whose executions are all
    /// finished and closed, in batches; reports how many were deleted.
    Prune(ops::PruneArgs),
}

/// `--dialect`: the spellings of [`Dialect`] (listed in `--help`), parsed
/// with its `FromStr`.
fn dialect_parser() -> impl clap::builder::TypedValueParser<Value = Dialect> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(Dialect::ALL.map(Dialect::as_str))
        .try_map(|name| name.parse::<Dialect>())
}

#[derive(Debug, Subcommand)]
enum SchemaCommand {
    /// Compares the database's catalog (columns, types, nullability,
    /// defaults, indexes with their predicates, comments) with the schema
    /// file of this build and lists every difference; exits non-zero when
    /// there is one.
    Check,
}

async fn run(cli: Cli) -> Result<()> {
    if let Command::Ddl { dialect } = cli.command {
        return admin::ddl(dialect);
    }
    let target = db::Target::parse(&cli.database)?;
    let json = cli.json;
    match cli.command {
        Command::Demo => demo::run(&target).await,
        Command::Ddl { .. } => Ok(()),
        Command::Migrate { to } => admin::run_migrate(&target, to, json).await,
        Command::Schema {
            command: SchemaCommand::Check,
        } => admin::schema_check(&target).await,
        Command::PendingSql => admin::pending_sql(&target, json).await,
        Command::Status => admin::status(&target, json).await,
        Command::Show { execution_id } => admin::show(&target, &execution_id, json).await,
        Command::List(args) => ops::list(&target, args, json).await,
        Command::Cancel { execution_id } => admin::cancel(&target, &execution_id).await,
        Command::Wake {
            task_id,
            key,
            output,
            error,
        } => admin::wake(&target, &task_id, &key, output, error).await,
        Command::Retry { execution_id } => ops::retry(&target, &execution_id).await,
        Command::Prune(args) => ops::prune(&target, args, json).await,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    // Background connections (listener, pool) must not delay the exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// Whether the error is a write to a closed stdout (the reader went away).
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes on one line, leaving out causes whose text an
/// outer message already contains (drivers often repeat their source).
fn one_line(error: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in error.chain() {
        let text = cause.to_string().replace('\n', " ");
        for part in text.split(": ") {
            let part = part.trim();
            if part.is_empty() || out.contains(part) {
                continue;
            }
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(part);
        }
    }
    out
}
