//! Where a database's files are: the real path behind any symbolic links.
//!
//! Every file of a database — the lock, the WAL, the checkpoint's temporary file — is named after
//! the database's path. Named after a symlink, a checkpoint's rename would replace the link with a
//! regular file (the link's target keeps the stale data), and two processes opening the target
//! and the link would lock two different lock files and both write. So a database is always
//! opened by its resolved path: the link is followed once, at open, and left as it is.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use needle_core::{Error, Result};

/// Links followed at most (Linux's own limit is 40).
const MAX_LINKS: usize = 40;

/// `path` with every symbolic link resolved, absolute. The file itself may not exist yet (a new
/// database), and may be a dangling link (a new database created at the link's target); its
/// directory must exist. When even the directory cannot be resolved, `path` is returned as it is
/// and the open reports the problem.
pub(crate) fn resolve(path: &Path) -> Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::canonicalize(&p) {
            Ok(real) => return Ok(real),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        let dir = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        match std::fs::read_link(&p) {
            // A dangling link: go on from its target (relative targets are relative to the link's
            // directory).
            Ok(target) => p = dir.join(target),
            // Not a link: a file not created yet, in a directory that may itself be behind links.
            Err(_) => {
                let (Some(name), Ok(dir)) = (p.file_name(), std::fs::canonicalize(&dir)) else {
                    return Ok(path.to_path_buf());
                };
                return Ok(dir.join(name));
            }
        }
    }
    Err(Error::InvalidArgument(format!("{}: too many levels of symbolic links", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn follows_links_to_existing_missing_and_relative_targets() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir(root.join("data")).unwrap();
        std::fs::write(root.join("data/real.needle"), b"x").unwrap();
        symlink(root.join("data/real.needle"), root.join("link.needle")).unwrap();
        assert_eq!(resolve(&root.join("link.needle")).unwrap(), root.join("data/real.needle"));
        // A dangling, relative link: a new database goes where it points.
        symlink("data/new.needle", root.join("dangling.needle")).unwrap();
        assert_eq!(resolve(&root.join("dangling.needle")).unwrap(), root.join("data/new.needle"));
        // A missing file behind a linked directory.
        symlink(root.join("data"), root.join("alias")).unwrap();
        assert_eq!(resolve(&root.join("alias/fresh.needle")).unwrap(), root.join("data/fresh.needle"));
        // A loop is an error, not a hang.
        symlink(root.join("loop-b"), root.join("loop-a")).unwrap();
        symlink(root.join("loop-a"), root.join("loop-b")).unwrap();
        assert!(resolve(&root.join("loop-a")).is_err());
        // No directory at all: the path as given (the open explains).
        let nowhere = root.join("no/such/dir/x.needle");
        assert_eq!(resolve(&nowhere).unwrap(), nowhere);
    }
}
