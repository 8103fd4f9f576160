//! The conformance suite on the embedded SQLite store.

use findinghub_store::sqlite::SqliteStore;

async fn fresh() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("open store");
    (store, dir)
}

findinghub_store::conformance_suite!(fresh());
