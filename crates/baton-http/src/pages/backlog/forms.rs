//! Create, edit, delete and move one PBI, story or task. Each handler maps
//! its form onto the service's input and calls that one service; fields a
//! form does not send stay as they are (the story/task detail pages post
//! subsets of these forms, with their own `return_to`).

use axum::{
    extract::{Path, State},
    response::{IntoResponse, Response},
};
use baton_app::{
    AppError, AppResult,
    backlog::{
        pbis::{NewPbi, PbiPatch},
        refs::ItemKind,
        stories::{NewStory, StoryPatch},
        tasks::{NewTask, TaskPatch},
        tree::Position,
    },
};
use baton_domain::backlog::PbiStatus;

use super::{Ctx, Fields};
use crate::{
    AppState,
    pages::layout::{self, PageUser, unix_text},
};

/// Path of an item route: the product and the item's code.
type ItemPath = Path<(String, String)>;

/// An optional priority field: blank = not given; anything but a whole
/// number is an error on `priority`.
fn priority(f: &Fields) -> AppResult<Option<i32>> {
    match f.filled("priority") {
        None => Ok(None),
        Some(p) => p
            .parse::<i32>()
            .map(Some)
            .map_err(|_| AppError::field("priority", "must be 1 (critical), 2 (normal), 3 (low) or 4 (nice to have)")),
    }
}

/// An optional text on create: blank = none (line breaks made Unix, as
/// the detail pages' forms do).
fn text(f: &Fields, name: &str) -> Option<String> {
    f.filled(name).map(unix_text)
}

/// An optional text on edit: absent = unchanged, blank = cleared (the
/// detail pages' rule, [`layout::patch_text`]).
fn patch_text(f: &Fields, name: &str) -> Option<Option<String>> {
    layout::patch_text(f.get(name))
}

/// Resolves the item of an item route in its product; unknown codes are
/// the 404 page.
macro_rules! item {
    ($s:expr, $actor:expr, $code:expr, $item:expr, $kind:expr) => {{
        let ctx = match Ctx::load(&$s, &$actor, &$code).await {
            Ok(c) => c,
            Err(e) => return e.into_response(),
        };
        match $s.app.backlog_item_id(&$actor, &ctx.product.id, $kind, &$item).await {
            Ok(id) => (ctx, id),
            Err(e) => return crate::pages::layout::PageError::new(&$actor, e).into_response(),
        }
    }};
}

/// `POST /products/{code}/pbis`: a new PBI at the end of the backlog.
pub(super) async fn create_pbi(
    State(s): State<AppState>,
    PageUser(actor): PageUser,
    Path(code): Path<String>,
    f: Fields,
) -> Response {
    let ctx = match Ctx::load(&s, &actor, &code).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let result = async {
        let input = NewPbi {
            title: f.get("title").unwrap_or_default().to_string(),
            description: text(&f, "description"),
            priority: priority(&f)?,
        };
        s.app.create_pbi(&actor, &ctx.product.id, input).await
    }
    .await;
    ctx.finish(&s, &actor, result, "new:pbi".into(), &f).await
}

/// Defines the handler of an item route (`/products/{code}/{kind}/{item}/…`):
/// resolves the product and the item (the 404 page when either is
/// unknown), awaits `$body` — the one service call, with the item's id as
/// `$id` — and answers as every backlog form does: 303 on success, else
/// the backlog again with the messages on form `{$form}:{ITEM}`.
macro_rules! item_route {
    ($(#[$doc:meta])* $name:ident, $kind:expr, $form:literal, |$s:ident, $actor:ident, $id:ident, $f:ident| $body:expr) => {
        $(#[$doc])*
        pub(super) async fn $name(
            State($s): State<AppState>,
            PageUser($actor): PageUser,
            Path((code, item)): ItemPath,
            $f: Fields,
        ) -> Response {
            let (ctx, $id) = item!($s, $actor, code, item, $kind);
            let result = $body.await;
            ctx.finish(&$s, &$actor, result, format!(concat!($form, ":{}"), item.to_ascii_uppercase()), &$f).await
        }
    };
}

item_route!(
    /// `POST /products/{code}/pbis/{PBI}` (or `…/edit`): changes a PBI.
    update_pbi, ItemKind::Pbi, "edit", |s, actor, id, f| async {
        let status = match f.filled("status") {
            None => None,
            Some(v) => Some(
                PbiStatus::parse_api(v)
                    .ok_or_else(|| AppError::field("status", format!("must be one of: {}", PbiStatus::api_values())))?,
            ),
        };
        let patch = PbiPatch {
            title: f.get("title").map(str::to_string),
            description: patch_text(&f, "description"),
            priority: priority(&f)?,
            status,
        };
        s.app.update_pbi(&actor, &id, patch).await
    }
);

item_route!(
    /// `POST /products/{code}/pbis/{PBI}/delete`: deletes a PBI with its stories and tasks.
    delete_pbi, ItemKind::Pbi, "delete", |s, actor, id, f| s.app.delete_pbi(&actor, &id)
);

item_route!(
    /// `POST /products/{code}/pbis/{PBI}/stories`: a new story at the end of a PBI.
    create_story, ItemKind::Pbi, "new", |s, actor, id, f| async {
        let input = NewStory {
            title: f.get("title").unwrap_or_default().to_string(),
            description: text(&f, "description"),
            acceptance_criteria: text(&f, "acceptance_criteria"),
            priority: priority(&f)?,
            sprint_id: text(&f, "sprint_id"),
            assignee_id: text(&f, "assignee_id"),
        };
        s.app.create_story(&actor, &id, input).await
    }
);

item_route!(
    /// `POST /products/{code}/stories/{ST}/edit`: changes a story.
    update_story, ItemKind::Story, "edit", |s, actor, id, f| async {
        let patch = StoryPatch {
            title: f.get("title").map(str::to_string),
            description: patch_text(&f, "description"),
            acceptance_criteria: patch_text(&f, "acceptance_criteria"),
            priority: priority(&f)?,
            assignee_id: patch_text(&f, "assignee_id"),
            ..Default::default()
        };
        s.app.update_story(&actor, &id, patch).await
    }
);

item_route!(
    /// `POST /products/{code}/stories/{ST}/delete`: deletes a story with its tasks.
    delete_story, ItemKind::Story, "delete", |s, actor, id, f| s.app.delete_story(&actor, &id)
);

item_route!(
    /// `POST /products/{code}/stories/{ST}/tasks`: a new task at the end of a story.
    create_task, ItemKind::Story, "new", |s, actor, id, f| async {
        let input = NewTask {
            title: f.get("title").unwrap_or_default().to_string(),
            description: text(&f, "description"),
            implementation_plan: text(&f, "implementation_plan"),
            priority: priority(&f)?,
            ..Default::default()
        };
        s.app.create_task(&actor, &id, input).await
    }
);

item_route!(
    /// `POST /products/{code}/tasks/{T}/edit`: changes a task (not its
    /// status: the board's status route does that).
    update_task, ItemKind::Task, "edit", |s, actor, id, f| async {
        let patch = TaskPatch {
            title: f.get("title").map(str::to_string),
            description: patch_text(&f, "description"),
            implementation_plan: patch_text(&f, "implementation_plan"),
            priority: priority(&f)?,
            ..Default::default()
        };
        s.app.update_task(&actor, &id, patch).await
    }
);

item_route!(
    /// `POST /products/{code}/tasks/{T}/delete`: deletes a task.
    delete_task, ItemKind::Task, "delete", |s, actor, id, f| s.app.delete_task(&actor, &id)
);

/// The position of a move form: the Move… form's `position` button wins,
/// then `before`, then `after` (drag-and-drop posts both neighbours; either
/// one places the item); none = keep the place (or the end of a new parent).
fn position(f: &Fields) -> AppResult<Option<Position>> {
    if let Some(p) = f.filled("position") {
        return Position::parse(p).map(Some);
    }
    Ok(f.filled("before")
        .map(|c| Position::Before(c.to_string()))
        .or_else(|| f.filled("after").map(|c| Position::After(c.to_string()))))
}

item_route!(
    /// `POST /products/{code}/pbis/{PBI}/moves`: reorders a PBI.
    move_pbi, ItemKind::Pbi, "move", |s, actor, id, f| async {
        match position(&f)? {
            Some(p) => s.app.place_pbi(&actor, &id, p).await.map(|_| ()),
            None => Ok(()),
        }
    }
);

item_route!(
    /// `POST /products/{code}/stories/{ST}/moves`: reorders a story, or moves
    /// it to the PBI named by `pbi`.
    move_story, ItemKind::Story, "move", |s, actor, id, f| async {
        s.app.place_story(&actor, &id, f.filled("pbi"), position(&f)?).await
    }
);

item_route!(
    /// `POST /products/{code}/tasks/{T}/moves`: reorders a task, or moves it
    /// to the story named by `story`.
    move_task, ItemKind::Task, "move", |s, actor, id, f| async {
        s.app.place_task(&actor, &id, f.filled("story"), position(&f)?).await
    }
);
