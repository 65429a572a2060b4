//! Planning deliverables (marketplace reference §6.1): the accepted expert
//! of an analyst, PM, architect or UX opportunity submits a pull request;
//! the project's client approves it, asks for changes or rejects it.
//!
//! Decisions where the reference is silent:
//! - Only planning stages deliver here. Developer and QA work is delivered
//!   on the story (`submit-pr`, `qa-review`), so a developer opportunity's
//!   deliverable is refused with 409 pointing there.
//! - A new round after changes were requested reuses the same deliverable
//!   row (SUBMITTED again, the newest PR link, review fields cleared), as the
//!   reference's `CHANGES_REQUESTED → SUBMITTED`; after a rejection the
//!   newly accepted expert starts a fresh deliverable.
//! - Asking for changes and rejecting need review notes (the expert must
//!   learn why); approving takes optional notes.
//! - Reject-and-reselect: the deliverable and the expert's bid become
//!   REJECTED, the opportunity opens again without an accepted bid, and an
//!   escrow of that bid that was never funded is removed (nothing is on
//!   chain to refund). A funded one is marked rejected, which opens the
//!   30-day window of an administrator's refund.
//! - A repeated review (approve twice) answers the deliverable unchanged, so
//!   a retried request never approves a release twice.
//! - `pr_author` is the expert's GitHub username when set, else their
//!   Baton username (no GitHub API is called here).

use baton_domain::{
    marketplace::{
        BidStatus, DeliverableStatus, EscrowStatus, OpportunityStatus, Stage,
        deliverables::{Review, ReviewOutcome, check_review, check_submit},
    },
    pull_requests::check_pr_url,
};
use baton_store::{
    entities::{bid, deliverable, escrow, opportunity, product, user},
    events::Event,
    new_id, now,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::escrows;
use crate::{Actor, App, AppError, AppResult, txn::in_product_txn};

/// Longest review notes.
pub const MAX_REVIEW_NOTES: usize = 4000;

/// Event type of a deliverable submitted or reviewed (product streams).
pub const DELIVERABLE_CHANGED: &str = "deliverable_changed";

/// A deliverable as the API answers it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeliverableView {
    /// Id.
    pub id: String,
    /// The planning opportunity it delivers.
    pub opportunity_id: Option<String>,
    /// The expert who submitted it.
    pub expert_id: String,
    /// The stage (analyst, pm, architect, ux).
    pub stage: Stage,
    /// The pull request.
    pub pr_url: String,
    /// Its number.
    pub pr_number: i32,
    /// Its author (GitHub username, else Baton username).
    pub pr_author: String,
    /// Review state.
    pub status: DeliverableStatus,
    /// The client's notes of the last review.
    pub review_notes: Option<String>,
    /// When it was (last) submitted.
    pub submitted_at: chrono::DateTime<chrono::Utc>,
    /// When it was last reviewed.
    pub reviewed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it was approved.
    pub approved_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A submission: the pull request that delivers the stage.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitDeliverable {
    /// The pull request's own page.
    pub pr_url: String,
}

/// The client's review decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    /// Accept: the opportunity completes and its escrow is approved for release.
    Approve,
    /// Ask for another round.
    RequestChanges,
    /// Reject and reselect: the opportunity opens again.
    Reject,
}

/// A review of a deliverable.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewDeliverable {
    /// What the client decides.
    pub decision: ReviewDecision,
    /// Why (required to request changes or reject).
    #[serde(default)]
    pub notes: Option<String>,
}

fn view(m: deliverable::Model) -> AppResult<DeliverableView> {
    Ok(DeliverableView {
        stage: Stage::decode(&m.stage, "deliverables.stage")?,
        status: DeliverableStatus::decode(&m.status, "deliverables.status")?,
        id: m.id,
        opportunity_id: m.opportunity_id,
        expert_id: m.expert_id,
        pr_url: m.pr_url,
        pr_number: m.pr_number,
        pr_author: m.pr_author,
        review_notes: m.review_notes,
        submitted_at: m.submitted_at,
        reviewed_at: m.reviewed_at,
        approved_at: m.approved_at,
    })
}

/// An opportunity with its project and accepted bid, as a deal's parties see it.
struct Deal {
    opportunity: opportunity::Model,
    project: product::Model,
    accepted: Option<bid::Model>,
}

impl App {
    /// Loads an opportunity for one of the parties of its deal: the
    /// project's client or an expert who bid on it. Everyone else gets 404.
    async fn deal_for(&self, actor: &Actor, opportunity_id: &str) -> AppResult<Deal> {
        let not_found = AppError::NotFound("opportunity");
        let opportunity = opportunity::Entity::find_by_id(opportunity_id)
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("opportunity"))?;
        let project = product::Entity::find_by_id(&opportunity.product_id).one(&self.db).await?.ok_or(not_found)?;
        let accepted = match &opportunity.accepted_bid_id {
            Some(id) => bid::Entity::find_by_id(id).one(&self.db).await?,
            None => None,
        };
        let is_client = project.user_id == actor.user_id;
        let bid_on_it = bid::Entity::find()
            .filter(bid::Column::OpportunityId.eq(&opportunity.id))
            .filter(bid::Column::ExpertId.eq(&actor.user_id))
            .one(&self.db)
            .await?
            .is_some();
        if !is_client && !bid_on_it && !actor.is_admin() {
            return Err(AppError::NotFound("opportunity"));
        }
        Ok(Deal { opportunity, project, accepted })
    }

    /// The accepted expert submits (or, after changes were requested,
    /// resubmits) the pull request that delivers a planning stage.
    pub async fn submit_deliverable(
        &self,
        actor: &Actor,
        opportunity_id: &str,
        input: SubmitDeliverable,
    ) -> AppResult<DeliverableView> {
        actor.require_write()?;
        let deal = self.deal_for(actor, opportunity_id).await?;
        let stage = Stage::decode(&deal.opportunity.stage, "opportunities.stage")?;
        let is_expert = deal.accepted.as_ref().is_some_and(|b| b.expert_id == actor.user_id);
        if !is_expert {
            return Err(AppError::Forbidden("only the expert whose bid was accepted submits the deliverable".into()));
        }
        if !stage.is_planning() {
            return Err(AppError::Conflict(format!(
                "a {stage} opportunity is delivered on its story (submit-pr / qa-review), not as a deliverable"
            )));
        }
        let status = OpportunityStatus::decode(&deal.opportunity.status, "opportunities.status")?;
        if status != OpportunityStatus::Closed {
            return Err(AppError::Conflict(format!(
                "the opportunity is {status}; only a closed (awarded) one takes deliverables"
            )));
        }
        let pr = check_pr_url(&input.pr_url, &self.pr_hosts_for(deal.project.repo_url.as_deref()))
            .map_err(|msg| AppError::field("pr_url", msg))?;
        let pr_number =
            i32::try_from(pr.number).map_err(|_| AppError::field("pr_url", "the pull request number is too large"))?;
        let me = user::Entity::find_by_id(&actor.user_id).one(&self.db).await?.ok_or(AppError::NotFound("user"))?;
        let author = me.github_username.clone().unwrap_or_else(|| me.username.clone());
        let opp_id = deal.opportunity.id.clone();
        let expert_id = actor.user_id.clone();
        let row = in_product_txn(&self.db, &deal.project.id, move |c| {
            Box::pin(async move {
                let latest = latest_deliverable(c, &opp_id).await?;
                let latest_status =
                    latest.as_ref().map(|d| DeliverableStatus::decode(&d.status, "deliverables.status")).transpose()?;
                check_submit(latest_status).map_err(AppError::Conflict)?;
                let at = now();
                let reuse = latest
                    .filter(|d| d.expert_id == expert_id && d.status == DeliverableStatus::ChangesRequested.as_db());
                let row = match reuse {
                    Some(d) => {
                        let mut am = d.into_active_model();
                        am.pr_url = Set(pr.url);
                        am.pr_number = Set(pr_number);
                        am.pr_author = Set(author);
                        am.status = Set(DeliverableStatus::Submitted.as_db().into());
                        am.submitted_at = Set(at);
                        am.update(c).await?
                    }
                    None => {
                        deliverable::ActiveModel {
                            id: Set(new_id()),
                            opportunity_id: Set(Some(opp_id)),
                            story_id: Set(None),
                            expert_id: Set(expert_id),
                            stage: Set(stage.as_db().into()),
                            pr_url: Set(pr.url),
                            pr_number: Set(pr_number),
                            pr_author: Set(author),
                            status: Set(DeliverableStatus::Submitted.as_db().into()),
                            review_notes: Set(None),
                            submitted_at: Set(at),
                            reviewed_at: Set(None),
                            approved_at: Set(None),
                        }
                        .insert(c)
                        .await?
                    }
                };
                Ok(row)
            })
        })
        .await?;
        self.announce_deliverable(&row, "submitted").await;
        view(row)
    }

    /// The project's client reviews a submitted deliverable. Approve
    /// completes the opportunity and approves its escrow for release;
    /// reject reopens the opportunity for another expert.
    pub async fn review_deliverable(
        &self,
        actor: &Actor,
        deliverable_id: &str,
        input: ReviewDeliverable,
    ) -> AppResult<DeliverableView> {
        actor.require_write()?;
        let found = deliverable::Entity::find_by_id(deliverable_id)
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("deliverable"))?;
        let opp_id = found.opportunity_id.clone().ok_or(AppError::NotFound("deliverable"))?;
        let deal = self.deal_for(actor, &opp_id).await.map_err(|_| AppError::NotFound("deliverable"))?;
        if deal.project.user_id != actor.user_id {
            return Err(AppError::Forbidden("only the project's client reviews deliverables".into()));
        }
        let notes = input.notes.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_string);
        if notes.as_ref().is_some_and(|n| n.chars().count() > MAX_REVIEW_NOTES) {
            return Err(AppError::field("notes", format!("must be at most {MAX_REVIEW_NOTES} characters")));
        }
        let review = match input.decision {
            ReviewDecision::Approve => Review::Approve,
            ReviewDecision::RequestChanges => Review::RequestChanges,
            ReviewDecision::Reject => Review::Reject,
        };
        if review != Review::Approve && notes.is_none() {
            return Err(AppError::field("notes", "say what must change (required to request changes or reject)"));
        }
        let id = found.id.clone();
        let (row, changed) = in_product_txn(&self.db, &deal.project.id, move |c| {
            Box::pin(async move {
                let d = deliverable::Entity::find_by_id(id).one(c).await?.ok_or(AppError::NotFound("deliverable"))?;
                let from = DeliverableStatus::decode(&d.status, "deliverables.status")?;
                if check_review(from, review).map_err(AppError::Conflict)? == ReviewOutcome::AlreadyDone {
                    return Ok((d, false));
                }
                let at = now();
                let opp =
                    opportunity::Entity::find_by_id(&opp_id).one(c).await?.ok_or(AppError::NotFound("opportunity"))?;
                let expert_id = d.expert_id.clone();
                let mut am = d.into_active_model();
                am.status = Set(review.target().as_db().into());
                am.review_notes = Set(notes);
                am.reviewed_at = Set(Some(at));
                if review == Review::Approve {
                    am.approved_at = Set(Some(at));
                }
                let row = am.update(c).await?;
                match review {
                    Review::Approve => {
                        set_opportunity(c, opp, OpportunityStatus::Completed, false).await?;
                        escrows::approve_release_for_opportunities(c, std::slice::from_ref(&opp_id)).await?;
                    }
                    Review::Reject => {
                        if let Some(bid_id) = &opp.accepted_bid_id {
                            bid::Entity::update_many()
                                .col_expr(bid::Column::Status, BidStatus::Rejected.as_db().into())
                                .col_expr(bid::Column::UpdatedAt, at.into())
                                .filter(bid::Column::Id.eq(bid_id))
                                .exec(c)
                                .await?;
                        }
                        set_opportunity(c, opp, OpportunityStatus::Open, true).await?;
                        escrow::Entity::delete_many()
                            .filter(escrow::Column::OpportunityId.eq(&opp_id))
                            .filter(escrow::Column::ExpertId.eq(&expert_id))
                            .filter(escrow::Column::Status.eq(EscrowStatus::Pending.as_db()))
                            .filter(escrow::Column::TransactionHash.is_null())
                            .exec(c)
                            .await?;
                        // A funded one may now be refunded (within 30 days).
                        escrows::mark_rejected_for_opportunities(c, std::slice::from_ref(&opp_id)).await?;
                    }
                    Review::RequestChanges => {}
                }
                Ok((row, true))
            })
        })
        .await?;
        if changed {
            self.announce_deliverable(&row, &review.target().as_api()).await;
        }
        view(row)
    }

    /// The deliverables of an opportunity, newest first: all of them for the
    /// client, the caller's own for an expert.
    pub async fn list_deliverables(&self, actor: &Actor, opportunity_id: &str) -> AppResult<Vec<DeliverableView>> {
        let deal = self.deal_for(actor, opportunity_id).await?;
        let mut q = deliverable::Entity::find().filter(deliverable::Column::OpportunityId.eq(&deal.opportunity.id));
        if deal.project.user_id != actor.user_id && !actor.is_admin() {
            q = q.filter(deliverable::Column::ExpertId.eq(&actor.user_id));
        }
        q.order_by_desc(deliverable::Column::SubmittedAt).all(&self.db).await?.into_iter().map(view).collect()
    }

    async fn announce_deliverable(&self, d: &deliverable::Model, action: &str) {
        let Ok(Some(opp)) =
            opportunity::Entity::find_by_id(d.opportunity_id.clone().unwrap_or_default()).one(&self.db).await
        else {
            return;
        };
        let data = json!({ "deliverable_id": d.id, "opportunity_id": opp.id, "action": action });
        self.announce(Event::new(DELIVERABLE_CHANGED).for_product(&opp.product_id).with_data(data)).await;
    }
}

async fn latest_deliverable<C: ConnectionTrait>(c: &C, opportunity_id: &str) -> AppResult<Option<deliverable::Model>> {
    Ok(deliverable::Entity::find()
        .filter(deliverable::Column::OpportunityId.eq(opportunity_id))
        .order_by_desc(deliverable::Column::SubmittedAt)
        .one(c)
        .await?)
}

async fn set_opportunity<C: ConnectionTrait>(
    c: &C,
    opp: opportunity::Model,
    status: OpportunityStatus,
    clear_accepted: bool,
) -> AppResult<()> {
    let mut am = opp.into_active_model();
    am.status = Set(status.as_db().into());
    if clear_accepted {
        am.accepted_bid_id = Set(None);
    }
    am.updated_at = Set(now());
    am.update(c).await?;
    Ok(())
}
