// Using libneedle from Go through cgo.
//
// Build and run (ffi/examples/run.sh does this):
//
//	CGO_LDFLAGS="-L<dir of libneedle.so> -Wl,-rpath,<dir>" go run .
package main

/*
#cgo CFLAGS: -I${SRCDIR}/../../../include
#cgo LDFLAGS: -lneedle
#include <stdlib.h>
#include "needle.h"
*/
import "C"

import (
	"fmt"
	"os"
	"unsafe"
)

// check runs one call with its own needle_error, so the message is that call's even though
// goroutines move between OS threads (never read needle_last_error_message from Go).
// ffi/go/needle wraps all of this in a package.
func check(f func(e *C.needle_error) C.needle_status) {
	var e C.needle_error
	if s := f(&e); s != C.NEEDLE_OK {
		msg := fmt.Sprintf("%s: %s", C.GoString(C.needle_status_str(C.int32_t(s))), C.GoString(e.message))
		C.needle_error_clear(&e)
		panic(msg)
	}
}

func main() {
	if C.needle_abi_version() != C.NEEDLE_ABI_VERSION {
		fmt.Println("header/library ABI mismatch")
		os.Exit(1)
	}
	fmt.Printf("libneedle %s from Go\n", C.GoString(C.needle_version()))

	var db *C.needle_db
	check(func(e *C.needle_error) C.needle_status { return C.needle_db_open_memory(&db, e) })
	defer C.needle_db_close(db, nil)

	name := C.CString("points")
	defer C.free(unsafe.Pointer(name))
	cfg := C.CString(`{"distance":"euclidean","index":"flat"}`)
	defer C.free(unsafe.Pointer(cfg))
	var coll *C.needle_collection
	check(func(e *C.needle_error) C.needle_status {
		return C.needle_db_create_collection(db, name, 2, cfg, &coll, e)
	})
	defer C.needle_collection_free(coll)

	// Vectors go in as C arrays (cgo forbids passing Go memory that holds Go pointers; floats are fine).
	points := map[string][2]float32{"origin": {0, 0}, "east": {1, 0}, "north": {0, 1}}
	for id, p := range points {
		cid := C.CString(id)
		v := [2]C.float{C.float(p[0]), C.float(p[1])}
		check(func(e *C.needle_error) C.needle_status {
			return C.needle_collection_insert(coll, cid, &v[0], 2, nil, e)
		})
		C.free(unsafe.Pointer(cid))
	}

	q := [2]C.float{0.9, 0.2}
	var hits *C.needle_hits
	check(func(e *C.needle_error) C.needle_status {
		return C.needle_collection_search(coll, &q[0], 2, 3, nil, &hits, e)
	})
	defer C.needle_hits_free(hits)
	list := unsafe.Slice(hits.hits, hits.len)
	for _, h := range list {
		fmt.Printf("%s %.4f\n", C.GoString(h.id), float32(h.distance))
	}
	if len(list) != 3 || C.GoString(list[0].id) != "east" {
		fmt.Println("unexpected results")
		os.Exit(1)
	}
	var n C.size_t
	check(func(e *C.needle_error) C.needle_status { return C.needle_collection_count(coll, &n, e) })
	fmt.Printf("count %d\ngo example: ok\n", n)
}
