//! Cross-site protections, for a server that browsers on the same machine can reach.
//!
//! * **Host check** (DNS rebinding: a page on `evil.example` whose name is re-pointed at
//!   127.0.0.1 is same-origin with this server). A request's `Host` (HTTP/2: `:authority`) must
//!   be an IP address the server is reachable at — the bound address, any address when bound to
//!   `0.0.0.0`/`::`, or a loopback address when bound to one — or `localhost` (bound to loopback or
//!   to all addresses), or a name given with `--allowed-hosts` (`api.example.com`,
//!   `*.example.com`, or `*` for any). Ports are not compared (proxies and port mappings change
//!   them). Others get 403 `host_not_allowed`. A request without `Host` (not from a browser) passes.
//! * **Cross-origin requests**: a request with an `Origin` header is refused (403
//!   `cross_origin`) unless the origin is listed with `--cors-origin` (or is this server's own
//!   origin); listed origins get CORS headers, and their preflight `OPTIONS` requests are
//!   answered here, without a key (browsers never send one on a preflight). Together with the
//!   JSON `Content-Type` that bodies require (a cross-site form cannot send it without a
//!   preflight), no web page can make a browser write to or read from the server.

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::errors::ApiError;

/// Which hosts and origins the server answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrossSite {
    /// Host names accepted besides the bound address and `localhost` (`name`, `*.domain`, `*`).
    pub allowed_hosts: Vec<String>,
    /// Origins (`https://app.example.com`) whose browser requests are allowed, or `*`.
    pub cors_origins: Vec<String>,
}

/// The host part of a `Host` value (no port, no brackets), lower case.
fn host_of(authority: &str) -> String {
    let a = authority.trim();
    let host = if let Some(rest) = a.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        match a.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.contains(':') => h,
            _ => a,
        }
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

impl CrossSite {
    /// Whether a request naming `host` may be answered by a server bound to `bound`.
    pub fn host_allowed(&self, host: &str, bound: IpAddr) -> bool {
        let h = host_of(host);
        if let Ok(ip) = h.parse::<IpAddr>() {
            if bound.is_unspecified() || ip == bound || (bound.is_loopback() && ip.is_loopback()) {
                return true;
            }
        } else if (h == "localhost" || h.ends_with(".localhost")) && (bound.is_loopback() || bound.is_unspecified()) {
            return true;
        }
        self.allowed_hosts.iter().any(|pattern| {
            let p = pattern.trim().trim_end_matches('.').to_ascii_lowercase();
            if p == "*" {
                return true;
            }
            match p.strip_prefix("*.").or_else(|| p.strip_prefix('.')) {
                Some(domain) => h.ends_with(&format!(".{domain}")),
                None => host_of(&p) == h,
            }
        })
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        let o = origin.trim().trim_end_matches('/');
        self.cors_origins.iter().any(|a| a == "*" || a.trim().trim_end_matches('/').eq_ignore_ascii_case(o))
    }
}

/// The authority the request names: `Host`, or the URI's (HTTP/2).
fn authority(req: &Request) -> Option<String> {
    req.headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_string()))
}

fn same_origin(origin: &str, host: Option<&str>) -> bool {
    let Some(host) = host else { return false };
    let o = origin.trim().trim_end_matches('/');
    let rest = o.strip_prefix("http://").or_else(|| o.strip_prefix("https://"));
    rest.is_some_and(|r| r.eq_ignore_ascii_case(host.trim()))
}

fn refuse(status: StatusCode, code: &'static str, message: String) -> Response {
    ApiError::new(status, code, message).into_response()
}

fn cors_headers(headers: &mut HeaderMap, origin: &str) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    headers.append(header::VARY, HeaderValue::from_static("origin"));
}

/// What [`check`] needs: the rules and the address the server is bound to.
#[derive(Debug, Clone)]
pub(crate) struct Site {
    pub rules: CrossSite,
    pub bound: IpAddr,
}

/// The layer (outside the router: it sees every request).
pub(crate) async fn check(State(site): State<std::sync::Arc<Site>>, req: Request, next: Next) -> Response {
    let rules = &site.rules;
    let host = authority(&req);
    if let Some(h) = &host {
        if !rules.host_allowed(h, site.bound) {
            let shown: String = h.chars().take(100).collect();
            return refuse(
                StatusCode::FORBIDDEN,
                "host_not_allowed",
                format!("this server does not answer for host {shown:?}; allow it with --allowed-hosts"),
            );
        }
    }
    let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_string);
    let Some(origin) = origin else {
        // No Origin: not a browser's cross-origin fetch. A cross-site request that is not a
        // plain navigation still says so in Sec-Fetch-Site.
        let cross_site = req.headers().get("sec-fetch-site").is_some_and(|v| v.as_bytes() == b"cross-site");
        if cross_site && !matches!(*req.method(), Method::GET | Method::HEAD) {
            return refuse(
                StatusCode::FORBIDDEN,
                "cross_origin",
                "cross-site requests are refused; allow an origin with --cors-origin".into(),
            );
        }
        return next.run(req).await;
    };
    if rules.origin_allowed(&origin) {
        let preflight =
            req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        if preflight {
            let mut r = StatusCode::NO_CONTENT.into_response();
            let h = r.headers_mut();
            cors_headers(h, &origin);
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, HEAD, POST, DELETE"));
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("authorization, content-type, x-api-key"),
            );
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
            return r;
        }
        let mut r = next.run(req).await;
        cors_headers(r.headers_mut(), &origin);
        return r;
    }
    if same_origin(&origin, host.as_deref()) {
        return next.run(req).await;
    }
    let shown: String = origin.chars().take(100).collect();
    refuse(
        StatusCode::FORBIDDEN,
        "cross_origin",
        format!("requests from origin {shown:?} are refused; allow it with --cors-origin"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let none = CrossSite::default();
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let any: IpAddr = "0.0.0.0".parse().unwrap();
        let lan: IpAddr = "192.0.2.7".parse().unwrap();
        for h in ["127.0.0.1:8080", "127.0.0.1", "localhost:8080", "LOCALHOST", "[::1]:8080", "127.0.0.2"] {
            assert!(none.host_allowed(h, lo), "{h}");
        }
        for h in ["evil.example:8080", "evil.example", "127.0.0.1.evil.example", "192.0.2.7:80", "localhost.evil"] {
            assert!(!none.host_allowed(h, lo), "{h}");
        }
        assert!(none.host_allowed("192.0.2.7:8080", any) && none.host_allowed("localhost", any));
        assert!(!none.host_allowed("vectors.example", any));
        assert!(none.host_allowed("192.0.2.7", lan) && !none.host_allowed("localhost", lan));
        let some =
            CrossSite { allowed_hosts: vec!["vectors.example".into(), "*.corp.example".into()], ..Default::default() };
        assert!(some.host_allowed("Vectors.Example:443", any));
        assert!(some.host_allowed("a.corp.example", any) && !some.host_allowed("corp.example.evil", any));
        let all = CrossSite { allowed_hosts: vec!["*".into()], ..Default::default() };
        assert!(all.host_allowed("anything.example", lo));
    }

    #[test]
    fn origins() {
        let c = CrossSite { cors_origins: vec!["https://app.example".into()], ..Default::default() };
        assert!(c.origin_allowed("https://app.example") && c.origin_allowed("https://APP.example/"));
        assert!(!c.origin_allowed("https://app.example.evil") && !c.origin_allowed("null"));
        assert!(same_origin("http://127.0.0.1:8080", Some("127.0.0.1:8080")));
        assert!(!same_origin("http://evil.example", Some("127.0.0.1:8080")));
    }
}
