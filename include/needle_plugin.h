/* needle_plugin.h — the ABI for Needle plugins (shared libraries loaded at run time).
 *
 * A plugin exports one symbol:
 *
 *     const needle_plugin_descriptor *needle_plugin_entry(void);
 *
 * returning a pointer to a descriptor that lives as long as the library (usually a static). The
 * host reads `abi_version` first and refuses the plugin unless it equals the host's
 * NEEDLE_PLUGIN_ABI_VERSION; then it checks `struct_size`, the name, the kind and the vtable.
 *
 * Rules for every struct below:
 *   - it only ever grows at the end; `struct_size` says how much of it the plugin knows, and the
 *     host reads a field only when `struct_size` covers it;
 *   - the plugin owns `state` and the instances its `create`/`load` return; the host calls
 *     `destroy` for each instance and `release(state)` once when it is done with the plugin;
 *   - fallible functions return 0 or a Needle status number (1 invalid argument, 11 invalid
 *     config, 14 corrupted, ...; anything else is reported as a plugin error) and may write a
 *     NUL-terminated message into `err->message`;
 *   - output of unknown size is appended to a host-owned needle_plugin_bytes sink, so no memory is
 *     ever freed by the other side's allocator;
 *   - pointers the host passes are valid only for the duration of the call.
 *
 * Thread safety: distance, cipher and storage functions, and every quantizer/index instance
 * function except `train`, `insert`, `insert_batch` and `remove`, may be called from many threads
 * at once.
 *
 * Layout is checked against the host's Rust definitions by needle-core's plugin tests. */
#ifndef NEEDLE_PLUGIN_H
#define NEEDLE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The plugin ABI version this header describes. */
#define NEEDLE_PLUGIN_ABI_VERSION 1

/** Plugin kinds (needle_plugin_descriptor.kind). */
#define NEEDLE_PLUGIN_KIND_INDEX 1
#define NEEDLE_PLUGIN_KIND_DISTANCE 2
#define NEEDLE_PLUGIN_KIND_QUANTIZER 3
#define NEEDLE_PLUGIN_KIND_CIPHER 4
#define NEEDLE_PLUGIN_KIND_STORAGE 5

/** Metric families. A distance plugin that computes one of these may say so (quantizers can then
 * serve it); others use NEEDLE_METRIC_NONE. */
#define NEEDLE_METRIC_NONE 0
#define NEEDLE_METRIC_COSINE 1
#define NEEDLE_METRIC_EUCLIDEAN 2
#define NEEDLE_METRIC_DOT 3
#define NEEDLE_METRIC_MANHATTAN 4

/** 0 on success, otherwise a Needle status number. */
typedef int32_t needle_plugin_status;

/** Where a plugin writes an error message (NUL-terminated; truncate to fit). */
typedef struct needle_plugin_error {
    char message[256];
} needle_plugin_error;

/** A host-owned byte sink: call append() any number of times to return bytes. */
typedef struct needle_plugin_bytes {
    void *ctx;
    int32_t (*append)(void *ctx, const uint8_t *data, size_t len);
} needle_plugin_bytes;

/** Stored vectors: `rows` rows of `dim` floats, row i at data[i * stride]. `norms` is NULL or
 * holds each row's L2 norm. */
typedef struct needle_plugin_rows {
    const float *data;
    size_t stride;
    size_t dim;
    size_t rows;
    const float *norms;
} needle_plugin_rows;

/** What needle_plugin_entry() returns. */
typedef struct needle_plugin_descriptor {
    uint32_t abi_version;      /**< NEEDLE_PLUGIN_ABI_VERSION; read first */
    uint32_t struct_size;      /**< sizeof(needle_plugin_descriptor) */
    const char *name;          /**< registry id: 1-64 of [A-Za-z0-9-_.:] */
    uint32_t version;          /**< component version, recorded in database files */
    uint32_t kind;             /**< NEEDLE_PLUGIN_KIND_* */
    const void *vtable;        /**< the vtable for `kind` */
    const char *description;   /**< one line for people, or NULL */
} needle_plugin_descriptor;

/** Signature of the entry symbol. */
typedef const needle_plugin_descriptor *(*needle_plugin_entry_fn)(void);

/** A distance: smaller is closer. Both functions are required and infallible. */
typedef struct needle_distance_vtable {
    uint32_t struct_size;
    int32_t metric;            /**< NEEDLE_METRIC_* */
    uint32_t needs_norms;      /**< non-zero: rows->norms is always provided */
    const char *backend_name;  /**< shown in build info, or NULL */
    void *state;
    void (*release)(void *state);  /**< may be NULL */
    /** out[i] = distance(query, row ids[i]) for i < n. query_norm is the query's L2 norm when
     *  needs_norms is non-zero, 0 otherwise. */
    void (*distances_to_ids)(void *state, const float *query, float query_norm,
                             const needle_plugin_rows *rows, const uint32_t *ids, size_t n,
                             float *out);
    /** out[i] = distance(query, row i) for i < rows->rows. */
    void (*distances_to_all)(void *state, const float *query, float query_norm,
                             const needle_plugin_rows *rows, float *out);
} needle_distance_vtable;

/** A quantizer: factory functions, then functions on the instance (`q`) they create. */
typedef struct needle_quantizer_vtable {
    uint32_t struct_size;
    void *state;
    void (*release)(void *state);
    needle_plugin_status (*create)(void *state, size_t dim, const char *params_json, void **out,
                                   needle_plugin_error *err);
    needle_plugin_status (*load)(void *state, size_t dim, const uint8_t *bytes, size_t len,
                                 void **out, needle_plugin_error *err);
    void (*destroy)(void *q);
    size_t (*code_len)(const void *q);
    int32_t (*supports)(const void *q, int32_t metric);
    int32_t (*is_trained)(const void *q);
    needle_plugin_status (*train)(void *q, const needle_plugin_rows *sample, needle_plugin_error *err);
    void (*encode)(const void *q, const float *vector, size_t dim, uint8_t *out, size_t code_len);
    void (*decode)(const void *q, const uint8_t *code, size_t code_len, float *out, size_t dim);
    needle_plugin_status (*prepare_query)(const void *q, const float *query, size_t dim,
                                          int32_t metric, needle_plugin_bytes *out,
                                          needle_plugin_error *err);
    void (*distances_to_ids)(const void *q, const uint8_t *prepared, size_t prepared_len,
                             int32_t metric, const uint8_t *codes, size_t code_len, size_t rows,
                             const uint32_t *ids, size_t n, float *out);
    needle_plugin_status (*save)(const void *q, needle_plugin_bytes *out, needle_plugin_error *err);
} needle_quantizer_vtable;

/** A prepared query, owned by the host. */
typedef struct needle_plugin_query needle_plugin_query;

/** The stored vectors as an index sees them; valid only during the call it is passed to. */
typedef struct needle_vector_source {
    void *ctx;
    size_t dim;
    size_t slot_count;
    needle_plugin_query *(*prepare)(void *ctx, const float *vector);
    needle_plugin_query *(*prepare_slot)(void *ctx, uint32_t slot);
    void (*query_free)(void *ctx, needle_plugin_query *q);
    const float *(*query_vector)(void *ctx, const needle_plugin_query *q);
    void (*score)(void *ctx, const needle_plugin_query *q, const uint32_t *slots, size_t n, float *out);
    void (*score_exact)(void *ctx, const needle_plugin_query *q, const uint32_t *slots, size_t n,
                        float *out);
} needle_vector_source;

typedef struct needle_candidate {
    uint32_t slot;
    float distance;
} needle_candidate;

typedef struct needle_index_search {
    size_t k;
    size_t ef;
    void *filter_ctx;
    int32_t (*filter)(void *filter_ctx, uint32_t slot);  /**< NULL: no filter */
} needle_index_search;

typedef struct needle_search_stats {
    uint32_t layers_traversed;
    uint64_t nodes_visited;
    uint64_t distance_computations;
} needle_search_stats;

/** An index over slots: factory functions, then functions on the instance (`ix`). */
typedef struct needle_index_vtable {
    uint32_t struct_size;
    void *state;
    void (*release)(void *state);
    needle_plugin_status (*create)(void *state, size_t dim, const char *params_json, void **out,
                                   needle_plugin_error *err);
    needle_plugin_status (*load)(void *state, size_t dim, const char *params_json,
                                 const uint8_t *bytes, size_t len, void **out,
                                 needle_plugin_error *err);
    void (*destroy)(void *ix);
    needle_plugin_status (*params_json)(const void *ix, needle_plugin_bytes *out,
                                        needle_plugin_error *err);
    size_t (*len)(const void *ix);
    needle_plugin_status (*insert)(void *ix, uint32_t slot, const needle_vector_source *source,
                                   needle_plugin_error *err);
    needle_plugin_status (*insert_batch)(void *ix, const uint32_t *slots, size_t n,
                                         const needle_vector_source *source,
                                         needle_plugin_error *err); /**< may be NULL */
    needle_plugin_status (*remove)(void *ix, uint32_t slot, needle_plugin_error *err);
    int32_t (*contains)(const void *ix, uint32_t slot);
    needle_plugin_status (*search)(const void *ix, const needle_plugin_query *query,
                                   const needle_index_search *params,
                                   const needle_vector_source *source, needle_candidate *out,
                                   size_t *out_len, needle_search_stats *stats,
                                   needle_plugin_error *err);
    needle_plugin_status (*save)(const void *ix, needle_plugin_bytes *out, needle_plugin_error *err);
    size_t (*memory_bytes)(const void *ix);
} needle_index_vtable;

/** A cipher: authenticated encryption of whole records. A failed check in open() returns 14. */
typedef struct needle_cipher_vtable {
    uint32_t struct_size;
    uint32_t key_len;          /**< key bytes create() expects (0: none) */
    void *state;
    void (*release)(void *state);
    needle_plugin_status (*create)(void *state, const uint8_t *key, size_t key_len, void **out,
                                   needle_plugin_error *err);
    void (*destroy)(void *c);
    size_t (*overhead)(const void *c);
    needle_plugin_status (*seal)(const void *c, const uint8_t *data, size_t len, const uint8_t *aad,
                                 size_t aad_len, needle_plugin_bytes *out, needle_plugin_error *err);
    needle_plugin_status (*open)(const void *c, const uint8_t *data, size_t len, const uint8_t *aad,
                                 size_t aad_len, needle_plugin_bytes *out, needle_plugin_error *err);
} needle_cipher_vtable;

/** A storage backend: a growable byte array with durable sync. Reading past the end returns 14;
 * writing to a read-only backend returns 18. `path` is NULL for in-memory backends. */
typedef struct needle_storage_vtable {
    uint32_t struct_size;
    void *state;
    void (*release)(void *state);
    needle_plugin_status (*open)(void *state, const char *path, int32_t read_only, int32_t create,
                                 void **out, needle_plugin_error *err);
    void (*destroy)(void *s);
    needle_plugin_status (*len)(const void *s, uint64_t *out, needle_plugin_error *err);
    needle_plugin_status (*read_at)(const void *s, uint64_t offset, uint8_t *buf, size_t len,
                                    needle_plugin_error *err);
    needle_plugin_status (*write_at)(const void *s, uint64_t offset, const uint8_t *data, size_t len,
                                     needle_plugin_error *err);
    needle_plugin_status (*set_len)(const void *s, uint64_t len, needle_plugin_error *err);
    needle_plugin_status (*sync)(const void *s, needle_plugin_error *err);
} needle_storage_vtable;

/** The entry symbol every plugin defines. */
const needle_plugin_descriptor *needle_plugin_entry(void);

#ifdef __cplusplus
}
#endif

#endif /* NEEDLE_PLUGIN_H */
