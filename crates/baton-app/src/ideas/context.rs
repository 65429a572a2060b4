//! What an agent working on an idea reads first (`get_idea_context`): the
//! idea, its product, its open questions and its latest log entries.

use baton_domain::agents::QuestionStatus;
use baton_store::{
    entities::{idea_log, question},
    now,
    sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect},
};
use serde::Serialize;

use super::{IdeaLogView, IdeaView, find_own, idea_view, logs::log_view, secondary_ids};
use crate::{
    Actor, App, AppError, AppResult,
    products::ProductView,
    questions::{QuestionView, question_view, status_condition},
};

/// How many of the latest log entries the context carries.
pub const CONTEXT_LOGS: u64 = 20;

/// An idea with what an agent needs around it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IdeaContext {
    /// The idea, with grill, plan and plan errors.
    pub idea: IdeaView,
    /// Its product, when it has one the caller can still read.
    pub product: Option<ProductView>,
    /// Its questions still waiting for an answer, oldest first.
    pub open_questions: Vec<QuestionView>,
    /// Its latest log entries (at most 20), oldest first.
    pub recent_logs: Vec<IdeaLogView>,
}

impl App {
    /// The caller's idea with its product, open questions and recent logs.
    pub async fn idea_context(&self, actor: &Actor, idea_ref: &str) -> AppResult<IdeaContext> {
        let m = find_own(&self.db, actor, idea_ref).await?;
        let product = match m.product_id.as_deref() {
            Some(p) => match self.get_product(actor, p).await {
                Ok(p) => Some(p),
                // Access to the product may have been lost since; the idea stays readable.
                Err(AppError::NotFound(_) | AppError::Forbidden(_)) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        let at = now();
        let open_questions = question::Entity::find()
            .filter(question::Column::IdeaId.eq(&m.id))
            .filter(status_condition(QuestionStatus::Open, at))
            .order_by_asc(question::Column::CreatedAt)
            .order_by_asc(question::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|q| question_view(q, at))
            .collect::<AppResult<Vec<_>>>()?;
        let mut recent_logs = idea_log::Entity::find()
            .filter(idea_log::Column::IdeaId.eq(&m.id))
            .order_by_desc(idea_log::Column::CreatedAt)
            .order_by_desc(idea_log::Column::Id)
            .limit(CONTEXT_LOGS)
            .all(&self.db)
            .await?
            .into_iter()
            .map(log_view)
            .collect::<AppResult<Vec<_>>>()?;
        recent_logs.reverse();
        let secondaries = secondary_ids(&self.db, &m.id).await?;
        Ok(IdeaContext { idea: idea_view(m, secondaries)?, product, open_questions, recent_logs })
    }
}
