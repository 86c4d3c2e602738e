/* A C program built against an installed libneedle (ffi/install.sh PREFIX):
 *
 *   cc app.c $(pkg-config --cflags --libs needle) -o app && ./app
 *
 * It checks that the header matches the library, then creates a collection, inserts three
 * vectors and finds the nearest one. ffi/examples/installed.sh builds and runs it in CI. */
#include <needle.h>

#include <stdio.h>
#include <string.h>

static int check(needle_status s, const char *what) {
    if (s != NEEDLE_OK) {
        fprintf(stderr, "%s: %s: %s\n", what, needle_status_str(s), needle_last_error_message());
        return 1;
    }
    return 0;
}

int main(void) {
    if (needle_abi_version() != NEEDLE_ABI_VERSION) {
        fprintf(stderr, "header/library ABI mismatch\n");
        return 1;
    }
    needle_db *db = NULL;
    if (check(needle_db_open_memory(&db, NULL), "open")) return 1;
    needle_collection *c = NULL;
    int bad = check(needle_db_create_collection(db, "points", 2, "{\"distance\":\"euclidean\"}", &c, NULL), "create");
    const float pts[3][2] = {{0, 0}, {1, 0}, {0, 1}};
    const char *ids[3] = {"origin", "east", "north"};
    for (int i = 0; i < 3 && !bad; i++) bad = check(needle_collection_insert(c, ids[i], pts[i], 2, NULL, NULL), "insert");
    const float q[2] = {0.9f, 0.1f};
    needle_hits *hits = NULL;
    if (!bad) bad = check(needle_collection_search(c, q, 2, 1, NULL, &hits, NULL), "search");
    if (!bad) {
        printf("libneedle %s: nearest to (0.9, 0.1) is %s\n", needle_version(), hits->hits[0].id);
        bad = strcmp(hits->hits[0].id, "east") != 0;
    }
    needle_hits_free(hits);
    needle_collection_free(c);
    bad |= check(needle_db_close(db, NULL), "close");
    return bad;
}
