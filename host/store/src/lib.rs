//! A Cairn project: one SQLite file (`*.cairn`) or one PostgreSQL database (`postgres://…`), behind
//! the same API (`db` holds what differs between the engines).
//!
//! - WAL journal, foreign keys on, `synchronous = FULL`: a commit that returned is on disk.
//! - Every edit is one `BEGIN IMMEDIATE` transaction that appends a revision (who, when, what,
//!   active time) and updates the current state derived from the log, so other writers wait on the
//!   busy timeout instead of failing.
//! - Undo and redo walk each annotator's revisions and survive restarts, since they live in the file.
//! - Per-point labels are chunked BLOBs, one row per chunk of `POINT_LABEL_CHUNK` points.
//! - Bulk imports run as one transaction per source file: all of it lands, or none of it.
//!
//! Modules use only modules below them (README.md draws the layers); this file only re-exports.

mod bulk;
mod clock;
mod codec;
mod copy;
mod db;
mod edit;
mod error;
mod labels;
mod location;
mod project;
mod quality;
mod queue;
mod read;
mod revision;
mod schema;
pub mod testing;
mod text_enum;
mod tls;
mod watch;

pub use bulk::{BulkImport, Inserted};
pub use clock::now_ms;
pub use codec::{EncodedItem, comparison_content_hash, encode_item};
pub use copy::CopyReport;
pub use db::Engine;
pub use edit::{Edit, EditOutcome, UndoOutcome};
pub use error::{Result, StoreError};
pub use location::{Location, is_server_url, redact_url};
pub use project::Project;
pub use quality::{Agreement, AnnotatorQuality, ModelRating, PairKappa, QualityOptions, QualityReport};
pub use queue::{AssignmentState, AssignmentStatus, LEASE_EXPIRED, QueuePolicy};
pub use read::{AnnotatorCount, DatasetStatus, ProjectStatus, RevisionRecord};
pub use revision::{RevisionAction, RevisionState};
pub use schema::{APPLICATION_ID, SCHEMA_VERSION};
pub use watch::{Change, Watcher};
