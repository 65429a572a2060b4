//! The project settings the story workflow reads: the validation threshold
//! and the CONCERNS policy.
//!
//! *Seam:* both are columns the projects service adds to `products` in its
//! own migration (`validation_threshold`, `concerns_policy`). Until that
//! migration is merged they may be missing, so this reads them only when
//! the columns exist and falls back to the defaults (8, rework). Once the
//! columns are in the `product` entity, replace the body with a read of the
//! entity.

use baton_domain::marketplace::workflow::{ConcernsPolicy, DEFAULT_VALIDATION_THRESHOLD};
use baton_store::sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::AppResult;

/// How a project treats validations and CONCERNS gates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoryPolicy {
    /// Minimum validation score (with GO) that approves a story.
    pub validation_threshold: i32,
    /// What a CONCERNS gate does.
    pub concerns_policy: ConcernsPolicy,
}

impl Default for StoryPolicy {
    fn default() -> Self {
        StoryPolicy { validation_threshold: DEFAULT_VALIDATION_THRESHOLD, concerns_policy: ConcernsPolicy::Rework }
    }
}

/// The policy of project `product_id` (defaults for settings not stored).
pub async fn story_policy<C: ConnectionTrait>(c: &C, product_id: &str) -> AppResult<StoryPolicy> {
    let backend = c.get_database_backend();
    let probe = match backend {
        DbBackend::Sqlite => {
            "SELECT name FROM pragma_table_info('products') \
             WHERE name IN ('validation_threshold', 'concerns_policy')"
        }
        _ => {
            "SELECT column_name AS name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = 'products' \
             AND column_name IN ('validation_threshold', 'concerns_policy')"
        }
    };
    let mut cols = Vec::new();
    for row in c.query_all_raw(Statement::from_string(backend, probe)).await? {
        cols.push(row.try_get::<String>("", "name")?);
    }
    let mut policy = StoryPolicy::default();
    if cols.is_empty() {
        return Ok(policy);
    }
    // Only names from the fixed list above reach the SQL text.
    let sql = format!("SELECT {} FROM products WHERE id = $1", cols.join(", "));
    let Some(row) = c.query_one_raw(Statement::from_sql_and_values(backend, sql, [product_id.into()])).await? else {
        return Ok(policy);
    };
    if cols.iter().any(|c| c == "validation_threshold")
        && let Some(n) = row.try_get::<Option<i32>>("", "validation_threshold")?
        && (1..=10).contains(&n)
    {
        policy.validation_threshold = n;
    }
    if cols.iter().any(|c| c == "concerns_policy")
        && let Some(p) =
            row.try_get::<Option<String>>("", "concerns_policy")?.as_deref().and_then(ConcernsPolicy::parse_api)
    {
        policy.concerns_policy = p;
    }
    Ok(policy)
}
