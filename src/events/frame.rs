//! Column builders for the EventFrame.

use polars::prelude::*;

use super::record::{Keep, Row, Value};
use super::schema::{self, Kind, FIELDS};
use super::shape::Span;

enum Col {
    Str(StringChunkedBuilder),
    Bool(BooleanChunkedBuilder),
    Time(PrimitiveChunkedBuilder<Int64Type>),
    /// A column the load does not keep: all null.
    Null(&'static str, Kind),
}

/// Rows per chunk: a builder is finished into a chunk of this many rows and a fresh one started,
/// so the slack of growing builders (capacity doubling) is bounded by one chunk instead of
/// growing with the frame, and no reallocation ever copies more than one chunk's columns.
pub const CHUNK_ROWS: usize = 1 << 16;

/// Accumulates rows into polars column builders, in chunks of [`CHUNK_ROWS`].
pub struct FrameBuilder {
    current: Builders,
    done: Vec<DataFrame>,
    keep: Keep,
    rows: usize,
}

impl FrameBuilder {
    /// A builder for rows read with `keep`: columns it does not keep are all null.
    pub fn new(keep: Keep) -> Self {
        FrameBuilder {
            current: Builders::with_capacity(1024, keep),
            done: Vec::new(),
            keep,
            rows: 0,
        }
    }

    pub fn push(&mut self, row: &Row, file_id: u32, record_index: u64, span: Option<Span>) {
        self.current.push(row, file_id, record_index, span);
        self.rows += 1;
        if self.current.len >= CHUNK_ROWS {
            let fresh = Builders::with_capacity(1024, self.keep);
            let full = std::mem::replace(&mut self.current, fresh);
            self.done.push(full.finish());
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Rows pushed.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// The rows pushed, as one DataFrame of one or more chunks.
    pub fn finish(self) -> DataFrame {
        let mut parts = self.done.into_iter();
        let Some(mut df) = parts.next() else {
            return self.current.finish();
        };
        for part in parts {
            df.vstack_mut_owned(part)
                .expect("same schema by construction");
        }
        if self.current.len > 0 {
            df.vstack_mut_owned(self.current.finish())
                .expect("same schema by construction");
        }
        df
    }
}

fn dtype(kind: Kind) -> DataType {
    match kind {
        Kind::Str => DataType::String,
        Kind::Bool => DataType::Boolean,
        Kind::Time => DataType::Datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC)),
    }
}

/// One chunk's column builders.
struct Builders {
    cols: Vec<Col>,
    file_id: PrimitiveChunkedBuilder<UInt32Type>,
    record_index: PrimitiveChunkedBuilder<UInt32Type>,
    offset: PrimitiveChunkedBuilder<UInt64Type>,
    length: PrimitiveChunkedBuilder<UInt32Type>,
    line: PrimitiveChunkedBuilder<UInt32Type>,
    rest: StringChunkedBuilder,
    raw_fields: PrimitiveChunkedBuilder<UInt32Type>,
    len: usize,
}

impl Builders {
    fn with_capacity(cap: usize, keep: Keep) -> Self {
        let kept = keep.columns();
        let cols = FIELDS
            .iter()
            .map(|f| {
                let name = PlSmallStr::from_static(f.name);
                match f.kind {
                    _ if kept & (1 << f.bit) == 0 => Col::Null(f.name, f.kind),
                    Kind::Str => Col::Str(StringChunkedBuilder::new(name, cap)),
                    Kind::Bool => Col::Bool(BooleanChunkedBuilder::new(name, cap)),
                    Kind::Time => Col::Time(PrimitiveChunkedBuilder::new(name, cap)),
                }
            })
            .collect();
        Builders {
            cols,
            file_id: PrimitiveChunkedBuilder::new(schema::FILE_ID.into(), cap),
            record_index: PrimitiveChunkedBuilder::new(schema::RECORD_INDEX.into(), cap),
            offset: PrimitiveChunkedBuilder::new(schema::RECORD_OFFSET.into(), cap),
            length: PrimitiveChunkedBuilder::new(schema::RECORD_LENGTH.into(), cap),
            line: PrimitiveChunkedBuilder::new(schema::RECORD_LINE.into(), cap),
            rest: StringChunkedBuilder::new(schema::REST.into(), cap),
            raw_fields: PrimitiveChunkedBuilder::new(schema::RAW_FIELDS.into(), cap),
            len: 0,
        }
    }

    fn push(&mut self, row: &Row, file_id: u32, record_index: u64, span: Option<Span>) {
        for (col, value) in self.cols.iter_mut().zip(row.values.iter()) {
            match (col, value) {
                (Col::Str(b), Value::Str(s)) => b.append_value(s.as_ref()),
                (Col::Bool(b), Value::Bool(v)) => b.append_value(*v),
                (Col::Time(b), Value::Time(ms)) => b.append_value(*ms),
                (Col::Str(b), _) => b.append_null(),
                (Col::Bool(b), _) => b.append_null(),
                (Col::Time(b), _) => b.append_null(),
                (Col::Null(..), _) => {}
            }
        }
        self.file_id.append_value(file_id);
        self.record_index
            .append_value(u32::try_from(record_index).unwrap_or(u32::MAX));
        // A span that does not fit the columns is left unknown rather than cut.
        let fits = span.and_then(|s| {
            Some((
                s.offset,
                u32::try_from(s.length).ok()?,
                u32::try_from(s.line).ok()?,
            ))
        });
        match fits {
            Some((offset, length, line)) => {
                self.offset.append_value(offset);
                self.length.append_value(length);
                self.line.append_value(line);
            }
            None => {
                self.offset.append_null();
                self.length.append_null();
                self.line.append_null();
            }
        }
        match &row.rest {
            Some(rest) => self.rest.append_value(rest),
            None => self.rest.append_null(),
        }
        self.raw_fields.append_value(row.raw_fields);
        self.len += 1;
    }

    fn finish(self) -> DataFrame {
        let mut columns: Vec<Column> = self
            .cols
            .into_iter()
            .map(|c| match c {
                Col::Str(b) => b.finish().into_column(),
                Col::Bool(b) => b.finish().into_column(),
                Col::Time(b) => b
                    .finish()
                    .into_datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC))
                    .into_column(),
                Col::Null(name, kind) => Column::full_null(name.into(), self.len, &dtype(kind)),
            })
            .collect();
        columns.push(self.file_id.finish().into_column());
        columns.push(self.record_index.finish().into_column());
        columns.push(self.offset.finish().into_column());
        columns.push(self.length.finish().into_column());
        columns.push(self.line.finish().into_column());
        columns.push(self.rest.finish().into_column());
        columns.push(self.raw_fields.finish().into_column());
        // Every builder received exactly one value per row.
        DataFrame::new(self.len, columns).expect("columns of equal length")
    }
}
