//! Hybrid search on real data: the first 20,000 wordnet-minilm glosses (`base.txt`, line i ↔
//! vector i) with their embeddings, queried with the held-out queries' embeddings.
//!
//! - Keyword → hybrid: for a rare word of the query's own text (in at most 3 glosses, none of them
//!   among the query vector's 100 nearest), hybrid search puts a gloss containing it in the top 10
//!   though vector search alone ranks it below 100.
//! - Vector → hybrid (the reverse): the query vector's nearest gloss, which does not contain the
//!   word and so is not ranked by BM25 at all, is in the hybrid top 10 too.
//! - The full query text plus the vector: hybrid keeps a good part of the vector top 10 and adds
//!   keyword matches vector search misses.
#![cfg(feature = "hybrid")]
#![allow(clippy::needless_range_loop)]

mod common;

use std::collections::HashSet;

use needle::core::text::Tokenizer;
use needle::{CollectionConfig, Database};
use serde_json::json;

const N: usize = 20_000;
const Q: usize = 1_000;

fn lines(name: &str, n: usize) -> Vec<String> {
    let path = common::data_dir().join("wordnet-minilm").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: Vec<String> = text.lines().take(n).map(str::to_string).collect();
    assert_eq!(v.len(), n, "{} has fewer than {n} lines", path.display());
    v
}

#[test]
fn hybrid_finds_what_each_side_alone_ranks_low() {
    let (base, queries) = common::wordnet(N, Q);
    let texts = lines("base.txt", N);
    let qtexts = lines("query.txt", Q);
    let db = Database::in_memory();
    let c = db.create_collection_with_config(CollectionConfig::new("wn", 384).with_text_field("text")).unwrap();
    let items: Vec<_> =
        (0..N).map(|i| (i.to_string(), base.row(i).to_vec(), Some(json!({"text": texts[i].clone()})))).collect();
    for chunk in items.chunks(5_000) {
        c.insert_batch(chunk).unwrap();
    }
    let tok = Tokenizer::default();

    let (mut cases, mut keyword_found, mut vector_found) = (0, 0, 0);
    let mut examples = Vec::new();
    for qi in 0..Q {
        let q = queries.row(qi);
        let near100: Vec<String> = c.search(q, 100).unwrap().into_iter().map(|h| h.id).collect();
        let near: HashSet<&str> = near100.iter().map(String::as_str).collect();
        // A rare word of the query's text whose glosses vector search ranks below 100.
        let Some((word, docs)) = tok.tokenize(&qtexts[qi]).into_iter().find_map(|w| {
            let docs: Vec<String> = c.text_search(&w, 4, None).unwrap().into_iter().map(|h| h.id).collect();
            (!docs.is_empty() && docs.len() <= 3 && docs.iter().all(|d| !near.contains(d.as_str())))
                .then_some((w, docs))
        }) else {
            continue;
        };
        cases += 1;
        let hybrid = c.hybrid_search(&word, q, 10).unwrap();
        assert_eq!(hybrid.len(), 10);
        if hybrid.iter().any(|h| docs.contains(&h.id)) {
            keyword_found += 1;
        }
        // The reverse: vector search's nearest gloss, not containing the word, unknown to BM25.
        let top = &near100[0];
        assert!(!docs.contains(top));
        assert!(!c.text_search(&word, 100, None).unwrap().iter().any(|h| &h.id == top));
        if hybrid.iter().any(|h| &h.id == top && h.vector_rank == Some(1) && h.text_rank.is_none()) {
            vector_found += 1;
        }
        if examples.len() < 3 {
            let d: usize = docs[0].parse().unwrap();
            examples.push(format!(
                "query {qi:?} {:?}\n    word {word:?} -> gloss {d}: {:?}",
                qtexts[qi],
                texts[d].chars().take(90).collect::<String>()
            ));
        }
        if cases == 60 {
            break;
        }
    }
    println!("{}", examples.join("\n"));
    println!("{cases} rare-keyword cases: keyword gloss in hybrid top 10: {keyword_found}; vector top 1 in hybrid top 10: {vector_found}");
    assert!(cases >= 30, "only {cases} usable queries");
    assert_eq!(keyword_found, cases, "hybrid missed a keyword-only document");
    assert_eq!(vector_found, cases, "hybrid missed a vector-only document");

    // Full query text + vector over 200 queries: hybrid keeps most vector neighbours and adds
    // documents that vector search does not rank in its top 10.
    let (mut kept, mut added) = (0usize, 0usize);
    for qi in 0..200 {
        let q = queries.row(qi);
        let vec10: HashSet<String> = c.search(q, 10).unwrap().into_iter().map(|h| h.id).collect();
        let hybrid = c.hybrid_search(&qtexts[qi], q, 10).unwrap();
        kept += hybrid.iter().filter(|h| vec10.contains(&h.id)).count();
        added += hybrid.iter().filter(|h| !vec10.contains(&h.id) && h.text_rank.is_some()).count();
        // Fused scores are sorted and consistent with the ranks.
        assert!(hybrid.windows(2).all(|w| w[0].score >= w[1].score));
        for h in &hybrid {
            let want = h.vector_rank.map_or(0.0, |r| 1.0 / (60.0 + r as f32))
                + h.text_rank.map_or(0.0, |r| 1.0 / (60.0 + r as f32));
            assert!((h.score - want).abs() < 1e-6);
        }
    }
    println!(
        "full query text: {kept} of 2000 hybrid results are vector top-10 neighbours, {added} come from BM25 only"
    );
    assert!(kept >= 600 && added >= 300, "kept {kept}, added {added}");
}
