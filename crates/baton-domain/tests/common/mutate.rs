//! The mutation fuzzer shared by the parser fuzz tests (`bmad_fuzz.rs`,
//! `plan_md_fuzz.rs`): a fixed pseudo-random sequence, a mutator that
//! damages a valid file in the ways real files are damaged, and a timer
//! that does not blame the parser for a busy machine.
//!
//! Included with `#[path = "common/mutate.rs"] mod mutate;` so each test
//! binary compiles its own copy (integration tests share no library).

use std::time::{Duration, Instant};

/// xorshift64*: a fixed, dependency-free pseudo-random sequence, so a
/// failing case can be replayed from its number.
pub struct Rng(pub u64);

impl Rng {
    /// The next number of the sequence.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

/// One to five mutations of `base`: deletes, inserts one of `splices`
/// (fragments that steer toward the parser's edges), overwrites a byte,
/// truncates, repeats a slice (sometimes thousands of times, never past
/// `max_bytes`, so long and deep inputs stay within what the parser
/// accepts) or swaps two lines.
pub fn mutate(rng: &mut Rng, base: &[u8], splices: &[&str], max_bytes: usize) -> Vec<u8> {
    let mut doc = base.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(doc.len() + 1);
        match rng.below(7) {
            0 => {
                let end = (at + rng.below(40)).min(doc.len());
                doc.drain(at..end);
            }
            1 | 2 => {
                let s = splices[rng.below(splices.len())].as_bytes();
                doc.splice(at..at, s.iter().copied());
            }
            3 => {
                let b = (rng.next() & 0xff) as u8;
                if at < doc.len() {
                    doc[at] = b;
                } else {
                    doc.push(b);
                }
            }
            4 => doc.truncate(at),
            5 => {
                let end = (at + 1 + rng.below(30)).min(doc.len());
                let times = if rng.below(20) == 0 { 1 + rng.below(4000) } else { 1 + rng.below(5) };
                let piece = doc[at.min(end)..end].to_vec();
                let room = max_bytes.saturating_sub(doc.len()) / piece.len().max(1);
                for _ in 0..times.min(room) {
                    doc.splice(at..at, piece.iter().copied());
                }
            }
            _ => {
                let text = String::from_utf8_lossy(&doc).into_owned();
                let mut lines: Vec<&str> = text.split('\n').collect();
                let (i, j) = (rng.below(lines.len()), rng.below(lines.len()));
                lines.swap(i, j);
                doc = lines.join("\n").into_bytes();
            }
        }
    }
    doc
}

/// The fastest of up to three runs of `f`, stopping early once a run is
/// under `bound / 4`: the machine is shared, so a descheduled thread is not
/// blamed on the parser, while a really slow input stays slow.
pub fn timed(bound: Duration, f: &mut dyn FnMut()) -> Duration {
    let mut took = Duration::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        f();
        took = took.min(start.elapsed());
        if took < bound / 4 {
            break;
        }
    }
    took
}
