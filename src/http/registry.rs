//! One declaration per route: a handler's `#[utoipa::path]` names its method and path, and [`routes!`] both
//! serves the handler there and adds the operation to the OpenAPI document, so the two cannot drift.
//!
//! Not `utoipa-actix-web` (0.2 does support utoipa 6): it needs actix's `#[get("…")]` on every handler,
//! which makes each method a resource of its own behind a guard, so a wrong method on a known path would
//! answer 404 instead of 405; and the `actix_extras` it relies on reads extractors into the document, which
//! would change the published contract. Here a path stays one `web::resource` holding all its methods.

use std::collections::BTreeMap;

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::{Next, from_fn};
use actix_web::{FromRequest, Handler, Resource, Responder, Route, web};
use futures_util::future::LocalBoxFuture;
use utoipa::openapi::path::{PathItem, Paths};
use utoipa::openapi::{OpenApi, RefOr, Schema};

/// A middleware some resources of a group are wrapped in. A function pointer so that every resource of a
/// registry has one type; `from_fn` adapts it.
pub type Layer =
    fn(ServiceRequest, Next<BoxBody>) -> LocalBoxFuture<'static, Result<ServiceResponse<BoxBody>, actix_web::Error>>;

/// The routes of one group (mounted at the app's root or inside one scope) and their operations.
pub struct Routes {
    /// The scope the group is mounted in: documented paths are full, actix's are relative to it.
    prefix: &'static str,
    entries: Vec<Entry>,
    layer: Option<Layer>,
    paths: Paths,
    schemas: BTreeMap<String, RefOr<Schema>>,
}

/// One path: all its methods in one resource, so a wrong method answers 405.
struct Entry {
    path: String,
    routes: Vec<Route>,
    layer: Option<Layer>,
}

impl Routes {
    /// A group mounted at the app's root.
    pub fn new() -> Routes {
        Routes::under("")
    }

    /// A group mounted in `web::scope(prefix)`; every documented path of it starts with `prefix`.
    pub fn under(prefix: &'static str) -> Routes {
        Routes { prefix, entries: Vec::new(), layer: None, paths: Paths::new(), schemas: BTreeMap::new() }
    }

    /// Serves `handler` at the path and method(s) that `doc`, its own one-operation document, names, and
    /// keeps the operation. Call it through [`routes!`], which builds `doc` from the handler's attribute.
    pub fn add<F, Args>(&mut self, doc: OpenApi, handler: F) -> &mut Routes
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        for (path, item) in &doc.paths.paths {
            let layer = self.layer;
            let at = match self.entries.iter().position(|entry| entry.path == *path) {
                Some(at) => at,
                None => {
                    self.entries.push(Entry { path: path.clone(), routes: Vec::new(), layer });
                    self.entries.len() - 1
                }
            };
            for method in methods(item) {
                self.entries[at].routes.push(web::route().method(method).to(handler.clone()));
            }
        }
        self.paths.merge(doc.paths);
        self.schemas.extend(doc.components.into_iter().flat_map(|components| components.schemas));
        self
    }

    /// Adds, through `add`, resources that are wrapped in `layer` (a path's first route decides).
    pub fn layered(&mut self, layer: Layer, add: impl FnOnce(&mut Routes)) -> &mut Routes {
        let outer = self.layer.replace(layer);
        add(self);
        self.layer = outer;
        self
    }

    /// Adds this group's operations and the schemas they use to `doc`.
    pub fn document(&self, doc: &mut OpenApi) {
        doc.paths.merge(self.paths.clone());
        let components = doc.components.get_or_insert_with(Default::default);
        components.schemas.extend(self.schemas.clone());
    }

    /// Registers the resources in the order their paths were first added: a literal path such as
    /// `/v1/watchers/rotate-address` must be added before `/v1/watchers/{id}`, which would take it as an id.
    pub fn mount(self, cfg: &mut web::ServiceConfig) {
        for entry in self.entries {
            // A path outside the prefix would be served at prefix + path; the route test finds that.
            let path = entry.path.strip_prefix(self.prefix).unwrap_or(&entry.path);
            let resource = entry.routes.into_iter().fold(web::resource(path), Resource::route);
            match entry.layer {
                Some(layer) => cfg.service(resource.wrap(from_fn(layer))),
                None => cfg.service(resource),
            };
        }
    }
}

impl Default for Routes {
    fn default() -> Self {
        Routes::new()
    }
}

/// The methods a documented path item has, as actix names them.
fn methods(item: &PathItem) -> Vec<Method> {
    [
        (item.get.is_some(), Method::GET),
        (item.put.is_some(), Method::PUT),
        (item.post.is_some(), Method::POST),
        (item.delete.is_some(), Method::DELETE),
        (item.options.is_some(), Method::OPTIONS),
        (item.head.is_some(), Method::HEAD),
        (item.patch.is_some(), Method::PATCH),
        (item.trace.is_some(), Method::TRACE),
    ]
    .into_iter()
    .filter_map(|(present, method)| present.then_some(method))
    .collect()
}

/// `routes!(r => list, create, api_keys::revoke)`: adds each handler to the [`Routes`] `r` at the path
/// and method(s) of its `#[utoipa::path]`. utoipa's own derive resolves the handler's generated path type,
/// so only public utoipa API is used.
macro_rules! routes {
    ($routes:expr => $($($handler:ident)::+),+ $(,)?) => {{
        $(
            $routes.add(
                {
                    #[derive(utoipa::OpenApi)]
                    #[openapi(paths($($handler)::+))]
                    struct Doc;
                    <Doc as utoipa::OpenApi>::openapi()
                },
                $($handler)::+,
            );
        )+
    }};
}
pub(crate) use routes;
