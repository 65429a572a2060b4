//! Reference resolution: wherever a PBI, story or task is addressed, its id
//! **or** its code (`PBI-3`, `st-004`, `T-12`; case-insensitive) is accepted.
//!
//! * A code that matches items in several products the caller can read is
//!   refused (422) with the ids to choose from.
//! * A code of the wrong kind ("ST-004" where a task is expected) is refused
//!   (422) with a hint saying what to pass instead.
//! * Items in products the caller cannot read are `NotFound`, exactly like
//!   items that do not exist, so ids and codes cannot be probed.
//!
//! Access is checked through [`crate::access`]; callers that write must still
//! ask [`crate::access::writable`] for the item's product.

use baton_domain::codes::CodeKind;
use baton_store::{
    entities::{pbi, product, story, task},
    sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder},
};

use crate::{Actor, AppError, AppResult, access};

/// The kinds of backlog item a reference can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// A product backlog item (`PBI-N`).
    Pbi,
    /// A story (`ST-NNN`).
    Story,
    /// A task (`T-N`).
    Task,
}

impl ItemKind {
    /// The word used in messages ("task").
    pub fn noun(self) -> &'static str {
        match self {
            ItemKind::Pbi => "PBI",
            ItemKind::Story => "story",
            ItemKind::Task => "task",
        }
    }

    /// The field name items of this kind are usually passed in (`task_id`).
    pub fn field(self) -> &'static str {
        match self {
            ItemKind::Pbi => "pbi_id",
            ItemKind::Story => "story_id",
            ItemKind::Task => "task_id",
        }
    }

    fn code_kind(self) -> CodeKind {
        match self {
            ItemKind::Pbi => CodeKind::Pbi,
            ItemKind::Story => CodeKind::Story,
            ItemKind::Task => CodeKind::Task,
        }
    }

    fn not_found(self) -> AppError {
        AppError::NotFound(match self {
            ItemKind::Pbi => "PBI",
            ItemKind::Story => "story",
            ItemKind::Task => "task",
        })
    }
}

/// What a reference string looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RefShape {
    /// A code of the expected kind; the forms to look up (as given, upper-cased, and canonical).
    Code(Vec<String>),
    /// A code of another kind (the kind it is).
    OtherCode(CodeKind),
    /// Anything else: looked up as an id.
    Id(String),
}

fn shape(expected: ItemKind, reference: &str) -> RefShape {
    let r = reference.trim();
    let upper = r.to_ascii_uppercase();
    let want = expected.code_kind();
    match CodeKind::of(&upper) {
        Some(k) if k == want => {
            let mut forms = vec![upper.clone()];
            if let Some(n) = want.number(&upper) {
                let canonical = want.format(n);
                if canonical != upper {
                    forms.push(canonical);
                }
            }
            RefShape::Code(forms)
        }
        Some(k) => RefShape::OtherCode(k),
        None => RefShape::Id(r.to_string()),
    }
}

fn kind_hint(expected: ItemKind, given: &str, actual: CodeKind) -> String {
    let given = given.trim().to_ascii_uppercase();
    let what = match actual {
        CodeKind::Pbi => "a PBI code",
        CodeKind::Story => "a story code",
        CodeKind::Task => "a task code",
        CodeKind::Sprint => "a sprint code",
    };
    format!("{given} is {what}; pass a {} id or {}… code", expected.noun(), expected.code_kind().prefix())
}

fn empty_check(kind: ItemKind, field: &str, reference: &str) -> AppResult<()> {
    if reference.trim().is_empty() {
        return Err(AppError::field(field, format!("must be a {} id or code", kind.noun())));
    }
    Ok(())
}

/// Keeps the candidates the actor can read; the product row comes along for messages.
async fn readable_only<C: ConnectionTrait, M>(
    db: &C,
    actor: &Actor,
    candidates: Vec<M>,
    product_of: impl Fn(&M) -> &str,
) -> AppResult<Vec<(M, product::Model)>> {
    let mut out = Vec::new();
    for m in candidates {
        match access::readable(db, actor, product_of(&m)).await {
            Ok(p) => out.push((m, p)),
            Err(AppError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

fn ambiguous(kind: ItemKind, field: &str, code: &str, hits: &[(String, product::Model)]) -> AppError {
    let choices = hits
        .iter()
        .map(|(id, p)| format!("{id} (product {})", p.code.as_deref().unwrap_or(&p.name)))
        .collect::<Vec<_>>()
        .join(", ");
    AppError::field(
        field,
        format!(
            "{} matches {} {}s in different products you can access; pass the {} id instead: {choices}",
            code.trim().to_ascii_uppercase(),
            hits.len(),
            kind.noun(),
            kind.noun()
        ),
    )
}

macro_rules! resolver {
    ($(#[$doc:meta])* $name:ident, $name_at:ident, $entity:ident, $kind:expr) => {
        $(#[$doc])*
        pub async fn $name<C: ConnectionTrait>(db: &C, actor: &Actor, reference: &str) -> AppResult<$entity::Model> {
            $name_at(db, actor, reference, $kind.field()).await
        }

        /// Like the function without `_at`, naming `field` in validation errors.
        pub async fn $name_at<C: ConnectionTrait>(
            db: &C,
            actor: &Actor,
            reference: &str,
            field: &str,
        ) -> AppResult<$entity::Model> {
            let kind: ItemKind = $kind;
            empty_check(kind, field, reference)?;
            match shape(kind, reference) {
                RefShape::OtherCode(actual) => Err(AppError::field(field, kind_hint(kind, reference, actual))),
                RefShape::Id(id) => {
                    let row = $entity::Entity::find_by_id(id).one(db).await?.ok_or_else(|| kind.not_found())?;
                    match access::readable(db, actor, &row.product_id).await {
                        Ok(_) => Ok(row),
                        Err(AppError::NotFound(_)) => Err(kind.not_found()),
                        Err(e) => Err(e),
                    }
                }
                RefShape::Code(forms) => {
                    let rows = $entity::Entity::find()
                        .filter($entity::Column::Code.is_in(forms))
                        .filter(access::visible_products(actor, $entity::Column::ProductId, access::Reach::Readable))
                        .order_by_asc($entity::Column::CreatedAt)
                        .order_by_asc($entity::Column::Id)
                        .all(db)
                        .await?;
                    let mut hits = readable_only(db, actor, rows, |m| m.product_id.as_str()).await?;
                    match hits.len() {
                        0 => Err(kind.not_found()),
                        1 => Ok(hits.remove(0).0),
                        _ => {
                            let listed: Vec<(String, product::Model)> =
                                hits.into_iter().map(|(m, p)| (m.id, p)).collect();
                            Err(ambiguous(kind, field, reference, &listed))
                        }
                    }
                }
            }
        }
    };
}

resolver!(
    /// Resolves a PBI id or `PBI-N` code the actor can read.
    resolve_pbi,
    resolve_pbi_at,
    pbi,
    ItemKind::Pbi
);
resolver!(
    /// Resolves a story id or `ST-NNN` code the actor can read.
    resolve_story,
    resolve_story_at,
    story,
    ItemKind::Story
);
resolver!(
    /// Resolves a task id or `T-N` code the actor can read.
    resolve_task,
    resolve_task_at,
    task,
    ItemKind::Task
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_of_references() {
        assert_eq!(shape(ItemKind::Task, " t-12 "), RefShape::Code(vec!["T-12".into()]));
        assert_eq!(shape(ItemKind::Story, "st-4"), RefShape::Code(vec!["ST-4".into(), "ST-004".into()]));
        assert_eq!(shape(ItemKind::Story, "ST-004"), RefShape::Code(vec!["ST-004".into()]));
        assert_eq!(shape(ItemKind::Task, "ST-004"), RefShape::OtherCode(CodeKind::Story));
        assert_eq!(shape(ItemKind::Story, "T-9"), RefShape::OtherCode(CodeKind::Task));
        assert_eq!(shape(ItemKind::Pbi, "0190abcd-1234"), RefShape::Id("0190abcd-1234".into()));
    }

    #[test]
    fn hints_name_the_wrong_kind_and_the_right_one() {
        assert_eq!(
            kind_hint(ItemKind::Task, "st-004", CodeKind::Story),
            "ST-004 is a story code; pass a task id or T-… code"
        );
        assert_eq!(
            kind_hint(ItemKind::Story, "T-3", CodeKind::Task),
            "T-3 is a task code; pass a story id or ST-… code"
        );
        assert_eq!(
            kind_hint(ItemKind::Pbi, "ST-1", CodeKind::Story),
            "ST-1 is a story code; pass a PBI id or PBI-… code"
        );
    }
}
