//! The error responses of the API documentation, each described once. A
//! route lists every status it can answer from these sets in its
//! `#[utoipa::path(responses(...))]`, beside its success response; the test
//! below checks the statuses that follow from a route's shape (credentials,
//! a body, path or query parameters, a write) are all there.

use utoipa::IntoResponses;

use crate::error::ErrorBody;

/// 400, 413 and 422 of a JSON request body.
#[derive(IntoResponses)]
pub enum BadBody {
    /// The body is not JSON, or is not sent as `Content-Type: application/json`.
    #[response(status = 400)]
    Malformed(ErrorBody),
    /// The body is larger than the server accepts.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// A field is missing, mistyped or invalid; `details` names each one.
    #[response(status = 422)]
    Invalid(ErrorBody),
}

/// 422: a query parameter (or an input the service checks) is invalid;
/// `details` names each one.
#[derive(IntoResponses)]
#[response(status = 422)]
pub struct Invalid(pub ErrorBody);

/// 401: no credentials, or a wrong, expired or revoked token or session.
#[derive(IntoResponses)]
#[response(status = 401)]
pub struct Unauthorized(pub ErrorBody);

/// 403: the caller's role or access does not allow this, the account is a
/// read-only demo account, or a browser write came from another site.
#[derive(IntoResponses)]
#[response(status = 403)]
pub struct Forbidden(pub ErrorBody);

/// 503: a dependency the request needs is not configured or not reachable
/// (e.g. chain verification without an RPC endpoint).
#[derive(IntoResponses)]
#[response(status = 503)]
pub struct Unavailable(pub ErrorBody);

/// 404: no such item, or one the caller may not see.
#[derive(IntoResponses)]
#[response(status = 404)]
pub struct NotFound(pub ErrorBody);

/// 409: the item's current state does not allow this (e.g. archived, closed,
/// already taken).
#[derive(IntoResponses)]
#[response(status = 409)]
pub struct Conflict(pub ErrorBody);

#[cfg(test)]
mod tests {
    /// Every operation documents the statuses its shape can answer: 401 when
    /// it needs credentials, 403 for writes (demo accounts, cross-site
    /// browser writes), 400/413/422 with a request body, 404 with a path
    /// parameter and 422 with query parameters.
    #[test]
    fn every_operation_documents_the_statuses_its_shape_can_answer() {
        let doc = serde_json::to_value(crate::openapi()).expect("document");
        let mut missing = Vec::new();
        let paths = doc["paths"].as_object().expect("paths");
        for (path, item) in paths {
            for (method, op) in item.as_object().expect("path item") {
                let params = op["parameters"].as_array().cloned().unwrap_or_default();
                let has = |place: &str| params.iter().any(|p| p["in"] == place);
                // A path parameter must be in the path: a query struct left
                // without `parameter_in = Query` is documented as `in: path`.
                for p in params.iter().filter(|p| p["in"] == "path") {
                    let name = p["name"].as_str().unwrap_or_default();
                    if !path.contains(&format!("{{{name}}}")) {
                        missing.push(format!("{method} {path}: `{name}` documented in the path but not in it"));
                    }
                }
                let mut needed = Vec::new();
                if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                    needed.push("401");
                }
                if method != "get" {
                    needed.push("403");
                }
                if op.get("requestBody").is_some() {
                    needed.extend(["400", "413", "422"]);
                }
                if has("path") {
                    needed.push("404");
                }
                if has("query") {
                    needed.push("422");
                }
                for status in needed {
                    if op["responses"].get(status).is_none() {
                        missing.push(format!("{method} {path}: {status}"));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "undocumented statuses:\n{}", missing.join("\n"));
    }
}
