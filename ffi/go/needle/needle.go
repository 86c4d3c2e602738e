// Package needle is the Go binding of Needle, an embedded vector database, over its C ABI
// (libneedle, include/needle.h).
//
// Build: inside the repository the header is found relative to this package and the library
// with CGO_LDFLAGS="-L<dir of libneedle.so> -Wl,-rpath,<dir>"; against an installed libneedle
// (ffi/install.sh PREFIX) use CGO_CFLAGS="$(pkg-config --cflags needle)" and
// CGO_LDFLAGS="$(pkg-config --libs needle)".
//
//	db, err := needle.OpenMemory()
//	defer db.Close()
//	docs, err := db.CreateCollection("docs", 3, `{"distance":"cosine","text_field":"text"}`)
//	err = docs.Insert("a", []float32{1, 0, 0}, map[string]any{"text": "first", "year": 2024})
//	hits, err := docs.Search([]float32{0.9, 0.1, 0}, 10, &needle.SearchOptions{Filter: map[string]any{"year": 2024}})
//	if errors.Is(err, needle.ErrDimensionMismatch) { … }
//
// Errors are *Error values carrying a stable Code and the message of exactly that call. Handles
// are safe for concurrent use by many goroutines; Close waits for calls in flight, and calls
// after Close return ErrClosed. Handles left unclosed are released by a finalizer.
package needle

/*
#cgo CFLAGS: -I${SRCDIR}/../../../include
#cgo LDFLAGS: -lneedle
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

// ABIVersion is the C ABI version this package was written for; Open checks the library's.
const ABIVersion = 2

// Version is the libneedle version ("MAJOR.MINOR.PATCH").
func Version() string { return C.GoString(C.needle_version()) }

// DB is an open database.
type DB struct {
	mu sync.RWMutex // read-held by every call, write-held by Close
	p  *C.needle_db
}

func abiCheck() error {
	if v := C.needle_abi_version(); v != ABIVersion || C.NEEDLE_ABI_VERSION != ABIVersion {
		return &Error{Code: CodeInternal, Message: "libneedle ABI version mismatch"}
	}
	return nil
}

func newDB(p *C.needle_db) *DB {
	db := &DB{p: p}
	runtime.SetFinalizer(db, func(db *DB) { _ = db.Close() })
	return db
}

// Open opens (or creates) the database file at path. config is "" or a JSON object as documented
// for needle_db_open (read_only, durability, encryption_key, plugins, …).
func Open(path, config string) (*DB, error) {
	if err := abiCheck(); err != nil {
		return nil, err
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	ccfg := cstrOrNil(config)
	defer C.free(unsafe.Pointer(ccfg))
	var p *C.needle_db
	if err := call(func(e *C.needle_error) C.needle_status { return C.needle_db_open(cpath, ccfg, &p, e) }); err != nil {
		return nil, err
	}
	return newDB(p), nil
}

// OpenMemory creates a database that lives in memory only.
func OpenMemory() (*DB, error) {
	if err := abiCheck(); err != nil {
		return nil, err
	}
	var p *C.needle_db
	if err := call(func(e *C.needle_error) C.needle_status { return C.needle_db_open_memory(&p, e) }); err != nil {
		return nil, err
	}
	return newDB(p), nil
}

// Close saves unsaved changes and releases the database. Closing twice is a no-op. Collections
// taken from it return ErrClosed afterwards.
func (db *DB) Close() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.p == nil {
		return nil
	}
	p := db.p
	db.p = nil
	runtime.SetFinalizer(db, nil)
	return call(func(e *C.needle_error) C.needle_status { return C.needle_db_close(p, e) })
}

// with runs f on the live handle (read lock held), or returns ErrClosed.
func (db *DB) with(f func(p *C.needle_db, e *C.needle_error) C.needle_status) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.p == nil {
		return closedError("database")
	}
	return call(func(e *C.needle_error) C.needle_status { return f(db.p, e) })
}

// Save checkpoints every collection to the file.
func (db *DB) Save() error {
	return db.with(func(p *C.needle_db, e *C.needle_error) C.needle_status { return C.needle_db_save(p, e) })
}

// Compact drops deleted vectors from every collection and rewrites the file.
func (db *DB) Compact() error {
	return db.with(func(p *C.needle_db, e *C.needle_error) C.needle_status { return C.needle_db_compact(p, e) })
}

// Backup writes a consistent copy of the database to dest while it stays in use.
func (db *DB) Backup(dest string) error {
	cdest := C.CString(dest)
	defer C.free(unsafe.Pointer(cdest))
	return db.with(func(p *C.needle_db, e *C.needle_error) C.needle_status { return C.needle_db_backup(p, cdest, e) })
}

// CreateCollection creates a collection of dim-dimensional vectors. config is "" or a JSON object
// as documented for needle_db_create_collection (distance, index, hnsw_m, quantization, text_field, …).
func (db *DB) CreateCollection(name string, dim int, config string) (*Collection, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	ccfg := cstrOrNil(config)
	defer C.free(unsafe.Pointer(ccfg))
	var c *C.needle_collection
	err := db.with(func(p *C.needle_db, e *C.needle_error) C.needle_status {
		return C.needle_db_create_collection(p, cname, C.size_t(dim), ccfg, &c, e)
	})
	if err != nil {
		return nil, err
	}
	return newCollection(c), nil
}

// Collection opens a handle to an existing collection.
func (db *DB) Collection(name string) (*Collection, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var c *C.needle_collection
	err := db.with(func(p *C.needle_db, e *C.needle_error) C.needle_status {
		return C.needle_db_collection(p, cname, &c, e)
	})
	if err != nil {
		return nil, err
	}
	return newCollection(c), nil
}

// DropCollection deletes a collection and its data.
func (db *DB) DropCollection(name string) error {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	return db.with(func(p *C.needle_db, e *C.needle_error) C.needle_status {
		return C.needle_db_drop_collection(p, cname, e)
	})
}

// Collections lists the collection names, sorted.
func (db *DB) Collections() ([]string, error) {
	var list *C.needle_string_list
	err := db.with(func(p *C.needle_db, e *C.needle_error) C.needle_status {
		return C.needle_db_list_collections(p, &list, e)
	})
	if err != nil {
		return nil, err
	}
	defer C.needle_string_list_free(list)
	return goStrings(list), nil
}

// AutoTune returns index settings for a workload (see needle_auto_tune): constraints such as
// {"num_vectors": 1000000, "dimensions": 384, "profile": "balanced"} in, settings out.
func AutoTune(constraints map[string]any) (map[string]any, error) {
	in, err := json.Marshal(constraints)
	if err != nil {
		return nil, &Error{Code: CodeInvalidJSON, Message: err.Error()}
	}
	cin := C.CString(string(in))
	defer C.free(unsafe.Pointer(cin))
	var out *C.char
	if err := call(func(e *C.needle_error) C.needle_status { return C.needle_auto_tune(cin, &out, e) }); err != nil {
		return nil, err
	}
	defer C.needle_string_free(out)
	var tuned map[string]any
	if err := json.Unmarshal([]byte(C.GoString(out)), &tuned); err != nil {
		return nil, &Error{Code: CodeInternal, Message: err.Error()}
	}
	return tuned, nil
}

func cstrOrNil(s string) *C.char {
	if s == "" {
		return nil
	}
	return C.CString(s)
}

func goStrings(list *C.needle_string_list) []string {
	items := unsafe.Slice(list.items, list.len)
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = C.GoString(s)
	}
	return out
}
