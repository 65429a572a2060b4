//! Product backlog items: create under a product, list, read, change
//! (title, description, priority, status by hand), move, delete (with its
//! stories and tasks).

use baton_domain::{ValidationErrors, backlog::PbiStatus};
use baton_store::{
    entities::{pbi, story},
    events::Event,
    new_id, now,
    sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QuerySelect},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    DEFAULT_PRIORITY, MAX_TEXT, MoveTo, check_opt_text, check_priority, check_title, clean, clean_opt, nullable,
    ordered::{code_and_slot, common_filters, find_in, move_in_product, page_in_order},
    parse_status,
    propagation::{Rollup, Seeds, propagate},
    refs,
};
use crate::{
    Actor, App, AppError, AppResult, access,
    list::{Page, PageParams},
    products,
    txn::in_product_txn,
};

/// Event type published after a PBI was created, changed, moved or deleted.
pub const PBI_CHANGED: &str = "pbi_changed";

/// A PBI as every route returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PbiView {
    /// Id (UUID v7).
    pub id: String,
    /// The product it belongs to.
    pub product_id: String,
    /// `PBI-N`, unique in the product; never changes.
    pub code: String,
    /// Title (1–200 characters).
    pub title: String,
    /// Description (≤ 4000 characters).
    pub description: Option<String>,
    /// 1 (critical) to 4 (nice to have); a label and filter only.
    pub priority: i32,
    /// Position among the product's PBIs (ascending).
    pub sort_order: f64,
    /// ready | blocked | failed | done.
    pub status: PbiStatus,
    /// Pull request for the PBI, if any.
    pub pr_url: Option<String>,
    /// When that pull request was merged.
    pub pr_merged_at: Option<DateTime<Utc>>,
    /// BMAD epic number, for marketplace epics.
    pub epic_number: Option<i32>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// The API form of a PBI row.
pub fn pbi_view(m: pbi::Model) -> AppResult<PbiView> {
    Ok(PbiView {
        status: PbiStatus::decode(&m.status, "pbis.status")?,
        id: m.id,
        product_id: m.product_id,
        code: m.code,
        title: m.title,
        description: m.description,
        priority: m.priority,
        sort_order: m.sort_order,
        pr_url: m.pr_url,
        pr_merged_at: m.pr_merged_at,
        epic_number: m.epic_number,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Input for a new PBI.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPbi {
    /// Title, 1–200 characters.
    #[schema(max_length = 200, pattern = "\\S")]
    pub title: String,
    /// Description, at most 4000 characters.
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub description: Option<String>,
    /// 1 (critical) to 4 (nice to have); default 2.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 4)]
    pub priority: Option<i32>,
}

/// Changes to a PBI; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct PbiPatch {
    /// New title.
    #[serde(default)]
    #[schema(max_length = 200, pattern = "\\S")]
    pub title: Option<String>,
    /// New description; `null` clears it.
    #[serde(default, deserialize_with = "nullable::deserialize")]
    #[schema(value_type = Option<String>, max_length = 4000)]
    pub description: Option<Option<String>>,
    /// New priority, 1–4.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 4)]
    pub priority: Option<i32>,
    /// Set the status by hand (blocked is only ever set this way; the others
    /// are re-derived from the stories when a task changes).
    #[serde(default)]
    pub status: Option<PbiStatus>,
}

/// Which PBIs to list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PbiFilter {
    /// Only this status: ready | blocked | failed | done.
    #[param(value_type = Option<baton_domain::backlog::PbiStatus>, inline)]
    pub status: Option<String>,
    /// Only this priority (1–4).
    #[param(minimum = 1, maximum = 4)]
    pub priority: Option<i32>,
    /// Text in the title or code (case-insensitive).
    pub q: Option<String>,
}

fn validate_new(input: &NewPbi) -> Result<(), ValidationErrors> {
    let mut errs = ValidationErrors::new();
    check_title(&mut errs, "title", &input.title);
    check_opt_text(&mut errs, "description", input.description.as_deref(), MAX_TEXT);
    check_priority(&mut errs, "priority", input.priority);
    errs.into_result()
}

fn validate_patch(p: &PbiPatch) -> Result<(), ValidationErrors> {
    let mut errs = ValidationErrors::new();
    if let Some(t) = &p.title {
        check_title(&mut errs, "title", t);
    }
    if let Some(Some(d)) = &p.description {
        check_opt_text(&mut errs, "description", Some(d), MAX_TEXT);
    }
    check_priority(&mut errs, "priority", p.priority);
    if p.title.is_none() && p.description.is_none() && p.priority.is_none() && p.status.is_none() {
        errs.add("title", "give at least one of title, description, priority or status");
    }
    errs.into_result()
}

impl App {
    /// Announces PBI changes and the roll-ups they caused.
    pub(crate) async fn announce_pbi(&self, product_id: &str, pbi_id: &str, action: &str, roll: &Rollup) {
        let data = json!({ "pbi_id": pbi_id, "action": action, "rollup": rollup_json(roll) });
        self.announce(Event::new(PBI_CHANGED).for_product(product_id).with_data(data)).await;
        self.announce_rollup(product_id, roll).await;
    }

    /// Creates a PBI at the end of the product's backlog, with the next `PBI-N` code.
    pub async fn create_pbi(&self, actor: &Actor, product: &str, input: NewPbi) -> AppResult<PbiView> {
        let p = products::writable_ref(&self.db, actor, product).await?;
        validate_new(&input)?;
        let pid = p.id.clone();
        let row = in_product_txn(&self.db, &p.id, move |c| {
            Box::pin(async move {
                products::ensure_not_archived_in(c, &pid).await?;
                let (code, sort_order) = code_and_slot::<pbi::Entity, _>(c, &pid, &pid).await?;
                let t = now();
                Ok(pbi::ActiveModel {
                    id: Set(new_id()),
                    product_id: Set(pid),
                    code: Set(code),
                    title: Set(clean(&input.title)),
                    description: Set(clean_opt(input.description)),
                    priority: Set(input.priority.unwrap_or(DEFAULT_PRIORITY)),
                    sort_order: Set(sort_order),
                    status: Set(PbiStatus::Ready.as_db().into()),
                    pr_url: Set(None),
                    pr_merged_at: Set(None),
                    epic_number: Set(None),
                    created_at: Set(t),
                    updated_at: Set(t),
                }
                .insert(c)
                .await?)
            })
        })
        .await?;
        self.announce_pbi(&row.product_id, &row.id, "created", &Rollup::default()).await;
        pbi_view(row)
    }

    /// Lists a product's PBIs in backlog order.
    pub async fn list_pbis(
        &self,
        actor: &Actor,
        product: &str,
        filter: PbiFilter,
        params: PageParams,
    ) -> AppResult<Page<PbiView>> {
        let p = products::readable_ref(&self.db, actor, product).await?;
        let status = parse_status(filter.status.as_deref(), "status", PbiStatus::parse_api, PbiStatus::api_values)?;
        let q = common_filters(
            pbi::Entity::find().filter(pbi::Column::ProductId.eq(&p.id)),
            self.db.get_database_backend(),
            status.map(PbiStatus::as_db),
            filter.priority,
            filter.q.as_deref(),
        );
        page_in_order(&self.db, q, params, pbi_view).await
    }

    /// One PBI, by id or code.
    pub async fn get_pbi(&self, actor: &Actor, pbi_ref: &str) -> AppResult<PbiView> {
        pbi_view(refs::resolve_pbi(&self.db, actor, pbi_ref).await?)
    }

    /// Changes a PBI's title, description, priority or status. A status set
    /// by hand re-derives the sprints its stories are in.
    pub async fn update_pbi(&self, actor: &Actor, pbi_ref: &str, patch: PbiPatch) -> AppResult<PbiView> {
        let found = refs::resolve_pbi(&self.db, actor, pbi_ref).await?;
        access::writable(&self.db, actor, &found.product_id).await?;
        validate_patch(&patch)?;
        let id = found.id.clone();
        let (row, roll) = in_product_txn(&self.db, &found.product_id, move |c| {
            Box::pin(async move {
                let m = find_in::<pbi::Entity, _>(c, &id).await?;
                products::ensure_not_archived_in(c, &m.product_id).await?;
                let mut am: pbi::ActiveModel = m.into();
                if let Some(t) = patch.title {
                    am.title = Set(clean(&t));
                }
                if let Some(d) = patch.description {
                    am.description = Set(clean_opt(d));
                }
                if let Some(p) = patch.priority {
                    am.priority = Set(p);
                }
                let status_set = patch.status.is_some();
                if let Some(s) = patch.status {
                    am.status = Set(s.as_db().into());
                }
                am.updated_at = Set(now());
                let row = am.update(c).await?;
                let roll = if status_set {
                    let sprints: Vec<Option<String>> = story::Entity::find()
                        .select_only()
                        .column(story::Column::SprintId)
                        .distinct()
                        .filter(story::Column::PbiId.eq(&row.id))
                        .into_tuple()
                        .all(c)
                        .await?;
                    propagate(c, Seeds::default().and_sprints(sprints)).await?
                } else {
                    Rollup::default()
                };
                Ok((row, roll))
            })
        })
        .await?;
        self.announce_pbi(&row.product_id, &row.id, "updated", &roll).await;
        pbi_view(row)
    }

    /// Moves a PBI within its product's backlog.
    pub async fn move_pbi(&self, actor: &Actor, pbi_ref: &str, to: MoveTo) -> AppResult<PbiView> {
        let found = refs::resolve_pbi(&self.db, actor, pbi_ref).await?;
        access::writable(&self.db, actor, &found.product_id).await?;
        let row = move_in_product::<pbi::Entity>(&self.db, &found.product_id, found.id.clone(), to).await?;
        self.announce_pbi(&row.product_id, &row.id, "moved", &Rollup::default()).await;
        pbi_view(row)
    }

    /// Deletes a PBI with its stories, their tasks and logs; the sprints
    /// those stories were in are re-derived.
    pub async fn delete_pbi(&self, actor: &Actor, pbi_ref: &str) -> AppResult<()> {
        let found = refs::resolve_pbi(&self.db, actor, pbi_ref).await?;
        access::writable(&self.db, actor, &found.product_id).await?;
        let id = found.id.clone();
        let pid = found.product_id.clone();
        let (story_ids, roll) = in_product_txn(&self.db, &found.product_id, move |c| {
            Box::pin(async move {
                products::ensure_not_archived_in(c, &pid).await?;
                let stories: Vec<(String, Option<String>)> = story::Entity::find()
                    .select_only()
                    .column(story::Column::Id)
                    .column(story::Column::SprintId)
                    .filter(story::Column::PbiId.eq(&id))
                    .into_tuple()
                    .all(c)
                    .await?;
                // Jobs, then stories, then the PBI: the order a worker's
                // `done` takes them (the delete cascades the other way).
                let story_ids: Vec<String> = stories.iter().map(|(s, _)| s.clone()).collect();
                super::stories::lock_jobs_under(c, &story_ids).await?;
                crate::sprints::lock_stories(c, &story_ids).await?;
                let res = pbi::Entity::delete_by_id(id).exec(c).await?;
                if res.rows_affected == 0 {
                    return Err(AppError::NotFound("PBI"));
                }
                let sprints = stories.iter().map(|(_, s)| s.clone());
                let roll = propagate(c, Seeds::default().and_sprints(sprints)).await?;
                Ok((stories.into_iter().map(|(s, _)| s).collect::<Vec<_>>(), roll))
            })
        })
        .await?;
        for sid in &story_ids {
            self.announce_story(&found.product_id, sid, "deleted", &Rollup::default()).await;
        }
        self.announce_pbi(&found.product_id, &found.id, "deleted", &roll).await;
        Ok(())
    }
}

/// The roll-up as event data: `{stories: [{id, from, to}], pbis: …, sprints: …}`.
pub(crate) fn rollup_json(roll: &Rollup) -> serde_json::Value {
    fn list<T: Serialize>(v: &[super::propagation::Changed<T>]) -> serde_json::Value {
        v.iter().map(|c| json!({ "id": c.id, "from": c.transition.from, "to": c.transition.to })).collect()
    }
    json!({
        "stories": list(&roll.stories),
        "pbis": list(&roll.pbis),
        "sprints": list(&roll.sprints),
        "sprint_runs": list(&roll.sprint_runs),
        "cancelled_jobs": roll.cancelled_jobs,
    })
}
