//! `check_queue_empty` (reference §3.3): how many of the caller's own jobs
//! are still waiting or being worked on, so an agent (or a script) can tell
//! whether to keep looping.
//!
//! "The caller's jobs" are the jobs queued for the caller's workers
//! (`jobs.user_id` = caller), in `queued`, `claimed` or `running`. A
//! product filter must name a product the caller can read (404 otherwise,
//! as everywhere); without one, only products the caller can read (within a
//! token's scope) are counted, so a scoped token never learns about the
//! others. `by_product` lists products that have live jobs only.

use std::collections::BTreeMap;

use baton_store::{
    entities::job,
    sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect},
};
use serde::Serialize;

use super::enqueue::active_db;
use crate::{Actor, App, AppResult, products, questions::readable_products};

/// How many of the caller's jobs are still live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct QueueStatus {
    /// No job of the caller is queued, claimed or running (in the product, if one was given).
    pub empty: bool,
    /// How many are.
    pub remaining: u64,
    /// The product counted, when one was asked for (its id, also when a code was given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    /// Without a product: live jobs per product id, for the products the
    /// caller can read that have any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_product: Option<BTreeMap<String, u64>>,
}

impl App {
    /// Counts the caller's queued, claimed and running jobs, in one product
    /// (id or code; 404 unless the caller can read it) or per readable product.
    pub async fn queue_status(&self, actor: &Actor, product_id: Option<&str>) -> AppResult<QueueStatus> {
        let mine = job::Entity::find()
            .filter(job::Column::UserId.eq(&actor.user_id))
            .filter(job::Column::Status.is_in(active_db()));
        if let Some(p) = product_id.map(str::trim).filter(|p| !p.is_empty()) {
            let p = products::readable_ref(&self.db, actor, p).await?;
            let remaining = mine.filter(job::Column::ProductId.eq(&p.id)).count(&self.db).await?;
            return Ok(QueueStatus { empty: remaining == 0, remaining, product_id: Some(p.id), by_product: None });
        }
        let rows: Vec<(String, i64)> = mine
            .filter(readable_products(actor, job::Column::ProductId))
            .select_only()
            .column(job::Column::ProductId)
            .column_as(job::Column::Id.count(), "n")
            .group_by(job::Column::ProductId)
            .into_tuple()
            .all(&self.db)
            .await?;
        let by_product: BTreeMap<String, u64> =
            rows.into_iter().map(|(p, n)| (p, u64::try_from(n).unwrap_or(0))).collect();
        let remaining = by_product.values().sum();
        Ok(QueueStatus { empty: remaining == 0, remaining, product_id: None, by_product: Some(by_product) })
    }
}
