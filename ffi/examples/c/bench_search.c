/* Allocating search vs search into caller buffers: time per query and heap allocations per query
 * (counted by interposing malloc & co. in this program, which libneedle's calls resolve to).
 * Usage: bench_search [vectors] [queries]   (defaults 20000 and 2000; 64 dimensions, k = 10)
 * ffi/examples/bench.sh builds and runs it; timings are printed, never checked. */
#define _GNU_SOURCE
#include "needle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
static unsigned long allocations;
void *malloc(size_t n) {
    __atomic_add_fetch(&allocations, 1, __ATOMIC_RELAXED);
    return __libc_malloc(n);
}
void *calloc(size_t n, size_t m) {
    __atomic_add_fetch(&allocations, 1, __ATOMIC_RELAXED);
    return __libc_calloc(n, m);
}
void *realloc(void *p, size_t n) {
    __atomic_add_fetch(&allocations, 1, __ATOMIC_RELAXED);
    return __libc_realloc(p, n);
}
int posix_memalign(void **p, size_t align, size_t n) {
    __atomic_add_fetch(&allocations, 1, __ATOMIC_RELAXED);
    *p = __libc_memalign(align, n);
    return *p ? 0 : 12;
}

#define DIM 64
#define K 10
#define STRIDE (NEEDLE_MAX_ID_BYTES + 1)

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void die(needle_status s, const needle_error *e) {
    if (s != NEEDLE_OK) {
        fprintf(stderr, "%s: %s\n", needle_status_str(s), e->message);
        exit(1);
    }
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
    size_t nq = argc > 2 ? strtoul(argv[2], NULL, 10) : 2000;
    needle_error e = NEEDLE_ERROR_INIT;
    needle_db *db = NULL;
    die(needle_db_open_memory(&db, &e), &e);
    needle_collection *c = NULL;
    die(needle_db_create_collection(db, "bench", DIM, "{\"distance\":\"euclidean\",\"seed\":1}", &c, &e), &e);
    float *data = malloc(n * DIM * sizeof(float));
    char (*idbuf)[24] = malloc(n * sizeof *idbuf);
    const char **ids = malloc(n * sizeof *ids);
    unsigned s = 42;
    for (size_t i = 0; i < n * DIM; i++) {
        s = s * 1103515245u + 12345u;
        data[i] = (float)((s >> 8) % 10000) / 10000.0f;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(idbuf[i], sizeof idbuf[i], "v%zu", i);
        ids[i] = idbuf[i];
    }
    die(needle_collection_insert_batch(c, ids, data, n, DIM, NULL, &e), &e);
    const float *queries = data; /* the first nq stored vectors */
    if (nq > n) nq = n;

    char *out_ids = malloc((size_t)K * STRIDE);
    float out_dist[K];
    size_t len;
    /* warm-up */
    for (size_t q = 0; q < nq && q < 100; q++) {
        needle_hits *h = NULL;
        die(needle_collection_search(c, queries + q * DIM, DIM, K, NULL, &h, &e), &e);
        needle_hits_free(h);
        die(needle_collection_search_into(c, queries + q * DIM, DIM, K, NULL, out_ids, STRIDE, out_dist, &len, &e), &e);
    }
    unsigned long a0 = allocations;
    double t0 = now_us();
    for (size_t q = 0; q < nq; q++) {
        needle_hits *h = NULL;
        die(needle_collection_search(c, queries + q * DIM, DIM, K, "{\"include_metadata\":false}", &h, &e), &e);
        needle_hits_free(h);
    }
    double t1 = now_us();
    unsigned long a1 = allocations;
    for (size_t q = 0; q < nq; q++) {
        die(needle_collection_search_into(c, queries + q * DIM, DIM, K, NULL, out_ids, STRIDE, out_dist, &len, &e), &e);
    }
    double t2 = now_us();
    unsigned long a2 = allocations;
    for (size_t q = 0; q < nq; q++) {
        die(needle_collection_search_into(c, queries + q * DIM, DIM, K, NULL, NULL, 0, out_dist, &len, &e), &e);
    }
    double t3 = now_us();
    unsigned long a3 = allocations;
    printf("%zu vectors x %d dims, %zu queries, k=%d (libneedle %s)\n", n, DIM, nq, K, needle_version());
    printf("needle_collection_search + needle_hits_free : %7.1f us/query, %5.1f allocations/query\n", (t1 - t0) / nq,
           (double)(a1 - a0) / nq);
    printf("needle_collection_search_into (ids + dist) : %7.1f us/query, %5.1f allocations/query\n", (t2 - t1) / nq,
           (double)(a2 - a1) / nq);
    printf("needle_collection_search_into (dist only)  : %7.1f us/query, %5.1f allocations/query\n", (t3 - t2) / nq,
           (double)(a3 - a2) / nq);
    free(out_ids);
    free(ids);
    free(idbuf);
    free(data);
    needle_collection_free(c);
    die(needle_db_close(db, &e), &e);
    needle_error_clear(&e);
    return 0;
}
