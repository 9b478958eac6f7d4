//! Issue 19, item 15: a damaged state file gives a clear error, never a panic, and a record
//! edited to another valid value is refused rather than believed.

use std::panic::{AssertUnwindSafe, catch_unwind};

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use symphra::state::{Availability, Change, RedbStore, StateError, StateStore};

const RECORDS: TableDefinition<&str, &[u8]> = TableDefinition::new("symphra_modules");

fn store_with_records(path: &std::path::Path) {
    let store = RedbStore::open(path).expect("a new store");
    let changes: Vec<(String, Change)> = (0..200)
        .map(|i| (format!("module-{i}"), Change::Started(format!("{i}.0.0"))))
        .collect();
    store.apply(&changes).expect("written");
}

/// What a damaged store may answer: a clear error, or (when the damage missed everything
/// read) its records.
fn is_clear(error: &StateError) -> bool {
    matches!(
        error,
        StateError::Corrupt { .. } | StateError::NotAStore { .. } | StateError::BadRecord { .. }
    ) || matches!(error, StateError::Storage { .. })
}

#[test]
fn item_15_byte_flips_give_a_clear_error_never_a_panic() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let pristine = dir.path().join("pristine.redb");
    store_with_records(&pristine);
    let bytes = std::fs::read(&pristine).expect("readable");
    assert!(bytes.len() > 8192, "{} bytes", bytes.len());
    let (mut clear, mut read_anyway) = (0, 0);
    for seed in 0..60_u64 {
        let mut damaged = bytes.clone();
        let mut rng = fastrand::Rng::with_seed(seed);
        for _ in 0..40 {
            let at = rng.usize(4096..damaged.len());
            damaged[at] ^= 1 << rng.u8(0..8);
        }
        let path = dir.path().join(format!("damaged-{seed}.redb"));
        std::fs::write(&path, &damaged).expect("written");
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let store = RedbStore::open(&path)?;
            store.all()?;
            store.apply(&[("extra".into(), Change::HeldStopped(true))])?;
            store.all().map(|_| ())
        }));
        match outcome {
            Err(_) => panic!("seed {seed}: the store panicked"),
            Ok(Ok(())) => read_anyway += 1,
            Ok(Err(error)) => {
                assert!(is_clear(&error), "seed {seed}: {error:?}");
                let message = error.to_string();
                assert!(message.contains(&*path.to_string_lossy()), "{message}");
                clear += 1;
            }
        }
    }
    eprintln!("{clear} damaged files refused clearly, {read_anyway} read anyway");
    assert!(clear > 0, "no damage was detected at all");
}

#[test]
fn item_15_a_record_edited_to_another_valid_value_is_refused() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("state.redb");
    {
        let store = RedbStore::open(&path).expect("a new store");
        store
            .apply(&[(
                "billing".into(),
                Change::Availability(Availability::Enabled),
            )])
            .expect("written");
    }
    {
        // Edited outside Symphra: valid JSON, a valid value, no checksum to match.
        let db = redb::Database::open(&path).expect("redb opens it");
        let txn = db.begin_write().expect("a transaction");
        {
            let mut records = txn.open_table(RECORDS).expect("the table");
            let stored = records
                .get("billing")
                .expect("readable")
                .expect("present")
                .value()
                .to_vec();
            let edited = String::from_utf8_lossy(&stored[4..]).replace("enabled", "ignored");
            let forged = [&stored[..4], edited.as_bytes()].concat();
            records
                .insert("billing", forged.as_slice())
                .expect("edited");
            records
                .insert("payroll", br#"{"availability":"ignored"}"#.as_slice())
                .expect("added");
        }
        txn.commit().expect("committed");
    }
    let store = RedbStore::open(&path).expect("the file itself is sound");
    for module in ["billing", "payroll"] {
        let error = store.get(module).expect_err("an edited record");
        assert!(
            matches!(&error, StateError::BadRecord { module: m, .. } if m == module),
            "{error:?}"
        );
        assert!(error.to_string().contains("checksum"), "{error}");
    }
    assert!(store.all().is_err(), "all() refuses it too");
    drop(store);
    let db = redb::ReadOnlyDatabase::open(&path).expect("readable");
    let txn = db.begin_read().expect("a transaction");
    assert!(
        txn.open_table(RECORDS)
            .expect("the table")
            .len()
            .expect("len")
            == 2
    );
}
