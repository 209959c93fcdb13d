package backend_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/conformance"
	"github.com/kitehq/kite/internal/testserve"
	"github.com/kitehq/kite/memory"
)

// TestWithPrefixConformance runs the whole suite over the wrapper: every
// check gets its own prefix on one memory store that also holds objects
// outside it, which the wrapper must never show. Keys are at most 1024 bytes
// once prefixed, so the suite leaves out its keys longer than 1012.
func TestWithPrefixConformance(t *testing.T) {
	const prefix = "scratch/run/"
	mux := testserve.New(t.Cleanup)
	conformance.Run(t, conformance.Harness{
		New: func(t conformance.T) backend.Backend {
			base, mount := mux.Slot(t.Cleanup)
			m, err := memory.New(memory.Options{BaseURL: base, Secret: strings.Repeat("p", 32)})
			if err != nil {
				t.Fatalf("memory.New: %v", err)
			}
			mount(m.Handler())
			t.Cleanup(func() { _ = m.Close() })
			// Neighbours on both sides of the prefix, and one that shares its text.
			for _, k := range []string{"outside", "scratch", "scratch-x", "scratch/x", "zzz"} {
				if _, err := m.Put(context.Background(), k, strings.NewReader(k), backend.PutOptions{}); err != nil {
					t.Fatalf("Put %q: %v", k, err)
				}
			}
			b, err := backend.WithPrefix(m, prefix)
			if err != nil {
				t.Fatalf("WithPrefix: %v", err)
			}
			return b
		},
		PublicHost: mux.Host(),
		MaxKeyLen:  backend.MaxKeyLen - len(prefix),
	})
}

func TestWithPrefixInvalidPrefix(t *testing.T) {
	t.Parallel()
	m, err := memory.New(memory.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	for _, p := range []string{"a", "/", "/a/", "a//", "./", "a/../", "a\\b/", strings.Repeat("k", 1025) + "/"} {
		_, err := backend.WithPrefix(m, p)
		assert.ErrorIs(t, err, backend.ErrInvalidArgument, "prefix %q", p)
	}
	for _, p := range []string{"", "a/", "a/b/", "ü 1/"} {
		_, err := backend.WithPrefix(m, p)
		assert.NoError(t, err, "prefix %q", p)
	}
	_, err = backend.WithPrefix(nil, "a/")
	assert.ErrorIs(t, err, backend.ErrInvalidArgument, "nil backend")
}

func TestWithPrefixKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, err := memory.New(memory.Options{BaseURL: "http://127.0.0.1:1/files/", Secret: strings.Repeat("s", 32)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	b, err := backend.WithPrefix(m, "p/q/")
	require.NoError(t, err)

	obj, err := b.Put(ctx, "dir/k", strings.NewReader("x"), backend.PutOptions{})
	require.NoError(t, err)
	assert.Equal(t, "dir/k", obj.Key, "Put: Key")
	st, err := m.Stat(ctx, "p/q/dir/k")
	require.NoError(t, err, "the object is stored under the prefix")
	assert.Equal(t, "p/q/dir/k", st.Key)

	rc, obj, err := b.Get(ctx, "dir/k", backend.GetOptions{})
	require.NoError(t, err)
	got, _ := io.ReadAll(rc)
	rc.Close()
	assert.Equal(t, "x", string(got))
	assert.Equal(t, "dir/k", obj.Key, "Get: Key")

	obj, err = b.Copy(ctx, "c", "dir/k")
	require.NoError(t, err)
	assert.Equal(t, "c", obj.Key, "Copy: Key")

	var keys []string
	for o, err := range b.List(ctx, backend.ListOptions{Delimiter: "/"}) {
		require.NoError(t, err)
		keys = append(keys, o.Key)
	}
	assert.Equal(t, []string{"c", "dir/"}, keys, "delimited List: keys and common prefixes without the prefix")
	keys = nil
	for o, err := range b.List(ctx, backend.ListOptions{StartAfter: "c"}) {
		require.NoError(t, err)
		keys = append(keys, o.Key)
	}
	assert.Equal(t, []string{"dir/k"}, keys, "List with StartAfter")

	_, err = b.Stat(ctx, "missing")
	assert.ErrorIs(t, err, backend.ErrNotFound)
	var be *backend.Error
	require.True(t, errors.As(err, &be))
	assert.Equal(t, "missing", be.Key, "the error names the key without the prefix")
	assert.Equal(t, "mem", be.Driver, "the error of the wrapped backend keeps its driver")

	pr, err := b.PresignGet(ctx, "dir/k", backend.PresignOptions{})
	require.NoError(t, err)
	assert.Contains(t, pr.URL, "/files/p/q/dir/k?", "presigned for the full key")

	// A key valid alone but too long once prefixed.
	long := strings.Repeat("1", 255) + "/" + strings.Repeat("2", 255) + "/" + strings.Repeat("3", 255) + "/" + strings.Repeat("4", 255)
	require.NoError(t, backend.ValidateKey(long))
	_, err = b.Put(ctx, long, strings.NewReader("x"), backend.PutOptions{})
	assert.ErrorIs(t, err, backend.ErrInvalidKey)
	require.True(t, errors.As(err, &be))
	assert.Equal(t, long, be.Key)
	_, err = b.Stat(ctx, "../x")
	assert.ErrorIs(t, err, backend.ErrInvalidKey)
}

func TestWithPrefixCloseLeavesTheBackendOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, err := memory.New(memory.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	b, err := backend.WithPrefix(m, "p/")
	require.NoError(t, err)
	_, err = b.Put(ctx, "k", strings.NewReader("x"), backend.PutOptions{})
	require.NoError(t, err)
	require.NoError(t, b.Close())

	_, err = b.Stat(ctx, "k")
	assert.ErrorIs(t, err, backend.ErrClosed, "the wrapper is closed")
	for _, err := range b.List(ctx, backend.ListOptions{}) {
		assert.ErrorIs(t, err, backend.ErrClosed, "List after Close")
	}
	assert.ErrorIs(t, b.Health(ctx), backend.ErrClosed)
	_, err = m.Stat(ctx, "p/k")
	assert.NoError(t, err, "the wrapped backend is still open")
	assert.NoError(t, m.Health(ctx))
}
