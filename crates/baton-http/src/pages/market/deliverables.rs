//! Planning deliverables and ratings on the client dashboard: the review
//! form of a submitted deliverable (`POST /projects/{p}/deliverables/{id}/review`:
//! approve, request changes or reject, with notes) and the rating form of a
//! completed engagement (`POST /projects/{p}/ratings`: 1–5 and feedback),
//! calling the same `review_deliverable` and `rate_expert` services as
//! REST and MCP.

use std::collections::HashMap;

use axum::{
    Form, Router,
    extract::{Path, State},
    response::Response,
    routing::post,
};
use baton_app::{
    AppError,
    marketplace::{
        deliverables::{ReviewDecision, ReviewDeliverable},
        ratings::NewRating,
    },
};
use baton_domain::marketplace::Stage;
use serde::Deserialize;

use super::dashboard::answer;
use crate::{
    AppState,
    pages::layout::{PageError, PageUser, unix_text},
};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{project}/deliverables/{deliverable}/review", post(review))
        .route("/projects/{project}/ratings", post(rate))
}

/// The review form: one of three buttons and the notes.
#[derive(Deserialize)]
struct ReviewForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    notes: String,
}

/// `POST /projects/{p}/deliverables/{id}/review`: approving completes the
/// opportunity and approves its escrow for release.
async fn review(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path((project, deliverable)): Path<(String, String)>,
    Form(f): Form<ReviewForm>,
) -> Result<Response, PageError> {
    let decision = match f.decision.trim() {
        "approve" => Ok(ReviewDecision::Approve),
        "request_changes" => Ok(ReviewDecision::RequestChanges),
        "reject" => Ok(ReviewDecision::Reject),
        _ => Err(AppError::field("decision", "must be approve, request_changes or reject")),
    };
    let notes = unix_text(&f.notes);
    let done = match decision {
        Ok(decision) => {
            let input = ReviewDeliverable { decision, notes: Some(notes.clone()).filter(|n| !n.trim().is_empty()) };
            s.app.review_deliverable(&actor, &deliverable, input).await
        }
        Err(e) => Err(e),
    };
    let values = HashMap::from([("notes".to_string(), notes)]);
    let form = format!("deliverable-{deliverable}");
    answer(&s, &actor, &project, &form, values, done, &form).await
}

/// The rating form of one engagement.
#[derive(Deserialize)]
struct RateForm {
    #[serde(default)]
    expert: String,
    #[serde(default)]
    stage: String,
    #[serde(default)]
    rating: String,
    #[serde(default)]
    feedback: String,
}

/// `POST /projects/{p}/ratings`: the client rates the expert of a completed stage.
async fn rate(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(project): Path<String>,
    Form(f): Form<RateForm>,
) -> Result<Response, PageError> {
    let form = format!("rate-{}-{}", f.stage.trim(), f.expert.trim());
    let stage = Stage::parse_api(f.stage.trim());
    let rating = f.rating.trim().parse::<i64>();
    let feedback = unix_text(&f.feedback);
    let done = match (stage, rating) {
        (None, _) => Err(AppError::field("stage", format!("must be one of {}", Stage::api_values()))),
        (_, Err(_)) => Err(AppError::field("rating", "must be a whole number from 1 to 5")),
        (Some(stage), Ok(rating)) => match s.app.get_project(&actor, &project).await {
            Ok(p) => {
                let input = NewRating {
                    expert: f.expert.trim().to_string(),
                    stage,
                    rating,
                    feedback: Some(feedback.clone()).filter(|t| !t.trim().is_empty()),
                };
                s.app.rate_expert(&actor, &p.id, input).await
            }
            Err(e) => Err(e),
        },
    };
    let values = HashMap::from([("feedback".to_string(), feedback), ("rating".to_string(), f.rating)]);
    answer(&s, &actor, &project, &form, values, done, &form).await
}
