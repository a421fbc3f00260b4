//! Which copy of an event loads, decided in input order whatever the loading threads' timing.
//!
//! Loading threads parse files in parallel and never decide copies themselves: each row goes
//! into a [`Piece`] with its [`dedup::key`], and the piece says which files' rows it holds
//! ([`Segment`]s). The stream's consumer thread commits the segments file by file, in input
//! order ([`Committer`]): a row whose key an earlier row (an earlier file, or earlier in the
//! same file) already holds is a copy, counted as a duplicate of its file and dropped from its
//! piece. A piece is handed to the consumer once every segment in it is committed. So the copy
//! that loads is always the first in input order, as if the files were read one by one: the
//! report, the manifest's per-file counts and every evidence event's source are the same on
//! every run, at any chunk size and any number of threads.
//!
//! Files are handed to the loading threads in input order, so the files before any file being
//! read are read or being read: a piece waits for at most what the other threads are reading.
//! [`Backpressure`] bounds what waits: a thread with more than [`Backpressure::limit`] pieces
//! not yet handed over waits at its next file, first sending the rows it holds when the
//! committer waits for them (so that two waiting threads never wait for each other).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Condvar, Mutex};

use polars::prelude::*;

use super::dedup;

/// Consecutive rows of one file in a [`Piece`], or the end of the file's rows.
#[derive(Debug, Clone, Copy)]
pub(super) struct Segment {
    pub file: u32,
    /// The first row's position in the piece.
    pub start: u32,
    pub len: u32,
    /// The file has no rows after these.
    pub ends: bool,
}

/// Rows a loading thread built, with what the committer needs to decide their copies.
pub(super) struct Piece {
    pub frame: DataFrame,
    /// Each row's [`dedup::key`].
    pub keys: Vec<Option<dedup::Key>>,
    pub segments: Vec<Segment>,
    /// The loading thread that sent it, when it waits on [`Backpressure`].
    pub sender: Option<usize>,
}

impl Piece {
    /// Rows of `file` follow: a segment is opened unless the last one is the file's.
    pub fn open(segments: &mut Vec<Segment>, file: u32, start: usize) {
        match segments.last_mut() {
            Some(s) if s.file == file && !s.ends => s.len += 1,
            _ => segments.push(Segment {
                file,
                start: start as u32,
                len: 1,
                ends: false,
            }),
        }
    }

    /// `file` has no more rows.
    pub fn end(segments: &mut Vec<Segment>, file: u32, start: usize) {
        match segments.last_mut() {
            Some(s) if s.file == file && !s.ends => s.ends = true,
            _ => segments.push(Segment {
                file,
                start: start as u32,
                len: 0,
                ends: true,
            }),
        }
    }
}

/// How many pieces each loading thread has sent that are not yet handed over.
pub(super) struct Backpressure {
    outstanding: Mutex<Vec<usize>>,
    released: Condvar,
    /// Pieces a thread may have waiting before it waits itself.
    pub limit: usize,
    /// The file the committer waits for (`u32::MAX` when none): a waiting thread sends the
    /// rows it holds only when they are that file's or an earlier one's.
    frontier: AtomicU32,
}

impl Backpressure {
    pub fn new(threads: usize, limit: usize) -> Backpressure {
        Backpressure {
            outstanding: Mutex::new(vec![0; threads]),
            released: Condvar::new(),
            limit,
            frontier: AtomicU32::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<usize>> {
        // A holder that panicked left valid counts: the lock only serialises.
        self.outstanding
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn sent(&self, thread: usize) {
        self.lock()[thread] += 1;
    }

    /// Whether `thread` has more pieces waiting than it may.
    pub fn over(&self, thread: usize) -> bool {
        self.lock()[thread] > self.limit
    }

    /// The file the committer waits for.
    pub fn frontier(&self) -> u32 {
        self.frontier.load(Ordering::Relaxed)
    }

    /// Waits until a piece of `thread` is handed over, `stop` is set, or a short while has
    /// passed (the frontier may have moved meanwhile).
    pub fn wait(&self, thread: usize, stop: &AtomicBool) {
        let counts = self.lock();
        if counts[thread] > self.limit && !stop.load(Ordering::Relaxed) {
            drop(
                self.released
                    .wait_timeout(counts, std::time::Duration::from_millis(20))
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            );
        }
    }

    fn release(&self, thread: usize) {
        let mut counts = self.lock();
        counts[thread] = counts[thread].saturating_sub(1);
        self.released.notify_all();
    }
}

struct Pending {
    piece: Piece,
    /// Segments not yet committed.
    open: usize,
    /// Rows found to be copies.
    copies: Vec<u32>,
}

/// Commits pieces' segments in input order and hands over the pieces that are done.
pub(super) struct Committer<'a> {
    /// The files that can have rows, in input order.
    order: Vec<u32>,
    /// Position in `order` of the file being committed.
    next: usize,
    /// Segments received and not yet committed, per file: (piece, segment), in arrival order
    /// (a file's segments all come from one thread, in order).
    waiting: HashMap<u32, VecDeque<(u64, usize)>>,
    pending: HashMap<u64, Pending>,
    received: u64,
    seen: dedup::Seen,
    /// Copies found, per file id.
    pub duplicates: Vec<u64>,
    pressure: Option<&'a Backpressure>,
}

impl<'a> Committer<'a> {
    /// For files `order` (input order) of `files` in all, holding `keys_in_memory` bytes of
    /// event keys at most in memory ([`dedup::Seen`]).
    pub fn new(
        order: Vec<u32>,
        files: usize,
        pressure: Option<&'a Backpressure>,
        keys_in_memory: usize,
    ) -> Self {
        Committer {
            order,
            next: 0,
            waiting: HashMap::new(),
            pending: HashMap::new(),
            received: 0,
            seen: dedup::Seen::with_budget(keys_in_memory),
            duplicates: vec![0; files],
            pressure,
        }
    }

    /// Takes a piece; hands `done` every piece it completes (its copies dropped), in the order
    /// they complete.
    pub fn receive(&mut self, piece: Piece, done: &mut impl FnMut(DataFrame)) {
        let id = self.received;
        self.received += 1;
        let mut open = 0;
        let mut late = Vec::new();
        for (i, s) in piece.segments.iter().enumerate() {
            // The ids in `order` ascend.
            match self.order.binary_search(&s.file) {
                Ok(at) if at >= self.next => {
                    self.waiting.entry(s.file).or_default().push_back((id, i));
                    open += 1;
                }
                // A file already ended, or one not to be read: never sent by the loading
                // threads; should it be, its rows are still checked rather than waited for.
                _ => late.push(i),
            }
        }
        debug_assert!(late.is_empty(), "segments after their file's end");
        self.pending.insert(
            id,
            Pending {
                piece,
                open,
                copies: Vec::new(),
            },
        );
        for i in late {
            let p = self.pending.get_mut(&id).expect("just inserted");
            let s = p.piece.segments[i];
            Self::check(&mut self.seen, &mut self.duplicates, p, s);
        }
        if open == 0 {
            self.complete(id, done);
        }
        self.advance(done);
    }

    /// Commits what can be, in input order.
    fn advance(&mut self, done: &mut impl FnMut(DataFrame)) {
        while let Some(&file) = self.order.get(self.next) {
            let Some((piece, segment)) = self.waiting.get_mut(&file).and_then(VecDeque::pop_front)
            else {
                if let Some(p) = self.pressure {
                    p.frontier.store(file, Ordering::Relaxed);
                }
                return;
            };
            let p = self
                .pending
                .get_mut(&piece)
                .expect("a waiting segment's piece");
            let s = p.piece.segments[segment];
            Self::check(&mut self.seen, &mut self.duplicates, p, s);
            p.open -= 1;
            if p.open == 0 {
                self.complete(piece, done);
            }
            if s.ends {
                self.waiting.remove(&file);
                self.next += 1;
            }
        }
    }

    /// Finds the copies among the rows of segment `s` of `p`.
    fn check(seen: &mut dedup::Seen, duplicates: &mut [u64], p: &mut Pending, s: Segment) {
        let rows = s.start as usize..(s.start + s.len) as usize;
        for (row, key) in rows.clone().zip(&p.piece.keys[rows]) {
            if key.is_some_and(|k| !seen.first(k)) {
                p.copies.push(row as u32);
                duplicates[s.file as usize] += 1;
            }
        }
    }

    fn complete(&mut self, id: u64, done: &mut impl FnMut(DataFrame)) {
        let Pending { piece, copies, .. } = self.pending.remove(&id).expect("a pending piece");
        if let (Some(p), Some(thread)) = (self.pressure, piece.sender) {
            p.release(thread);
        }
        let mut frame = piece.frame;
        if !copies.is_empty() {
            let mut keep = vec![true; frame.height()];
            for row in copies {
                keep[row as usize] = false;
            }
            let mask: BooleanChunked = keep.into_iter().collect();
            frame = frame.filter(&mask).expect("a mask of the frame's height");
        }
        if frame.height() > 0 {
            done(frame);
        }
    }

    /// Every file's rows are in: hands over what is left. Nothing should be (each file's end
    /// is sent); should a piece be left all the same, its rows are handed over as they are
    /// rather than lost.
    /// Also says why copies may have loaded twice, should it be so ([`dedup::Seen::lost`]).
    pub fn finish(mut self, done: &mut impl FnMut(DataFrame)) -> (Vec<u64>, Option<String>) {
        self.advance(done);
        if let Some(p) = self.pressure {
            p.frontier.store(u32::MAX, Ordering::Relaxed);
        }
        debug_assert!(
            self.pending.is_empty(),
            "pieces left uncommitted: the files' ends were not all sent"
        );
        let mut left: Vec<u64> = self.pending.keys().copied().collect();
        left.sort_unstable();
        for id in left {
            self.complete(id, done);
        }
        (self.duplicates, self.seen.lost().map(str::to_string))
    }
}
