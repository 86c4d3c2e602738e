package needle

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// must returns v, failing the test (by panicking) on err.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func docs(t *testing.T, db *DB) *Collection {
	t.Helper()
	c := must(db.CreateCollection("docs", 3, `{"distance":"euclidean","text_field":"text"}`))
	texts := []string{"red apple", "green apple", "blue sky", "red car"}
	for i := 0; i < 20; i++ {
		meta := map[string]any{"year": 2000 + i, "lang": []string{"en", "de"}[i%2], "text": texts[i%4]}
		if err := c.Insert(fmt.Sprintf("d%d", i), []float32{float32(i), float32(i % 3), 1}, meta); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestReadmeFlow(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vectors.needle")
	db := must(Open(path, ""))
	c := docs(t, db)
	if n := must(c.Count()); n != 20 {
		t.Fatalf("count %d", n)
	}
	hits := must(c.Search([]float32{5, 2, 1}, 3, nil))
	if len(hits) != 3 || hits[0].ID != "d5" || hits[0].Distance != 0 {
		t.Fatalf("hits %+v", hits)
	}
	var meta map[string]any
	if err := json.Unmarshal(hits[0].Metadata, &meta); err != nil || meta["year"].(float64) != 2005 {
		t.Fatalf("metadata %s (%v)", hits[0].Metadata, err)
	}
	// Filters in the Rust/HTTP syntax.
	f := &SearchOptions{Filter: map[string]any{"year": map[string]any{"$gte": 2010}, "lang": "en"}, NoMetadata: true}
	hits = must(c.Search([]float32{5, 2, 1}, 10, f))
	if len(hits) != 5 || hits[0].ID != "d10" || hits[0].Metadata != nil {
		t.Fatalf("filtered %+v", hits)
	}
	// Batch, row-major.
	batch := must(c.SearchBatch([]float32{0, 0, 1, 19, 1, 1}, 3, 1, &SearchOptions{Strategy: "exact"}))
	if len(batch) != 2 || batch[0][0].ID != "d0" || batch[1][0].ID != "d19" {
		t.Fatalf("batch %+v", batch)
	}
	// Into reusable buffers.
	ids, dist := make([]string, 4), make([]float32, 4)
	n := must(c.SearchInto([]float32{7, 1, 1}, 4, nil, ids, dist))
	if n != 4 || ids[0] != "d7" || dist[0] != 0 {
		t.Fatalf("into %d %v %v", n, ids, dist)
	}
	// Hybrid, keyword-only and explain.
	hh := must(c.HybridSearch("red car", []float32{3, 0, 1}, 3, nil))
	if hh[0].ID != "d3" || hh[0].VectorRank != 1 || hh[0].TextRank == 0 {
		t.Fatalf("hybrid %+v", hh)
	}
	th := must(c.TextSearch("sky", 10, map[string]any{"lang": "de"}))
	if len(th) != 0 {
		t.Fatalf("sky is on even (en) docs only: %+v", th) // d2, d6, … are "blue sky" and "en"
	}
	th = must(c.TextSearch("sky", 10, nil))
	if len(th) != 5 || !math.IsNaN(float64(th[0].Distance)) || th[0].BM25 <= 0 {
		t.Fatalf("text %+v", th)
	}
	ex := must(c.Explain([]float32{1, 1, 1}, 2, nil))
	if !strings.Contains(string(ex), `"profile"`) {
		t.Fatalf("explain %s", ex)
	}
	// Batch insert with metadata (nil entries = none), get, upsert, delete, ids, compact.
	if err := c.InsertBatch([]string{"b1", "b2"}, []float32{1, 2, 3, 4, 5, 6}, []any{nil, map[string]any{"x": 1}}); err != nil {
		t.Fatal(err)
	}
	r := must(c.Get("b2"))
	if r.Vector[2] != 6 || string(r.Metadata) != `{"x":1}` {
		t.Fatalf("get %+v", r)
	}
	if r := must(c.Get("b1")); r.Metadata != nil {
		t.Fatalf("b1 metadata %s", r.Metadata)
	}
	if replaced := must(c.Upsert("b1", []float32{0, 0, 0}, nil)); !replaced {
		t.Fatal("upsert did not replace")
	}
	if existed := must(c.Delete("b2")); !existed {
		t.Fatal("delete")
	}
	all := must(c.IDs(0, 0))
	page := must(c.IDs(5, 5))
	if len(all) != 21 || len(page) != 5 || page[0] != all[5] {
		t.Fatalf("ids %d %v", len(all), page)
	}
	if err := c.Compact(); err != nil {
		t.Fatal(err)
	}
	// Backup, close, reopen the backup read-only.
	backup := filepath.Join(dir, "backup.needle")
	if err := db.Backup(backup); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ro := must(Open(backup, `{"read_only":true}`))
	defer ro.Close()
	names := must(ro.Collections())
	if len(names) != 1 || names[0] != "docs" {
		t.Fatalf("collections %v", names)
	}
	rc := must(ro.Collection("docs"))
	defer rc.Close()
	if n := must(rc.Count()); n != 21 {
		t.Fatalf("backup count %d", n)
	}
	if err := rc.Insert("x", []float32{1, 1, 1}, nil); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("insert into read-only: %v", err)
	}
	tuned := must(AutoTune(map[string]any{"num_vectors": 100000, "dimensions": 128}))
	if _, ok := tuned["config"]; !ok {
		t.Fatalf("auto_tune %v", tuned)
	}
}

func TestErrorsCarryCodes(t *testing.T) {
	db := must(OpenMemory())
	defer db.Close()
	c := docs(t, db)
	defer c.Close()
	cases := []struct {
		err  error
		want *Error
		text string
	}{
		{c.Insert("x", []float32{1, 2}, nil), ErrDimensionMismatch, "expected 3, got 2"},
		{c.Insert("d1", []float32{1, 2, 3}, nil), ErrDuplicateID, "d1"},
		{c.Insert("", []float32{1, 2, 3}, nil), ErrInvalidID, "empty"},
		{c.Insert("y", []float32{1, float32(math.NaN()), 3}, nil), ErrNonFiniteVector, "not finite"},
		{c.Insert("z", []float32{1, 2, 3}, 42), ErrInvalidArgument, "object"},
		{db.DropCollection("nope"), ErrCollectionNotFound, "nope"},
		{func() error { _, err := db.CreateCollection("docs", 3, ""); return err }(), ErrCollectionExists, "docs"},
		{func() error { _, err := db.CreateCollection("c", 3, `{"distnce":"l2"}`); return err }(), ErrInvalidConfig, "distnce"},
		{func() error {
			_, err := c.Search([]float32{1, 1, 1}, 3, &SearchOptions{Filter: map[string]any{"a": map[string]any{"$x": 1}}})
			return err
		}(), ErrInvalidFilter, "$x"},
		{func() error { _, err := c.Get("missing"); return err }(), ErrVectorNotFound, "missing"},
		{func() error { _, err := c.Search([]float32{1, 1, 1}, 0, nil); return err }(), ErrInvalidArgument, "k"},
		{func() error {
			_, err := Open(filepath.Join(t.TempDir(), "no", "such", "dir", "x.needle"), "")
			return err
		}(), ErrIO, ""},
	}
	for i, tc := range cases {
		var ne *Error
		if !errors.As(tc.err, &ne) || !errors.Is(tc.err, tc.want) || !strings.Contains(ne.Message, tc.text) {
			t.Errorf("case %d: got %v, want code %s with %q", i, tc.err, tc.want.Code, tc.text)
		}
	}
	if ErrDimensionMismatch.Code.String() != "dimension_mismatch" {
		t.Fatal(ErrDimensionMismatch.Code.String())
	}
}

// The failure: goroutines move between OS threads between cgo calls, so a thread-local
// last error read in a second call can belong to another goroutine. Each call's own needle_error
// must always describe that call.
func TestGoroutinesGetTheirOwnErrors(t *testing.T) {
	db := must(OpenMemory())
	defer db.Close()
	c := must(db.CreateCollection("shared", 16, ""))
	defer c.Close()
	const goroutines, rounds = 64, 2000
	var wrong, calls int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			dim := 1 + g%15 // each goroutine fails with its own dimension
			want := fmt.Sprintf("got %d", dim)
			v := make([]float32, dim)
			bad := 0
			for r := 0; r < rounds; r++ {
				err := c.Insert("x", v, nil)
				var ne *Error
				if !errors.As(err, &ne) || ne.Code != CodeDimensionMismatch || !strings.HasSuffix(ne.Message, want) {
					bad++
				}
				if r%64 == 0 {
					runtime.Gosched()
				}
			}
			mu.Lock()
			wrong += int64(bad)
			calls += rounds
			mu.Unlock()
		}(g)
	}
	wg.Wait()
	if wrong != 0 {
		t.Fatalf("%d of %d calls reported another call's error", wrong, calls)
	}
}

func TestCloseAndFinalizers(t *testing.T) {
	db := must(OpenMemory())
	c := must(db.CreateCollection("c", 2, ""))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal("second close:", err)
	}
	if _, err := db.Collections(); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	// The collection handle outlived its database: calls say so, Close still works.
	if _, err := c.Count(); !errors.Is(err, ErrClosed) {
		t.Fatalf("collection after db close: %v", err)
	}
	c.Close()
	c.Close()
	if _, err := c.Count(); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed collection: %v", err)
	}
	// Handles dropped without Close are released by finalizers (no crash, no use after free).
	for i := 0; i < 50; i++ {
		d := must(OpenMemory())
		_ = must(d.CreateCollection("c", 2, ""))
	}
	runtime.GC()
	runtime.GC()
}

func TestMain(m *testing.M) {
	if Version() == "" {
		fmt.Println("libneedle not loadable")
		os.Exit(1)
	}
	os.Exit(m.Run())
}
