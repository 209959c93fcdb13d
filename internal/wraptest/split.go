// Package wraptest holds what the tests of Kite's wrappers share: a
// backend that reads through one store and writes to another, so that the
// conformance suite can run over a read-only wrapper.
package wraptest

import (
	"context"
	"io"
	"iter"
	"sync/atomic"

	"github.com/kitehq/kite/backend"
)

var _ backend.Backend = (*Split)(nil)

// Split reads through R and writes to W: it lets the conformance suite,
// which writes its own fixtures, check every read path of a read-only R
// (backend.ReadOnly, or a stack over it) over the store W. Close closes R
// and makes the writes fail too.
type Split struct {
	R, W   backend.Backend
	closed atomic.Bool
}

func (s *Split) live(op, key string) error {
	if s.closed.Load() {
		return &backend.Error{Op: op, Driver: "split", Key: key, Err: backend.ErrClosed}
	}
	return nil
}

func (s *Split) Put(ctx context.Context, key string, r io.Reader, opts backend.PutOptions) (*backend.Object, error) {
	if err := s.live("Put", key); err != nil {
		return nil, err
	}
	return s.W.Put(ctx, key, r, opts)
}

func (s *Split) Get(ctx context.Context, key string, opts backend.GetOptions) (io.ReadCloser, *backend.Object, error) {
	return s.R.Get(ctx, key, opts)
}

func (s *Split) Stat(ctx context.Context, key string) (*backend.Object, error) {
	return s.R.Stat(ctx, key)
}

func (s *Split) Delete(ctx context.Context, key string) error {
	if err := s.live("Delete", key); err != nil {
		return err
	}
	return s.W.Delete(ctx, key)
}

func (s *Split) List(ctx context.Context, opts backend.ListOptions) iter.Seq2[*backend.Object, error] {
	return s.R.List(ctx, opts)
}

func (s *Split) Copy(ctx context.Context, dst, src string) (*backend.Object, error) {
	if err := s.live("Copy", dst); err != nil {
		return nil, err
	}
	return s.W.Copy(ctx, dst, src)
}

func (s *Split) PresignGet(ctx context.Context, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	return s.R.PresignGet(ctx, key, opts)
}

func (s *Split) PresignPut(ctx context.Context, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	if err := s.live("PresignPut", key); err != nil {
		return nil, err
	}
	return s.W.PresignPut(ctx, key, opts)
}

func (s *Split) Health(ctx context.Context) error { return s.R.Health(ctx) }

func (s *Split) Close() error {
	s.closed.Store(true)
	return s.R.Close()
}
