//! Hunting over event history with a filter pattern: the history streams through in chunks and
//! only the matching records are kept, so memory follows the output, not the history.

use std::path::PathBuf;

use polars::prelude::*;

use crate::events::{self, schema, Accounting, LoadOptions, Order, Source, Window};
use crate::filter::{to_polars, Pattern};

/// A query: which records, over which history.
pub struct Query<'a> {
    pub pattern: &'a Pattern,
    pub window: Window,
    pub paths: &'a [PathBuf],
    /// What the load keeps of each record.
    pub options: LoadOptions<'a>,
    pub chunk_rows: usize,
}

/// The rows of `chunk` that match the pattern in the window.
fn matching(q: &Query, chunk: DataFrame) -> PolarsResult<DataFrame> {
    let info = to_polars::FrameInfo::of(&chunk)?;
    let mut selection = to_polars::to_expr(q.pattern, info);
    if let Some(w) = q.window.to_expr() {
        selection = w.and(selection);
    }
    chunk.lazy().filter(selection).collect()
}

/// `df` with its strings copied out of the chunk they were filtered from: polars' string
/// columns are views into their chunk's buffers, so a few matches would otherwise keep every
/// chunk they came from alive.
fn owned(df: DataFrame) -> PolarsResult<DataFrame> {
    let height = df.height();
    let columns = df
        .columns()
        .iter()
        .map(|c| match c.dtype() {
            DataType::String => {
                let copied: StringChunked = c.str()?.iter().collect();
                Ok(copied.with_name(c.name().clone()).into_column())
            }
            _ => Ok(c.clone()),
        })
        .collect::<PolarsResult<Vec<Column>>>()?;
    DataFrame::new(height, columns)
}

/// The order records are shown in: time, then file and record.
const ORDER: [&str; 3] = ["eventTime", schema::FILE_ID, schema::RECORD_INDEX];

impl Query<'_> {
    /// How many records match.
    pub fn count(&self) -> PolarsResult<(u64, Accounting)> {
        let mut n = 0u64;
        let accounting = events::stream(self.paths, self.options, self.chunk_rows, |_, chunk| {
            n += matching(self, chunk)?.height() as u64;
            Ok::<(), PolarsError>(())
        })?;
        Ok((n, accounting))
    }

    /// The matching records, earliest first (time, then file and record); with `limit`, only
    /// the first `limit`, and only those are ever held.
    pub fn earliest(&self, limit: Option<usize>) -> PolarsResult<(DataFrame, Accounting)> {
        let mut kept: Option<DataFrame> = None;
        let accounting = events::stream(self.paths, self.options, self.chunk_rows, |_, chunk| {
            let found = matching(self, chunk)?;
            if found.height() == 0 {
                return Ok(());
            }
            let found = owned(found)?;
            let mut all = match kept.take() {
                Some(mut k) => {
                    k.vstack_mut_owned(found)?;
                    k
                }
                None => found,
            };
            if let Some(n) = limit {
                if all.height() > n {
                    all = all
                        .sort(ORDER, SortMultipleOptions::default())?
                        .head(Some(n));
                }
            }
            kept = Some(all);
            Ok::<(), PolarsError>(())
        })?;
        let rows = match kept {
            Some(k) => {
                let sorted = k.sort(ORDER, SortMultipleOptions::default())?;
                match limit {
                    Some(n) => sorted.head(Some(n)),
                    None => sorted,
                }
            }
            None => events::frame::FrameBuilder::new(self.options.keep).finish(),
        };
        Ok((rows, accounting))
    }

    /// Hands the matching records to `each` as they are read, in input order (files in the
    /// order they are listed, records in file order): memory holds a few files' rows, whatever
    /// the number of matches.
    pub fn in_input_order<E: From<PolarsError> + From<events::KeysLost>>(
        &self,
        mut each: impl FnMut(&[Source], DataFrame) -> Result<(), E>,
    ) -> Result<Accounting, E> {
        events::stream_in(
            Order::Input,
            self.paths,
            self.options,
            self.chunk_rows,
            |sources, chunk| {
                let found = matching(self, chunk)?;
                if found.height() == 0 {
                    return Ok(());
                }
                each(sources, found)
            },
        )
    }
}
