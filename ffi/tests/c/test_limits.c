/* The documented limits and file rules of needle.h, checked from C: k cap, id length, collection
 * names, metadata must be a JSON object, a 0-byte file (mkstemp) opens, <path>-lock exists while
 * open, and a NULL vector is reported under its own name. Usage: test_limits <scratch-dir> */
#define _POSIX_C_SOURCE 200809L
#include "needle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures = 0;

#define CHECK(cond)                                                                         \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            failures++;                                                                     \
            fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n", __FILE__, __LINE__, \
                    #cond, needle_last_error_message());                                    \
        }                                                                                   \
    } while (0)
#define OK(call) CHECK((call) == NEEDLE_OK)
#define FAILS(call, status) CHECK((call) == (status))
#define DIM 4

static void test_limits(needle_db *db) {
    needle_collection *c = NULL;
    char name[NEEDLE_MAX_COLLECTION_NAME_BYTES + 2];
    memset(name, 'n', sizeof name);
    name[NEEDLE_MAX_COLLECTION_NAME_BYTES] = 0;
    OK(needle_db_create_collection(db, name, DIM, NULL, NULL, NULL));
    name[NEEDLE_MAX_COLLECTION_NAME_BYTES] = 'n';
    name[NEEDLE_MAX_COLLECTION_NAME_BYTES + 1] = 0;
    FAILS(needle_db_create_collection(db, name, DIM, NULL, NULL, NULL), NEEDLE_INVALID_ARGUMENT);
    FAILS(needle_db_create_collection(db, ".hidden", DIM, NULL, NULL, NULL), NEEDLE_INVALID_ARGUMENT);
    FAILS(needle_db_create_collection(db, "a/b", DIM, NULL, NULL, NULL), NEEDLE_INVALID_ARGUMENT);
    FAILS(needle_db_create_collection(db, "", DIM, NULL, NULL, NULL), NEEDLE_INVALID_ARGUMENT);

    OK(needle_db_create_collection(db, "lim", DIM, NULL, &c, NULL));
    const float v[DIM] = {1, 0, 0, 0};
    char id[NEEDLE_MAX_ID_BYTES + 2];
    memset(id, 'i', sizeof id);
    id[NEEDLE_MAX_ID_BYTES] = 0;
    OK(needle_collection_insert(c, id, v, DIM, NULL, NULL));
    id[NEEDLE_MAX_ID_BYTES] = 'i';
    id[NEEDLE_MAX_ID_BYTES + 1] = 0;
    FAILS(needle_collection_insert(c, id, v, DIM, NULL, NULL), NEEDLE_INVALID_ID);
    FAILS(needle_collection_insert(c, "", v, DIM, NULL, NULL), NEEDLE_INVALID_ID);
    FAILS(needle_collection_insert(c, "tab\there", v, DIM, NULL, NULL), NEEDLE_INVALID_ID);

    /* metadata must be a JSON object or NULL; nothing else is stored */
    const char *not_objects[] = {"42", "\"text\"", "[1,2]", "null", "true"};
    for (size_t i = 0; i < sizeof not_objects / sizeof *not_objects; i++) {
        FAILS(needle_collection_insert(c, "m", v, DIM, not_objects[i], NULL), NEEDLE_INVALID_ARGUMENT);
        CHECK(strstr(needle_last_error_message(), "object") != NULL);
    }
    size_t n = 0;
    OK(needle_collection_count(c, &n, NULL));
    CHECK(n == 1);
    OK(needle_collection_insert(c, "m", v, DIM, "{\"ok\":1}", NULL));

    /* k: 1..NEEDLE_MAX_K */
    needle_hits *hits = NULL;
    OK(needle_collection_search(c, v, DIM, NEEDLE_MAX_K, NULL, &hits, NULL));
    CHECK(hits != NULL && hits->len == 2);
    needle_hits_free(hits);
    FAILS(needle_collection_search(c, v, DIM, NEEDLE_MAX_K + 1, NULL, &hits, NULL), NEEDLE_INVALID_ARGUMENT);
    FAILS(needle_collection_search(c, v, DIM, 0, NULL, &hits, NULL), NEEDLE_INVALID_ARGUMENT);

    /* a NULL vector is named as such */
    FAILS(needle_collection_insert(c, "x", NULL, DIM, NULL, NULL), NEEDLE_NULL_PARAMETER);
    CHECK(strstr(needle_last_error_message(), "'vector'") != NULL);
    FAILS(needle_collection_search(c, NULL, DIM, 1, NULL, &hits, NULL), NEEDLE_NULL_PARAMETER);
    CHECK(strstr(needle_last_error_message(), "'query'") != NULL);
    needle_collection_free(c);
}

static void test_empty_file_and_lock(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tmpdbXXXXXX", dir);
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    needle_db *db = NULL;
    OK(needle_db_open(path, NULL, &db, NULL));
    char lock[4200];
    snprintf(lock, sizeof lock, "%s-lock", path);
    struct stat st;
    CHECK(stat(lock, &st) == 0);
    needle_db *second = NULL;
    FAILS(needle_db_open(path, NULL, &second, NULL), NEEDLE_LOCKED);
    CHECK(second == NULL);
    OK(needle_db_create_collection(db, "c", DIM, NULL, NULL, NULL));
    OK(needle_db_close(db, NULL));
    OK(needle_db_open(path, "{\"read_only\":true}", &db, NULL));
    needle_string_list *names = NULL;
    OK(needle_db_list_collections(db, &names, NULL));
    CHECK(names != NULL && names->len == 1 && strcmp(names->items[0], "c") == 0);
    needle_string_list_free(names);
    OK(needle_db_close(db, NULL));
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s <scratch-dir>\n", argv[0]);
        return 2;
    }
    needle_db *db = NULL;
    OK(needle_db_open_memory(&db, NULL));
    test_limits(db);
    OK(needle_db_close(db, NULL));
    test_empty_file_and_lock(argv[1]);
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("test_limits: ok\n");
    return 0;
}
