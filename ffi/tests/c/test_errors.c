/* Errors bound to the call and to the handle: the needle_error argument (code and message of
 * exactly that call, owned by the caller), needle_db_errcode / needle_db_errmsg (latest call on a
 * database or its collections) and, from many threads sharing one handle, that each thread's
 * needle_error describes its own call. Usage: test_errors <scratch-dir> */
#define _POSIX_C_SOURCE 200809L
#include "needle.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
static pthread_mutex_t failures_lock = PTHREAD_MUTEX_INITIALIZER;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) {                                                              \
            pthread_mutex_lock(&failures_lock);                                     \
            failures++;                                                             \
            pthread_mutex_unlock(&failures_lock);                                   \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                           \
    } while (0)
#define DIM 8
#define THREADS 8
#define ROUNDS 1000

static void test_error_struct(void) {
    needle_error e = NEEDLE_ERROR_INIT;
    needle_db *db = NULL;
    CHECK(needle_db_open_memory(&db, &e) == NEEDLE_OK);
    CHECK(e.code == NEEDLE_OK && e.message == NULL);
    needle_collection *c = NULL;
    CHECK(needle_db_create_collection(db, "c", DIM, NULL, &c, &e) == NEEDLE_OK);
    float v[DIM] = {1};
    CHECK(needle_collection_insert(c, "a", v, 3, NULL, &e) == NEEDLE_DIMENSION_MISMATCH);
    CHECK(e.code == NEEDLE_DIMENSION_MISMATCH);
    CHECK(e.message != NULL && strstr(e.message, "expected 8, got 3") != NULL);
    /* reusing the struct frees the old message (valgrind checks) and reports the new call */
    CHECK(needle_collection_insert(c, "", v, DIM, NULL, &e) == NEEDLE_INVALID_ID);
    CHECK(e.code == NEEDLE_INVALID_ID && strstr(e.message, "empty") != NULL);
    CHECK(needle_collection_insert(c, "a", v, DIM, NULL, &e) == NEEDLE_OK);
    CHECK(e.code == NEEDLE_OK && e.message == NULL);
    CHECK(needle_db_collection(db, "nope", &c, &e) == NEEDLE_COLLECTION_NOT_FOUND);
    CHECK(strstr(e.message, "nope") != NULL);
    needle_error_clear(&e);
    CHECK(e.code == NEEDLE_OK && e.message == NULL);
    needle_error_clear(&e);
    needle_error_clear(NULL);
    /* NULL handles: the error names the parameter */
    CHECK(needle_db_save(NULL, &e) == NEEDLE_NULL_PARAMETER && strstr(e.message, "'db'") != NULL);
    needle_error_clear(&e);
    needle_collection_free(c);
    CHECK(needle_db_close(db, NULL) == NEEDLE_OK);
}

static void test_handle_errors(void) {
    needle_db *db = NULL;
    CHECK(needle_db_open_memory(&db, NULL) == NEEDLE_OK);
    CHECK(needle_db_errcode(db) == NEEDLE_OK);
    CHECK(strcmp(needle_db_errmsg(db), "") == 0);
    needle_collection *c = NULL;
    CHECK(needle_db_create_collection(db, "c", DIM, NULL, &c, NULL) == NEEDLE_OK);
    float v[DIM] = {1};
    /* a failure on a collection is reported on its database's handle */
    CHECK(needle_collection_insert(c, "a", v, 5, NULL, NULL) == NEEDLE_DIMENSION_MISMATCH);
    CHECK(needle_db_errcode(db) == NEEDLE_DIMENSION_MISMATCH);
    CHECK(strstr(needle_db_errmsg(db), "got 5") != NULL);
    /* an error on another thread-free call on another handle does not touch this one */
    needle_db *other = NULL;
    CHECK(needle_db_open_memory(&other, NULL) == NEEDLE_OK);
    CHECK(needle_db_drop_collection(other, "x", NULL) == NEEDLE_COLLECTION_NOT_FOUND);
    CHECK(needle_db_errcode(other) == NEEDLE_COLLECTION_NOT_FOUND);
    CHECK(needle_db_errcode(db) == NEEDLE_DIMENSION_MISMATCH);
    /* the most recent call wins; a success clears */
    CHECK(needle_db_create_collection(db, "c", DIM, NULL, NULL, NULL) == NEEDLE_COLLECTION_EXISTS);
    CHECK(needle_db_errcode(db) == NEEDLE_COLLECTION_EXISTS);
    CHECK(strstr(needle_db_errmsg(db), "already exists") != NULL);
    size_t n = 0;
    CHECK(needle_collection_count(c, &n, NULL) == NEEDLE_OK);
    CHECK(needle_db_errcode(db) == NEEDLE_OK && strcmp(needle_db_errmsg(db), "") == 0);
    CHECK(needle_db_errcode(NULL) == NEEDLE_NULL_PARAMETER);
    CHECK(strstr(needle_db_errmsg(NULL), "'db'") != NULL);
    /* the thread-local message still works, as before */
    CHECK(needle_collection_insert(c, "a", v, 6, NULL, NULL) == NEEDLE_DIMENSION_MISMATCH);
    CHECK(strstr(needle_last_error_message(), "got 6") != NULL);
    needle_collection_free(c);
    CHECK(needle_db_close(other, NULL) == NEEDLE_OK);
    CHECK(needle_db_close(db, NULL) == NEEDLE_OK);
}

struct worker {
    needle_collection *shared; /* one collection handle used by every thread */
    int index;
};

static void *work(void *arg) {
    const struct worker *w = arg;
    float v[DIM] = {1, 1};
    needle_error e = NEEDLE_ERROR_INIT;
    char want[64];
    /* each thread fails with its own dimension, so its message says which call it describes */
    int dim = 1 + w->index % (DIM - 1);
    snprintf(want, sizeof want, "got %d", dim);
    needle_db *own = NULL;
    CHECK(needle_db_open_memory(&own, NULL) == NEEDLE_OK);
    for (int r = 0; r < ROUNDS; r++) {
        CHECK(needle_collection_insert(w->shared, "x", v, (size_t)dim, NULL, &e) == NEEDLE_DIMENSION_MISMATCH);
        CHECK(e.code == NEEDLE_DIMENSION_MISMATCH && strstr(e.message, want) != NULL);
        /* a handle used by this thread alone reports this thread's calls */
        needle_status s = needle_db_drop_collection(own, want, NULL);
        CHECK(s != NEEDLE_OK && needle_db_errcode(own) == s);
        CHECK(strstr(needle_db_errmsg(own), want) != NULL);
        /* reading the shared handle's message while others replace it is memory-safe */
        CHECK(strlen(needle_db_errmsg(NULL)) > 0);
        if (r % 100 == 0) {
            size_t n = 0;
            CHECK(needle_collection_count(w->shared, &n, &e) == NEEDLE_OK && e.message == NULL);
        }
    }
    needle_error_clear(&e);
    CHECK(needle_db_close(own, NULL) == NEEDLE_OK);
    return NULL;
}

static void test_threads(void) {
    needle_db *db = NULL;
    CHECK(needle_db_open_memory(&db, NULL) == NEEDLE_OK);
    needle_collection *c = NULL;
    CHECK(needle_db_create_collection(db, "shared", DIM, NULL, &c, NULL) == NEEDLE_OK);
    pthread_t t[THREADS];
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i].shared = c;
        w[i].index = i;
        CHECK(pthread_create(&t[i], NULL, work, &w[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    /* the shared handle reports one of the threads' failures, intact */
    CHECK(needle_db_errcode(db) == NEEDLE_DIMENSION_MISMATCH || needle_db_errcode(db) == NEEDLE_OK);
    needle_collection_free(c);
    CHECK(needle_db_close(db, NULL) == NEEDLE_OK);
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    test_error_struct();
    test_handle_errors();
    test_threads();
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("test_errors: ok\n");
    return 0;
}
