package backend_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/conformance"
	"github.com/kitehq/kite/internal/testserve"
	"github.com/kitehq/kite/internal/wraptest"
	"github.com/kitehq/kite/memory"
)

// wrapSecret is the HMAC key of the memory stores of the wrapper tests.
var wrapSecret = strings.Repeat("w", 32)

// wrapMem returns a memory store whose presigned URLs are served by mux,
// closed at cleanup.
func wrapMem(t conformance.T, mux *testserve.Mux) *memory.Backend {
	base, mount := mux.Slot(t.Cleanup)
	m, err := memory.New(memory.Options{BaseURL: base, Secret: wrapSecret})
	if err != nil {
		t.Fatalf("memory.New: %v", err)
	}
	mount(m.Handler())
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// TestReadOnlyConformance runs the whole suite with every read (Get, Stat,
// List, PresignGet, Health, Close) through ReadOnly over a memory store and
// the suite's writes straight to that store.
func TestReadOnlyConformance(t *testing.T) {
	mux := testserve.New(t.Cleanup)
	conformance.Run(t, conformance.Harness{
		New: func(t conformance.T) backend.Backend {
			m := wrapMem(t, mux)
			return &wraptest.Split{R: backend.ReadOnly(m), W: m}
		},
		PublicHost: mux.Host(),
	})
}

// countingReader counts the calls to Read.
type countingReader struct{ reads atomic.Int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads.Add(1)
	return copy(p, "new"), io.EOF
}

func TestReadOnlyRefusesWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, err := memory.New(memory.Options{BaseURL: "http://127.0.0.1:1/files/", Secret: wrapSecret})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	old, err := m.Put(ctx, "doc", strings.NewReader("old"), backend.PutOptions{})
	require.NoError(t, err)
	ro := backend.ReadOnly(m)
	rd := &countingReader{}

	cases := []struct {
		op, key string
		call    func() error
	}{
		{"Put", "doc", func() error { _, err := ro.Put(ctx, "doc", rd, backend.PutOptions{}); return err }},
		{"Put", "new", func() error { _, err := ro.Put(ctx, "new", rd, backend.PutOptions{IfNotExists: true}); return err }},
		{"Put", "../bad", func() error { _, err := ro.Put(ctx, "../bad", nil, backend.PutOptions{}); return err }},
		{"Delete", "doc", func() error { return ro.Delete(ctx, "doc") }},
		{"Delete", "missing", func() error { return ro.Delete(ctx, "missing") }},
		{"Copy", "copy", func() error { _, err := ro.Copy(ctx, "copy", "doc"); return err }},
		{"Copy", "doc", func() error { _, err := ro.Copy(ctx, "doc", "doc"); return err }},
		{"PresignPut", "upload", func() error {
			pr, err := ro.PresignPut(ctx, "upload", backend.PresignOptions{})
			assert.Nil(t, pr, "PresignPut handed out a request")
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.op+"/"+c.key, func(t *testing.T) {
			err := c.call()
			require.Error(t, err)
			assert.ErrorIs(t, err, backend.ErrPermission)
			assert.ErrorIs(t, err, fs.ErrPermission)
			for _, other := range []error{backend.ErrNotFound, backend.ErrInvalidKey, backend.ErrInvalidArgument, backend.ErrClosed} {
				assert.NotErrorIs(t, err, other, "an error has one kind")
			}
			var be *backend.Error
			require.True(t, errors.As(err, &be), "a *backend.Error")
			assert.Equal(t, c.op, be.Op)
			assert.Equal(t, "readonly", be.Driver)
			assert.Equal(t, c.key, be.Key)
			assert.Contains(t, err.Error(), "read-only")
		})
	}

	assert.Zero(t, rd.reads.Load(), "a refused Put read its reader")
	var keys []string
	for o, err := range m.List(ctx, backend.ListOptions{}) {
		require.NoError(t, err)
		keys = append(keys, o.Key)
	}
	assert.Equal(t, []string{"doc"}, keys, "the store holds what it held")
	st, err := m.Stat(ctx, "doc")
	require.NoError(t, err)
	assert.Equal(t, old.ETag, st.ETag, "the object is unchanged")
}

func TestReadOnlyReads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, err := memory.New(memory.Options{BaseURL: "http://127.0.0.1:1/files/", Secret: wrapSecret})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	_, err = m.Put(ctx, "a/b", strings.NewReader("hello"), backend.PutOptions{ContentType: "text/plain"})
	require.NoError(t, err)
	ro := backend.ReadOnly(m)

	rc, obj, err := ro.Get(ctx, "a/b", backend.GetOptions{Offset: 1, Length: 3})
	require.NoError(t, err)
	data, err := io.ReadAll(rc)
	require.NoError(t, rc.Close())
	require.NoError(t, err)
	assert.Equal(t, "ell", string(data))
	assert.Equal(t, int64(5), obj.Size)
	_, ok := rc.(io.Seeker)
	assert.True(t, ok, "the reader of the wrapped backend is handed out as it is")

	_, err = ro.Stat(ctx, "missing")
	assert.ErrorIs(t, err, backend.ErrNotFound)
	var be *backend.Error
	require.True(t, errors.As(err, &be))
	assert.Equal(t, "mem", be.Driver, "errors of the wrapped backend keep their driver")

	pr, err := ro.PresignGet(ctx, "a/b", backend.PresignOptions{})
	require.NoError(t, err)
	assert.Equal(t, "GET", pr.Method)
	assert.NoError(t, ro.Health(ctx))
}

func TestReadOnlyCloseLeavesTheBackendOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, err := memory.New(memory.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	_, err = m.Put(ctx, "k", strings.NewReader("x"), backend.PutOptions{})
	require.NoError(t, err)
	ro := backend.ReadOnly(m)
	require.NoError(t, ro.Close())

	_, err = ro.Stat(ctx, "k")
	assert.ErrorIs(t, err, backend.ErrClosed)
	_, _, err = ro.Get(ctx, "k", backend.GetOptions{})
	assert.ErrorIs(t, err, backend.ErrClosed)
	_, err = ro.Put(ctx, "k", strings.NewReader("y"), backend.PutOptions{})
	assert.ErrorIs(t, err, backend.ErrClosed, "a write after Close is ErrClosed, not ErrPermission")
	assert.NotErrorIs(t, err, backend.ErrPermission)
	for _, err := range ro.List(ctx, backend.ListOptions{}) {
		assert.ErrorIs(t, err, backend.ErrClosed)
	}
	assert.ErrorIs(t, ro.Health(ctx), backend.ErrClosed)
	_, err = m.Stat(ctx, "k")
	assert.NoError(t, err, "the wrapped backend is still open")
}
