//! How many realtime streams may be open: per user, per client IP, and
//! while enough file descriptors are left under the process's limit.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use crate::{AppConfig, AppError, AppResult};

/// `Retry-After` of a refused stream: slots free up as streams end.
pub const STREAM_RETRY_AFTER_SECS: u64 = 10;

#[derive(Debug, Default)]
struct Counts {
    per_user: HashMap<String, usize>,
    per_ip: HashMap<String, usize>,
    total: usize,
}

/// Counts the open streams of this process per user, per client IP and in
/// all, against the limits of the config.
#[derive(Debug)]
pub struct StreamSlots {
    counts: Arc<Mutex<Counts>>,
    per_user: usize,
    per_ip: usize,
    fd_reserve: u64,
    /// The soft limit on open files, read at start (Linux); `None` where it
    /// cannot be read, which turns the descriptor reserve off.
    fd_limit: Option<u64>,
}

/// One open stream's place in [`StreamSlots`], given back when dropped.
#[derive(Debug)]
pub struct StreamSlot {
    counts: Arc<Mutex<Counts>>,
    user: String,
    ip: String,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        c.total = c.total.saturating_sub(1);
        release(&mut c.per_user, &self.user);
        release(&mut c.per_ip, &self.ip);
    }
}

fn release(map: &mut HashMap<String, usize>, key: &str) {
    if let Some(n) = map.get_mut(key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(key);
        }
    }
}

/// The soft `Max open files` of this process, from `/proc/self/limits`.
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files").split_whitespace().next()?.parse().ok()
}

/// How many descriptors this process has open now; `None` when that cannot
/// be read (which, at the limit, is itself the sign: no descriptor left).
fn open_files() -> Option<u64> {
    std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count() as u64)
}

impl StreamSlots {
    /// Slots with the limits of `config`.
    pub fn new(config: &AppConfig) -> Self {
        let fd_limit = open_files_limit();
        if let Some(limit) = fd_limit
            && limit <= config.realtime_fd_reserve.saturating_mul(4)
        {
            tracing::warn!(
                limit,
                reserve = config.realtime_fd_reserve,
                "the open-files limit is low: raise `ulimit -n` to allow more realtime streams"
            );
        }
        StreamSlots {
            counts: Arc::default(),
            per_user: config.realtime_max_streams_per_user,
            per_ip: config.realtime_max_streams_per_ip,
            fd_reserve: config.realtime_fd_reserve,
            fd_limit,
        }
    }

    /// The process's open-files limit as read at start (`None`: unknown,
    /// no descriptor reserve).
    pub fn open_files_limit(&self) -> Option<u64> {
        self.fd_limit
    }

    /// Streams open now in this process.
    pub fn open(&self) -> usize {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).total
    }

    /// Takes a slot for a stream of `user` from `ip`, or refuses with 429.
    pub fn acquire(&self, user: &str, ip: &str) -> AppResult<StreamSlot> {
        let refuse = || AppError::RateLimited { retry_after_secs: STREAM_RETRY_AFTER_SECS };
        if let Some(limit) = self.fd_limit {
            // Under a very low limit the reserve shrinks to a quarter of it,
            // so streams still work at all.
            let reserve = self.fd_reserve.min(limit / 4);
            let near = open_files().is_none_or(|n| n.saturating_add(reserve) >= limit);
            if near {
                tracing::warn!(limit, reserve, "refusing a realtime stream: few file descriptors left");
                return Err(refuse());
            }
        }
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if c.per_user.get(user).copied().unwrap_or(0) >= self.per_user {
            tracing::info!(user, limit = self.per_user, "refusing a realtime stream: too many for this user");
            return Err(refuse());
        }
        if c.per_ip.get(ip).copied().unwrap_or(0) >= self.per_ip {
            tracing::info!(ip, limit = self.per_ip, "refusing a realtime stream: too many from this address");
            return Err(refuse());
        }
        c.total += 1;
        *c.per_user.entry(user.to_string()).or_default() += 1;
        *c.per_ip.entry(ip.to_string()).or_default() += 1;
        Ok(StreamSlot { counts: self.counts.clone(), user: user.to_string(), ip: ip.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn slots(per_user: usize, per_ip: usize) -> StreamSlots {
        let config = AppConfig {
            realtime_max_streams_per_user: per_user,
            realtime_max_streams_per_ip: per_ip,
            ..AppConfig::default()
        };
        StreamSlots::new(&config)
    }

    #[test]
    fn a_user_gets_at_most_their_slots_and_a_dropped_slot_frees_one() {
        let s = slots(2, 10);
        let a = s.acquire("u1", "10.0.0.1").expect("first");
        let _b = s.acquire("u1", "10.0.0.2").expect("second");
        assert!(matches!(s.acquire("u1", "10.0.0.3"), Err(AppError::RateLimited { .. })));
        assert!(s.acquire("u2", "10.0.0.1").is_ok(), "another user is not affected");
        drop(a);
        assert!(s.acquire("u1", "10.0.0.3").is_ok(), "the dropped slot is free again");
    }

    #[test]
    fn an_ip_gets_at_most_its_slots() {
        let s = slots(10, 2);
        let _a = s.acquire("u1", "10.0.0.1").expect("first");
        let b = s.acquire("u2", "10.0.0.1").expect("second");
        assert!(matches!(s.acquire("u3", "10.0.0.1"), Err(AppError::RateLimited { .. })));
        assert!(s.acquire("u3", "10.0.0.2").is_ok(), "another address is not affected");
        drop(b);
        // `_a` is left (the slot of the `is_ok` probe was dropped at once).
        assert_eq!(s.open(), 1);
        assert!(s.acquire("u3", "10.0.0.1").is_ok());
    }

    #[test]
    fn the_open_files_limit_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(open_files_limit().is_some_and(|l| l > 0));
            assert!(open_files().is_some_and(|n| n > 0));
        }
    }
}
