//! Event history: CloudTrail records from files of every shape a user has, into one polars
//! DataFrame (the [`EventFrame`]), with every input file and record accounted for.

pub mod json;
pub mod record;
pub mod scan;
pub mod schema;
pub mod shape;
pub mod source;

pub mod frame;

#[cfg(test)]
mod fast_path_tests;

use std::path::{Path, PathBuf};

use polars::prelude::*;
use rayon::prelude::*;
use serde::Serialize;

pub use record::{Keep, Reject};
pub use shape::{Content, Format, Position};
pub use source::{FileError, Fingerprint, KeyInfo};

use frame::FrameBuilder;
use source::Found;

/// How many rejected records are kept per file with their position and reason; the count
/// beyond that is still exact.
pub const REJECTION_SAMPLES: usize = 20;

/// What became of one input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Read as event history: `records` loaded (rejected records are counted apart).
    Loaded { format: Format, records: u64 },
    /// Recognised and deliberately not loaded.
    Skipped { reason: String },
    /// Could not be read; nothing from it is loaded.
    Failed {
        #[serde(serialize_with = "display")]
        error: FileError,
    },
}

fn display<T: std::fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// A record slot that did not load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RejectedRecord {
    /// Index of the record in its file, from 0.
    pub record: u64,
    /// Line, for NDJSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(serialize_with = "display")]
    pub reason: Reject,
}

/// The rejected records of one file: the exact count and the first few.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Rejections {
    pub total: u64,
    pub first: Vec<RejectedRecord>,
}

impl Rejections {
    fn add(&mut self, pos: Position, reason: Reject) {
        self.total += 1;
        if self.first.len() < REJECTION_SAMPLES {
            self.first.push(RejectedRecord {
                record: pos.index,
                line: pos.line,
                reason,
            });
        }
    }
}

/// One input file and its accounting.
#[derive(Debug, Clone, Serialize)]
pub struct InputFile {
    pub path: PathBuf,
    /// What the S3 key layout says about the file.
    pub key: KeyInfo,
    pub outcome: Outcome,
    pub rejections: Rejections,
    /// Size and SHA-256 as stored, when the file could be read (and the load asked for it).
    pub fingerprint: Option<source::Fingerprint>,
}

/// Every loaded record as a row of [`EventFrame::df`] (schema in [`schema`]), and every input
/// file with what became of it. A row's `_file_id` indexes [`EventFrame::files`].
pub struct EventFrame {
    pub df: DataFrame,
    pub files: Vec<InputFile>,
}

impl EventFrame {
    pub fn events(&self) -> usize {
        self.df.height()
    }

    pub fn failed(&self) -> impl Iterator<Item = (&InputFile, &FileError)> {
        self.files.iter().filter_map(|f| match &f.outcome {
            Outcome::Failed { error } => Some((f, error)),
            _ => None,
        })
    }

    pub fn rejected_records(&self) -> u64 {
        self.files.iter().map(|f| f.rejections.total).sum()
    }

    /// Some input could not be fully read: a file failed or a record was rejected.
    pub fn is_partial(&self) -> bool {
        self.failed().next().is_some() || self.rejected_records() > 0
    }
}

/// What a load keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Of each record.
    pub keep: Keep,
    /// Each input file's size and SHA-256 as stored ([`InputFile::fingerprint`]), for the
    /// evidence manifest.
    pub fingerprints: bool,
}

impl LoadOptions {
    /// Everything: whole records and fingerprints.
    pub const WHOLE: LoadOptions = LoadOptions {
        keep: Keep::Whole,
        fingerprints: true,
    };
}

/// Reads every file under `inputs` (files and directories, recursively) in parallel, keeping
/// everything ([`LoadOptions::WHOLE`]).
///
/// Never fails as a whole: each file's problem is recorded in its [`InputFile`] and the others
/// still load.
pub fn load(inputs: &[PathBuf]) -> EventFrame {
    load_with(inputs, LoadOptions::WHOLE)
}

/// [`load`], keeping what `options` say. Which files and records load, and the reasons for the
/// others, are the same whatever the options.
pub fn load_with(inputs: &[PathBuf], options: LoadOptions) -> EventFrame {
    let found = source::discover(inputs);
    let to_read: Vec<(u32, &Path)> = found
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match f {
            Found::File(p) => Some((i as u32, p.as_path())),
            _ => None,
        })
        .collect();

    type Read = (Outcome, Rejections, Option<Fingerprint>);
    type Part = (FrameBuilder, Vec<(u32, Read)>, Vec<u8>);
    let parts: Vec<Part> = to_read
        .par_iter()
        .fold(
            || (FrameBuilder::new(options.keep), Vec::new(), Vec::new()),
            |(mut builder, mut outcomes, mut scratch), &(id, path)| {
                let read = read_file(path, id, options, &mut builder, &mut scratch);
                outcomes.push((id, read));
                // One unusually large file should not pin its buffer for the rest of the load.
                if scratch.capacity() > SCRATCH_KEEP {
                    scratch = Vec::new();
                }
                (builder, outcomes, scratch)
            },
        )
        .collect();

    let mut df: Option<DataFrame> = None;
    let mut read: Vec<Option<Read>> = vec![None; found.len()];
    for (builder, outcomes, _) in parts {
        for (id, result) in outcomes {
            read[id as usize] = Some(result);
        }
        if builder.is_empty() && df.is_some() {
            continue;
        }
        let part = builder.finish();
        match df.as_mut() {
            None => df = Some(part),
            Some(acc) => {
                acc.vstack_mut_owned(part)
                    .expect("same schema by construction");
            }
        }
    }
    let files = found
        .into_iter()
        .zip(read)
        .map(|(found, read)| {
            let (path, (outcome, rejections, fingerprint)) = match (found, read) {
                (Found::File(p), Some(r)) => (p, r),
                (Found::File(p), None) => {
                    let error = FileError::Io("not read (internal error)".into());
                    (p, (Outcome::Failed { error }, Rejections::default(), None))
                }
                (Found::Skipped(p, reason), _) => (
                    p,
                    (Outcome::Skipped { reason }, Rejections::default(), None),
                ),
                (Found::Failed(p, error), _) => {
                    (p, (Outcome::Failed { error }, Rejections::default(), None))
                }
            };
            InputFile {
                key: KeyInfo::from_path(&path),
                path,
                outcome,
                rejections,
                fingerprint,
            }
        })
        .collect();
    EventFrame {
        df: df.unwrap_or_else(|| FrameBuilder::new(options.keep).finish()),
        files,
    }
}

/// Largest decompression buffer a loading thread keeps between files.
const SCRATCH_KEEP: usize = 64 << 20;

fn read_file(
    path: &Path,
    id: u32,
    options: LoadOptions,
    builder: &mut FrameBuilder,
    scratch: &mut Vec<u8>,
) -> (Outcome, Rejections, Option<Fingerprint>) {
    let mut rejections = Rejections::default();
    let (fingerprint, content) = source::read_input_with(path, scratch, options.fingerprints);
    let bytes = match content {
        Ok(b) => b,
        Err(error) => return (Outcome::Failed { error }, rejections, fingerprint),
    };
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            let error = FileError::NotUtf8 {
                offset: e.valid_up_to(),
            };
            return (Outcome::Failed { error }, rejections, fingerprint);
        }
    };
    let mut loaded = 0u64;
    let keep = options.keep;
    let content = shape::read_records(text, keep, &mut |pos, item| match item
        .and_then(|i| record::parse_item(i, keep))
    {
        Ok(row) => {
            builder.push(&row, id, pos.index);
            loaded += 1;
        }
        Err(reason) => rejections.add(pos, reason),
    });
    let outcome = match content {
        Ok(Content::Events(format)) => Outcome::Loaded {
            format,
            records: loaded,
        },
        Ok(Content::Skip(reason)) => Outcome::Skipped { reason },
        Err(error) => Outcome::Failed { error },
    };
    (outcome, rejections, fingerprint)
}
