//! The lease sweeper: expired claims of every user go back to the queue (or
//! fail after their last attempt) even when none of that user's workers is
//! polling. `wait_for_job` already resets its own user's stale jobs; without
//! a sweep, a job whose only worker died would stay CLAIMED until that user
//! starts another worker.

use baton_domain::agents::JobStatus;
use baton_store::{
    now,
    sea_orm::{ConnectionTrait, Statement},
};

use super::claim::{LEGACY_STALE_AFTER, expired_lease};
use crate::{App, AppResult};

impl App {
    /// Resets the expired claims of every user (see
    /// [`App::reset_stale_jobs`]); returns the ids of the jobs it requeued
    /// or failed. `serve` runs it periodically; it is safe on several
    /// instances at once because each reset is one conditional update.
    pub async fn sweep_stale_jobs(&self) -> AppResult<Vec<String>> {
        let t = now();
        let legacy = t - chrono::Duration::from_std(LEGACY_STALE_AFTER).unwrap_or_default();
        let b = self.db.get_database_backend();
        let rows = self
            .db
            .query_all_raw(Statement::from_sql_and_values(
                b,
                format!("SELECT DISTINCT user_id FROM jobs WHERE status IN ($1, $2) AND {}", expired_lease("$3", "$4")),
                [JobStatus::Claimed.as_db().into(), JobStatus::Running.as_db().into(), t.into(), legacy.into()],
            ))
            .await?;
        let mut ids = Vec::new();
        for row in rows {
            let user: String = row.try_get("", "user_id")?;
            ids.extend(self.reset_stale_jobs(&user).await?);
        }
        Ok(ids)
    }
}
