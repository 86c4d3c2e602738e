//! The `needle` command-line tool: one module per subcommand, all over the public [`Database`]
//! API.
//!
//! Errors go to stderr as `error[<code>]: <context>: <message>`, where `<code>` is the error's
//! stable [`ErrorCode`](crate::ErrorCode) name, and the process exits with status 1 (2 for a
//! command line clap rejects). Commands that write call [`Database::save`] before exiting.
//!
//! [`Database`]: crate::Database
//! [`Database::save`]: crate::Database::save

mod backup;
mod collections;
mod common;
mod compact;
mod create;
mod demo;
mod error;
mod export;
mod import;
mod info;
mod search;
#[cfg(feature = "server")]
pub mod serve;
mod source;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use error::{CliError, CliResult};

/// `needle`: an embedded vector database in one file.
#[derive(Debug, Parser)]
#[command(name = "needle", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Hide progress bars (they are also hidden when stderr is not a terminal).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
#[non_exhaustive]
pub enum Command {
    /// Create a collection (the database file is created when missing).
    Create(create::CreateArgs),
    /// Import vectors from an .fvecs or JSON-lines file.
    Import(import::ImportArgs),
    /// Search a collection by a vector, by a stored vector's id, or by a row of an .fvecs file.
    Search(search::SearchArgs),
    /// Show the database's collections with their configuration, size and memory.
    Info(info::InfoArgs),
    /// List collection names with their vector counts.
    Collections(collections::CollectionsArgs),
    /// Create vectors.needle from the bundled sample (2,000 WordNet glosses) and search it.
    Demo(demo::DemoArgs),
    /// Rewrite every collection without its deleted vectors and checkpoint (the file shrinks).
    Compact(compact::CompactArgs),
    /// Write a consistent copy of a database (while it stays in use).
    Backup(backup::BackupArgs),
    /// Write a collection as JSON lines ({"id", "vector", "metadata"}), the format import reads.
    Export(export::ExportArgs),
    /// Serve a database over HTTP: REST API, API keys, TLS, Prometheus metrics.
    #[cfg(feature = "server")]
    Serve(serve::ServeArgs),
}

/// Options every subcommand sees.
#[derive(Debug, Clone, Copy, Default)]
pub struct Global {
    /// No progress bars.
    pub quiet: bool,
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> CliResult<()> {
    let g = Global { quiet: cli.quiet };
    match cli.command {
        Command::Create(a) => create::run(a, g),
        Command::Import(a) => import::run(a, g),
        Command::Search(a) => search::run(a, g),
        Command::Info(a) => info::run(a, g),
        Command::Collections(a) => collections::run(a, g),
        Command::Demo(a) => demo::run(a, g),
        Command::Export(a) => export::run(a, g),
        Command::Compact(a) => compact::run(a, g),
        Command::Backup(a) => backup::run(a, g),
        #[cfg(feature = "server")]
        Command::Serve(a) => serve::run(a, g),
    }
}

/// The binary's entry point: parses `std::env::args`, runs, reports errors on stderr.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
