//! `/experts/{username}`: an expert's public profile (the service of
//! `GET /api/experts/{username}`): the roles they bid with, average rating
//! and count overall and per stage, completed engagements, and the newest
//! ratings (stage, stars, feedback, and the client once the profile names
//! clients, exactly as the API shows them). Any signed-in user may read it;
//! an unknown or disabled user is the one 404 page.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{Path, State},
    response::{IntoResponse, Response},
    routing::get,
};
use baton_app::marketplace::ratings::ExpertProfile;

use super::browse::stage_label;
use crate::{
    AppState,
    pages::{
        layout::{Layout, OrPage, PageError, PageUser},
        tasks::fmt_time,
    },
};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/experts/{username}", get(show))
}

/// One rating as the profile lists it.
struct RatingRow {
    stage: String,
    stars: i32,
    /// `★★★★☆`, read out through the label.
    star_text: String,
    feedback: Option<String>,
    client: Option<String>,
    at: String,
}

/// Per-stage averages.
struct StageRow {
    stage: String,
    average: String,
    count: u64,
}

fn star_text(n: i32) -> String {
    let n = usize::try_from(n.clamp(0, 5)).unwrap_or(0);
    format!("{}{}", "★".repeat(n), "☆".repeat(5 - n))
}

#[derive(Template, WebTemplate)]
#[template(path = "market/browse_expert.html")]
struct ExpertPage {
    layout: Layout,
    p: ExpertProfile,
    roles: Vec<String>,
    stages: Vec<StageRow>,
    ratings: Vec<RatingRow>,
}

async fn show(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(username): Path<String>,
) -> Result<Response, PageError> {
    let p = s.app.expert_profile(&actor, &username).await.or_page(&actor)?;
    let layout = Layout::new(&s, &actor, &format!("Expert {}", p.username), "opportunities").await.or_page(&actor)?;
    let page = ExpertPage {
        layout,
        roles: p.roles.iter().map(|r| stage_label(*r)).collect(),
        stages: p
            .stages
            .iter()
            .map(|st| StageRow {
                stage: stage_label(st.stage),
                average: st.summary.average.clone().unwrap_or_else(|| "—".into()),
                count: st.summary.count,
            })
            .collect(),
        ratings: p
            .recent
            .iter()
            .map(|r| RatingRow {
                stage: stage_label(r.stage),
                stars: r.rating,
                star_text: star_text(r.rating),
                feedback: r.feedback.clone(),
                client: r.client.clone(),
                at: fmt_time(r.created_at),
            })
            .collect(),
        p,
    };
    Ok(page.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_are_drawn_out_of_five() {
        assert_eq!(star_text(4), "★★★★☆");
        assert_eq!(star_text(9), "★★★★★");
        assert_eq!(star_text(-1), "☆☆☆☆☆");
    }
}
