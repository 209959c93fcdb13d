package backend

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
)

// sentinel is an error kind that also matches its io/fs (or errors) counterpart.
type sentinel struct {
	msg  string
	also error
}

func (s *sentinel) Error() string { return s.msg }

func (s *sentinel) Is(target error) bool { return s.also != nil && target == s.also }

// The error kinds of Kite. Every error a driver returns for an object wraps a
// *Error, and matches at most one of these with errors.Is. Each also matches
// the io/fs (or errors) error named beside it.
var (
	ErrNotFound        error = &sentinel{"object not found", fs.ErrNotExist}    // fs.ErrNotExist
	ErrExists          error = &sentinel{"object already exists", fs.ErrExist}  // fs.ErrExist
	ErrPrecondition    error = &sentinel{"precondition failed", nil}            //
	ErrInvalidKey      error = &sentinel{"invalid key", fs.ErrInvalid}          // fs.ErrInvalid
	ErrInvalidArgument error = &sentinel{"invalid argument", fs.ErrInvalid}     // fs.ErrInvalid
	ErrPermission      error = &sentinel{"permission denied", fs.ErrPermission} // fs.ErrPermission
	ErrUnsupported     error = &sentinel{"unsupported", errors.ErrUnsupported}  // errors.ErrUnsupported
	ErrClosed          error = &sentinel{"backend is closed", fs.ErrClosed}     // fs.ErrClosed
)

// Error records the operation, driver and key of a failed call, like
// *fs.PathError. Err is the cause: a sentinel of this package, a wrapped
// provider error that still matches one, or a context error.
type Error struct {
	Op     string // Put, Get, Stat, Delete, List, Copy, PresignGet, PresignPut, Health, Open
	Driver string // mem, file, minio, s3, gs
	Key    string // the key, or "" when the call has none
	Err    error
}

// Error returns "driver: op "key": cause". It never contains a secret: drivers
// redact causes that could carry one before wrapping them.
func (e *Error) Error() string {
	s := e.Driver + ": " + e.Op
	if e.Key != "" {
		s += " " + strconv.Quote(e.Key)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// kindError attaches a sentinel to a cause that carries its own message.
type kindError struct {
	kind  error
	cause error
	msg   string
}

func (k *kindError) Error() string {
	switch {
	case k.msg != "" && k.cause != nil:
		return k.msg + ": " + k.cause.Error()
	case k.msg != "":
		return k.msg
	case k.cause != nil:
		return k.kind.Error() + ": " + k.cause.Error()
	}
	return k.kind.Error()
}

func (k *kindError) Unwrap() []error {
	if k.cause == nil {
		return []error{k.kind}
	}
	return []error{k.kind, k.cause}
}

// Errorf returns an error matching kind (one of the sentinels) whose message is
// the formatted text, for example Errorf(ErrInvalidArgument, "offset %d past
// the end", off). The text must not contain secrets.
func Errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// Mark returns an error matching both kind and cause, with cause's message
// after kind's: a driver uses it to classify a provider error while keeping it
// reachable with errors.As.
func Mark(kind, cause error) error {
	return &kindError{kind: kind, cause: cause}
}
