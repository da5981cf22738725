//! The routes the server registers, from the router itself
//! (`keyplane_server::routing::table`, actix's route introspection), so a
//! new route without a row in the spec or the table fails the test.

/// `(METHOD, path)` of every registered route, on either host; path
/// parameters as `{}`.
pub async fn registered() -> Vec<(String, String)> {
    let mut routes: Vec<(String, String)> = keyplane_server::routing::table()
        .await
        .unwrap()
        .into_iter()
        .map(|route| (route.method, normalize(&route.path)))
        .collect();
    routes.sort();
    routes.dedup();
    routes
}

pub use keyplane_server::routing::path_shape as normalize;
