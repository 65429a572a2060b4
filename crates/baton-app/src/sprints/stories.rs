//! Planning stories into a sprint and taking them out; the story moves
//! here are shared with the bulk operations.

use std::collections::HashMap;

use baton_domain::{
    ValidationErrors,
    backlog::{SprintStatus, StoryStatus},
};
use baton_store::{
    entities::story,
    now,
    repo::sprints as repo,
    sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::LockType},
};
use serde::{Deserialize, Serialize};

use super::{
    MAX_STORIES_PER_REQUEST, MovedStory, SprintView, announce_stories, moved, reload, require_open, sprint_status,
    story_status, writable_sprint,
};
use crate::{Actor, App, AppError, AppResult, backlog::refs, txn};

/// Stories to add to a sprint.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddStories {
    /// Story ids or codes (`ST-004`), all of the sprint's product and not done.
    #[schema(min_items = 1, max_items = 500)]
    pub story_ids: Vec<String>,
}

/// The sprint and the stories an add/move changed.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SprintStories {
    /// The sprint.
    pub sprint: SprintView,
    /// The stories, in the order given, as they are now.
    pub stories: Vec<MovedStory>,
}

/// Loads a sprint inside a transaction and checks it is still OPEN.
pub(crate) async fn load_open_sprint<C: ConnectionTrait>(db: &C, id: &str) -> AppResult<SprintView> {
    let s = reload(db, id).await?;
    let status = sprint_status(&s)?;
    if status != SprintStatus::Open {
        return Err(AppError::Conflict(format!(
            "sprint {} is {status}; stories can only move to an open sprint",
            s.code
        )));
    }
    SprintView::of(s)
}

/// Stories by id, in the order given, as moved stories.
pub(crate) async fn moved_stories<C: ConnectionTrait>(db: &C, ids: &[String]) -> AppResult<Vec<MovedStory>> {
    stories_in_order(db, ids).await?.into_iter().map(moved).collect()
}

/// How a sprint operation moves stories (and their tasks): into a sprint
/// they become `in_sprint`, out of one `open`; done and failed stay so.
pub(crate) async fn move_stories<C: ConnectionTrait>(
    db: &C,
    story_ids: &[String],
    to_sprint: Option<&str>,
) -> AppResult<()> {
    if story_ids.is_empty() {
        return Ok(());
    }
    let unfinished = if to_sprint.is_some() { StoryStatus::InSprint } else { StoryStatus::Open };
    // The stories before their tasks: a worker's `done` holds its story and
    // then writes its task (see crate::backlog::propagation), so taking the
    // tasks first could deadlock with it.
    lock_stories(db, story_ids).await?;
    Ok(repo::move_stories(db, story_ids, to_sprint, unfinished, now()).await?)
}

/// Locks stories for a roll-up-safe write, in id order, and returns them
/// (in id order). Statuses read after this see every `done` that committed
/// on them: a worker's `done` runs without the product lock.
pub(crate) async fn lock_stories<C: ConnectionTrait>(db: &C, ids: &[String]) -> AppResult<Vec<story::Model>> {
    Ok(story::Entity::find()
        .filter(story::Column::Id.is_in(ids.iter().cloned()))
        .order_by_asc(story::Column::Id)
        .lock(LockType::NoKeyUpdate)
        .all(db)
        .await?)
}

/// Loads stories by id, in the order given.
pub(super) async fn stories_in_order<C: ConnectionTrait>(db: &C, ids: &[String]) -> AppResult<Vec<story::Model>> {
    let rows = story::Entity::find().filter(story::Column::Id.is_in(ids.iter().cloned())).all(db).await?;
    let mut by_id: HashMap<String, story::Model> = rows.into_iter().map(|s| (s.id.clone(), s)).collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// Checks a list of story references for a move into (`Some`) or out of a
/// sprint of `product_id`: non-empty, no duplicates, each resolvable by the
/// actor, in the product and not done when moving into a sprint. Errors
/// name `field.N`; a story that does not exist and one the actor cannot see
/// get the same message.
pub(crate) async fn resolve_stories_for_move<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    field: &str,
    refs_in: &[String],
    product_id: Option<&str>,
    into_sprint: bool,
) -> AppResult<Vec<story::Model>> {
    let mut errs = ValidationErrors::new();
    if refs_in.is_empty() {
        errs.add(field, "must list at least one story");
        return Err(errs.into());
    }
    if refs_in.len() > MAX_STORIES_PER_REQUEST {
        errs.add(field, format!("may list at most {MAX_STORIES_PER_REQUEST} stories"));
        return Err(errs.into());
    }
    let mut seen_refs: HashMap<String, usize> = HashMap::new();
    for (i, r) in refs_in.iter().enumerate() {
        let key = r.trim().to_ascii_uppercase();
        if let Some(first) = seen_refs.get(&key) {
            errs.add(&format!("{field}.{i}"), format!("duplicates {field}.{first}"));
        } else {
            seen_refs.insert(key, i);
        }
    }
    if !errs.is_empty() {
        return Err(errs.into());
    }
    let mut out: Vec<story::Model> = Vec::with_capacity(refs_in.len());
    let mut seen_ids: HashMap<String, usize> = HashMap::new();
    let mut first_product: Option<(String, usize)> = product_id.map(|p| (p.to_string(), usize::MAX));
    for (i, r) in refs_in.iter().enumerate() {
        let path = format!("{field}.{i}");
        let s = match refs::resolve_story_at(db, actor, r, &path).await {
            Ok(s) => s,
            Err(AppError::NotFound(_)) => {
                errs.add(&path, format!("no story {} that you can access", r.trim()));
                continue;
            }
            Err(AppError::Validation(v)) => {
                errs.0.extend(v.0);
                continue;
            }
            Err(e) => return Err(e),
        };
        if let Some(first) = seen_ids.get(&s.id) {
            errs.add(&path, format!("names the same story as {field}.{first}"));
            continue;
        }
        seen_ids.insert(s.id.clone(), i);
        match &first_product {
            Some((p, at)) if *p != s.product_id => {
                if *at == usize::MAX {
                    errs.add(&path, format!("story {} belongs to another product than the sprint", s.code));
                } else {
                    errs.add(&path, format!("story {} belongs to another product than {field}.{at}", s.code));
                }
                continue;
            }
            Some(_) => {}
            None => first_product = Some((s.product_id.clone(), i)),
        }
        if into_sprint && story_status(&s)? == StoryStatus::Done {
            errs.add(&path, format!("story {} is done; only unfinished stories can be planned into a sprint", s.code));
            continue;
        }
        out.push(s);
    }
    errs.into_result()?;
    Ok(out)
}

/// Re-reads the stories inside the transaction and checks they still are
/// where the validation saw them (same product, still not done).
pub(crate) async fn recheck_stories<C: ConnectionTrait>(
    db: &C,
    before: &[story::Model],
    product_id: &str,
    into_sprint: bool,
) -> AppResult<Vec<String>> {
    let ids: Vec<String> = before.iter().map(|s| s.id.clone()).collect();
    // Locked, so a story a worker finishes meanwhile is seen as done here.
    let now_rows = lock_stories(db, &ids).await?;
    if now_rows.len() != ids.len() || now_rows.iter().any(|s| s.product_id != product_id) {
        return Err(AppError::Conflict("some of the stories were deleted or moved meanwhile; try again".into()));
    }
    if into_sprint && let Some(done) = now_rows.iter().find(|s| s.status == StoryStatus::Done.as_db()) {
        return Err(AppError::Conflict(format!(
            "story {} is done now; only unfinished stories can be planned",
            done.code
        )));
    }
    Ok(ids)
}

impl App {
    /// Plans stories into an OPEN sprint: each becomes `in_sprint` (a failed
    /// one stays failed) and its tasks follow. A story already in another
    /// sprint moves; one already in this sprint stays as it is.
    pub async fn add_stories_to_sprint(
        &self,
        actor: &Actor,
        sprint_id: &str,
        input: AddStories,
    ) -> AppResult<SprintStories> {
        let s = writable_sprint(&self.db, actor, sprint_id).await?;
        require_open(&s, "take stories")?;
        let stories =
            resolve_stories_for_move(&self.db, actor, "story_ids", &input.story_ids, Some(&s.product_id), true).await?;
        let (sid, pid) = (s.id.clone(), s.product_id.clone());
        let result = txn::in_product_txn(&self.db, &s.product_id, move |c| {
            Box::pin(async move {
                let current = reload(c, &sid).await?;
                require_open(&current, "take stories")?;
                let ids = recheck_stories(c, &stories, &pid, true).await?;
                let to_move: Vec<String> = stories
                    .iter()
                    .filter(|st| st.sprint_id.as_deref() != Some(current.id.as_str()))
                    .map(|st| st.id.clone())
                    .collect();
                move_stories(c, &to_move, Some(&current.id)).await?;
                let after = stories_in_order(c, &ids).await?;
                Ok(SprintStories {
                    sprint: SprintView::of(current)?,
                    stories: after.into_iter().map(moved).collect::<AppResult<_>>()?,
                })
            })
        })
        .await?;
        let ids: Vec<String> = result.stories.iter().map(|s| s.id.clone()).collect();
        announce_stories(self, &s.product_id, &ids, "planned").await;
        Ok(result)
    }

    /// Takes one story out of an OPEN sprint: it goes back to the backlog
    /// (open unless done or failed) and its tasks leave the sprint.
    pub async fn remove_story_from_sprint(&self, actor: &Actor, sprint_id: &str, story_ref: &str) -> AppResult<()> {
        let s = writable_sprint(&self.db, actor, sprint_id).await?;
        require_open(&s, "give up stories")?;
        let st = match refs::resolve_story(&self.db, actor, story_ref).await {
            Ok(st) => st,
            Err(AppError::NotFound(_)) => return Err(AppError::NotFound("story in this sprint")),
            Err(e) => return Err(e),
        };
        if st.sprint_id.as_deref() != Some(s.id.as_str()) {
            return Err(AppError::NotFound("story in this sprint"));
        }
        let (sid, story_id) = (s.id.clone(), st.id.clone());
        txn::in_product_txn(&self.db, &s.product_id, move |c| {
            Box::pin(async move {
                let current = reload(c, &sid).await?;
                require_open(&current, "give up stories")?;
                let now_row = story::Entity::find_by_id(story_id.clone()).one(c).await?;
                if now_row.and_then(|r| r.sprint_id).as_deref() != Some(current.id.as_str()) {
                    return Err(AppError::NotFound("story in this sprint"));
                }
                move_stories(c, std::slice::from_ref(&story_id), None).await
            })
        })
        .await?;
        announce_stories(self, &s.product_id, std::slice::from_ref(&st.id), "returned_to_backlog").await;
        Ok(())
    }
}
