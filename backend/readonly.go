package backend

import (
	"context"
	"io"
	"iter"
	"sync/atomic"
)

// readOnlyDriver is the Driver of the errors the read-only wrapper makes
// itself; errors of the wrapped backend keep their own Driver.
const readOnlyDriver = "readonly"

// ReadOnly returns a Backend that reads b and refuses to change it: Get,
// Stat, List, PresignGet and Health are those of b, while Put, Delete, Copy
// and PresignPut fail with an error matching ErrPermission, a *Error with
// Driver "readonly", before any I/O and whatever their arguments (the reader
// given to Put is not read). A refused call changes nothing in b and hands
// out no URL that could.
//
// Use it to give a part of an application (a report generator, a
// file server, a migration's source) a store it provably cannot write to,
// whatever credentials b holds.
//
// The returned Backend does not own b: its Close closes nothing and only
// makes its own later calls fail with ErrClosed. It is safe for concurrent
// use when b is. A nil b is a programmer error and panics.
func ReadOnly(b Backend) Backend {
	if b == nil {
		panic("backend.ReadOnly: nil Backend")
	}
	return &readOnly{b: b}
}

type readOnly struct {
	b      Backend
	closed atomic.Bool
}

// refuse is the error of a write: ErrClosed after Close, else ErrPermission.
func (r *readOnly) refuse(op, key string) error {
	if r.closed.Load() {
		return &Error{Op: op, Driver: readOnlyDriver, Key: key, Err: ErrClosed}
	}
	return &Error{Op: op, Driver: readOnlyDriver, Key: key, Err: Errorf(ErrPermission, "the backend is read-only: %s refused", op)}
}

func (r *readOnly) live(op, key string) error {
	if r.closed.Load() {
		return &Error{Op: op, Driver: readOnlyDriver, Key: key, Err: ErrClosed}
	}
	return nil
}

// Put fails with ErrPermission without reading the reader.
func (r *readOnly) Put(_ context.Context, key string, _ io.Reader, _ PutOptions) (*Object, error) {
	return nil, r.refuse("Put", key)
}

func (r *readOnly) Get(ctx context.Context, key string, opts GetOptions) (io.ReadCloser, *Object, error) {
	if err := r.live("Get", key); err != nil {
		return nil, nil, err
	}
	return r.b.Get(ctx, key, opts)
}

func (r *readOnly) Stat(ctx context.Context, key string) (*Object, error) {
	if err := r.live("Stat", key); err != nil {
		return nil, err
	}
	return r.b.Stat(ctx, key)
}

// Delete fails with ErrPermission.
func (r *readOnly) Delete(_ context.Context, key string) error {
	return r.refuse("Delete", key)
}

func (r *readOnly) List(ctx context.Context, opts ListOptions) iter.Seq2[*Object, error] {
	return func(yield func(*Object, error) bool) {
		if err := r.live("List", ""); err != nil {
			yield(nil, err)
			return
		}
		for o, err := range r.b.List(ctx, opts) {
			if !yield(o, err) || err != nil {
				return
			}
		}
	}
}

// Copy fails with ErrPermission; the error names dst.
func (r *readOnly) Copy(_ context.Context, dst, _ string) (*Object, error) {
	return nil, r.refuse("Copy", dst)
}

func (r *readOnly) PresignGet(ctx context.Context, key string, opts PresignOptions) (*PresignedRequest, error) {
	if err := r.live("PresignGet", key); err != nil {
		return nil, err
	}
	return r.b.PresignGet(ctx, key, opts)
}

// PresignPut fails with ErrPermission: a URL that uploads is a write.
func (r *readOnly) PresignPut(_ context.Context, key string, _ PresignOptions) (*PresignedRequest, error) {
	return nil, r.refuse("PresignPut", key)
}

func (r *readOnly) Health(ctx context.Context) error {
	if err := r.live("Health", ""); err != nil {
		return err
	}
	return r.b.Health(ctx)
}

// Close makes later calls fail with ErrClosed. It does not close the wrapped
// backend, which the wrapper does not own.
func (r *readOnly) Close() error {
	r.closed.Store(true)
	return nil
}
