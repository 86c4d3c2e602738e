//! API keys with roles, checked on the *routed* path.
//!
//! Keys come from `--api-key` / `NEEDLE_API_KEY` / `--api-key-file` (admin) and from a keys
//! file with one key per line, `<role> <key>` (roles `read-only`, `read-write`, `admin`; a word
//! starting with `#` where a role or a comment may stand starts a comment). Configuration that
//! names keys but holds none fails to start rather than serving without keys. A request
//! presents its key as `Authorization: Bearer <key>` or `X-API-Key: <key>`.
//!
//! The check runs as a route layer: it sees the route template the router matched (e.g.
//! `/collections/{name}/vectors`), never the raw path, so percent-encoded slashes, dot segments or
//! doubled slashes cannot reach a handler without a key — they either match a protected route or
//! none. Only the route table's public rows (`GET /health`) skip the check. Keys are compared as SHA-256 digests in constant time,
//! against every configured key (no early exit).

use std::path::Path;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::errors::ApiError;
use super::routes::{self, Access};
use super::state::AppState;

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

/// The role a key needs for a route, by method and routed template, from the route table
/// ([`super::routes::ROUTES`]): `HEAD` needs what `GET` needs, and `OPTIONS` (which only lists
/// methods) what reading needs; a public route needs none (the weakest role is returned); a
/// method or template not in the table needs `Admin`.
pub fn required_role(method: &Method, route: &str) -> Role {
    if method == Method::OPTIONS && routes::ROUTES.iter().any(|r| r.path == route) {
        return Role::ReadOnly;
    }
    match routes::find(method, route).map(|r| r.access) {
        Some(Access::Key(role)) => role,
        Some(Access::Public) => Role::ReadOnly,
        None => Role::Admin,
    }
}

fn presented_key(req: &Request) -> Option<&str> {
    if let Some(v) = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ") {
            return Some(v[7..].trim());
        }
    }
    req.headers().get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim)
}

/// The route layer: 401 without a valid key, 403 when its role is not enough.
pub async fn require_key(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let keys = state.keys();
    if keys.is_empty() {
        return next.run(req).await;
    }
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    // A route layer always runs after routing; without a template, fail closed.
    let need = route.as_deref().map_or(Role::Admin, |r| required_role(req.method(), r));
    let Some(key) = presented_key(&req) else {
        let mut r = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "an API key is required: send `Authorization: Bearer <key>` or `X-API-Key: <key>`",
        )
        .into_response();
        r.headers_mut().insert(header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        return r;
    };
    match keys.role_of(key) {
        None => {
            let mut r =
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "the API key is not valid").into_response();
            r.headers_mut().insert(header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
            r
        }
        Some(role) if role < need => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("this key's role ({}) cannot do this; it needs {}", role.name(), need.name()),
        )
        .into_response(),
        Some(_) => next.run(req).await,
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
        assert_eq!(required_role(&Method::GET, "/collections"), Role::ReadOnly);
        assert_eq!(required_role(&Method::POST, "/collections/{name}/search"), Role::ReadOnly);
        assert_eq!(required_role(&Method::POST, "/collections/{name}/vectors"), Role::ReadWrite);
        assert_eq!(required_role(&Method::DELETE, "/collections/{name}"), Role::Admin);
        assert_eq!(required_role(&Method::POST, "/save"), Role::Admin);
        assert_eq!(required_role(&Method::POST, "/something/new"), Role::Admin);
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
