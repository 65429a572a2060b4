//! A PBI's pull request (reference §3.3 `set_pbi_pr`, `mark_pbi_pr_merged`):
//! link one, and record that it was merged.
//!
//! Decisions where the reference is silent:
//! - Linking the URL the PBI already has is a no-op that keeps
//!   `pr_merged_at` (and sends no event); a different URL replaces it and
//!   clears `pr_merged_at`, since the new pull request is not merged yet.
//! - Marking merged when it already is keeps the first timestamp.
//! - Marking merged without a linked pull request is a 409 naming the PBI.
//! - The URL is checked by `baton_domain::pull_requests::check_pr_url`
//!   against the host of the product's `repo_url` plus
//!   [`AppConfig::pr_hosts`](crate::AppConfig::pr_hosts); errors name `pr_url`.
//! - Both need write access to the product, which must not be archived
//!   (like every backlog write), and publish the `pbi_changed` event a PBI
//!   update publishes (`action` `pr_linked` / `pr_merged`, with the new
//!   values) after the commit.

use baton_domain::pull_requests::{check_pr_url, repo_host};
use baton_store::{
    entities::pbi,
    events::Event,
    now,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait},
};
use serde::Deserialize;
use serde_json::json;

use super::{
    pbis::{PBI_CHANGED, PbiView, pbi_view, rollup_json},
    propagation::Rollup,
    refs,
};
use crate::{Actor, App, AppError, AppResult, access, products, txn::in_product_txn};

/// The pull request to link to a PBI.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PbiPrInput {
    /// The pull request's URL: `https://host/owner/repo/pull/N` (GitHub),
    /// `…/owner/repo/pulls/N` (Forgejo, Gitea) or
    /// `…/group/repo/-/merge_requests/N` (GitLab), on the host of the
    /// product's repository or an allowed pull request host.
    #[schema(
        max_length = 500,
        pattern = "^https?://[A-Za-z0-9][A-Za-z0-9.-]*(?::[0-9]+)?/(?:[A-Za-z0-9_~][A-Za-z0-9_.~-]*/[A-Za-z0-9_~][A-Za-z0-9_.~-]*/pulls?|[A-Za-z0-9_~][A-Za-z0-9_.~-]*(?:/[A-Za-z0-9_~][A-Za-z0-9_.~-]*)+/-/merge_requests)/[1-9][0-9]{0,17}/?$"
    )]
    pub pr_url: String,
}

impl App {
    /// The hosts a product's pull requests may live on.
    pub(crate) fn pr_hosts_for(&self, repo_url: Option<&str>) -> Vec<String> {
        let mut hosts = self.config.pr_hosts.clone();
        hosts.extend(repo_url.and_then(repo_host));
        hosts
    }

    async fn announce_pbi_pr(&self, row: &pbi::Model, action: &str) {
        let data = json!({
            "pbi_id": row.id,
            "action": action,
            "rollup": rollup_json(&Rollup::default()),
            "pr_url": row.pr_url,
            "pr_merged_at": row.pr_merged_at,
        });
        self.announce(Event::new(PBI_CHANGED).for_product(&row.product_id).with_data(data)).await;
    }

    /// Links a pull request to a PBI (id or code). The same URL again
    /// changes nothing; a different one replaces it and clears `pr_merged_at`.
    pub async fn set_pbi_pr(&self, actor: &Actor, pbi_ref: &str, pr_url: &str) -> AppResult<PbiView> {
        let found = refs::resolve_pbi_at(&self.db, actor, pbi_ref, "pbi_id").await?;
        let product = access::writable(&self.db, actor, &found.product_id).await?;
        let pr = check_pr_url(pr_url, &self.pr_hosts_for(product.repo_url.as_deref()))
            .map_err(|msg| AppError::field("pr_url", msg))?;
        let id = found.id.clone();
        let (row, changed) = in_product_txn(&self.db, &found.product_id, move |c| {
            Box::pin(async move {
                let m = pbi::Entity::find_by_id(id).one(c).await?.ok_or(AppError::NotFound("PBI"))?;
                products::ensure_not_archived_in(c, &m.product_id).await?;
                if m.pr_url.as_deref() == Some(pr.url.as_str()) {
                    return Ok((m, false));
                }
                let mut am: pbi::ActiveModel = m.into();
                am.pr_url = Set(Some(pr.url));
                am.pr_merged_at = Set(None);
                am.updated_at = Set(now());
                Ok((am.update(c).await?, true))
            })
        })
        .await?;
        if changed {
            self.announce_pbi_pr(&row, "pr_linked").await;
        }
        pbi_view(row)
    }

    /// Records that a PBI's pull request was merged (now). 409 when no pull
    /// request is linked; marking it again keeps the first timestamp.
    pub async fn mark_pbi_pr_merged(&self, actor: &Actor, pbi_ref: &str) -> AppResult<PbiView> {
        let found = refs::resolve_pbi_at(&self.db, actor, pbi_ref, "pbi_id").await?;
        access::writable(&self.db, actor, &found.product_id).await?;
        let id = found.id.clone();
        let (row, changed) = in_product_txn(&self.db, &found.product_id, move |c| {
            Box::pin(async move {
                let m = pbi::Entity::find_by_id(id).one(c).await?.ok_or(AppError::NotFound("PBI"))?;
                products::ensure_not_archived_in(c, &m.product_id).await?;
                if m.pr_url.is_none() {
                    return Err(AppError::Conflict(format!(
                        "{} has no linked pull request: link one with set_pbi_pr (PUT /api/pbis/{{id}}/pr) first",
                        m.code
                    )));
                }
                if m.pr_merged_at.is_some() {
                    return Ok((m, false));
                }
                let t = now();
                let mut am: pbi::ActiveModel = m.into();
                am.pr_merged_at = Set(Some(t));
                am.updated_at = Set(t);
                Ok((am.update(c).await?, true))
            })
        })
        .await?;
        if changed {
            self.announce_pbi_pr(&row, "pr_merged").await;
        }
        pbi_view(row)
    }
}
