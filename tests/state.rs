//! The state store: what it keeps, and what it refuses.

use std::sync::Arc;

use symphra::state::{
    Availability, Change, FORMAT_VERSION, FailureRecord, RedbStore, StateError, StateStore,
};

fn change(module: &str, change: Change) -> (String, Change) {
    (module.to_owned(), change)
}

#[test]
fn every_field_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    let failure = FailureRecord::now("start", "connection refused");
    {
        let store = RedbStore::open(&path).unwrap();
        store
            .apply(&[
                change("a", Change::Availability(Availability::Disabled)),
                change("b", Change::HeldStopped(true)),
                change("c", Change::Installed(serde_json::json!({ "pool": 4 }))),
                change("c", Change::Started("1.4.0".into())),
                change("d", Change::Failed(failure.clone())),
                change("e", Change::Availability(Availability::Ignored)),
            ])
            .unwrap();
    }
    let store = RedbStore::open(&path).unwrap();
    let all = store.all().unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(all["a"].availability, Availability::Disabled);
    assert!(all["b"].held_stopped);
    assert_eq!(all["c"].config, Some(serde_json::json!({ "pool": 4 })));
    assert_eq!(all["c"].started_version.as_deref(), Some("1.4.0"));
    assert_eq!(all["d"].last_failure, Some(failure));
    assert_eq!(all["e"].availability, Availability::Ignored);
    assert_eq!(store.get("nobody").unwrap(), None);
}

#[test]
fn a_second_opener_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    let _first = RedbStore::open(&path).unwrap();
    let error = RedbStore::open(&path).expect_err("the file is locked");
    assert!(matches!(error, StateError::Locked { .. }), "{error}");
    assert!(
        error.to_string().contains("in use by another process"),
        "{error}"
    );
}

#[test]
fn a_file_that_is_not_a_store_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    let garbage = b"this is a text file, not a database\n".repeat(200);
    std::fs::write(&path, &garbage).unwrap();
    let error = RedbStore::open(&path).expect_err("not a store");
    assert!(matches!(error, StateError::NotAStore { .. }), "{error}");
    assert!(error.to_string().contains("left untouched"), "{error}");
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
}

#[test]
fn a_newer_format_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut meta = txn
                .open_table(redb::TableDefinition::<&str, u32>::new("symphra_meta"))
                .unwrap();
            meta.insert("format", FORMAT_VERSION + 1).unwrap();
        }
        txn.commit().unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let error = RedbStore::open(&path).expect_err("newer format");
    match &error {
        StateError::NewerFormat {
            found, supported, ..
        } => assert_eq!((*found, *supported), (FORMAT_VERSION + 1, FORMAT_VERSION)),
        other => panic!("{other}"),
    }
    assert!(error.to_string().contains("upgrade Symphra"), "{error}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn an_older_format_is_migrated_and_its_records_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    {
        // Format 0: records, no version.
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut records = txn
                .open_table(redb::TableDefinition::<&str, &[u8]>::new("symphra_modules"))
                .unwrap();
            records
                .insert("cache", br#"{"availability":"disabled"}"#.as_slice())
                .unwrap();
        }
        txn.commit().unwrap();
    }
    let store = RedbStore::open(&path).unwrap();
    assert_eq!(
        store.get("cache").unwrap().unwrap().availability,
        Availability::Disabled
    );
    drop(store);
    let db = redb::ReadOnlyDatabase::open(&path).unwrap();
    use redb::ReadableDatabase;
    let txn = db.begin_read().unwrap();
    let meta = txn
        .open_table(redb::TableDefinition::<&str, u32>::new("symphra_meta"))
        .unwrap();
    assert_eq!(meta.get("format").unwrap().unwrap().value(), FORMAT_VERSION);
}

#[test]
fn concurrent_writers_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(RedbStore::open(dir.path().join("state.redb")).unwrap());
    let writers: Vec<_> = (0..8)
        .map(|writer| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for n in 0..25 {
                    let module = format!("w{writer}");
                    store
                        .apply(&[change(&module, Change::Started(format!("{n}.0.0")))])
                        .unwrap();
                    // Read-modify-write of a shared record: even writers set its version,
                    // odd ones its configuration. A lost update (a record read before
                    // another writer's change and written after it) leaves a stale field.
                    let shared = if writer % 2 == 0 {
                        Change::Started(format!("{writer}.{n}.0"))
                    } else {
                        Change::Installed(serde_json::json!({ "writer": writer, "n": n }))
                    };
                    store.apply(&[change("shared", shared)]).unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let all = store.all().unwrap();
    for writer in 0..8 {
        assert_eq!(
            all[&format!("w{writer}")].started_version.as_deref(),
            Some("24.0.0")
        );
    }
    // Both fields hold the last change of one of their writers: each writer's last is n = 24.
    let shared = &all["shared"];
    let version = shared.started_version.as_deref().unwrap_or_default();
    assert!(
        (0..8).step_by(2).any(|w| version == format!("{w}.24.0")),
        "stale version {version:?}"
    );
    assert!(
        (1..8)
            .step_by(2)
            .any(|w| shared.config == Some(serde_json::json!({ "writer": w, "n": 24 }))),
        "stale configuration {:?}",
        shared.config
    );
}
