//! The job's command: `sh -c <exec>` in its own process group (so stopping
//! it reaches everything it started, and a Ctrl-C at the worker's terminal
//! does not), its output copied to the worker's stderr and its last lines
//! kept for the report.

use std::{
    collections::VecDeque,
    os::unix::process::ExitStatusExt,
    path::Path,
    process::{ExitStatus, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncRead, BufReader},
    process::{Child, Command},
    task::JoinHandle,
};

/// Lines of output kept for the report.
const KEPT_LINES: usize = 200;
/// How long the output readers may run on after the command exited (a
/// background process may still hold the pipes).
const READER_GRACE: Duration = Duration::from_secs(2);

/// The last lines of a command's output (stdout and stderr interleaved).
#[derive(Debug, Default)]
pub(super) struct Tail(VecDeque<String>);

impl Tail {
    fn push(&mut self, line: String) {
        if self.0.len() == KEPT_LINES {
            self.0.pop_front();
        }
        self.0.push_back(line);
    }

    /// The last `lines` lines, cut from the front to at most `chars` characters.
    pub(super) fn last(&self, lines: usize, chars: usize) -> String {
        let skip = self.0.len().saturating_sub(lines);
        let text = self.0.iter().skip(skip).map(String::as_str).collect::<Vec<_>>().join("\n");
        let text = text.trim();
        let n = text.chars().count();
        if n <= chars { text.to_string() } else { text.chars().skip(n - chars).collect() }
    }
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Exit {
    /// It exited with this status.
    Code(i32),
    /// A signal ended it.
    Signal(i32),
}

impl From<ExitStatus> for Exit {
    fn from(s: ExitStatus) -> Exit {
        match (s.code(), s.signal()) {
            (Some(c), _) => Exit::Code(c),
            (None, Some(sig)) => Exit::Signal(sig),
            (None, None) => Exit::Code(-1),
        }
    }
}

/// A running command.
pub(super) struct Running {
    child: Child,
    pid: u32,
    tail: Arc<Mutex<Tail>>,
    readers: Vec<JoinHandle<()>>,
}

fn read_lines<R: AsyncRead + Unpin + Send + 'static>(r: R, tail: Arc<Mutex<Tail>>, label: String) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(r).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            // The operator sees the agent work; the report keeps the end.
            eprintln!("[{label}] {line}");
            if let Ok(mut t) = tail.lock() {
                t.push(line);
            }
        }
    })
}

/// Sends `signal` (`TERM`, `KILL`) to process group `pgid`; best effort.
async fn signal_group(pgid: u32, signal: &str) {
    let r = Command::new("kill")
        .args(["-s", signal, "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
    if let Err(e) = r {
        tracing::warn!(pgid, signal, error = %e, "cannot run kill");
    }
}

impl Running {
    /// Starts `sh -c <command>` in `dir` with `env`, in a new process group;
    /// output lines are copied to stderr prefixed with `label`.
    pub(super) fn spawn(command: &str, dir: &Path, env: &[(String, String)], label: &str) -> std::io::Result<Running> {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(command)
            .current_dir(dir)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = cmd.spawn()?;
        let pid = child.id().ok_or_else(|| std::io::Error::other("the command exited at once"))?;
        let tail = Arc::new(Mutex::new(Tail::default()));
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(read_lines(out, tail.clone(), label.to_string()));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(read_lines(err, tail.clone(), label.to_string()));
        }
        Ok(Running { child, pid, tail, readers })
    }

    /// The shell's process id (also its process group id).
    pub(super) fn pid(&self) -> u32 {
        self.pid
    }

    /// Waits for the command to exit.
    pub(super) async fn wait(&mut self) -> std::io::Result<Exit> {
        self.child.wait().await.map(Exit::from)
    }

    /// Stops the command: SIGTERM to its process group, SIGKILL after
    /// `grace` if it has not exited by then.
    pub(super) async fn stop(&mut self, grace: Duration) -> Exit {
        signal_group(self.pid, "TERM").await;
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(Ok(s)) => {
                // The shell is gone; whatever it started goes too.
                signal_group(self.pid, "KILL").await;
                Exit::from(s)
            }
            _ => {
                signal_group(self.pid, "KILL").await;
                match self.child.wait().await {
                    Ok(s) => Exit::from(s),
                    Err(_) => Exit::Signal(9),
                }
            }
        }
    }

    /// After the command exited: ends what it left running in its group,
    /// lets the output readers finish and returns the kept lines.
    pub(super) async fn finish(self) -> Tail {
        signal_group(self.pid, "TERM").await;
        for r in self.readers {
            let abort = r.abort_handle();
            if tokio::time::timeout(READER_GRACE, r).await.is_err() {
                abort.abort();
            }
        }
        match Arc::try_unwrap(self.tail) {
            Ok(m) => m.into_inner().unwrap_or_default(),
            Err(shared) => shared.lock().map(|t| Tail(t.0.clone())).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_lines_within_the_character_limit() {
        let mut t = Tail::default();
        for i in 0..300 {
            t.push(format!("line {i}"));
        }
        assert_eq!(t.0.len(), KEPT_LINES);
        assert_eq!(t.last(2, 1000), "line 298\nline 299");
        assert_eq!(t.last(20, 8), "line 299");
        assert_eq!(Tail::default().last(20, 1000), "");
    }

    #[tokio::test]
    async fn a_command_runs_in_its_directory_and_its_exit_status_and_output_are_kept() {
        let dir = std::env::temp_dir();
        let env = vec![("BATON_X".to_string(), "42".to_string())];
        let mut r = Running::spawn("echo \"x=$BATON_X\"; echo oops >&2; exit 3", &dir, &env, "t").expect("spawn");
        assert_eq!(r.wait().await.expect("wait"), Exit::Code(3));
        let tail = r.finish().await;
        let text = tail.last(20, 1000);
        assert!(text.contains("x=42") && text.contains("oops"), "{text}");

        // The shell must have installed its trap before the SIGTERM comes,
        // or the signal kills it first: wait for the file it writes after.
        let ready = dir.join(format!("baton-trap-{}", std::process::id()));
        let _ = std::fs::remove_file(&ready);
        let script = format!("trap '' TERM; touch '{}'; sleep 30", ready.display());
        let mut r = Running::spawn(&script, &dir, &[], "t").expect("spawn");
        for _ in 0..500 {
            if ready.exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(ready.exists(), "the command never installed its trap");
        let _ = std::fs::remove_file(&ready);
        let started = std::time::Instant::now();
        let exit = r.stop(Duration::from_millis(300)).await;
        assert_eq!(exit, Exit::Signal(9), "SIGTERM ignored: killed after the grace period");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
