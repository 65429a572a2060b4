//! Creating, listing, changing and deleting sprints (reference §3.2
//! `create_sprint`/`update_sprint`).

use baton_domain::{ValidationErrors, backlog::SprintStatus, codes::CodeKind, validation::check_text};
use baton_store::{
    entities::{sprint, story},
    new_id, now,
    repo::sprints as repo,
    sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
        QueryOrder, QuerySelect,
    },
};
use chrono::NaiveDate;
use serde::{Deserialize, Deserializer};

use super::{
    MAX_CODE, MAX_GOAL, SprintStatusChange, SprintView, announce_stories,
    close::{active_run, apply_status, finish_active_run},
    readable_sprint, reload, sprint_status,
    stories::move_stories,
    today, writable_sprint,
};
use crate::{
    Actor, App, AppError, AppResult,
    list::{Page, PageParams},
    txn,
};

/// Input for a new sprint.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSprint {
    /// What the sprint is meant to achieve (1–500 characters).
    #[schema(max_length = 500, pattern = "\\S")]
    pub sprint_goal: String,
    /// An explicit code (≤30 characters, unique in the product); default `SP-N`.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 30, pattern = "^\\S+$")]
    pub code: Option<String>,
    /// First day (`YYYY-MM-DD`); default today (UTC).
    #[serde(default)]
    pub start_date: Option<NaiveDate>,
    /// Last day; not before the start date.
    #[serde(default)]
    pub end_date: Option<NaiveDate>,
}

/// Changes to a sprint; absent fields stay as they are. At least one is needed.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct SprintPatch {
    /// New goal (1–500 characters).
    #[serde(default)]
    #[schema(max_length = 500, pattern = "\\S")]
    pub sprint_goal: Option<String>,
    /// New first day (`null` clears it).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub start_date: Option<Option<NaiveDate>>,
    /// New last day (`null` clears it).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub end_date: Option<Option<NaiveDate>>,
    /// New status. No state machine (the last write wins); a terminal status
    /// without an end date sets it to today; `closed` sets `completed_at`.
    /// Stories stay where they are: use `POST /sprints/{id}/close` to send
    /// unfinished ones back to the backlog.
    #[serde(default)]
    pub status: Option<SprintStatus>,
}

/// Tells "absent" (outer `None`) from "null" (`Some(None)`).
fn double_option<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Ok(Some(Option::<T>::deserialize(d)?))
}

fn check_dates(errs: &mut ValidationErrors, start: Option<NaiveDate>, end: Option<NaiveDate>) {
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        errs.add("end_date", format!("must not be before the start date {s}"));
    }
}

/// Whether a sprint with this code (case-insensitively) exists in the product.
async fn code_taken<C: ConnectionTrait>(db: &C, product_id: &str, code: &str, except: Option<&str>) -> AppResult<bool> {
    Ok(repo::sprint_with_code(db, product_id, code).await?.is_some_and(|id| except != Some(id.as_str())))
}

impl App {
    /// Creates a sprint in a product (status OPEN).
    pub async fn create_sprint(&self, actor: &Actor, product_id: &str, input: NewSprint) -> AppResult<SprintView> {
        let product = crate::products::writable_ref(&self.db, actor, product_id).await?;
        let mut errs = ValidationErrors::new();
        check_text(&mut errs, "sprint_goal", &input.sprint_goal, 1, MAX_GOAL);
        let code = input.code.as_deref().map(str::trim).map(str::to_string);
        if let Some(c) = &code {
            check_text(&mut errs, "code", c, 1, MAX_CODE);
            if c.chars().any(char::is_whitespace) {
                errs.add("code", "must not contain spaces");
            }
        }
        let start = Some(input.start_date.unwrap_or_else(today));
        check_dates(&mut errs, start, input.end_date);
        errs.into_result()?;
        let goal = input.sprint_goal.trim().to_string();
        let pid = product.id.clone();
        let created = txn::in_product_txn(&self.db, &product.id, move |c| {
            Box::pin(async move {
                let code = match code {
                    Some(code) => {
                        if code_taken(c, &pid, &code, None).await? {
                            return Err(AppError::field(
                                "code",
                                format!("{code} is already used by a sprint of this product"),
                            ));
                        }
                        txn::note_code(c, &pid, CodeKind::Sprint, &code).await?;
                        code
                    }
                    None => loop {
                        // Codes given before counters existed (or typed by hand) are skipped.
                        let candidate = txn::allocate_code(c, &pid, CodeKind::Sprint).await?;
                        if !code_taken(c, &pid, &candidate, None).await? {
                            break candidate;
                        }
                    },
                };
                let t = now();
                let m = sprint::ActiveModel {
                    id: Set(new_id()),
                    product_id: Set(pid),
                    code: Set(code),
                    sprint_goal: Set(goal),
                    status: Set(SprintStatus::Open.as_db().into()),
                    start_date: Set(start),
                    end_date: Set(input.end_date),
                    created_at: Set(t),
                    updated_at: Set(t),
                    completed_at: Set(None),
                }
                .insert(c)
                .await?;
                Ok(m)
            })
        })
        .await?;
        self.announce_sprint(&created.product_id, &created.id, "created").await;
        SprintView::of(created)
    }

    /// A product's sprints, newest first, optionally of one status.
    pub async fn list_sprints(
        &self,
        actor: &Actor,
        product_id: &str,
        status: Option<&str>,
        page: PageParams,
    ) -> AppResult<Page<SprintView>> {
        let product = crate::products::readable_ref(&self.db, actor, product_id).await?;
        let (page, limit, offset) = page.window()?;
        let status =
            match status.map(str::trim).filter(|s| !s.is_empty()) {
                Some(s) => Some(SprintStatus::parse_api(s).ok_or_else(|| {
                    AppError::field("status", format!("must be one of: {}", SprintStatus::api_values()))
                })?),
                None => None,
            };
        let mut q = sprint::Entity::find().filter(sprint::Column::ProductId.eq(&product.id));
        if let Some(s) = status {
            q = q.filter(sprint::Column::Status.eq(s.as_db()));
        }
        let total = q.clone().count(&self.db).await?;
        let rows = q
            .order_by_desc(sprint::Column::CreatedAt)
            .order_by_desc(sprint::Column::Id)
            .offset(offset)
            .limit(limit)
            .all(&self.db)
            .await?;
        let items = rows.into_iter().map(SprintView::of).collect::<AppResult<Vec<_>>>()?;
        Ok(Page { items, page, limit, total })
    }

    /// One sprint.
    pub async fn get_sprint(&self, actor: &Actor, sprint_id: &str) -> AppResult<SprintView> {
        SprintView::of(readable_sprint(&self.db, actor, sprint_id).await?)
    }

    /// Changes a sprint's goal, dates or status (reference `update_sprint`).
    pub async fn update_sprint(
        &self,
        actor: &Actor,
        sprint_id: &str,
        patch: SprintPatch,
    ) -> AppResult<SprintStatusChange> {
        let s = writable_sprint(&self.db, actor, sprint_id).await?;
        let mut errs = ValidationErrors::new();
        if patch.sprint_goal.is_none()
            && patch.start_date.is_none()
            && patch.end_date.is_none()
            && patch.status.is_none()
        {
            errs.add(".", "give at least one of sprint_goal, start_date, end_date, status");
        }
        if let Some(g) = &patch.sprint_goal {
            check_text(&mut errs, "sprint_goal", g, 1, MAX_GOAL);
        }
        errs.into_result()?;
        let id = s.id.clone();
        let (view, run) = txn::in_product_txn(&self.db, &s.product_id, move |c| {
            Box::pin(async move {
                let current = reload(c, &id).await?;
                let start = patch.start_date.unwrap_or(current.start_date);
                let end = patch.end_date.unwrap_or(current.end_date);
                // Only a patch that touches the dates is held to their order: a sprint
                // closed before its planned start got today as its end date.
                if patch.start_date.is_some() || patch.end_date.is_some() {
                    let mut errs = ValidationErrors::new();
                    check_dates(&mut errs, start, end);
                    errs.into_result()?;
                }
                let mut am: sprint::ActiveModel = current.clone().into();
                if let Some(g) = patch.sprint_goal {
                    am.sprint_goal = Set(g.trim().to_string());
                }
                am.start_date = Set(start);
                am.end_date = Set(end);
                let mut run = None;
                if let Some(status) = patch.status {
                    let was = sprint_status(&current)?;
                    apply_status(&mut am, &current, status, patch.end_date.flatten().is_some());
                    if status != was {
                        // The run's unfinished jobs first: finishing the run
                        // cancels them, and a worker's `done` holds its job
                        // before it reaches the sprint row.
                        super::close::lock_live_run_jobs(c, &current.id).await?;
                        run = finish_active_run(c, &current, status).await?;
                    }
                }
                am.updated_at = Set(now());
                let m = am.update(c).await?;
                Ok((SprintView::of(m)?, run))
            })
        })
        .await?;
        self.announce_sprint(&view.product_id, &view.id, "updated").await;
        Ok(SprintStatusChange { sprint: view, sprint_run: run })
    }

    /// Deletes a sprint. Its stories go back to the product backlog (open
    /// unless done or failed) and their tasks leave the sprint. A sprint with
    /// an active run (queued, running, paused) is refused (409): agents are
    /// working on it.
    pub async fn delete_sprint(&self, actor: &Actor, sprint_id: &str) -> AppResult<()> {
        let s = writable_sprint(&self.db, actor, sprint_id).await?;
        let id = s.id.clone();
        let story_ids = txn::in_product_txn(&self.db, &s.product_id, move |c| {
            Box::pin(async move {
                let current = reload(c, &id).await?;
                if let Some(run) = active_run(c, &current.id).await? {
                    return Err(AppError::Conflict(format!(
                        "sprint {} has a sprint run that is {}; fail or close the sprint first",
                        current.code,
                        run.status.to_ascii_lowercase()
                    )));
                }
                let stories: Vec<String> = story::Entity::find()
                    .filter(story::Column::SprintId.eq(&current.id))
                    .all(c)
                    .await?
                    .into_iter()
                    .map(|s| s.id)
                    .collect();
                move_stories(c, &stories, None).await?;
                repo::detach_tasks(c, &current.id).await?;
                sprint::Entity::delete_by_id(current.id).exec(c).await?;
                Ok(stories)
            })
        })
        .await?;
        self.announce_sprint(&s.product_id, &s.id, "deleted").await;
        announce_stories(self, &s.product_id, &story_ids, "returned_to_backlog").await;
        Ok(())
    }
}
