//! What a committed BMAD gate or validation report does to a story during
//! `baton import bmad` (see [`crate::marketplace::import`]).

use baton_domain::marketplace::{
    QaGateStatus,
    bmad::{QaGate, scan::Parsed, validation_report::ValidationReport},
    workflow::ValidationDecision,
};
use baton_store::{
    entities::story,
    now,
    sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr},
};
use serde_json::json;

use super::{actions, audit};
use crate::AppResult;

/// Records the committed validation report and QA gate of one story on its
/// row: validation score and decision; gate path, status and quality score.
/// Writes a VALIDATED / GATE_UPDATED audit row with `{file}` for each part
/// that changed and nothing when nothing differs (a second import writes
/// nothing). Never moves the workflow state or money: an import records what
/// the repository says; approval and release stay with the people who own
/// them (`record_validation`, `submit_qa_review`, `approve_story`).
/// Returns whether anything was written.
pub async fn apply_bmad_record<C: ConnectionTrait>(
    c: &C,
    s: &story::Model,
    validation: Option<&Parsed<ValidationReport>>,
    gate: Option<&Parsed<QaGate>>,
    user_id: &str,
) -> AppResult<bool> {
    let mut changed = false;
    if let Some(v) = validation {
        let score = i32::from(v.value.score);
        let decision = v.value.decision.map(|d| match d {
            baton_domain::marketplace::bmad::validation_report::ValidationDecision::Go => ValidationDecision::Go,
            baton_domain::marketplace::bmad::validation_report::ValidationDecision::NoGo => ValidationDecision::NoGo,
        });
        let decision_db = decision.map(|d| d.as_db().to_string());
        if s.validation_score != Some(score) || s.validation_decision != decision_db {
            let at = now();
            story::Entity::update_many()
                .col_expr(story::Column::ValidationScore, Expr::value(score))
                .col_expr(story::Column::ValidationDecision, Expr::value(decision_db))
                .col_expr(story::Column::ValidatedAt, Expr::value(at))
                .col_expr(story::Column::UpdatedAt, Expr::value(at))
                .filter(story::Column::Id.eq(&s.id))
                .exec(c)
                .await?;
            let meta = json!({ "file": v.path, "score": score, "decision": decision, "via": "import" });
            audit(c, &s.id, Some(user_id), actions::VALIDATED, None, None, meta).await?;
            changed = true;
        }
    }
    if let Some(g) = gate {
        let status: QaGateStatus = g.value.gate;
        let quality = g.value.quality_score.map(i32::from);
        let differs = s.qa_gate_path.as_deref() != Some(g.path.as_str())
            || s.qa_gate_status.as_deref() != Some(status.as_db())
            || s.qa_quality_score != quality;
        if differs {
            let reviewed_at = g.value.updated.unwrap_or_else(now);
            story::Entity::update_many()
                .col_expr(story::Column::QaGatePath, Expr::value(g.path.clone()))
                .col_expr(story::Column::QaGateStatus, Expr::value(status.as_db()))
                .col_expr(story::Column::QaQualityScore, Expr::value(quality))
                .col_expr(story::Column::QaReviewedAt, Expr::value(reviewed_at))
                .col_expr(story::Column::UpdatedAt, Expr::value(now()))
                .filter(story::Column::Id.eq(&s.id))
                .exec(c)
                .await?;
            let meta = json!({ "file": g.path, "gate": status, "quality_score": quality, "via": "import" });
            audit(c, &s.id, Some(user_id), actions::GATE_UPDATED, None, None, meta).await?;
            changed = true;
        }
    }
    Ok(changed)
}
