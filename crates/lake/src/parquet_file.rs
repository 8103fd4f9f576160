//! One Parquet file in memory: each event of its class is serialised as it arrives, straight from
//! its typed structure into Arrow arrays of the class's explicit schema (`serde_arrow`'s builders:
//! serde calls straight into the arrays, no JSON text or tape in between); a chunk of rows at a
//! time goes to the Parquet writer, which encodes it with ZSTD. The arrays copy what they hold, so
//! an event, which borrows from its ASFF finding, is gone once it is pushed.

use crate::LakeError;
use crate::ocsf::{FindingClass, OcsfFinding};
use crate::schema::arrow_schema;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde_arrow::ArrayBuilder;

/// Events serialised into one Arrow batch before it goes to the Parquet writer (the row group is
/// larger: the writer gathers batches). Small enough that a batch's string buffers stay below the
/// allocator's huge-object size: those are reused from the thread's heap, where 4,096 rows' were
/// fresh pages, zeroed by the kernel, every batch (measured: about a third less system time).
pub const BATCH_ROWS: usize = 1024;

/// Settings of the files.
#[derive(Debug, Clone)]
pub struct ParquetOptions {
    /// Rows per row group (the unit that readers skip or read in parallel).
    pub row_group_rows: usize,
    pub zstd_level: i32,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        // 64 Ki rows of about 0.3 kB compressed: row groups of some 20 MB, within AWS's advice for
        // Security Lake sources (at most 256 MB).
        ParquetOptions { row_group_rows: 65_536, zstd_level: 3 }
    }
}

/// A Parquet file being filled with the events of one class.
pub struct ParquetFileBuilder {
    class: FindingClass,
    columns: ArrayBuilder,
    writer: ArrowWriter<Vec<u8>>,
    /// Rows in `columns`, not yet given to the Parquet writer.
    unencoded: usize,
    rows: usize,
}

impl std::fmt::Debug for ParquetFileBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetFileBuilder").field("class", &self.class).field("rows", &self.rows).finish()
    }
}

impl ParquetFileBuilder {
    pub fn new(class: FindingClass, options: &ParquetOptions) -> Result<ParquetFileBuilder, LakeError> {
        let schema = arrow_schema(class);
        let columns = ArrayBuilder::from_arrow(schema.fields())?;
        let level = ZstdLevel::try_new(options.zstd_level)?;
        let properties = WriterProperties::builder()
            .set_compression(Compression::ZSTD(level))
            .set_max_row_group_row_count(Some(options.row_group_rows.max(1)))
            .set_created_by(format!("findinghub {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer = ArrowWriter::try_new(Vec::new(), schema, Some(properties))?;
        Ok(ParquetFileBuilder { class, columns, writer, unencoded: 0, rows: 0 })
    }

    pub fn class(&self) -> FindingClass {
        self.class
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Adds one event, which must be of this file's class; every `BATCH_ROWS` rows the chunk
    /// goes to the Parquet writer.
    pub fn push(&mut self, event: &OcsfFinding<'_>) -> Result<(), LakeError> {
        debug_assert_eq!(event.class(), self.class);
        self.columns.push(event)?;
        self.rows += 1;
        self.unencoded += 1;
        if self.unencoded >= BATCH_ROWS {
            self.encode()?;
        }
        Ok(())
    }

    /// The bytes that the file would have now, near enough: encoded row groups, the row group in
    /// progress, and the rows not yet encoded (counted at 400 bytes each).
    pub fn estimated_size(&self) -> usize {
        self.writer.bytes_written() + self.writer.in_progress_size() + self.unencoded * 400
    }

    /// Gives the rows serialised so far to the Parquet writer.
    fn encode(&mut self) -> Result<(), LakeError> {
        if self.unencoded == 0 {
            return Ok(());
        }
        let batch = self.columns.to_record_batch()?;
        self.unencoded = 0;
        // The builder starts over with empty arrays: a file that has filled a chunk will likely fill
        // another, so they are sized for one (a backfill's thousands of small files are not).
        self.columns.reserve(BATCH_ROWS);
        self.writer.write(&batch)?;
        Ok(())
    }

    /// The finished file.
    pub fn finish(mut self) -> Result<Vec<u8>, LakeError> {
        self.encode()?;
        Ok(self.writer.into_inner()?)
    }
}
