//! API keys and their roles: what `--api-key` / `NEEDLE_API_KEY` / `--api-key-file` (admin) and
//! a keys file (`<role> <key>` lines; a word starting with `#` where a role or a comment may stand
//! starts a comment) configure. Configuration that names keys but holds none fails to start
//! rather than serving without keys. Keys are kept as SHA-256 digests and compared in constant
//! time against every configured key (no early exit). Plain data: the check on requests is
//! [`super::auth`].

use std::path::Path;

/// What a key may do. Ordered: each role can do everything the ones before it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Read: list, get, search, metrics, OpenAPI.
    ReadOnly,
    /// Also write vectors and create collections.
    ReadWrite,
    /// Also drop collections, compact and save.
    Admin,
}

impl Role {
    /// `read-only`, `read-write` or `admin` (also `read`, `write`, `ro`, `rw`).
    pub fn parse(s: &str) -> Option<Role> {
        match s.to_ascii_lowercase().as_str() {
            "read-only" | "readonly" | "read" | "ro" => Some(Role::ReadOnly),
            "read-write" | "readwrite" | "write" | "rw" => Some(Role::ReadWrite),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The name used in keys files and messages.
    pub fn name(self) -> &'static str {
        match self {
            Role::ReadOnly => "read-only",
            Role::ReadWrite => "read-write",
            Role::Admin => "admin",
        }
    }
}

/// The configured keys (none: the server is open).
#[derive(Clone, Default)]
pub struct ApiKeys {
    keys: Vec<([u8; 32], Role)>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys").field("count", &self.keys.len()).finish()
    }
}

fn digest(key: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, key);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    // Keep the comparison from being short-circuited.
    std::hint::black_box(diff) == 0
}

impl ApiKeys {
    /// No keys.
    pub fn none() -> ApiKeys {
        ApiKeys::default()
    }

    /// Adds a key with a role. Keys must be at least 8 characters of visible ASCII.
    pub fn add(&mut self, key: &str, role: Role) -> Result<(), String> {
        let key = key.trim();
        if key.len() < 8 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("an API key must be at least 8 visible ASCII characters without spaces".into());
        }
        self.keys.push((digest(key.as_bytes()), role));
        Ok(())
    }

    /// Builder form of [`add`](Self::add).
    pub fn with(mut self, key: &str, role: Role) -> Result<ApiKeys, String> {
        self.add(key, role)?;
        Ok(self)
    }

    /// Reads a keys file: lines `<role> <key>`. A line whose first word starts with `#` is a
    /// comment, and so is anything after the key that starts with `#`; a `#` inside a key is
    /// part of it. A file without any key is an error (it must not leave the server open).
    pub fn load_file(&mut self, path: &Path) -> Result<(), String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut found = 0;
        for (i, line) in text.lines().enumerate() {
            let mut parts = line.split_whitespace();
            let Some(role) = parts.next().filter(|w| !w.starts_with('#')) else { continue };
            let key = parts.next();
            let at = || format!("{}:{}", path.display(), i + 1);
            let role = Role::parse(role)
                .ok_or_else(|| format!("{}: unknown role {role:?} (read-only, read-write, admin)", at()))?;
            let key = key.ok_or_else(|| format!("{}: expected `<role> <key>`", at()))?;
            if parts.next().is_some_and(|w| !w.starts_with('#')) {
                return Err(format!("{}: expected `<role> <key>` (a comment after the key starts with `#`)", at()));
            }
            self.add(key, role).map_err(|e| format!("{}: {e}", at()))?;
            found += 1;
        }
        if found == 0 {
            return Err(format!("{}: no keys (only comments or blank lines)", path.display()));
        }
        Ok(())
    }

    /// Reads a file holding one admin key (surrounding whitespace ignored), such as a
    /// container secret: keeps the key out of the process's command line.
    pub fn load_key_file(&mut self, path: &Path) -> Result<(), String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let key = text.trim();
        if key.is_empty() {
            return Err(format!("{}: the file holds no key", path.display()));
        }
        self.add(key, Role::Admin).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// True when no key is configured.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// The role of a presented key, comparing against every key in constant time.
    pub fn role_of(&self, presented: &str) -> Option<Role> {
        let d = digest(presented.as_bytes());
        let mut found = None;
        for (k, role) in &self.keys {
            if ct_eq(k, &d) {
                found = found.max(Some(*role));
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_keys() {
        let keys =
            ApiKeys::none().with("reader-key-1", Role::ReadOnly).unwrap().with("admin-key-1", Role::Admin).unwrap();
        assert_eq!(keys.role_of("reader-key-1"), Some(Role::ReadOnly));
        assert_eq!(keys.role_of("admin-key-1"), Some(Role::Admin));
        assert_eq!(keys.role_of("admin-key-2"), None);
        assert_eq!(keys.role_of(""), None);
        assert!(ApiKeys::none().with("short", Role::Admin).is_err());
    }
    #[test]
    fn keys_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys");
        std::fs::write(&p, "# keys\nread-only  rrrrrrrr1\nadmin aaaaaaaa1 # ops\n\n").unwrap();
        let mut keys = ApiKeys::none();
        keys.load_file(&p).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys.role_of("aaaaaaaa1"), Some(Role::Admin));
        std::fs::write(&p, "root xxxxxxxx1\n").unwrap();
        assert!(ApiKeys::none().load_file(&p).unwrap_err().contains(":1"));
    }
}
