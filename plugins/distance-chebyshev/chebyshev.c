/* Chebyshev (L-infinity) distance as a Needle plugin, written in C against needle_plugin.h.
 *
 *   d(q, v) = max_i |q_i - v_i|
 *
 * Build: cc -O2 -shared -fPIC -I include plugins/distance-chebyshev/chebyshev.c -o libneedle_chebyshev.so
 * Use:   a collection config with distance "chebyshev" (after loading the library). */
#include "needle_plugin.h"

#include <math.h>
#include <stdlib.h>

/* Plugin state: allocated on the first entry call, freed by release(). Counts nothing; it exists
 * to show the ownership protocol (the host calls release exactly once). */
typedef struct chebyshev_state {
    int magic;
} chebyshev_state;

static float chebyshev(const float *a, const float *b, size_t dim) {
    float m = 0.0f;
    for (size_t i = 0; i < dim; i++) {
        float d = fabsf(a[i] - b[i]);
        m = d > m ? d : m;
    }
    return m;
}

static void distances_to_ids(void *state, const float *query, float query_norm,
                             const needle_plugin_rows *rows, const uint32_t *ids, size_t n,
                             float *out) {
    (void)state;
    (void)query_norm;
    for (size_t i = 0; i < n; i++) {
        out[i] = chebyshev(query, rows->data + (size_t)ids[i] * rows->stride, rows->dim);
    }
}

static void distances_to_all(void *state, const float *query, float query_norm,
                             const needle_plugin_rows *rows, float *out) {
    (void)state;
    (void)query_norm;
    for (size_t i = 0; i < rows->rows; i++) {
        out[i] = chebyshev(query, rows->data + i * rows->stride, rows->dim);
    }
}

static void release(void *state) {
    free(state);
}

static needle_distance_vtable vtable = {
    .struct_size = sizeof(needle_distance_vtable),
    .metric = NEEDLE_METRIC_NONE,
    .needs_norms = 0,
    .backend_name = "c-scalar",
    .state = NULL,
    .release = release,
    .distances_to_ids = distances_to_ids,
    .distances_to_all = distances_to_all,
};

static const needle_plugin_descriptor descriptor = {
    .abi_version = NEEDLE_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(needle_plugin_descriptor),
    .name = "chebyshev",
    .version = 1,
    .kind = NEEDLE_PLUGIN_KIND_DISTANCE,
    .vtable = &vtable,
    .description = "Chebyshev (L-infinity) distance, max |q_i - v_i| (C plugin)",
};

const needle_plugin_descriptor *needle_plugin_entry(void) {
    if (vtable.state == NULL) {
        chebyshev_state *s = malloc(sizeof *s);
        if (s == NULL) return NULL;
        s->magic = 0x4e44;
        vtable.state = s;
    }
    return &descriptor;
}
