//! The idea's documents: `grill_md` (the grill's result) and `plan_md` (the
//! plan, parsed per §7.3). Writing either moves the idea through its
//! lifecycle (`baton_domain::idea_lifecycle`).
//!
//! Every grill written and every plan that parses is also kept as an
//! immutable revision (`doc_revisions`, folder GRILLS or PLANS of the idea's
//! product, slug `<code lower>-grill|plan`, numbered per idea and folder);
//! materialization links the PBI to the revisions it used (`pbi_docs`).

use baton_domain::{
    idea_lifecycle::{GRILL_MD_WRITABLE_IN, after_plan_md, grill_md_writable},
    ideas::{IdeaLogType, IdeaStatus},
    plan_md::{PlanError, parse_plan_md, refuse_hostile},
};
use baton_store::{
    entities::{doc_revision, idea},
    new_id, now,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder},
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    IdeaView, check_markdown, check_plan_size, ensure_not_archived, find_own, idea_view, logs::add_log, secondary_ids,
};
use crate::{Actor, App, AppError, AppResult, txn::in_user_txn};

/// Longest `grill_md`, in characters (§3.8).
pub const MAX_GRILL_MD: usize = 64_000;

/// Statuses in which `plan_md` may be written: while a make-plan job runs
/// (PLANNING) and wherever one may be dispatched (GRILLED, PLAN_FAILED,
/// PLAN_READY), so the owner can also fix a failed plan by hand.
pub const PLAN_MD_WRITABLE_IN: &[IdeaStatus] =
    &[IdeaStatus::Planning, IdeaStatus::Grilled, IdeaStatus::PlanFailed, IdeaStatus::PlanReady];

/// A markdown document for an idea.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkdownInput {
    /// The markdown (grill: 1–64000 characters; plan: at most 256 KB).
    #[schema(pattern = "\\S")]
    pub markdown: String,
}

/// The outcome of writing `plan_md`: stored either way; `ok` says whether it
/// parsed (status plan_ready) or not (status plan_failed, with `errors`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PlanMdResult {
    /// Whether the plan parsed.
    pub ok: bool,
    /// The idea after the write.
    pub idea: IdeaView,
    /// Why it did not parse: line numbers for YAML errors, dotted paths for
    /// schema errors; empty when `ok`.
    pub errors: Vec<PlanError>,
}

fn statuses(list: &[IdeaStatus]) -> String {
    list.iter().map(|s| s.as_api()).collect::<Vec<_>>().join(", ")
}

/// 409 when the idea has no product (grill and plan need one, §3.8).
fn ensure_product(m: &idea::Model) -> AppResult<()> {
    if m.product_id.is_none() {
        return Err(AppError::Conflict(format!("idea {} has no product; set its product_id first", m.code)));
    }
    Ok(())
}

/// Folder of grill revisions.
pub const GRILLS: &str = "GRILLS";
/// Folder of plan revisions.
pub const PLANS: &str = "PLANS";

/// The idea's latest revision in `folder`, if any.
pub(super) async fn latest_revision<C: ConnectionTrait>(
    c: &C,
    idea_id: &str,
    folder: &str,
) -> AppResult<Option<doc_revision::Model>> {
    Ok(doc_revision::Entity::find()
        .filter(doc_revision::Column::IdeaId.eq(idea_id))
        .filter(doc_revision::Column::Folder.eq(folder))
        .order_by_desc(doc_revision::Column::Revision)
        .one(c)
        .await?)
}

/// Keeps `content` as the idea's newest revision in `folder` (GRILLS or
/// PLANS) and returns it; when the latest revision already has exactly this
/// content, that one is returned and nothing is written. Call inside the
/// owner's transaction; the idea must have a product.
pub(super) async fn pin_revision<C: ConnectionTrait>(
    c: &C,
    m: &idea::Model,
    folder: &'static str,
    content: &str,
    created_by: &str,
) -> AppResult<doc_revision::Model> {
    let latest = latest_revision(c, &m.id, folder).await?;
    if let Some(r) = latest.as_ref().filter(|r| r.content == content) {
        return Ok(r.clone());
    }
    let product_id = m.product_id.clone().ok_or_else(|| AppError::internal("a revision needs the idea's product"))?;
    let suffix = if folder == GRILLS { "grill" } else { "plan" };
    Ok(doc_revision::ActiveModel {
        id: Set(new_id()),
        product_id: Set(product_id),
        idea_id: Set(m.id.clone()),
        folder: Set(folder.into()),
        slug: Set(format!("{}-{suffix}", m.code.to_lowercase())),
        revision: Set(latest.map_or(1, |r| r.revision + 1)),
        content: Set(content.to_string()),
        created_by: Set(Some(created_by.to_string())),
        created_at: Set(now()),
    }
    .insert(c)
    .await?)
}

impl App {
    /// Stores the grill's result and sets the idea GRILLED. Allowed while
    /// the idea is grilling, grilled or plan_ready, and only with a product.
    pub async fn update_idea_grill_md(&self, actor: &Actor, idea_ref: &str, markdown: String) -> AppResult<IdeaView> {
        actor.require_write()?;
        let found = find_own(&self.db, actor, idea_ref).await?;
        check_markdown(&markdown, MAX_GRILL_MD)?;
        let (id, uid) = (found.id.clone(), actor.user_id.clone());
        let row = in_user_txn(&self.db, &actor.user_id, move |c| {
            Box::pin(async move {
                let m = idea::Entity::find_by_id(id).one(c).await?.ok_or(AppError::NotFound("idea"))?;
                ensure_not_archived(&m)?;
                ensure_product(&m)?;
                let current = IdeaStatus::decode(&m.status, "ideas.status")?;
                if !grill_md_writable(current) {
                    return Err(AppError::Conflict(format!(
                        "grill_md cannot be written while the idea is {}; allowed in: {}",
                        current.as_api(),
                        statuses(GRILL_MD_WRITABLE_IN)
                    )));
                }
                let chars = markdown.chars().count();
                let rev = pin_revision(c, &m, GRILLS, &markdown, &uid).await?;
                let mut am: idea::ActiveModel = m.into();
                am.grill_md = Set(Some(markdown));
                am.status = Set(IdeaStatus::Grilled.as_db().into());
                am.updated_at = Set(now());
                let row = am.update(c).await?;
                add_log(
                    c,
                    &row.id,
                    IdeaLogType::GrillResult,
                    format!("Grill written ({chars} characters, rev {})", rev.revision),
                    Some(json!({ "revision_id": rev.id, "revision": rev.revision })),
                )
                .await?;
                Ok(row)
            })
        })
        .await?;
        self.announce_idea(&row, "grilled").await;
        let secondaries = secondary_ids(&self.db, &row.id).await?;
        idea_view(row, secondaries)
    }

    /// Stores a plan and parses it: PLAN_READY when it parses, PLAN_FAILED
    /// (plan kept, errors logged and returned) when it does not. Allowed in
    /// [`PLAN_MD_WRITABLE_IN`], only with a product; a plan over 256 KB, a
    /// YAML bomb or absurdly nested YAML is refused (422 on `markdown`) with
    /// nothing written.
    pub async fn update_idea_plan_md(
        &self,
        actor: &Actor,
        idea_ref: &str,
        markdown: String,
    ) -> AppResult<PlanMdResult> {
        actor.require_write()?;
        let found = find_own(&self.db, actor, idea_ref).await?;
        check_plan_size(&markdown)?;
        check_markdown(&markdown, usize::MAX)?;
        // A YAML bomb or absurd nesting is refused with nothing written;
        // ordinary mistakes are stored as PLAN_FAILED to be fixed.
        refuse_hostile(&markdown).map_err(|e| AppError::field("markdown", e.summary()))?;
        let (id, uid) = (found.id.clone(), actor.user_id.clone());
        let (row, errors) = in_user_txn(&self.db, &actor.user_id, move |c| {
            Box::pin(async move {
                let m = idea::Entity::find_by_id(id).one(c).await?.ok_or(AppError::NotFound("idea"))?;
                ensure_not_archived(&m)?;
                ensure_product(&m)?;
                let current = IdeaStatus::decode(&m.status, "ideas.status")?;
                if !PLAN_MD_WRITABLE_IN.contains(&current) {
                    return Err(AppError::Conflict(format!(
                        "plan_md cannot be written while the idea is {}; allowed in: {}",
                        current.as_api(),
                        statuses(PLAN_MD_WRITABLE_IN)
                    )));
                }
                let parsed = parse_plan_md(&markdown);
                let status = after_plan_md(parsed.is_ok());
                // Only a plan that parses becomes a revision: it is what
                // materialization may pin.
                let rev = match parsed {
                    Ok(_) => Some(pin_revision(c, &m, PLANS, &markdown, &uid).await?),
                    Err(_) => None,
                };
                let mut am: idea::ActiveModel = m.into();
                am.plan_md = Set(Some(markdown));
                am.status = Set(status.as_db().into());
                am.updated_at = Set(now());
                let row = am.update(c).await?;
                let errors = match parsed {
                    Ok(plan) => {
                        let (stories, tasks) = (plan.stories.len(), plan.task_count());
                        let r = rev.as_ref().map_or(0, |r| r.revision);
                        let content = format!("Plan ready: {stories} stories, {tasks} tasks (rev {r})");
                        let revision_id = rev.as_ref().map(|r| r.id.clone());
                        let meta = json!({
                            "story_count": stories, "task_count": tasks, "revision": r, "revision_id": revision_id,
                        });
                        add_log(c, &row.id, IdeaLogType::PlanResult, content, Some(meta)).await?;
                        Vec::new()
                    }
                    Err(errs) => {
                        let meta = json!({ "errors": errs.0 });
                        add_log(c, &row.id, IdeaLogType::JobEvent, "plan_md parse failed".into(), Some(meta)).await?;
                        errs.0
                    }
                };
                Ok((row, errors))
            })
        })
        .await?;
        self.announce_idea(&row, "planned").await;
        let secondaries = secondary_ids(&self.db, &row.id).await?;
        // The view derives the same errors again from the stored plan.
        let idea = idea_view(row, secondaries)?;
        Ok(PlanMdResult { ok: errors.is_empty(), idea, errors })
    }
}

#[cfg(test)]
mod tests {
    use baton_domain::idea_lifecycle::MAKE_PLAN_FROM;

    use super::*;

    #[test]
    fn plan_md_is_writable_where_a_make_plan_job_runs_or_may_be_dispatched() {
        for status in MAKE_PLAN_FROM.iter().chain([&IdeaStatus::Planning]) {
            assert!(PLAN_MD_WRITABLE_IN.contains(status), "{status:?}");
        }
        assert_eq!(PLAN_MD_WRITABLE_IN.len(), MAKE_PLAN_FROM.len() + 1);
    }
}
