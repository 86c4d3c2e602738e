/* Exercises every function of needle.h: happy paths, every error path that a C caller can hit
 * (NULL pointers, closed handles, bad JSON, wrong dimensions), and ownership (every result freed).
 * Run by ffi/tests/c_api.rs, directly and under valgrind. Usage: test_api <scratch-dir> */
#include "needle.h"
#include "needle.h" /* double include must be harmless */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        checks++;                                                                    \
        if (!(cond)) {                                                               \
            failures++;                                                              \
            fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n", __FILE__,  \
                    __LINE__, #cond, needle_last_error_message());                   \
        }                                                                            \
    } while (0)

#define OK(call) CHECK((call) == NEEDLE_OK)
#define FAILS(call, status) CHECK((call) == (status))

static void test_versions(void) {
    CHECK(needle_abi_version() == NEEDLE_ABI_VERSION);
    CHECK(strcmp(needle_version(), NEEDLE_VERSION_STRING) == 0);
    CHECK(needle_version_number() == NEEDLE_VERSION_NUMBER);
    char expect[64];
    snprintf(expect, sizeof expect, "%d.%d.%d", NEEDLE_VERSION_MAJOR, NEEDLE_VERSION_MINOR,
             NEEDLE_VERSION_PATCH);
    CHECK(strcmp(needle_version(), expect) == 0);

    char *info = NULL;
    OK(needle_build_info(&info, NULL));
    CHECK(info != NULL && strstr(info, "\"simd_backend\"") != NULL);
    CHECK(info != NULL && strstr(info, "\"hnsw\"") != NULL);
    CHECK(info != NULL && strstr(info, "\"plugins\"") != NULL);
    needle_string_free(info);
    needle_string_free(NULL);
    FAILS(needle_build_info(NULL, NULL), NEEDLE_NULL_PARAMETER);
}

static void test_status_strings(void) {
    CHECK(strcmp(needle_status_str(NEEDLE_OK), "ok") == 0);
    CHECK(strcmp(needle_status_str(NEEDLE_DIMENSION_MISMATCH), "dimension_mismatch") == 0);
    CHECK(strcmp(needle_status_str(NEEDLE_NULL_PARAMETER), "null_parameter") == 0);
    CHECK(strcmp(needle_status_str(NEEDLE_PANIC), "panic") == 0);
    CHECK(strcmp(needle_status_str(NEEDLE_CLOSED), "closed") == 0);
    CHECK(strcmp(needle_status_str(12345), "unknown") == 0);
    CHECK(needle_last_error_message() != NULL);
}

static void test_null_handles(void) {
    size_t n = 0;
    FAILS(needle_db_save(NULL, NULL), NEEDLE_NULL_PARAMETER);
    CHECK(strstr(needle_last_error_message(), "db") != NULL);
    FAILS(needle_collection_count(NULL, &n, NULL), NEEDLE_NULL_PARAMETER);
    FAILS(needle_db_open(NULL, NULL, NULL, NULL), NEEDLE_NULL_PARAMETER);
    FAILS(needle_db_open_memory(NULL, NULL), NEEDLE_NULL_PARAMETER);
    OK(needle_db_close(NULL, NULL));
    needle_collection_free(NULL);
    needle_hits_free(NULL);
    needle_hits_list_free(NULL);
    needle_record_free(NULL);
    needle_record_list_free(NULL);
    needle_string_list_free(NULL);
}

static void fill(float *v, size_t dim, int seed) {
    for (size_t i = 0; i < dim; i++) v[i] = (float)((seed * 31 + (int)i * 7) % 17) - 8.0f + 0.5f;
}

static void test_collections(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/c_api.needle", dir);
    remove(path);

    needle_db *db = NULL;
    FAILS(needle_db_open(path, "{\"no_such_key\":1}", &db, NULL), NEEDLE_INVALID_CONFIG);
    CHECK(db == NULL);
    FAILS(needle_db_open(path, "{not json", &db, NULL), NEEDLE_INVALID_JSON);
    FAILS(needle_db_open(path, "{\"encryption_key\":\"zz\"}", &db, NULL), NEEDLE_INVALID_CONFIG);
    FAILS(needle_db_open(path, "{\"durability\":\"sometimes\"}", &db, NULL), NEEDLE_INVALID_CONFIG);
    FAILS(needle_db_open(path, "{\"read_only\":true}", &db, NULL), NEEDLE_IO); /* read-only never creates */
    OK(needle_db_open(path, NULL, &db, NULL));
    CHECK(db != NULL);

    enum { DIM = 8 };
    needle_collection *c = NULL;
    OK(needle_db_create_collection(db, "docs", DIM, "{\"distance\":\"euclidean\",\"index\":\"flat\"}", &c, NULL));
    FAILS(needle_db_create_collection(db, "docs", DIM, NULL, NULL, NULL), NEEDLE_COLLECTION_EXISTS);
    FAILS(needle_db_create_collection(db, "bad", DIM, "{\"distance\":\"nope\"}", NULL, NULL), NEEDLE_UNKNOWN_COMPONENT);
    CHECK(strstr(needle_last_error_message(), "nope") != NULL);
    OK(needle_db_create_collection(db, "other", 3, NULL, NULL, NULL));

    size_t n = 99;
    OK(needle_collection_dimensions(c, &n, NULL));
    CHECK(n == DIM);
    OK(needle_collection_count(c, &n, NULL));
    CHECK(n == 0);
    FAILS(needle_collection_count(c, NULL, NULL), NEEDLE_NULL_PARAMETER);

    float v[DIM];
    fill(v, DIM, 1);
    OK(needle_collection_insert(c, "a", v, DIM, "{\"title\":\"first\"}", NULL));
    FAILS(needle_collection_insert(c, "a", v, DIM, NULL, NULL), NEEDLE_DUPLICATE_ID);
    FAILS(needle_collection_insert(c, "b", v, DIM - 1, NULL, NULL), NEEDLE_DIMENSION_MISMATCH);
    CHECK(strstr(needle_last_error_message(), "expected 8") != NULL);
    FAILS(needle_collection_insert(c, "b", v, DIM, "{bad", NULL), NEEDLE_INVALID_JSON);
    FAILS(needle_collection_insert(c, "", v, DIM, NULL, NULL), NEEDLE_INVALID_ID);
    FAILS(needle_collection_insert(c, NULL, v, DIM, NULL, NULL), NEEDLE_NULL_PARAMETER);
    FAILS(needle_collection_insert(c, "b", NULL, DIM, NULL, NULL), NEEDLE_NULL_PARAMETER);
    float bad[DIM];
    fill(bad, DIM, 2);
    bad[3] = NAN;
    FAILS(needle_collection_insert(c, "b", bad, DIM, NULL, NULL), NEEDLE_NON_FINITE_VECTOR);
    /* finite, but its squared norm overflows float: refused, not stored */
    for (int i = 0; i < DIM; i++) bad[i] = 3e38f;
    FAILS(needle_collection_insert(c, "b", bad, DIM, NULL, NULL), NEEDLE_VECTOR_TOO_LARGE);
    CHECK(strcmp(needle_status_str(NEEDLE_VECTOR_TOO_LARGE), "vector_too_large") == 0);
    const char invalid_utf8[] = {(char)0xff, (char)0xfe, 0};
    FAILS(needle_collection_insert(c, invalid_utf8, v, DIM, NULL, NULL), NEEDLE_INVALID_UTF8);

    /* batch insert: 10 vectors, ids v0..v9, metadata on even ones */
    enum { N = 10 };
    float rows[N * DIM];
    char idbuf[N][8];
    const char *ids[N];
    const char *metas[N];
    char metabuf[N][32];
    for (int i = 0; i < N; i++) {
        fill(rows + i * DIM, DIM, 100 + i);
        snprintf(idbuf[i], sizeof idbuf[i], "v%d", i);
        ids[i] = idbuf[i];
        snprintf(metabuf[i], sizeof metabuf[i], "{\"i\":%d}", i);
        metas[i] = (i % 2 == 0) ? metabuf[i] : NULL;
    }
    OK(needle_collection_insert_batch(c, ids, rows, N, DIM, metas, NULL));
    FAILS(needle_collection_insert_batch(c, ids, rows, N, DIM, NULL, NULL), NEEDLE_DUPLICATE_ID);
    OK(needle_collection_count(c, &n, NULL));
    CHECK(n == N + 1);

    /* upsert single and batch */
    bool replaced = false;
    float w[DIM];
    fill(w, DIM, 7);
    OK(needle_collection_upsert(c, "a", w, DIM, NULL, &replaced, NULL));
    CHECK(replaced);
    OK(needle_collection_upsert(c, "new", w, DIM, "{\"n\":1}", NULL, NULL));
    size_t nrep = 0;
    const char *up_ids[2] = {"v0", "fresh"};
    float up_rows[2 * DIM];
    fill(up_rows, DIM, 300);
    fill(up_rows + DIM, DIM, 301);
    OK(needle_collection_upsert_batch(c, up_ids, up_rows, 2, DIM, NULL, &nrep, NULL));
    CHECK(nrep == 1);
    const char *bad_ids[2] = {"x1", ""};
    FAILS(needle_collection_upsert_batch(c, bad_ids, up_rows, 2, DIM, NULL, &nrep, NULL), NEEDLE_INVALID_ID);
    OK(needle_collection_count(c, &n, NULL));
    CHECK(n == N + 3);

    /* get */
    needle_record *rec = NULL;
    OK(needle_collection_get(c, "v2", &rec, NULL));
    CHECK(rec != NULL && strcmp(rec->id, "v2") == 0 && rec->dim == DIM);
    CHECK(rec != NULL && memcmp(rec->vector, rows + 2 * DIM, sizeof(float) * DIM) == 0);
    CHECK(rec != NULL && rec->metadata_json != NULL && strcmp(rec->metadata_json, "{\"i\":2}") == 0);
    needle_record_free(rec);
    rec = NULL;
    FAILS(needle_collection_get(c, "missing", &rec, NULL), NEEDLE_VECTOR_NOT_FOUND);
    CHECK(rec == NULL);
    needle_record_list *recs = NULL;
    const char *get_ids[3] = {"v1", "missing", "new"};
    OK(needle_collection_get_batch(c, get_ids, 3, &recs, NULL));
    CHECK(recs != NULL && recs->len == 3);
    if (recs && recs->len == 3) {
        CHECK(strcmp(recs->records[0].id, "v1") == 0 && recs->records[0].metadata_json == NULL);
        CHECK(recs->records[1].id == NULL && recs->records[1].vector == NULL);
        CHECK(strcmp(recs->records[2].metadata_json, "{\"n\":1}") == 0);
    }
    needle_record_list_free(recs);

    /* search: flat + euclidean is exact, so the nearest to v5's vector is v5 at distance 0 */
    needle_hits *hits = NULL;
    OK(needle_collection_search(c, rows + 5 * DIM, DIM, 3, NULL, &hits, NULL));
    CHECK(hits != NULL && hits->len == 3);
    if (hits && hits->len == 3) {
        CHECK(strcmp(hits->hits[0].id, "v5") == 0);
        CHECK(hits->hits[0].distance == 0.0f);
        CHECK(hits->hits[1].distance >= hits->hits[0].distance);
        CHECK(hits->hits[2].distance >= hits->hits[1].distance);
    }
    needle_hits_free(hits);
    OK(needle_collection_search(c, rows + 4 * DIM, DIM, 1, "{\"include_metadata\":false,\"ef_search\":10}", &hits, NULL));
    CHECK(hits != NULL && hits->len == 1 && strcmp(hits->hits[0].id, "v4") == 0 && hits->hits[0].metadata_json == NULL);
    needle_hits_free(hits);
    FAILS(needle_collection_search(c, rows, DIM, 3, "{\"filter\":{\"i\":{\"$bogus\":1}}}", &hits, NULL), NEEDLE_INVALID_FILTER);
    FAILS(needle_collection_search(c, rows, DIM, 0, NULL, &hits, NULL), NEEDLE_INVALID_ARGUMENT);
    FAILS(needle_collection_search(c, rows, DIM, 3, NULL, NULL, NULL), NEEDLE_NULL_PARAMETER);

    needle_hits_list *batch = NULL;
    OK(needle_collection_search_batch(c, rows + 6 * DIM, 3, DIM, 2, NULL, &batch, NULL));
    CHECK(batch != NULL && batch->len == 3);
    if (batch && batch->len == 3) {
        for (int q = 0; q < 3; q++) {
            char want[8];
            snprintf(want, sizeof want, "v%d", 6 + q);
            CHECK(batch->results[q].len == 2 && strcmp(batch->results[q].hits[0].id, want) == 0);
        }
    }
    needle_hits_list_free(batch);

    /* delete */
    bool existed = false;
    OK(needle_collection_delete(c, "v9", &existed, NULL));
    CHECK(existed);
    OK(needle_collection_delete(c, "v9", &existed, NULL));
    CHECK(!existed);
    size_t deleted = 0;
    const char *del_ids[3] = {"v8", "v7", "nope"};
    OK(needle_collection_delete_batch(c, del_ids, 3, &deleted, NULL));
    CHECK(deleted == 2);
    OK(needle_collection_count(c, &n, NULL));
    CHECK(n == N);

    char *json = NULL;
    OK(needle_collection_info(c, &json, NULL));
    CHECK(json != NULL && strstr(json, "\"flat\"") != NULL);
    needle_string_free(json);

    needle_string_list *names = NULL;
    OK(needle_db_list_collections(db, &names, NULL));
    CHECK(names != NULL && names->len == 2 && strcmp(names->items[0], "docs") == 0);
    needle_string_list_free(names);

    OK(needle_db_save(db, NULL));
    OK(needle_db_compact(db, NULL));
    OK(needle_collection_count(c, &n, NULL));
    CHECK(n == N);
    OK(needle_db_drop_collection(db, "other", NULL));
    FAILS(needle_db_drop_collection(db, "other", NULL), NEEDLE_COLLECTION_NOT_FOUND);
    needle_collection *again = NULL;
    FAILS(needle_db_collection(db, "other", &again, NULL), NEEDLE_COLLECTION_NOT_FOUND);
    OK(needle_db_collection(db, "docs", &again, NULL));
    OK(needle_collection_count(again, &n, NULL));
    CHECK(n == N);

    /* closing the database: collection handles report NEEDLE_CLOSED but must still be freed */
    OK(needle_db_close(db, NULL));
    FAILS(needle_collection_count(c, &n, NULL), NEEDLE_CLOSED);
    FAILS(needle_collection_insert(again, "z", v, DIM, NULL, NULL), NEEDLE_CLOSED);
    needle_collection_free(c);
    needle_collection_free(again);

    /* reopen read-only: data survived, writes refused */
    OK(needle_db_open(path, "{\"read_only\":true}", &db, NULL));
    OK(needle_db_collection(db, "docs", &c, NULL));
    OK(needle_collection_count(c, &n, NULL));
    CHECK(n == N);
    FAILS(needle_collection_insert(c, "z", v, DIM, NULL, NULL), NEEDLE_READ_ONLY);
    FAILS(needle_db_save(db, NULL), NEEDLE_READ_ONLY);
    OK(needle_collection_search(c, w, DIM, 1, NULL, &hits, NULL));
    CHECK(hits != NULL && hits->len == 1 && (strcmp(hits->hits[0].id, "a") == 0 || strcmp(hits->hits[0].id, "new") == 0));
    needle_hits_free(hits);
    needle_collection_free(c);
    OK(needle_db_close(db, NULL));

    /* in-memory database */
    OK(needle_db_open_memory(&db, NULL));
    OK(needle_db_create_collection(db, "m", 2, NULL, &c, NULL));
    float m[2] = {1.0f, 0.0f};
    float zero[2] = {0.0f, 0.0f};
    FAILS(needle_collection_insert(c, "z", zero, 2, NULL, NULL), NEEDLE_ZERO_VECTOR); /* cosine */
    OK(needle_collection_insert(c, "x", m, 2, NULL, NULL));
    OK(needle_db_save(db, NULL));
    needle_collection_free(c);
    OK(needle_db_close(db, NULL));

    /* encrypted database: right key reopens, wrong key is NEEDLE_WRONG_KEY */
    char enc[4096];
    snprintf(enc, sizeof enc, "%s/enc.needle", dir);
    const char *key_cfg = "{\"encryption_key\":\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\","
                          "\"durability\":\"on_save\"}";
    OK(needle_db_open(enc, key_cfg, &db, NULL));
    OK(needle_db_create_collection(db, "secret", 2, NULL, &c, NULL));
    OK(needle_collection_insert(c, "s", m, 2, "{\"pin\":1234}", NULL));
    needle_collection_free(c);
    OK(needle_db_close(db, NULL));
    FAILS(needle_db_open(enc, "{\"encryption_key\":\"ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"}", &db, NULL),
          NEEDLE_WRONG_KEY);
    OK(needle_db_open(enc, key_cfg, &db, NULL));
    OK(needle_db_collection(db, "secret", &c, NULL));
    OK(needle_collection_get(c, "s", &rec, NULL));
    CHECK(rec != NULL && strcmp(rec->metadata_json, "{\"pin\":1234}") == 0);
    needle_record_free(rec);
    needle_collection_free(c);
    OK(needle_db_close(db, NULL));

    /* garbage file */
    char junk[4096];
    snprintf(junk, sizeof junk, "%s/junk.needle", dir);
    FILE *f = fopen(junk, "wb");
    fputs("this is not a needle database, not at all, no", f);
    fclose(f);
    FAILS(needle_db_open(junk, NULL, &db, NULL), NEEDLE_NOT_A_NEEDLE_FILE);
}

/* A plugin named in the config string: create a collection with its distance, search, reopen. */
static void test_plugin(const char *dir, const char *plugin) {
    char path[4096], cfg[8192];
    snprintf(path, sizeof path, "%s/plugin.needle", dir);
    snprintf(cfg, sizeof cfg, "{\"plugins\":[\"%s\"]}", plugin);
    needle_db *db = NULL;
    needle_collection *c = NULL;
    OK(needle_db_open(path, cfg, &db, NULL));
    OK(needle_db_create_collection(db, "cheb", 2, "{\"distance\":\"chebyshev\",\"index\":\"flat\"}", &c, NULL));
    float a[2] = {0.0f, 0.0f}, b[2] = {3.0f, 1.0f}, q[2] = {2.0f, 5.0f};
    OK(needle_collection_insert(c, "a", a, 2, NULL, NULL));
    OK(needle_collection_insert(c, "b", b, 2, NULL, NULL));
    needle_hits *hits = NULL;
    OK(needle_collection_search(c, q, 2, 2, NULL, &hits, NULL));
    CHECK(hits != NULL && hits->len == 2 && strcmp(hits->hits[0].id, "b") == 0 && hits->hits[0].distance == 4.0f);
    needle_hits_free(hits);
    char *info = NULL;
    OK(needle_build_info(&info, NULL));
    CHECK(info != NULL && strstr(info, "\"chebyshev\"") != NULL);
    needle_string_free(info);
    needle_collection_free(c);
    OK(needle_db_close(db, NULL));
    snprintf(cfg, sizeof cfg, "{\"plugins\":[\"%s/no-such-plugin.so\"]}", dir);
    FAILS(needle_db_open(path, cfg, &db, NULL), NEEDLE_PLUGIN);
    OK(needle_db_open(path, NULL, &db, NULL)); /* the plugin stays loaded in this process */
    OK(needle_db_collection(db, "cheb", &c, NULL));
    needle_collection_free(c);
    OK(needle_db_close(db, NULL));
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : ".";
    test_versions();
    test_status_strings();
    test_null_handles();
    test_collections(dir);
    if (argc > 2) test_plugin(dir, argv[2]);
    printf("%d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
