package needle

/*
#include "needle.h"
*/
import "C"

import "fmt"

// Code is a Needle status code: the same stable numbers as the C ABI's needle_status and the
// engine's error codes (1–99), plus the C-only ones (100+).
type Code int32

// The status codes. Numbers never change between releases.
const (
	CodeOK                 Code = C.NEEDLE_OK
	CodeInvalidArgument    Code = C.NEEDLE_INVALID_ARGUMENT
	CodeDimensionMismatch  Code = C.NEEDLE_DIMENSION_MISMATCH
	CodeNonFiniteVector    Code = C.NEEDLE_NON_FINITE_VECTOR
	CodeZeroVector         Code = C.NEEDLE_ZERO_VECTOR
	CodeInvalidID          Code = C.NEEDLE_INVALID_ID
	CodeCollectionExists   Code = C.NEEDLE_COLLECTION_EXISTS
	CodeCollectionNotFound Code = C.NEEDLE_COLLECTION_NOT_FOUND
	CodeDuplicateID        Code = C.NEEDLE_DUPLICATE_ID
	CodeVectorNotFound     Code = C.NEEDLE_VECTOR_NOT_FOUND
	CodeUnknownComponent   Code = C.NEEDLE_UNKNOWN_COMPONENT
	CodeInvalidConfig      Code = C.NEEDLE_INVALID_CONFIG
	CodeNotANeedleFile     Code = C.NEEDLE_NOT_A_NEEDLE_FILE
	CodeUnsupportedVersion Code = C.NEEDLE_UNSUPPORTED_VERSION
	CodeCorrupted          Code = C.NEEDLE_CORRUPTED
	CodeIO                 Code = C.NEEDLE_IO
	CodeWrongKey           Code = C.NEEDLE_WRONG_KEY
	CodeLocked             Code = C.NEEDLE_LOCKED
	CodeReadOnly           Code = C.NEEDLE_READ_ONLY
	CodePlugin             Code = C.NEEDLE_PLUGIN
	CodeInvalidFilter      Code = C.NEEDLE_INVALID_FILTER
	CodeInvalidJSON        Code = C.NEEDLE_INVALID_JSON
	CodeInternal           Code = C.NEEDLE_INTERNAL
	CodeNullParameter      Code = C.NEEDLE_NULL_PARAMETER
	CodePanic              Code = C.NEEDLE_PANIC
	CodeInvalidUTF8        Code = C.NEEDLE_INVALID_UTF8
	CodeClosed             Code = C.NEEDLE_CLOSED
)

// String is the code's stable lowercase name ("dimension_mismatch", …).
func (c Code) String() string { return C.GoString(C.needle_status_str(C.int32_t(c))) }

// Error is a failed Needle call: its code and the message of exactly that call (taken from the
// call's own needle_error, so goroutines never see each other's messages).
//
// Compare with errors.Is against the sentinels (errors.Is(err, needle.ErrDimensionMismatch)) or
// read the code with errors.As.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("needle: %s: %s", e.Code, e.Message) }

// Is reports whether target is an *Error with the same code (the message is not compared).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is; each matches any *Error with its code.
var (
	ErrInvalidArgument    = &Error{Code: CodeInvalidArgument}
	ErrDimensionMismatch  = &Error{Code: CodeDimensionMismatch}
	ErrNonFiniteVector    = &Error{Code: CodeNonFiniteVector}
	ErrZeroVector         = &Error{Code: CodeZeroVector}
	ErrInvalidID          = &Error{Code: CodeInvalidID}
	ErrCollectionExists   = &Error{Code: CodeCollectionExists}
	ErrCollectionNotFound = &Error{Code: CodeCollectionNotFound}
	ErrDuplicateID        = &Error{Code: CodeDuplicateID}
	ErrVectorNotFound     = &Error{Code: CodeVectorNotFound}
	ErrInvalidConfig      = &Error{Code: CodeInvalidConfig}
	ErrCorrupted          = &Error{Code: CodeCorrupted}
	ErrIO                 = &Error{Code: CodeIO}
	ErrWrongKey           = &Error{Code: CodeWrongKey}
	ErrLocked             = &Error{Code: CodeLocked}
	ErrReadOnly           = &Error{Code: CodeReadOnly}
	ErrInvalidFilter      = &Error{Code: CodeInvalidFilter}
	ErrInvalidJSON        = &Error{Code: CodeInvalidJSON}
	ErrClosed             = &Error{Code: CodeClosed}
)

// call runs one C call with its own needle_error and turns a failure into an *Error.
func call(f func(e *C.needle_error) C.needle_status) error {
	var e C.needle_error
	s := f(&e)
	if s == C.NEEDLE_OK {
		return nil
	}
	err := &Error{Code: Code(s), Message: C.GoString(e.message)}
	C.needle_error_clear(&e)
	return err
}

func closedError(what string) error {
	return &Error{Code: CodeClosed, Message: what + " is closed"}
}
