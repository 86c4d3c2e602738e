//! [`CliError`]: a library error plus where it happened (file, line, record).

use std::fmt;

use crate::{Error, ErrorCode};

/// An error from a subcommand: the library [`Error`] (whose stable code is reported) and context
/// such as `data.jsonl:17`.
#[derive(Debug)]
pub struct CliError {
    /// The underlying error.
    pub error: Error,
    /// Outermost first.
    pub context: Vec<String>,
}

/// Result of a subcommand.
pub type CliResult<T> = std::result::Result<T, CliError>;

impl CliError {
    /// The stable code of the underlying error.
    pub fn code(&self) -> ErrorCode {
        self.error.code()
    }
}

impl From<Error> for CliError {
    fn from(error: Error) -> Self {
        CliError { error, context: Vec::new() }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e).into()
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error[{}]: ", self.code().name())?;
        for c in &self.context {
            write!(f, "{c}: ")?;
        }
        write!(f, "{}", self.error)
    }
}

impl std::error::Error for CliError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Adds context to errors.
pub(crate) trait Context<T> {
    /// Prefixes the error with `f()` (evaluated only on error).
    fn context(self, f: impl FnOnce() -> String) -> CliResult<T>;
}

impl<T, E: Into<CliError>> Context<T> for std::result::Result<T, E> {
    fn context(self, f: impl FnOnce() -> String) -> CliResult<T> {
        self.map_err(|e| {
            let mut e = e.into();
            e.context.insert(0, f());
            e
        })
    }
}

/// An `InvalidArgument` error.
pub(crate) fn invalid(msg: impl Into<String>) -> CliError {
    Error::InvalidArgument(msg.into()).into()
}

/// An I/O error naming the path.
pub(crate) fn io_at(path: &std::path::Path, e: std::io::Error) -> CliError {
    Error::Io(std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))).into()
}
