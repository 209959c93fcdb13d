package backend_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"iter"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/conformance"
	"github.com/kitehq/kite/internal/testserve"
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

// splitRW reads through r and writes to w: it lets the conformance suite,
// which writes its own fixtures, check every read path of a read-only r
// over the store w. Close closes r and makes the writes fail too.
type splitRW struct {
	r, w   backend.Backend
	closed atomic.Bool
}

func (s *splitRW) live(op, key string) error {
	if s.closed.Load() {
		return &backend.Error{Op: op, Driver: "split", Key: key, Err: backend.ErrClosed}
	}
	return nil
}

func (s *splitRW) Put(ctx context.Context, key string, r io.Reader, opts backend.PutOptions) (*backend.Object, error) {
	if err := s.live("Put", key); err != nil {
		return nil, err
	}
	return s.w.Put(ctx, key, r, opts)
}

func (s *splitRW) Get(ctx context.Context, key string, opts backend.GetOptions) (io.ReadCloser, *backend.Object, error) {
	return s.r.Get(ctx, key, opts)
}

func (s *splitRW) Stat(ctx context.Context, key string) (*backend.Object, error) {
	return s.r.Stat(ctx, key)
}

func (s *splitRW) Delete(ctx context.Context, key string) error {
	if err := s.live("Delete", key); err != nil {
		return err
	}
	return s.w.Delete(ctx, key)
}

func (s *splitRW) List(ctx context.Context, opts backend.ListOptions) iter.Seq2[*backend.Object, error] {
	return s.r.List(ctx, opts)
}

func (s *splitRW) Copy(ctx context.Context, dst, src string) (*backend.Object, error) {
	if err := s.live("Copy", dst); err != nil {
		return nil, err
	}
	return s.w.Copy(ctx, dst, src)
}

func (s *splitRW) PresignGet(ctx context.Context, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	return s.r.PresignGet(ctx, key, opts)
}

func (s *splitRW) PresignPut(ctx context.Context, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	if err := s.live("PresignPut", key); err != nil {
		return nil, err
	}
	return s.w.PresignPut(ctx, key, opts)
}

func (s *splitRW) Health(ctx context.Context) error { return s.r.Health(ctx) }

func (s *splitRW) Close() error {
	s.closed.Store(true)
	return s.r.Close()
}

// TestReadOnlyConformance runs the whole suite with every read (Get, Stat,
// List, PresignGet, Health, Close) through ReadOnly over a memory store and
// the suite's writes straight to that store.
func TestReadOnlyConformance(t *testing.T) {
	mux := testserve.New(t.Cleanup)
	conformance.Run(t, conformance.Harness{
		New: func(t conformance.T) backend.Backend {
			m := wrapMem(t, mux)
			return &splitRW{r: backend.ReadOnly(m), w: m}
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
