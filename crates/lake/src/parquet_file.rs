//! One Parquet file in memory: events of one class are buffered, then serialised a chunk at a time
//! straight from their typed structures into Arrow arrays of the class's explicit schema
//! (`serde_arrow`'s builders: serde calls straight into the arrays, no JSON text or tape in
//! between), and encoded with ZSTD. Buffering a chunk lets the writer encode the chunks of several
//! files at once, one per core.

use crate::LakeError;
use crate::ocsf::{FindingClass, OcsfFinding};
use crate::schema::arrow_schema;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde_arrow::ArrayBuilder;

/// Events decoded into one Arrow batch before it goes to the Parquet writer.
pub const BATCH_ROWS: usize = 4096;

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
    /// Events not yet encoded.
    pending: Vec<OcsfFinding>,
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
        Ok(ParquetFileBuilder { class, columns, writer, pending: Vec::new(), rows: 0 })
    }

    pub fn class(&self) -> FindingClass {
        self.class
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Adds one event, which must be of this file's class. It is encoded by `encode` (which
    /// the writer calls once `encode_due` says so) or `finish`.
    pub fn push(&mut self, event: OcsfFinding) {
        debug_assert_eq!(event.class(), self.class);
        self.pending.push(event);
        self.rows += 1;
    }

    /// A chunk of events is waiting to be encoded.
    pub fn encode_due(&self) -> bool {
        self.pending.len() >= BATCH_ROWS
    }

    /// The bytes that the file would have now, near enough: encoded row groups, the row group in
    /// progress, and the events not yet encoded (counted at 400 bytes each).
    pub fn estimated_size(&self) -> usize {
        self.writer.bytes_written() + self.writer.in_progress_size() + self.pending.len() * 400
    }

    /// Encodes the events buffered so far into the file.
    pub fn encode(&mut self) -> Result<(), LakeError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        for chunk in pending.chunks(BATCH_ROWS) {
            self.columns.extend(chunk)?;
            let batch = self.columns.to_record_batch()?;
            self.writer.write(&batch)?;
        }
        // Keep the allocation for the next chunk.
        self.pending = pending;
        self.pending.clear();
        Ok(())
    }

    /// The finished file.
    pub fn finish(mut self) -> Result<Vec<u8>, LakeError> {
        self.encode()?;
        Ok(self.writer.into_inner()?)
    }
}
