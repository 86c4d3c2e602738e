//! The route table: every route of the API as one row of (method, path, who may call it,
//! handler, OpenAPI operation). The router ([`super::router`]), the role check
//! ([`super::auth`]) and the OpenAPI document ([`super::openapi`]) are all built from this one
//! table, so a route cannot be served without a role or left out of the document.

use axum::http::Method;
use axum::routing::{on, MethodFilter, MethodRouter};
use utoipa::openapi::OpenApi;

use super::handlers::{collections, health, hybrid, maintenance, observability, search, vectors};
use super::keys::Role;
use super::state::AppState;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, even when API keys are configured.
    Public,
    /// A key with at least this role (when keys are configured).
    Key(Role),
}

/// One route.
#[derive(Clone)]
pub struct Route {
    /// HTTP method (`HEAD` is served by `GET` routes with the same access).
    pub method: Method,
    /// Path template as the router matches it (`{name}` segments).
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// The handler, registered for the given method.
    endpoint: fn(MethodFilter) -> MethodRouter<AppState>,
    /// Adds the route's operation (and the schemas it uses) to an OpenAPI document.
    docs: fn(&mut OpenApi),
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("access", &self.access)
            .finish()
    }
}

impl Route {
    /// The handler as a method router for this route's method.
    pub(crate) fn endpoint(&self) -> MethodRouter<AppState> {
        (self.endpoint)(method_filter(&self.method))
    }

    /// Adds this route's operation to `doc`.
    pub(crate) fn document(&self, doc: &mut OpenApi) {
        (self.docs)(doc)
    }

    /// The role a caller needs (`None`: public).
    pub fn role(&self) -> Option<Role> {
        match self.access {
            Access::Public => None,
            Access::Key(role) => Some(role),
        }
    }
}

fn method_filter(m: &Method) -> MethodFilter {
    match *m {
        Method::GET => MethodFilter::GET,
        Method::POST => MethodFilter::POST,
        Method::PUT => MethodFilter::PUT,
        Method::DELETE => MethodFilter::DELETE,
        Method::PATCH => MethodFilter::PATCH,
        _ => unreachable!("the route table uses only GET, POST, PUT, DELETE and PATCH"),
    }
}

/// The OpenAPI operation of a handler annotated with `#[utoipa::path]` (its generated
/// `__path_<handler>` type), with its tags and the schemas it references.
fn docs<P>(doc: &mut OpenApi)
where
    P: utoipa::Path + utoipa::__dev::SchemaReferences + for<'t> utoipa::__dev::Tags<'t>,
{
    let mut operation = P::operation();
    let tags = <P as utoipa::__dev::Tags>::tags();
    if !tags.is_empty() {
        operation.tags.get_or_insert_with(Vec::new).extend(tags.iter().map(|t| t.to_string()));
    }
    doc.paths.add_path_operation(P::path(), P::methods(), operation);
    let mut schemas = Vec::new();
    P::schemas(&mut schemas);
    doc.components.get_or_insert_with(Default::default).schemas.extend(schemas);
}

use Access::{Key, Public};
use Role::{Admin, ReadOnly, ReadWrite};

/// One row: `route!(METHOD "path", access, module::handler, module::__path_handler)` (the second
/// path is the OpenAPI operation `#[utoipa::path]` generated for the handler; a test checks that
/// its method and path are the row's).
macro_rules! route {
    ($method:ident $path:literal, $access:expr, $handler:path, $doc:ty) => {
        Route {
            method: Method::$method,
            path: $path,
            access: $access,
            endpoint: |m| on(m, $handler),
            docs: docs::<$doc>,
        }
    };
}

/// Every route of the API.
pub static ROUTES: &[Route] = &[
    route!(GET "/health", Public, health::health, health::__path_health),
    route!(GET "/health/ready", Key(ReadOnly), health::ready, health::__path_ready),
    route!(GET "/collections", Key(ReadOnly), collections::list_collections, collections::__path_list_collections),
    route!(POST "/collections", Key(ReadWrite), collections::create_collection, collections::__path_create_collection),
    route!(GET "/collections/{name}", Key(ReadOnly), collections::get_collection, collections::__path_get_collection),
    route!(DELETE "/collections/{name}", Key(Admin), collections::drop_collection, collections::__path_drop_collection),
    route!(POST "/collections/{name}/vectors", Key(ReadWrite), vectors::insert_vector, vectors::__path_insert_vector),
    route!(POST "/collections/{name}/vectors/batch", Key(ReadWrite), vectors::insert_batch, vectors::__path_insert_batch),
    route!(POST "/collections/{name}/vectors/upsert", Key(ReadWrite), vectors::upsert_vector, vectors::__path_upsert_vector),
    route!(GET "/collections/{name}/vectors/{id}", Key(ReadOnly), vectors::get_vector, vectors::__path_get_vector),
    route!(DELETE "/collections/{name}/vectors/{id}", Key(ReadWrite), vectors::delete_vector, vectors::__path_delete_vector),
    route!(POST "/collections/{name}/search", Key(ReadOnly), search::search, search::__path_search),
    route!(POST "/collections/{name}/search/batch", Key(ReadOnly), search::search_batch, search::__path_search_batch),
    route!(POST "/collections/{name}/search/hybrid", Key(ReadOnly), hybrid::search_hybrid, hybrid::__path_search_hybrid),
    route!(POST "/collections/{name}/compact", Key(Admin), maintenance::compact, maintenance::__path_compact),
    route!(POST "/save", Key(Admin), maintenance::save, maintenance::__path_save),
    route!(GET "/metrics", Key(ReadOnly), observability::metrics, observability::__path_metrics),
    route!(GET "/openapi.json", Key(ReadOnly), observability::openapi_json, observability::__path_openapi_json),
];

/// The row for a method and routed template. `HEAD` finds the `GET` row (axum serves `HEAD`
/// with the `GET` handler).
pub fn find(method: &Method, path: &str) -> Option<&'static Route> {
    let method = if method == Method::HEAD { &Method::GET } else { method };
    ROUTES.iter().find(|r| r.method == method && r.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_row_documents_its_own_method_and_path() {
        for r in ROUTES {
            let mut doc = OpenApi::default();
            r.document(&mut doc);
            let paths: Vec<&String> = doc.paths.paths.keys().collect();
            assert_eq!(paths, [r.path], "{r:?}");
            let item = &doc.paths.paths[r.path];
            let op = match r.method {
                Method::GET => &item.get,
                Method::POST => &item.post,
                Method::DELETE => &item.delete,
                _ => panic!("{r:?}"),
            };
            assert!(op.is_some(), "{r:?}: the operation documents another method");
            let _ = r.endpoint();
        }
    }

    #[test]
    fn rows_are_unique_and_found() {
        for (i, r) in ROUTES.iter().enumerate() {
            assert!(ROUTES[..i].iter().all(|o| (o.method.clone(), o.path) != (r.method.clone(), r.path)), "{r:?}");
            assert_eq!(find(&r.method, r.path).map(|f| f.path), Some(r.path));
        }
        assert_eq!(find(&Method::HEAD, "/collections").unwrap().method, Method::GET);
        assert!(find(&Method::PUT, "/collections").is_none());
    }
}
