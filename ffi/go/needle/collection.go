package needle

/*
#include <stdlib.h>
#include "needle.h"
*/
import "C"

import (
	"encoding/json"
	"runtime"
	"sync"
	"unsafe"
)

// Collection is a handle to one collection. Safe for concurrent use.
type Collection struct {
	mu sync.RWMutex // read-held by every call, write-held by Close
	p  *C.needle_collection
}

func newCollection(p *C.needle_collection) *Collection {
	c := &Collection{p: p}
	runtime.SetFinalizer(c, func(c *Collection) { c.Close() })
	return c
}

// Close releases the handle (the collection itself is unaffected). Closing twice is a no-op.
func (c *Collection) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.p != nil {
		C.needle_collection_free(c.p)
		c.p = nil
		runtime.SetFinalizer(c, nil)
	}
}

func (c *Collection) with(f func(p *C.needle_collection, e *C.needle_error) C.needle_status) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.p == nil {
		return closedError("collection handle")
	}
	return call(func(e *C.needle_error) C.needle_status { return f(c.p, e) })
}

// Hit is one search result.
type Hit struct {
	ID       string
	Distance float32
	// Metadata as JSON (nil when the vector has none or it was not requested).
	Metadata json.RawMessage
}

// HybridHit is one result of HybridSearch or TextSearch.
type HybridHit struct {
	ID    string
	Score float32
	// Distance and BM25 are NaN when the hit was not in that ranking; the ranks are then 0.
	Distance, BM25       float32
	VectorRank, TextRank int
	Metadata             json.RawMessage
}

// Record is a stored vector.
type Record struct {
	ID       string
	Vector   []float32
	Metadata json.RawMessage
}

// SearchOptions are the optional parameters of a search (nil = defaults).
type SearchOptions struct {
	// Filter is a metadata filter in the Rust/HTTP syntax, e.g.
	// map[string]any{"year": map[string]any{"$gte": 2020}} (or a json.RawMessage).
	Filter any
	// EfSearch overrides the collection's ef_search (0 = default).
	EfSearch int
	// Strategy forces "graph", "filtered-graph" or "exact" ("" = the planner's choice).
	Strategy string
	// NoMetadata leaves Hit.Metadata nil (faster).
	NoMetadata bool
}

func (o *SearchOptions) json() (*C.char, error) {
	if o == nil {
		return nil, nil
	}
	m := map[string]any{}
	if o.Filter != nil {
		m["filter"] = o.Filter
	}
	if o.EfSearch > 0 {
		m["ef_search"] = o.EfSearch
	}
	if o.Strategy != "" {
		m["strategy"] = o.Strategy
	}
	if o.NoMetadata {
		m["include_metadata"] = false
	}
	return jsonC(m)
}

// HybridOptions are the optional parameters of a hybrid search (nil = defaults).
type HybridOptions struct {
	VectorWeight, TextWeight *float32 // default 1 each
	RRFK                     *float32 // default 60
	Candidates, EfSearch     int      // 0 = default
	Filter                   any
	NoMetadata               bool
}

func (o *HybridOptions) json() (*C.char, error) {
	if o == nil {
		return nil, nil
	}
	m := map[string]any{}
	if o.VectorWeight != nil {
		m["vector_weight"] = *o.VectorWeight
	}
	if o.TextWeight != nil {
		m["text_weight"] = *o.TextWeight
	}
	if o.RRFK != nil {
		m["rrf_k"] = *o.RRFK
	}
	if o.Candidates > 0 {
		m["candidates"] = o.Candidates
	}
	if o.EfSearch > 0 {
		m["ef_search"] = o.EfSearch
	}
	if o.Filter != nil {
		m["filter"] = o.Filter
	}
	if o.NoMetadata {
		m["include_metadata"] = false
	}
	return jsonC(m)
}

// jsonC marshals v into a C string the caller frees (nil for nil).
func jsonC(v any) (*C.char, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, &Error{Code: CodeInvalidJSON, Message: err.Error()}
	}
	return C.CString(string(b)), nil
}

// floats points C at a []float32 without copying (cgo allows Go memory without Go pointers).
func floats(v []float32) *C.float {
	if len(v) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&v[0]))
}

// Dimensions is the collection's vector length.
func (c *Collection) Dimensions() (int, error) {
	var n C.size_t
	err := c.with(func(p *C.needle_collection, e *C.needle_error) C.needle_status {
		return C.needle_collection_dimensions(p, &n, e)
	})
	return int(n), err
}

// Count is the number of live vectors.
func (c *Collection) Count() (int, error) {
	var n C.size_t
	err := c.with(func(p *C.needle_collection, e *C.needle_error) C.needle_status {
		return C.needle_collection_count(p, &n, e)
	})
	return int(n), err
}

// Insert adds one vector; metadata is nil or any value that marshals to a JSON object.
func (c *Collection) Insert(id string, vector []float32, metadata any) error {
	cid := C.CString(id)
	defer C.free(unsafe.Pointer(cid))
	meta, err := jsonC(metadata)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(meta))
	return c.with(func(p *C.needle_collection, e *C.needle_error) C.needle_status {
		return C.needle_collection_insert(p, cid, floats(vector), C.size_t(len(vector)), meta, e)
	})
}

// Upsert inserts or replaces one vector; it reports whether it replaced one.
func (c *Collection) Upsert(id string, vector []float32, metadata any) (bool, error) {
	cid := C.CString(id)
	defer C.free(unsafe.Pointer(cid))
	meta, err := jsonC(metadata)
	if err != nil {
		return false, err
	}
	defer C.free(unsafe.Pointer(meta))
	var replaced C.bool
	err = c.with(func(p *C.needle_collection, e *C.needle_error) C.needle_status {
		return C.needle_collection_upsert(p, cid, floats(vector), C.size_t(len(vector)), meta, &replaced, e)
	})
	return bool(replaced), err
}

// cStrings packs strings into one C block: the NUL-terminated bytes followed by nothing else,
// and an array of pointers into it (two allocations for any number of ids, not one per id).
type cStrings struct {
	bytes unsafe.Pointer
	ptrs  **C.char
}

func newCStrings(items []string) cStrings {
	total := 0
	for _, s := range items {
		total += len(s) + 1
	}
	if len(items) == 0 {
		return cStrings{}
	}
	bytes := C.malloc(C.size_t(total))
	ptrs := (**C.char)(C.malloc(C.size_t(len(items)) * C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	buf := unsafe.Slice((*byte)(bytes), total)
	pv := unsafe.Slice(ptrs, len(items))
	at := 0
	for i, s := range items {
		copy(buf[at:], s)
		buf[at+len(s)] = 0
		pv[i] = (*C.char)(unsafe.Pointer(&buf[at]))
		at += len(s) + 1
	}
	return cStrings{bytes: bytes, ptrs: ptrs}
}

func (s cStrings) free() {
	C.free(s.bytes)
	C.free(unsafe.Pointer(s.ptrs))
}

// InsertBatch adds len(ids) vectors at once, all or nothing. vectors holds them row-major
// (len(ids) * dimensions floats); metadata is nil or has one entry per id (nil entries = none).
func (c *Collection) InsertBatch(ids []string, vectors []float32, metadata []any) error {
	if len(ids) == 0 {
		return nil
	}
	if len(vectors)%len(ids) != 0 {
		return &Error{Code: CodeDimensionMismatch, Message: "len(vectors) is not a multiple of len(ids)"}
	}
	if metadata != nil && len(metadata) != len(ids) {
		return &Error{Code: CodeInvalidArgument, Message: "metadata needs one entry per id"}
	}
	cids := newCStrings(ids)
	defer cids.free()
	var metas cStrings
	if metadata != nil {
		texts := make([]string, len(metadata))
		for i, m := range metadata {
			b, err := json.Marshal(m)
			if err != nil {
				return &Error{Code: CodeInvalidJSON, Message: err.Error()}
			}
			texts[i] = string(b)
		}
		metas = newCStrings(texts)
		defer metas.free()
		// A nil entry means no metadata: pass NULL for it (json.Marshal(nil) is "null").
		pv := unsafe.Slice(metas.ptrs, len(metadata))
		for i, m := range metadata {
			if m == nil {
				pv[i] = nil
			}
		}
	}
	dim := len(vectors) / len(ids)
	return c.with(func(p *C.needle_collection, e *C.needle_error) C.needle_status {
		return C.needle_collection_insert_batch(p, cids.ptrs, floats(vectors), C.size_t(len(ids)), C.size_t(dim), metas.ptrs, e)
	})
}

// Get returns the stored vector; a missing id is ErrVectorNotFound.
func (c *Collection) Get(id string) (*Record, error) {
	cid := C.CString(id)
	defer C.free(unsafe.Pointer(cid))
	var r *C.needle_record
	err := c.with(func(p *C.needle_collection, e *C.needle_error) C.needle_status {
		return C.needle_collection_get(p, cid, &r, e)
	})
	if err != nil {
		return nil, err
	}
	defer C.needle_record_free(r)
	rec := &Record{ID: C.GoString(r.id), Vector: make([]float32, int(r.dim))}
	copy(rec.Vector, unsafe.Slice((*float32)(unsafe.Pointer(r.vector)), int(r.dim)))
	if r.metadata_json != nil {
		rec.Metadata = json.RawMessage(C.GoString(r.metadata_json))
	}
	return rec, nil
}

// Delete removes id; it reports whether it existed.
func (c *Collection) Delete(id string) (bool, error) {
	cid := C.CString(id)
	defer C.free(unsafe.Pointer(cid))
	var existed C.bool
	err := c.with(func(p *C.needle_collection, e *C.needle_error) C.needle_status {
		return C.needle_collection_delete(p, cid, &existed, e)
	})
	return bool(existed), err
}

func hitsOf(h *C.needle_hits) []Hit {
	list := unsafe.Slice(h.hits, h.len)
	out := make([]Hit, len(list))
	for i, x := range list {
		out[i] = Hit{ID: C.GoString(x.id), Distance: float32(x.distance)}
		if x.metadata_json != nil {
			out[i].Metadata = json.RawMessage(C.GoString(x.metadata_json))
		}
	}
	return out
}

// Search returns the k nearest vectors to query, closest first.
func (c *Collection) Search(query []float32, k int, opts *SearchOptions) ([]Hit, error) {
	params, err := opts.json()
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(params))
	var h *C.needle_hits
	err = c.with(func(p *C.needle_collection, e *C.needle_error) C.needle_status {
		return C.needle_collection_search(p, floats(query), C.size_t(len(query)), C.size_t(k), params, &h, e)
	})
	if err != nil {
		return nil, err
	}
	defer C.needle_hits_free(h)
	return hitsOf(h), nil
}

// SearchBatch searches many queries in parallel; queries is row-major (len(queries)/dim rows).
func (c *Collection) SearchBatch(queries []float32, dim, k int, opts *SearchOptions) ([][]Hit, error) {
	if dim <= 0 || len(queries)%dim != 0 {
		return nil, &Error{Code: CodeDimensionMismatch, Message: "len(queries) is not a multiple of dim"}
	}
	params, err := opts.json()
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(params))
	var l *C.needle_hits_list
	n := len(queries) / dim
	err = c.with(func(p *C.needle_collection, e *C.needle_error) C.needle_status {
		return C.needle_collection_search_batch(p, floats(queries), C.size_t(n), C.size_t(dim), C.size_t(k), params, &l, e)
	})
	if err != nil {
		return nil, err
	}
	defer C.needle_hits_list_free(l)
	results := unsafe.Slice(l.results, l.len)
	out := make([][]Hit, len(results))
	for i := range results {
		out[i] = hitsOf(&results[i])
	}
	return out, nil
}

// idStride is the id slot size for SearchInto: every valid id fits.
const idStride = C.NEEDLE_MAX_ID_BYTES + 1

// SearchInto writes up to k nearest ids and distances into the caller's slices (reused between
// calls: no result block is allocated in C) and returns how many it wrote. ids and distances must
// have room for k entries; either may be nil. opts.NoMetadata is implied.
func (c *Collection) SearchInto(query []float32, k int, opts *SearchOptions, ids []string, distances []float32) (int, error) {
	if (ids != nil && len(ids) < k) || (distances != nil && len(distances) < k) {
		return 0, &Error{Code: CodeInvalidArgument, Message: "ids and distances need room for k entries"}
	}
	params, err := opts.json()
	if err != nil {
		return 0, err
	}
	defer C.free(unsafe.Pointer(params))
	var idBuf *C.char
	if ids != nil {
		idBuf = (*C.char)(C.malloc(C.size_t(k) * idStride))
		defer C.free(unsafe.Pointer(idBuf))
	}
	var n C.size_t
	err = c.with(func(p *C.needle_collection, e *C.needle_error) C.needle_status {
		return C.needle_collection_search_into(p, floats(query), C.size_t(len(query)), C.size_t(k), params, idBuf, idStride,
			floats(distances), &n, e)
	})
	if err != nil {
		return 0, err
	}
	for i := 0; ids != nil && i < int(n); i++ {
		ids[i] = C.GoString((*C.char)(unsafe.Add(unsafe.Pointer(idBuf), i*idStride)))
	}
	return int(n), nil
}

func hybridOf(h *C.needle_hybrid_hits) []HybridHit {
	list := unsafe.Slice(h.hits, h.len)
	out := make([]HybridHit, len(list))
	for i, x := range list {
		out[i] = HybridHit{ID: C.GoString(x.id), Score: float32(x.score), Distance: float32(x.distance),
			BM25: float32(x.bm25), VectorRank: int(x.vector_rank), TextRank: int(x.text_rank)}
		if x.metadata_json != nil {
			out[i].Metadata = json.RawMessage(C.GoString(x.metadata_json))
		}
	}
	return out
}

// HybridSearch fuses keyword (BM25 over the collection's text_field) and vector rankings.
func (c *Collection) HybridSearch(text string, query []float32, k int, opts *HybridOptions) ([]HybridHit, error) {
	params, err := opts.json()
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(params))
	ctext := C.CString(text)
	defer C.free(unsafe.Pointer(ctext))
	var h *C.needle_hybrid_hits
	err = c.with(func(p *C.needle_collection, e *C.needle_error) C.needle_status {
		return C.needle_collection_hybrid_search(p, ctext, floats(query), C.size_t(len(query)), C.size_t(k), params, &h, e)
	})
	if err != nil {
		return nil, err
	}
	defer C.needle_hybrid_hits_free(h)
	return hybridOf(h), nil
}

// TextSearch ranks by BM25 alone; filter is nil or a metadata filter.
func (c *Collection) TextSearch(text string, k int, filter any) ([]HybridHit, error) {
	cfilter, err := jsonC(filter)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cfilter))
	ctext := C.CString(text)
	defer C.free(unsafe.Pointer(ctext))
	var h *C.needle_hybrid_hits
	err = c.with(func(p *C.needle_collection, e *C.needle_error) C.needle_status {
		return C.needle_collection_text_search(p, ctext, C.size_t(k), cfilter, &h, e)
	})
	if err != nil {
		return nil, err
	}
	defer C.needle_hybrid_hits_free(h)
	return hybridOf(h), nil
}

// Explain runs a search and returns its results and profile as JSON (see
// needle_collection_search_explain for the fields).
func (c *Collection) Explain(query []float32, k int, opts *SearchOptions) (json.RawMessage, error) {
	params, err := opts.json()
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(params))
	var out *C.char
	err = c.with(func(p *C.needle_collection, e *C.needle_error) C.needle_status {
		return C.needle_collection_search_explain(p, floats(query), C.size_t(len(query)), C.size_t(k), params, &out, e)
	})
	if err != nil {
		return nil, err
	}
	defer C.needle_string_free(out)
	return json.RawMessage(C.GoString(out)), nil
}

// IDs lists live ids from offset, at most limit (0 = all the rest).
func (c *Collection) IDs(offset, limit int) ([]string, error) {
	if offset < 0 || limit < 0 {
		return nil, &Error{Code: CodeInvalidArgument, Message: "offset and limit must not be negative"}
	}
	var l *C.needle_string_list
	err := c.with(func(p *C.needle_collection, e *C.needle_error) C.needle_status {
		return C.needle_collection_ids(p, C.size_t(offset), C.size_t(limit), &l, e)
	})
	if err != nil {
		return nil, err
	}
	defer C.needle_string_list_free(l)
	return goStrings(l), nil
}

// Compact rebuilds the collection without its deleted vectors.
func (c *Collection) Compact() error {
	return c.with(func(p *C.needle_collection, e *C.needle_error) C.needle_status {
		return C.needle_collection_compact(p, e)
	})
}
