/* The whole engine from C: filtered search and batch search (the Rust/HTTP filter syntax),
 * strategies, hybrid and keyword search, explain, backup, compaction, count, id paging and
 * auto_tune, each with its bad inputs. Usage: test_engine <scratch-dir> */
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIM 4
#define N 40

static const char *texts[] = {"red apple pie", "green apple", "blue sky", "red car", "fast blue car"};

/* 40 documents: year 2000+i, lang en for even i, a text field, vectors along a spiral */
static needle_collection *fill(needle_db *db) {
    needle_collection *c = NULL;
    OK(needle_db_create_collection(db, "docs", DIM, "{\"distance\":\"euclidean\",\"text_field\":\"text\"}", &c, &err));
    for (int i = 0; i < N; i++) {
        char id[16], meta[128];
        snprintf(id, sizeof id, "d%d", i);
        snprintf(meta, sizeof meta, "{\"year\":%d,\"lang\":\"%s\",\"text\":\"%s\"}", 2000 + i, i % 2 ? "de" : "en",
                 texts[i % 5]);
        float v[DIM] = {(float)i, (float)(i % 7), (float)(i % 3), 1};
        OK(needle_collection_insert(c, id, v, DIM, meta, &err));
    }
    return c;
}

static void test_filters(needle_collection *c) {
    const float q[DIM] = {10, 3, 1, 1};
    needle_hits *hits = NULL;
    /* year >= 2030 and English: d30, d32, ..., d38 -> 5 matches, fewer than k */
    OK(needle_collection_search(c, q, DIM, 10, "{\"filter\":{\"year\":{\"$gte\":2030},\"lang\":\"en\"}}", &hits, &err));
    CHECK(hits != NULL && hits->len == 5);
    for (size_t i = 0; hits && i < hits->len; i++) {
        int n = atoi(hits->hits[i].id + 1);
        CHECK(n >= 30 && n % 2 == 0);
        CHECK(strstr(hits->hits[i].metadata_json, "\"en\"") != NULL);
    }
    needle_hits_free(hits);
    /* $in, $or, dotted-free paths, forced strategies all agree on the best hit */
    const char *strategies[] = {"graph", "filtered-graph", "exact"};
    for (int s = 0; s < 3; s++) {
        char params[160];
        snprintf(params, sizeof params, "{\"strategy\":\"%s\",\"filter\":{\"$or\":[{\"year\":2011},{\"year\":{\"$in\":[2012]}}]}}",
                 strategies[s]);
        OK(needle_collection_search(c, q, DIM, 3, params, &hits, &err));
        CHECK(hits != NULL && hits->len == 2 && strcmp(hits->hits[0].id, "d11") == 0);
        needle_hits_free(hits);
    }
    /* batch search with one filter for every query */
    const float qs[2 * DIM] = {0, 0, 0, 1, 39, 4, 0, 1};
    needle_hits_list *list = NULL;
    OK(needle_collection_search_batch(c, qs, 2, DIM, 2, "{\"filter\":{\"lang\":\"de\"}}", &list, &err));
    CHECK(list != NULL && list->len == 2);
    CHECK(list && strcmp(list->results[0].hits[0].id, "d1") == 0 && strcmp(list->results[1].hits[0].id, "d39") == 0);
    needle_hits_list_free(list);
    /* bad filters and parameters: a clear code, nothing returned */
    hits = NULL;
    FAILS(needle_collection_search(c, q, DIM, 3, "{\"filter\":{\"year\":{\"$near\":1}}}", &hits, &err), NEEDLE_INVALID_FILTER);
    CHECK(hits == NULL && strstr(err.message, "$near") != NULL);
    FAILS(needle_collection_search(c, q, DIM, 3, "{\"filter\":{\"$and\":5}}", &hits, &err), NEEDLE_INVALID_FILTER);
    FAILS(needle_collection_search(c, q, DIM, 3, "{\"filter\":", &hits, &err), NEEDLE_INVALID_JSON);
    FAILS(needle_collection_search(c, q, DIM, 3, "{\"strategy\":\"sideways\"}", &hits, &err), NEEDLE_INVALID_ARGUMENT);
    FAILS(needle_collection_search_batch(c, qs, 2, DIM, 2, "{\"filter\":[1]}", &list, &err), NEEDLE_INVALID_FILTER);
    /* a filter matching nothing is no error */
    OK(needle_collection_search(c, q, DIM, 3, "{\"filter\":{\"lang\":\"fr\"}}", &hits, &err));
    CHECK(hits != NULL && hits->len == 0 && hits->hits == NULL);
    needle_hits_free(hits);
}

static void test_hybrid(needle_db *db, needle_collection *c) {
    const float q[DIM] = {3, 3, 0, 1};
    needle_hybrid_hits *hh = NULL;
    OK(needle_collection_hybrid_search(c, "red car", q, DIM, 5, NULL, &hh, &err));
    CHECK(hh != NULL && hh->len == 5);
    /* d3 is "red car" and the nearest vector: first in both rankings */
    CHECK(hh && strcmp(hh->hits[0].id, "d3") == 0 && hh->hits[0].vector_rank == 1 && hh->hits[0].text_rank >= 1);
    CHECK(hh && hh->hits[0].score > 0 && !isnan(hh->hits[0].distance) && !isnan(hh->hits[0].bm25));
    for (size_t i = 1; hh && i < hh->len; i++) CHECK(hh->hits[i].score <= hh->hits[i - 1].score);
    needle_hybrid_hits_free(hh);
    OK(needle_collection_hybrid_search(c, "apple", q, DIM, 3,
                                       "{\"vector_weight\":0,\"text_weight\":1,\"include_metadata\":false,\"filter\":{\"lang\":\"de\"}}",
                                       &hh, &err));
    CHECK(hh != NULL && hh->len == 3);
    for (size_t i = 0; hh && i < hh->len; i++) {
        CHECK(hh->hits[i].metadata_json == NULL && atoi(hh->hits[i].id + 1) % 2 == 1);
        CHECK(hh->hits[i].text_rank > 0);
    }
    needle_hybrid_hits_free(hh);
    /* keyword search alone */
    OK(needle_collection_text_search(c, "blue", 20, "{\"year\":{\"$lt\":2010}}", &hh, &err));
    CHECK(hh != NULL && hh->len == 4); /* d2, d4, d7, d9 */
    for (size_t i = 0; hh && i < hh->len; i++) CHECK(isnan(hh->hits[i].distance) && hh->hits[i].bm25 > 0);
    needle_hybrid_hits_free(hh);
    hh = NULL;
    FAILS(needle_collection_hybrid_search(c, "x", q, DIM, 3, "{\"text_weight\":-1}", &hh, &err), NEEDLE_INVALID_ARGUMENT);
    FAILS(needle_collection_hybrid_search(c, "x", q, DIM, 3, "{\"weight\":1}", &hh, &err), NEEDLE_INVALID_CONFIG);
    FAILS(needle_collection_hybrid_search(c, NULL, q, DIM, 3, NULL, &hh, &err), NEEDLE_NULL_PARAMETER);
    FAILS(needle_collection_hybrid_search(c, "x", q, DIM - 1, 3, NULL, &hh, &err), NEEDLE_DIMENSION_MISMATCH);
    FAILS(needle_collection_text_search(c, "x", 3, "{\"a\":{\"$x\":1}}", &hh, &err), NEEDLE_INVALID_FILTER);
    CHECK(hh == NULL);
    /* a collection without a text field */
    needle_collection *plain = NULL;
    OK(needle_db_create_collection(db, "plain", DIM, NULL, &plain, &err));
    FAILS(needle_collection_hybrid_search(plain, "x", q, DIM, 3, NULL, &hh, &err), NEEDLE_INVALID_CONFIG);
    FAILS(needle_collection_text_search(plain, "x", 3, NULL, &hh, &err), NEEDLE_INVALID_CONFIG);
    needle_collection_free(plain);
    needle_hybrid_hits_free(NULL);
}

static void test_explain(needle_collection *c) {
    const float q[DIM] = {5, 5, 2, 1};
    char *json = NULL;
    OK(needle_collection_search_explain(c, q, DIM, 3, "{\"filter\":{\"lang\":\"en\"}}", &json, &err));
    CHECK(json != NULL && strstr(json, "\"results\"") != NULL && strstr(json, "\"profile\"") != NULL);
    CHECK(json != NULL && strstr(json, "\"strategy\"") != NULL && strstr(json, "\"filter_matches\":20") != NULL);
    needle_string_free(json);
    json = NULL;
    FAILS(needle_collection_search_explain(c, q, DIM, 0, NULL, &json, &err), NEEDLE_INVALID_ARGUMENT);
    FAILS(needle_collection_search_explain(c, q, DIM, 3, NULL, NULL, &err), NEEDLE_NULL_PARAMETER);
    CHECK(json == NULL);
}

static void test_ids_count_compact(needle_collection *c) {
    size_t n = 0;
    OK(needle_collection_count(c, &n, &err));
    CHECK(n == N);
    /* page through the ids, 15 at a time */
    int seen[N] = {0};
    size_t total = 0;
    for (size_t offset = 0;;) {
        needle_string_list *page = NULL;
        OK(needle_collection_ids(c, offset, 15, &page, &err));
        if (!page) break;
        for (size_t i = 0; i < page->len; i++) seen[atoi(page->items[i] + 1)]++;
        total += page->len;
        offset += page->len;
        size_t len = page->len;
        needle_string_list_free(page);
        if (len < 15) break;
    }
    CHECK(total == N);
    for (int i = 0; i < N; i++) CHECK(seen[i] == 1);
    needle_string_list *all = NULL;
    OK(needle_collection_ids(c, 0, 0, &all, &err));
    CHECK(all != NULL && all->len == N);
    needle_string_list_free(all);
    OK(needle_collection_ids(c, 1000, 5, &all, &err));
    CHECK(all != NULL && all->len == 0);
    needle_string_list_free(all);
    FAILS(needle_collection_ids(c, 0, 0, NULL, &err), NEEDLE_NULL_PARAMETER);
    /* delete half, compact the collection: same count and results */
    for (int i = 0; i < N; i += 2) {
        char id[16];
        snprintf(id, sizeof id, "d%d", i);
        OK(needle_collection_delete(c, id, NULL, &err));
    }
    OK(needle_collection_compact(c, &err));
    OK(needle_collection_count(c, &n, &err));
    CHECK(n == N / 2);
    const float q[DIM] = {21, 0, 0, 1}; /* d21 itself */
    needle_hits *hits = NULL;
    OK(needle_collection_search(c, q, DIM, 1, NULL, &hits, &err));
    CHECK(hits != NULL && hits->len == 1 && strcmp(hits->hits[0].id, "d21") == 0);
    needle_hits_free(hits);
    FAILS(needle_collection_compact(NULL, &err), NEEDLE_NULL_PARAMETER);
}

static void test_backup(const char *dir) {
    char path[4096], copy[4200];
    snprintf(path, sizeof path, "%s/engine.needle", dir);
    snprintf(copy, sizeof copy, "%s/engine-backup.needle", dir);
    needle_db *db = NULL;
    OK(needle_db_open(path, NULL, &db, &err));
    needle_collection *c = fill(db);
    OK(needle_db_backup(db, copy, &err));
    /* the backup is taken while in use: writes after it are not in it */
    const float v[DIM] = {1, 1, 1, 1};
    OK(needle_collection_insert(c, "late", v, DIM, NULL, &err));
    FAILS(needle_db_backup(db, path, &err), NEEDLE_INVALID_ARGUMENT);
    FAILS(needle_db_backup(db, NULL, &err), NEEDLE_NULL_PARAMETER);
    char bad[4300];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.needle", dir);
    FAILS(needle_db_backup(db, bad, &err), NEEDLE_IO);
    needle_collection_free(c);
    OK(needle_db_close(db, &err));
    needle_db *b = NULL;
    OK(needle_db_open(copy, "{\"read_only\":true}", &b, &err));
    OK(needle_db_collection(b, "docs", &c, &err));
    size_t n = 0;
    OK(needle_collection_count(c, &n, &err));
    CHECK(n == N);
    const float q[DIM] = {7, 0, 1, 1};
    needle_hits *hits = NULL;
    OK(needle_collection_search(c, q, DIM, 1, "{\"filter\":{\"year\":2007}}", &hits, &err));
    CHECK(hits != NULL && hits->len == 1 && strcmp(hits->hits[0].id, "d7") == 0);
    needle_hits_free(hits);
    needle_collection_free(c);
    OK(needle_db_close(b, &err));
}

static void test_auto_tune(void) {
    char *json = NULL;
    OK(needle_auto_tune("{\"num_vectors\":1000000,\"dimensions\":384,\"profile\":\"high_recall\"}", &json, &err));
    CHECK(json != NULL && strstr(json, "\"hnsw_m\"") != NULL && strstr(json, "\"estimated_recall\"") != NULL);
    needle_string_free(json);
    json = NULL;
    FAILS(needle_auto_tune("{\"num_vectors\":0,\"dimensions\":384}", &json, &err), NEEDLE_INVALID_ARGUMENT);
    FAILS(needle_auto_tune("{\"dimensions\":384}", &json, &err), NEEDLE_INVALID_CONFIG);
    FAILS(needle_auto_tune("{\"num_vectors\":10,\"dimensions\":4,\"profile\":\"fastest\"}", &json, &err),
          NEEDLE_INVALID_CONFIG);
    FAILS(needle_auto_tune("[", &json, &err), NEEDLE_INVALID_JSON);
    FAILS(needle_auto_tune(NULL, &json, &err), NEEDLE_NULL_PARAMETER);
    CHECK(json == NULL);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s <scratch-dir>\n", argv[0]);
        return 2;
    }
    needle_db *db = NULL;
    OK(needle_db_open_memory(&db, &err));
    needle_collection *c = fill(db);
    test_filters(c);
    test_hybrid(db, c);
    test_explain(c);
    test_ids_count_compact(c);
    needle_collection_free(c);
    OK(needle_db_close(db, &err));
    test_backup(argv[1]);
    test_auto_tune();
    needle_error_clear(&err);
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("test_engine: ok\n");
    return 0;
}
