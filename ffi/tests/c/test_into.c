/* Searches into caller-owned buffers: the same hits as the allocating calls, ids in fixed-size
 * slots, NULL buffers for what is not wanted, and clear errors for slots too small or missing
 * out-parameters. Usage: test_into <scratch-dir> */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIM 8
#define N 300
#define K 5
#define STRIDE 16

static float rnd(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 8) % 1000) / 1000.0f;
}

int main(void) {
    needle_db *db = NULL;
    OK(needle_db_open_memory(&db, &err));
    needle_collection *c = NULL;
    OK(needle_db_create_collection(db, "v", DIM, "{\"distance\":\"euclidean\"}", &c, &err));
    unsigned seed = 7;
    for (int i = 0; i < N; i++) {
        char id[32], meta[32];
        float v[DIM];
        for (int d = 0; d < DIM; d++) v[d] = rnd(&seed);
        snprintf(id, sizeof id, "vec-%d", i);
        snprintf(meta, sizeof meta, "{\"even\":%s}", i % 2 ? "false" : "true");
        OK(needle_collection_insert(c, id, v, DIM, meta, &err));
    }
    float qs[3 * DIM];
    for (int i = 0; i < 3 * DIM; i++) qs[i] = rnd(&seed);

    /* single query: same hits as needle_collection_search */
    char ids[K * STRIDE];
    float dist[K];
    size_t len = 0;
    memset(ids, 'x', sizeof ids);
    OK(needle_collection_search_into(c, qs, DIM, K, NULL, ids, STRIDE, dist, &len, &err));
    needle_hits *hits = NULL;
    OK(needle_collection_search(c, qs, DIM, K, NULL, &hits, &err));
    CHECK(len == K && hits && hits->len == K);
    for (size_t i = 0; hits && i < len; i++) {
        CHECK(strcmp(ids + i * STRIDE, hits->hits[i].id) == 0);
        CHECK(dist[i] == hits->hits[i].distance);
    }
    needle_hits_free(hits);
    /* with a filter, distances only */
    OK(needle_collection_search_into(c, qs, DIM, K, "{\"filter\":{\"even\":true}}", NULL, 0, dist, &len, &err));
    CHECK(len == K);
    OK(needle_collection_search_into(c, qs, DIM, K, "{\"filter\":{\"even\":true}}", ids, STRIDE, NULL, &len, &err));
    for (size_t i = 0; i < len; i++) CHECK(atoi(ids + i * STRIDE + 4) % 2 == 0);
    /* k above the collection size: fewer hits */
    char big_ids[(N + 10) * STRIDE];
    float big_dist[N + 10];
    OK(needle_collection_search_into(c, qs, DIM, N + 10, NULL, big_ids, STRIDE, big_dist, &len, &err));
    CHECK(len == N);
    /* errors: slot too small (names the size needed), missing out_len, zero stride, bad query */
    FAILS(needle_collection_search_into(c, qs, DIM, K, NULL, ids, 4, dist, &len, &err), NEEDLE_INVALID_ARGUMENT);
    CHECK(err.message && strstr(err.message, "id_stride is 4") != NULL);
    FAILS(needle_collection_search_into(c, qs, DIM, K, NULL, ids, 0, dist, &len, &err), NEEDLE_INVALID_ARGUMENT);
    FAILS(needle_collection_search_into(c, qs, DIM, K, NULL, ids, STRIDE, dist, NULL, &err), NEEDLE_NULL_PARAMETER);
    FAILS(needle_collection_search_into(c, NULL, DIM, K, NULL, ids, STRIDE, dist, &len, &err), NEEDLE_NULL_PARAMETER);
    FAILS(needle_collection_search_into(c, qs, DIM - 1, K, NULL, ids, STRIDE, dist, &len, &err), NEEDLE_DIMENSION_MISMATCH);
    FAILS(needle_collection_search_into(c, qs, DIM, 0, NULL, ids, STRIDE, dist, &len, &err), NEEDLE_INVALID_ARGUMENT);
    FAILS(needle_collection_search_into(c, qs, DIM, K, "{\"filter\":7}", ids, STRIDE, dist, &len, &err), NEEDLE_INVALID_FILTER);

    /* batch: the same as needle_collection_search_batch */
    char bids[3 * K * STRIDE];
    float bdist[3 * K];
    size_t lens[3] = {0, 0, 0};
    OK(needle_collection_search_batch_into(c, qs, 3, DIM, K, NULL, bids, STRIDE, bdist, lens, &err));
    needle_hits_list *list = NULL;
    OK(needle_collection_search_batch(c, qs, 3, DIM, K, NULL, &list, &err));
    CHECK(list && list->len == 3);
    for (size_t q = 0; list && q < 3; q++) {
        CHECK(lens[q] == list->results[q].len);
        for (size_t i = 0; i < lens[q]; i++) {
            CHECK(strcmp(bids + (q * K + i) * STRIDE, list->results[q].hits[i].id) == 0);
            CHECK(bdist[q * K + i] == list->results[q].hits[i].distance);
        }
    }
    needle_hits_list_free(list);
    FAILS(needle_collection_search_batch_into(c, qs, 3, DIM, K, NULL, bids, STRIDE, bdist, NULL, &err), NEEDLE_NULL_PARAMETER);
    FAILS(needle_collection_search_batch_into(c, qs, 3, DIM, K, NULL, bids, 3, bdist, lens, &err), NEEDLE_INVALID_ARGUMENT);
    FAILS(needle_collection_search_batch_into(c, NULL, 3, DIM, K, NULL, bids, STRIDE, bdist, lens, &err), NEEDLE_NULL_PARAMETER);
    OK(needle_collection_search_batch_into(c, qs, 0, DIM, K, NULL, NULL, 0, NULL, lens, &err));

    needle_collection_free(c);
    OK(needle_db_close(db, &err));
    needle_error_clear(&err);
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("test_into: ok\n");
    return 0;
}
