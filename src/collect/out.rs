//! The evidence directory being written: every file goes through here, so the counts, the
//! gaps and the "no stale file from an earlier run" rule live in one place.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use aws_sdk_sts::error::{DisplayErrorContext, SdkError};
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde::Serialize;
use serde_json::{json, Value};

use super::CollectError;

/// Why a call failed: the AWS error code, or what went wrong on the way to AWS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

impl Failure {
    /// `api` is the API's name (`GetTrailStatus`); the message reads as the aws CLI's does.
    pub fn of<E>(api: &str, e: &SdkError<E, HttpResponse>) -> Failure
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let (code, detail) = match e {
            SdkError::ServiceError(s) => (
                // An answer without an error code (an HTTP 500 page) is named by its status.
                e.code()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("HttpStatus{}", s.raw().status().as_u16())),
                e.message().unwrap_or_default().to_string(),
            ),
            SdkError::TimeoutError(_) => {
                ("RequestTimeout".into(), DisplayErrorContext(e).to_string())
            }
            SdkError::DispatchFailure(d) if d.is_timeout() => {
                ("RequestTimeout".into(), DisplayErrorContext(e).to_string())
            }
            SdkError::DispatchFailure(d) if d.is_io() => {
                ("ConnectionError".into(), DisplayErrorContext(e).to_string())
            }
            SdkError::DispatchFailure(_) => {
                ("DispatchFailure".into(), DisplayErrorContext(e).to_string())
            }
            SdkError::ConstructionFailure(_) => (
                "ConstructionFailure".into(),
                DisplayErrorContext(e).to_string(),
            ),
            _ => ("ResponseError".into(), DisplayErrorContext(e).to_string()),
        };
        Failure {
            message: format!(
                "An error occurred ({code}) when calling the {api} operation: {detail}"
            ),
            code,
        }
    }

    pub fn other(code: &str, message: impl Into<String>) -> Failure {
        Failure {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// A failed call that is a gap in the evidence (not an answer such as `NoSuchBucketPolicy`).
#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    pub path: PathBuf,
    pub operation: String,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Default)]
struct Tally {
    files: usize,
    answers: usize,
    gaps: Vec<Gap>,
}

/// `DIR/<account>`, and what has been written under it.
#[derive(Debug)]
pub struct Out {
    root: PathBuf,
    tally: Mutex<Tally>,
}

impl Out {
    pub fn new(root: PathBuf) -> Out {
        Out {
            root,
            tally: Mutex::default(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn tally(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes `bytes` at `rel` (a path under the account directory).
    pub fn bytes(&self, rel: &Path, bytes: &[u8]) -> Result<PathBuf, CollectError> {
        let path = self.root.join(rel);
        let io = |source| CollectError::Write {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        std::fs::write(&path, bytes).map_err(io)?;
        self.tally().files += 1;
        Ok(path)
    }

    /// The JSON output of a call at `rel` (`us-east-1/cloudtrail/describe-trails.json`); an
    /// error file left there by an earlier run is removed.
    pub fn save(&self, rel: &str, v: &Value) -> Result<(), CollectError> {
        let mut text = serde_json::to_vec_pretty(v).unwrap_or_default();
        text.push(b'\n');
        self.bytes(Path::new(rel), &text)?;
        let _ = std::fs::remove_file(self.root.join(error_path(rel)));
        Ok(())
    }

    /// A call that failed: `<file>.error.json`, as the collection script writes it. Errors
    /// that are answers (`NoSuchBucketPolicy`, ...) are facts for `audit`, and a call on
    /// another account's trail is that account's evidence to give; the others are gaps.
    pub fn fail(&self, rel: &str, operation: String, f: Failure) -> Result<(), CollectError> {
        self.record_failure(rel, operation, f, false)
    }

    /// A call that failed on what another account owns (an organization trail's bucket, seen
    /// from a member): written as any failure, counted as an answer, not a gap.
    pub fn fail_elsewhere(
        &self,
        rel: &str,
        operation: String,
        f: Failure,
    ) -> Result<(), CollectError> {
        self.record_failure(rel, operation, f, true)
    }

    fn record_failure(
        &self,
        rel: &str,
        operation: String,
        f: Failure,
        elsewhere: bool,
    ) -> Result<(), CollectError> {
        let err = error_path(rel);
        let v = json!({"trailauditCollectionError": {
            "operation": operation, "code": f.code, "message": f.message,
        }});
        let mut text = serde_json::to_vec_pretty(&v).unwrap_or_default();
        text.push(b'\n');
        let path = self.bytes(Path::new(&err), &text)?;
        if rel.ends_with(".json") {
            let _ = std::fs::remove_file(self.root.join(rel));
        }
        let mut t = self.tally();
        let account = self
            .root
            .file_name()
            .and_then(|a| a.to_str())
            .unwrap_or_default();
        if elsewhere
            || crate::config::is_answer(&f.code)
            || crate::config::resources::is_answer_at(Path::new(rel), &f.code)
            || crate::config::foreign_trail_call(&operation, account)
        {
            t.answers += 1;
        } else {
            t.gaps.push(Gap {
                path,
                operation,
                code: f.code,
                message: f.message,
            });
        }
        Ok(())
    }

    /// Files written, errors that are answers, and the gaps.
    pub fn finish(&self) -> (usize, usize, Vec<Gap>) {
        let mut t = self.tally();
        let mut gaps = std::mem::take(&mut t.gaps);
        gaps.sort_by(|a, b| a.path.cmp(&b.path));
        (t.files, t.answers, gaps)
    }
}

/// `a/b.json` -> `a/b.error.json`
pub fn error_path(rel: &str) -> String {
    format!("{}.error.json", rel.strip_suffix(".json").unwrap_or(rel))
}

/// A name from AWS used as a path component (trail, topic, key id): no separators, no `..`.
pub fn component(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    match s.as_str() {
        "" | "." | ".." => format!("_{s}"),
        _ => s,
    }
}
