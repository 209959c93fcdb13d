//go:build kitetest

package main

import (
	"context"
	"iter"
	"net/url"
	"slices"

	"github.com/kitehq/kite/backend"
)

// A deliberately broken driver for the tests of "kite conformance", built
// only with -tags kitetest: broken-mem:// is a memory store whose Delete of a
// missing key fails and whose List yields keys in reverse order. It takes the
// query parameters of mem://.
func init() {
	backend.Register("broken-mem", func(ctx context.Context, u *url.URL) (backend.Backend, error) {
		b, err := backend.Open(ctx, (&url.URL{Scheme: "mem", Host: u.Host, RawQuery: u.RawQuery}).String())
		if err != nil {
			return nil, err
		}
		return brokenBackend{b}, nil
	})
}

type brokenBackend struct{ backend.Backend }

// Delete breaks "deleting a key that does not exist is not an error".
func (b brokenBackend) Delete(ctx context.Context, key string) error {
	if _, err := b.Backend.Stat(ctx, key); err != nil {
		return err
	}
	return b.Backend.Delete(ctx, key)
}

// List breaks "List yields objects in byte-wise key order".
func (b brokenBackend) List(ctx context.Context, opts backend.ListOptions) iter.Seq2[*backend.Object, error] {
	return func(yield func(*backend.Object, error) bool) {
		var objs []*backend.Object
		for o, err := range b.Backend.List(ctx, opts) {
			if err != nil {
				yield(nil, err)
				return
			}
			objs = append(objs, o)
		}
		slices.Reverse(objs)
		for _, o := range objs {
			if !yield(o, nil) {
				return
			}
		}
	}
}
