//! The lease sweeper: expired claims of every user go back to the queue (or
//! fail after their last attempt) even when none of that user's workers is
//! polling. `wait_for_job` already resets its own user's stale jobs; without
//! a sweep, a job whose only worker died would stay CLAIMED until that user
//! starts another worker.

use baton_store::{now, repo::queue as repo};

use super::claim::legacy_cutoff;
use crate::{App, AppResult};

impl App {
    /// Resets the expired claims of every user (see
    /// [`App::reset_stale_jobs`]); returns the ids of the jobs it requeued
    /// or failed. `serve` runs it periodically; it is safe on several
    /// instances at once because each reset is one conditional update.
    pub async fn sweep_stale_jobs(&self) -> AppResult<Vec<String>> {
        let t = now();
        let mut ids = Vec::new();
        for user in repo::users_with_expired_claims(&self.db, t, legacy_cutoff(t)).await? {
            ids.extend(self.reset_stale_jobs(&user).await?);
        }
        Ok(ids)
    }
}
