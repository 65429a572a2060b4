//! What the story and task detail pages read besides the item itself: the
//! item by code *within one product* (the page URL names the product, and a
//! code like `ST-001` exists in every product), the questions asked about
//! it, the agent jobs of its tasks with their cost, and the people it can be
//! assigned to. Also the questions and jobs of one of the caller's ideas
//! (the idea page).

use baton_domain::codes::CodeKind;
use baton_store::{
    entities::{job, product_member, question, story, task, user},
    now,
    sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect},
};
use serde::Serialize;

use crate::{
    Actor, App, AppError, AppResult,
    backlog::{
        stories::{StoryView, story_view},
        tasks::{TaskView, task_view},
    },
    prices::MONEY_PLACES,
    products::readable_ref,
    questions::{QuestionView, question_view},
    queue::{JobView, job_view},
};

/// Most questions listed for one item.
pub const MAX_ITEM_QUESTIONS: u64 = 100;
/// Most jobs listed for one item.
pub const MAX_ITEM_JOBS: u64 = 200;

/// A job of a task with what it cost.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobLine {
    /// The job.
    pub job: JobView,
    /// Its cost in USD as a decimal string, or `None` when its model has no
    /// price (or it reported no model yet).
    pub cost: Option<String>,
}

/// Someone an item can be assigned to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Person {
    /// User id.
    pub id: String,
    /// Login name.
    pub username: String,
}

/// The lookup forms of a code of `kind`: as given (upper-cased) and canonical
/// (`st-4` → `ST-4`, `ST-004`); `None` when it is a code of another kind.
fn code_forms(kind: CodeKind, reference: &str) -> Option<Vec<String>> {
    let upper = reference.trim().to_ascii_uppercase();
    match CodeKind::of(&upper) {
        Some(k) if k != kind => None,
        _ => {
            let mut forms = vec![upper.clone()];
            if let Some(canonical) = kind.number(&upper).map(|n| kind.format(n))
                && canonical != upper
            {
                forms.push(canonical);
            }
            Some(forms)
        }
    }
}

impl App {
    /// A story of one product by code or id. Unknown codes, codes of another
    /// kind and products the caller cannot read are all `NotFound`.
    pub async fn product_story(&self, actor: &Actor, product_ref: &str, story_ref: &str) -> AppResult<StoryView> {
        let p = readable_ref(&self.db, actor, product_ref).await?;
        let forms = code_forms(CodeKind::Story, story_ref).ok_or(AppError::NotFound("story"))?;
        let row = story::Entity::find()
            .filter(story::Column::ProductId.eq(&p.id))
            .filter(Condition::any().add(story::Column::Code.is_in(forms)).add(story::Column::Id.eq(story_ref.trim())))
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("story"))?;
        story_view(row)
    }

    /// A task of one product by code or id; `NotFound` like [`App::product_story`].
    pub async fn product_task(&self, actor: &Actor, product_ref: &str, task_ref: &str) -> AppResult<TaskView> {
        let p = readable_ref(&self.db, actor, product_ref).await?;
        let forms = code_forms(CodeKind::Task, task_ref).ok_or(AppError::NotFound("task"))?;
        let row = task::Entity::find()
            .filter(task::Column::ProductId.eq(&p.id))
            .filter(Condition::any().add(task::Column::Code.is_in(forms)).add(task::Column::Id.eq(task_ref.trim())))
            .one(&self.db)
            .await?
            .ok_or(AppError::NotFound("task"))?;
        task_view(row)
    }

    /// Every question asked about a story (or only about one of its tasks),
    /// open and answered alike, newest first, at most
    /// [`MAX_ITEM_QUESTIONS`].
    pub async fn item_questions(
        &self,
        actor: &Actor,
        story_id: &str,
        task_id: Option<&str>,
    ) -> AppResult<Vec<QuestionView>> {
        let s =
            story::Entity::find_by_id(story_id.to_string()).one(&self.db).await?.ok_or(AppError::NotFound("story"))?;
        readable_ref(&self.db, actor, &s.product_id).await?;
        let mut q = question::Entity::find().filter(question::Column::StoryId.eq(&s.id));
        if let Some(t) = task_id {
            q = q.filter(question::Column::TaskId.eq(t));
        }
        let rows = q
            .order_by_desc(question::Column::CreatedAt)
            .order_by_desc(question::Column::Id)
            .limit(MAX_ITEM_QUESTIONS)
            .all(&self.db)
            .await?;
        let at = now();
        rows.into_iter().map(|r| question_view(r, at)).collect()
    }

    /// The agent jobs of some tasks of one product, newest first, each with
    /// its cost, at most [`MAX_ITEM_JOBS`].
    pub async fn task_jobs(&self, actor: &Actor, product_id: &str, task_ids: &[String]) -> AppResult<Vec<JobLine>> {
        let p = readable_ref(&self.db, actor, product_id).await?;
        if task_ids.is_empty() {
            return Ok(vec![]);
        }
        let rows = job::Entity::find()
            .filter(job::Column::ProductId.eq(&p.id))
            .filter(job::Column::TaskId.is_in(task_ids.iter().cloned()))
            .order_by_desc(job::Column::CreatedAt)
            .order_by_desc(job::Column::Id)
            .limit(MAX_ITEM_JOBS)
            .all(&self.db)
            .await?;
        self.job_lines(rows).await
    }

    /// Jobs as lines with their cost at today's prices.
    async fn job_lines(&self, rows: Vec<job::Model>) -> AppResult<Vec<JobLine>> {
        let book = self.price_book().await?;
        rows.into_iter()
            .map(|m| {
                let cost = book.job_cost(&m).map(|c| c.to_decimal(MONEY_PLACES));
                Ok(JobLine { job: job_view(m)?, cost })
            })
            .collect()
    }

    /// Every question asked about one of the caller's ideas (id or code),
    /// newest first, at most [`MAX_ITEM_QUESTIONS`]; anyone else's idea is
    /// `NotFound`, as everywhere ideas are read.
    pub async fn idea_questions(&self, actor: &Actor, idea_ref: &str) -> AppResult<Vec<QuestionView>> {
        let idea = crate::ideas::find_own(&self.db, actor, idea_ref).await?;
        let rows = question::Entity::find()
            .filter(question::Column::IdeaId.eq(&idea.id))
            .order_by_desc(question::Column::CreatedAt)
            .order_by_desc(question::Column::Id)
            .limit(MAX_ITEM_QUESTIONS)
            .all(&self.db)
            .await?;
        let at = now();
        rows.into_iter().map(|r| question_view(r, at)).collect()
    }

    /// The jobs dispatched for one of the caller's ideas (grill, plan,
    /// review), newest first, each with its cost, at most [`MAX_ITEM_JOBS`].
    pub async fn idea_jobs(&self, actor: &Actor, idea_ref: &str) -> AppResult<Vec<JobLine>> {
        let idea = crate::ideas::find_own(&self.db, actor, idea_ref).await?;
        let rows = job::Entity::find()
            .filter(job::Column::IdeaId.eq(&idea.id))
            .order_by_desc(job::Column::CreatedAt)
            .order_by_desc(job::Column::Id)
            .limit(MAX_ITEM_JOBS)
            .all(&self.db)
            .await?;
        self.job_lines(rows).await
    }

    /// Who items of a product can be assigned to: its owner and members, by
    /// username.
    pub async fn product_people(&self, actor: &Actor, product_ref: &str) -> AppResult<Vec<Person>> {
        let p = readable_ref(&self.db, actor, product_ref).await?;
        let mut ids: Vec<String> = product_member::Entity::find()
            .filter(product_member::Column::ProductId.eq(&p.id))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| m.user_id)
            .collect();
        ids.push(p.user_id.clone());
        let mut people: Vec<Person> = user::Entity::find()
            .filter(user::Column::Id.is_in(ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|u| Person { id: u.id, username: u.username })
            .collect();
        people.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(people)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_looked_up_as_given_and_canonical() {
        assert_eq!(code_forms(CodeKind::Story, "st-4"), Some(vec!["ST-4".into(), "ST-004".into()]));
        assert_eq!(code_forms(CodeKind::Task, " t-12 "), Some(vec!["T-12".into()]));
        assert_eq!(code_forms(CodeKind::Task, "ST-004"), None);
    }
}
