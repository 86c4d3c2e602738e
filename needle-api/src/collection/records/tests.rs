//! The staged decoding of a mapped records section, seen through the public API: which stage a
//! call decodes, writes before the metadata stage, and damage found late.

use serde_json::json;

use crate::{Collection, CollectionConfig, Database, DatabaseConfig, Filter};

const N: usize = 300;

fn vector(i: usize) -> Vec<f32> {
    vec![i as f32, 1.0 + (i % 7) as f32, (i % 3) as f32]
}

fn meta(i: usize) -> Option<serde_json::Value> {
    (!i.is_multiple_of(4))
        .then(|| json!({"n": i, "even": i.is_multiple_of(2), "text": format!("word{} common", i % 5)}))
}

/// A saved file of `N` records (some without metadata, "v7" deleted).
fn build(path: &std::path::Path) {
    let db = Database::open(path).unwrap();
    let c = db
        .create_collection_with_config(CollectionConfig::new("c", 3).with_index("flat").with_text_field("text"))
        .unwrap();
    let items: Vec<_> = (0..N).map(|i| (format!("v{i}"), vector(i), meta(i))).collect();
    c.insert_batch(&items).unwrap();
    c.delete("v7").unwrap();
    db.save().unwrap();
}

fn mapped(path: &std::path::Path, read_only: bool) -> Database {
    Database::open_with_config(path, DatabaseConfig::new().with_mmap_threshold(0).with_read_only(read_only)).unwrap()
}

/// The file of [`build`], opened mapped and read-only.
fn built_read_only() -> (tempfile::TempDir, Database, Collection) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.needle");
    build(&path);
    let db = mapped(&path, true);
    let c = db.collection("c").unwrap();
    (dir, db, c)
}

fn stages(c: &Collection) -> (bool, bool) {
    let st = c.shared.state.read();
    (st.records.ids.get().is_some(), st.records.meta_decoded())
}

fn even(c: &Collection) -> Vec<String> {
    let f = Filter::parse(&json!({"even": true})).unwrap();
    let mut ids: Vec<String> = c.search_with_filter(&vector(0), 1000, &f).unwrap().into_iter().map(|r| r.id).collect();
    ids.sort();
    ids
}

#[test]
fn an_id_lookup_of_a_mapped_file_decodes_ids_only() {
    let (_dir, _db, c) = built_read_only();
    assert_eq!(stages(&c), (false, false));
    // Search results read single entries.
    let hit = &c.search(&vector(10), 1).unwrap()[0];
    assert_eq!((hit.id.as_str(), &hit.metadata), ("v10", &meta(10)));
    assert_eq!(stages(&c), (false, false));
    let before = c.info().unwrap().memory_bytes;
    let got = c.get("v42").unwrap().unwrap();
    assert_eq!((got.vector, got.metadata), (vector(42), meta(42)));
    assert!(c.get("v7").unwrap().is_none() && c.contains("v8").unwrap() && !c.contains("nope").unwrap());
    assert_eq!(c.count().unwrap(), N - 1);
    assert_eq!(stages(&c), (true, false), "an id lookup must not build the metadata indexes");
    let with_ids = c.info().unwrap().memory_bytes;
    // Filters decode the rest.
    let want: Vec<String> = {
        let mut v: Vec<String> =
            (0..N).filter(|&i| i != 7 && meta(i).is_some() && i.is_multiple_of(2)).map(|i| format!("v{i}")).collect();
        v.sort();
        v
    };
    assert_eq!(even(&c), want);
    assert_eq!(stages(&c), (true, true));
    let with_meta = c.info().unwrap().memory_bytes;
    assert!(before < with_ids && with_ids < with_meta, "{before} {with_ids} {with_meta}");
}

#[test]
fn writes_before_the_metadata_is_decoded_are_in_its_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.needle");
    build(&path);
    let expected = |c: &Collection| {
        // 300 built, v7 deleted; new in, v2 and v8 out, v7 back.
        assert_eq!(c.count().unwrap(), N - 1);
        assert!(c.get("v2").unwrap().is_none() && c.get("v8").unwrap().is_none());
        assert_eq!(c.get("v7").unwrap().unwrap().metadata, None);
        assert_eq!(c.get("v4").unwrap().unwrap().metadata, Some(json!({"even": false})));
        assert_eq!(c.get("new").unwrap().unwrap().metadata, Some(json!({"even": true, "text": "fresh"})));
        let evens = even(c);
        assert!(evens.contains(&"new".to_string()) && evens.contains(&"v6".to_string()));
        assert!(!evens.iter().any(|id| id == "v2" || id == "v4" || id == "v8" || id == "gone"));
        #[cfg(feature = "hybrid")]
        {
            let text = c.text_search("fresh", 5, None).unwrap();
            assert_eq!(text.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), vec!["new"]);
            assert!(c.text_search("word2", 500, None).unwrap().iter().all(|h| h.id != "v2"));
        }
    };
    {
        let db = mapped(&path, false);
        let c = db.collection("c").unwrap();
        c.insert("new", &vector(1000), Some(json!({"even": true, "text": "fresh"}))).unwrap();
        c.insert("gone", &vector(1001), Some(json!({"even": true}))).unwrap();
        c.delete("gone").unwrap();
        c.delete("v2").unwrap();
        c.delete("v8").unwrap();
        c.upsert("v4", &vector(4), Some(json!({"even": false}))).unwrap();
        c.upsert("v7", &vector(7), None).unwrap();
        assert_eq!(stages(&c), (true, false));
        db.save().unwrap();
        expected(&c);
    }
    for m in [true, false] {
        let db = if m { mapped(&path, true) } else { Database::open(&path).unwrap() };
        expected(&db.collection("c").unwrap());
    }
    // Compaction keeps every live record.
    let db = mapped(&path, false);
    let c = db.collection("c").unwrap();
    let ids = c.ids().unwrap();
    c.compact().unwrap();
    assert_eq!(c.ids().unwrap(), ids);
    expected(&c);
}

#[test]
fn damaged_metadata_fails_the_metadata_stage_and_every_later_call() {
    let (_dir, _db, c) = built_read_only();
    {
        // Corrupt one document in place, as if it had passed the checksum.
        let mut st = c.shared.state.write();
        let l = st.records.lazy.as_mut().unwrap();
        let mut b = l.section.data.to_vec();
        let at = b.windows(5).position(|w| w == b"\"n\":9").unwrap();
        b[at] = b'{';
        l.section.data = needle_core::format::SharedBytes::owned(b);
        l.section.verified = true;
    }
    assert!(c.get("v1").unwrap().is_some());
    let f = Filter::parse(&json!({"even": true})).unwrap();
    let corrupted = |e: needle_core::Error| assert!(matches!(e, needle_core::Error::Corrupted { .. }), "{e}");
    corrupted(c.search_with_filter(&vector(0), 5, &f).unwrap_err());
    corrupted(c.get("v1").unwrap_err());
    corrupted(c.search(&vector(0), 3).unwrap_err());
}
