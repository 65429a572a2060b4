//! The REST API. Routes are registered only through `OpenApiRouter`, so a
//! route cannot be mounted without appearing in `/api/openapi.json`.

use axum::{http::Uri, response::IntoResponse};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{AppState, error::ApiError};

pub mod bids;
pub mod bmad_import;
pub mod bulk;
pub mod context;
pub mod cron;
pub mod deliverables;
pub mod documents;
pub mod escrows;
pub mod export;
pub mod health;
pub mod ideas;
pub mod insights;
pub mod job_kinds;
pub mod jobs;
pub mod market_stories;
pub mod me;
pub mod members;
pub mod opportunities;
pub mod pbi_pr;
pub mod pbis;
pub mod prices;
pub mod products;
pub mod projects;
pub mod questions;
pub mod queue_status;
pub mod ratings;
pub mod realtime;
pub mod responses;
#[cfg(test)]
mod schema_limits;
pub mod sprint_runs;
pub mod sprints;
pub mod stories;
pub mod tasks;
pub mod tokens;
pub mod users;
pub mod workers;

#[derive(OpenApi)]
#[openapi(
    // Paths are relative to the server URL `/api`, not absolute: they are
    // what the nested API router matches, so the document and the mount
    // point cannot drift apart, and a client that resolves paths against
    // `servers` (as the spec says) calls `/api/products`, not `/products`.
    servers((url = "/api", description = "this Baton server's API")),
    info(title = "Baton API", description = "Plan and ship work with people and AI coding agents. \
        Authenticate with `Authorization: Bearer <token>` (create one on the settings page or with \
        `baton token create`) or a browser session. Errors share one shape: \
        `{\"error\":{\"code\",\"message\",\"details\":[{\"path\",\"message\"}]}}`."),
    modifiers(&Security),
    components(schemas(crate::error::ErrorBody))
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::middleware::SESSION_COOKIE))),
        );
    }
}

/// Every API route with its documentation; paths are relative to `/api`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::health))
        .routes(routes!(deliverables::submit, deliverables::list))
        .routes(routes!(deliverables::review))
        .routes(routes!(ratings::rate, ratings::list))
        .routes(routes!(ratings::profile))
        .routes(routes!(documents::upload, documents::list))
        .routes(routes!(documents::download))
        .routes(routes!(documents::delete))
        .routes(routes!(me::me))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::get, users::update))
        .routes(routes!(products::list, products::create))
        .routes(routes!(products::get, products::update, products::delete))
        .routes(routes!(products::archive))
        .routes(routes!(products::unarchive))
        .routes(routes!(products::set_active))
        .routes(routes!(members::list, members::add))
        .routes(routes!(members::update, members::remove))
        .routes(routes!(context::claude_context))
        .routes(routes!(context::context))
        .routes(routes!(context::next_story))
        .routes(routes!(context::sprint_tasks))
        .routes(routes!(export::export))
        .routes(routes!(export::import))
        .routes(routes!(pbis::create, pbis::list))
        .routes(routes!(pbis::get, pbis::update, pbis::delete))
        .routes(routes!(pbis::move_pbi))
        .routes(routes!(pbi_pr::set_pr))
        .routes(routes!(pbi_pr::mark_merged))
        .routes(routes!(stories::create, stories::list))
        .routes(routes!(stories::get, stories::update, stories::delete))
        .routes(routes!(stories::move_story))
        .routes(routes!(stories::add_log, stories::list_logs))
        .routes(routes!(market_stories::list, market_stories::upsert))
        .routes(routes!(market_stories::detail))
        .routes(routes!(market_stories::audit))
        .routes(routes!(market_stories::validation))
        .routes(routes!(market_stories::transition))
        .routes(routes!(market_stories::submit_pr))
        .routes(routes!(market_stories::qa_review))
        .routes(routes!(market_stories::approve))
        .routes(routes!(tasks::create, tasks::list))
        .routes(routes!(tasks::get, tasks::update, tasks::delete))
        .routes(routes!(tasks::move_task))
        .routes(routes!(sprints::list, sprints::create))
        .routes(routes!(sprints::get, sprints::update, sprints::delete))
        .routes(routes!(sprints::add_stories))
        .routes(routes!(sprints::remove_story))
        .routes(routes!(sprints::close))
        .routes(routes!(sprints::archive))
        .routes(routes!(sprints::fail))
        .routes(routes!(sprints::board))
        .routes(routes!(sprint_runs::start, sprint_runs::list))
        .routes(routes!(sprint_runs::get))
        .routes(routes!(sprint_runs::cancel))
        .routes(routes!(sprint_runs::resume))
        .routes(routes!(bulk::reorder))
        .routes(routes!(bulk::move_to_sprint))
        .routes(routes!(bulk::status))
        .routes(routes!(questions::list))
        .routes(routes!(questions::get))
        .routes(routes!(questions::answer))
        .routes(routes!(questions::cancel))
        .routes(routes!(cron::expire_questions))
        .routes(routes!(prices::list, prices::create))
        .routes(routes!(prices::update, prices::delete))
        .routes(routes!(job_kinds::list))
        .routes(routes!(job_kinds::get, job_kinds::put))
        .routes(routes!(insights::costs))
        .routes(routes!(realtime::solo))
        .routes(routes!(realtime::notifications))
        .routes(routes!(jobs::enqueue))
        .routes(routes!(jobs::list))
        .routes(routes!(queue_status::queue_status))
        .routes(routes!(jobs::get))
        .routes(routes!(jobs::cancel))
        .routes(routes!(jobs::retry))
        .routes(routes!(jobs::requeue))
        .routes(routes!(workers::list, workers::register))
        .routes(routes!(workers::offline))
        .routes(routes!(ideas::create, ideas::list))
        .routes(routes!(ideas::get, ideas::update))
        .routes(routes!(ideas::list_logs, ideas::add_log))
        .routes(routes!(ideas::put_grill_md))
        .routes(routes!(ideas::put_plan_md))
        .routes(routes!(ideas::dispatch))
        .routes(routes!(ideas::materialize))
        .routes(routes!(ideas::actions))
        .routes(routes!(projects::set_my_roles))
        .routes(routes!(projects::list, projects::create))
        .routes(routes!(projects::get, projects::update))
        .routes(routes!(projects::get_brief, projects::put_brief))
        .routes(routes!(projects::publish_brief))
        .routes(routes!(projects::advance_stage))
        .routes(routes!(bmad_import::import_bmad))
        .routes(routes!(opportunities::create))
        .routes(routes!(opportunities::list))
        .routes(routes!(opportunities::get))
        .routes(routes!(bids::create, bids::list))
        .routes(routes!(bids::mine))
        .routes(routes!(bids::withdraw))
        .routes(routes!(bids::reject))
        .routes(routes!(bids::accept))
        .routes(routes!(escrows::get))
        .routes(routes!(escrows::list_for_project))
        .routes(routes!(escrows::payment))
        .routes(routes!(escrows::fund))
        .routes(routes!(escrows::release))
        .routes(routes!(escrows::refund))
}

/// JSON 404 for unknown API paths: code `route_not_found`, so a client (and
/// the contract test) can tell "no such route" from "no such item" (`not_found`).
pub async fn not_found(uri: Uri) -> impl IntoResponse {
    ApiError::route_not_found(uri.path())
}
