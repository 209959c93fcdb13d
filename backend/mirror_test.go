package backend_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/conformance"
	"github.com/kitehq/kite/internal/testserve"
	"github.com/kitehq/kite/memory"
)

// divergences records what a Mirror reports.
type divergences struct {
	mu   sync.Mutex
	list []backend.Divergence
}

func (d *divergences) record(_ context.Context, dv backend.Divergence) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.list = append(d.list, dv)
}

func (d *divergences) all() []backend.Divergence {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]backend.Divergence(nil), d.list...)
}

// storeContents reads every object of b: content, content type, metadata.
func storeContents(t conformance.T, b backend.Backend) map[string]storedObject {
	t.Helper()
	ctx := context.Background()
	out := map[string]storedObject{}
	for o, err := range b.List(ctx, backend.ListOptions{}) {
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		rc, obj, err := b.Get(ctx, o.Key, backend.GetOptions{})
		if err != nil {
			t.Fatalf("Get %q: %v", o.Key, err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("reading %q: %v", o.Key, err)
		}
		out[o.Key] = storedObject{data: string(data), ct: obj.ContentType, meta: fmt.Sprint(obj.Metadata)}
	}
	return out
}

type storedObject struct{ data, ct, meta string }

// assertSameStores asserts that primary and secondary hold the same objects,
// but for the keys in skip.
func assertSameStores(t conformance.T, primary, secondary backend.Backend, skip map[string]bool) {
	t.Helper()
	p, s := storeContents(t, primary), storeContents(t, secondary)
	for k, po := range p {
		if skip[k] {
			continue
		}
		so, ok := s[k]
		if !ok {
			t.Errorf("key %q: on the primary, missing on the secondary", k)
			continue
		}
		if po.data != so.data {
			t.Errorf("key %q: %d bytes on the primary, %d different bytes on the secondary", k, len(po.data), len(so.data))
		}
		if po.ct != so.ct || po.meta != so.meta {
			t.Errorf("key %q: content type %q metadata %s on the primary, %q %s on the secondary", k, po.ct, po.meta, so.ct, so.meta)
		}
	}
	for k := range s {
		if _, ok := p[k]; !ok && !skip[k] {
			t.Errorf("key %q: on the secondary, not on the primary", k)
		}
	}
}

// TestMirrorConformance runs the whole suite over Mirror(mem, mem) and, after
// every check, compares the two stores: the secondary holds byte-identical
// objects with the same content type and metadata, but for the keys uploaded
// through presigned PUT URLs, which the Mirror reports and which are the
// only divergences.
func TestMirrorConformance(t *testing.T) {
	mux := testserve.New(t.Cleanup)
	conformance.Run(t, conformance.Harness{
		New: func(t conformance.T) backend.Backend {
			primary := wrapMem(t, mux)
			secondary, err := memory.New(memory.Options{})
			if err != nil {
				t.Fatalf("memory.New: %v", err)
			}
			t.Cleanup(func() { _ = secondary.Close() })
			var dv divergences
			// Runs after the suite closed the Mirror, before the stores close.
			t.Cleanup(func() {
				skip := map[string]bool{}
				for _, d := range dv.all() {
					if d.Op != "PresignPut" {
						t.Errorf("divergence between two memory stores: %s %q: %v", d.Op, d.Key, d.Err)
						continue
					}
					if !errors.Is(d.Err, backend.ErrUnsupported) {
						t.Errorf("PresignPut %q: divergence %v does not match ErrUnsupported", d.Key, d.Err)
					}
					skip[d.Key] = true
				}
				assertSameStores(t, primary, secondary, skip)
			})
			return backend.Mirror(primary, secondary, backend.MirrorOptions{OnDivergence: dv.record})
		},
		PublicHost: mux.Host(),
	})
}

// faulty is a Backend that fails the operations named in fail with errFault
// and counts every call.
type faulty struct {
	backend.Backend
	fail map[string]bool

	mu    sync.Mutex
	calls map[string]int
}

var errFault = errors.New("injected fault")

func newFaulty(b backend.Backend, fail ...string) *faulty {
	f := &faulty{Backend: b, fail: map[string]bool{}, calls: map[string]int{}}
	for _, op := range fail {
		f.fail[op] = true
	}
	return f
}

func (f *faulty) call(op, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
	if f.fail[op] {
		return &backend.Error{Op: op, Driver: "faulty", Key: key, Err: errFault}
	}
	return nil
}

func (f *faulty) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *faulty) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		n += c
	}
	return n
}

func (f *faulty) Put(ctx context.Context, key string, r io.Reader, opts backend.PutOptions) (*backend.Object, error) {
	if err := f.call("Put", key); err != nil {
		return nil, err
	}
	return f.Backend.Put(ctx, key, r, opts)
}

func (f *faulty) Get(ctx context.Context, key string, opts backend.GetOptions) (io.ReadCloser, *backend.Object, error) {
	if err := f.call("Get", key); err != nil {
		return nil, nil, err
	}
	return f.Backend.Get(ctx, key, opts)
}

func (f *faulty) Stat(ctx context.Context, key string) (*backend.Object, error) {
	if err := f.call("Stat", key); err != nil {
		return nil, err
	}
	return f.Backend.Stat(ctx, key)
}

func (f *faulty) Delete(ctx context.Context, key string) error {
	if err := f.call("Delete", key); err != nil {
		return err
	}
	return f.Backend.Delete(ctx, key)
}

func (f *faulty) Copy(ctx context.Context, dst, src string) (*backend.Object, error) {
	if err := f.call("Copy", dst); err != nil {
		return nil, err
	}
	return f.Backend.Copy(ctx, dst, src)
}

func (f *faulty) Health(ctx context.Context) error {
	if err := f.call("Health", ""); err != nil {
		return err
	}
	return f.Backend.Health(ctx)
}

func newMem(t *testing.T) *memory.Backend {
	t.Helper()
	m, err := memory.New(memory.Options{BaseURL: "http://127.0.0.1:1/files/", Secret: wrapSecret})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func getString(t *testing.T, b backend.Backend, key string) (string, *backend.Object) {
	t.Helper()
	rc, obj, err := b.Get(context.Background(), key, backend.GetOptions{})
	require.NoError(t, err, "Get %q", key)
	defer rc.Close()
	data, err := io.ReadAll(rc)
	require.NoError(t, err)
	return string(data), obj
}

func TestMirrorWorkload(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, s := newMem(t), newMem(t)
	var dv divergences
	m := backend.Mirror(p, s, backend.MirrorOptions{OnDivergence: dv.record, Strict: true})

	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	_, err := m.Put(ctx, "docs/big", bytes.NewReader(big), backend.PutOptions{ContentType: "application/pdf", Metadata: map[string]string{"owner": "u1"}})
	require.NoError(t, err)
	_, err = m.Put(ctx, "docs/empty", strings.NewReader(""), backend.PutOptions{})
	require.NoError(t, err)
	v1, err := m.Put(ctx, "docs/v", strings.NewReader("v1"), backend.PutOptions{IfNotExists: true})
	require.NoError(t, err)
	_, err = m.Put(ctx, "docs/v", strings.NewReader("v2"), backend.PutOptions{IfMatch: v1.ETag})
	require.NoError(t, err)
	_, err = m.Copy(ctx, "docs/copy", "docs/big")
	require.NoError(t, err)
	_, err = m.Copy(ctx, "docs/v", "docs/empty")
	require.NoError(t, err, "Copy onto an existing key")
	_, err = m.Put(ctx, "docs/gone", strings.NewReader("x"), backend.PutOptions{})
	require.NoError(t, err)
	require.NoError(t, m.Delete(ctx, "docs/gone"))
	require.NoError(t, m.Delete(ctx, "docs/never"))

	// Concurrent writers of one key: the secondary ends with the primary's last.
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			data := strings.Repeat(fmt.Sprint(i), 1000+i)
			if i%4 == 3 {
				assert.NoError(t, m.Delete(ctx, "race"))
				return
			}
			_, err := m.Put(ctx, "race", strings.NewReader(data), backend.PutOptions{Metadata: map[string]string{"writer": fmt.Sprint(i)}})
			assert.NoError(t, err)
		})
	}
	wg.Wait()

	assert.Empty(t, dv.all(), "no divergence between two memory stores")
	assertSameStores(t, p, s, nil)
	got, obj := getString(t, s, "docs/big")
	assert.Equal(t, string(big), got)
	assert.Equal(t, "application/pdf", obj.ContentType)
	assert.Equal(t, map[string]string{"owner": "u1"}, obj.Metadata)
	_, err = s.Stat(ctx, "docs/gone")
	assert.ErrorIs(t, err, backend.ErrNotFound, "deleted on the secondary")
}

func TestMirrorFailingSecondary(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, strict := range []bool{false, true} {
		t.Run(fmt.Sprintf("Strict=%v", strict), func(t *testing.T) {
			t.Parallel()
			p := newMem(t)
			s := newFaulty(newMem(t), "Put", "Delete", "Copy")
			var dv divergences
			m := backend.Mirror(p, s, backend.MirrorOptions{OnDivergence: dv.record, Strict: strict})

			calls := []struct {
				op, key string
				call    func() (*backend.Object, error)
			}{
				{"Put", "k", func() (*backend.Object, error) {
					return m.Put(ctx, "k", strings.NewReader("data"), backend.PutOptions{})
				}},
				{"Copy", "k2", func() (*backend.Object, error) { return m.Copy(ctx, "k2", "k") }},
				{"Delete", "k2", func() (*backend.Object, error) { return nil, m.Delete(ctx, "k2") }},
			}
			for i, c := range calls {
				obj, err := c.call()
				if strict {
					require.Error(t, err, "%s: Strict fails the call", c.op)
					assert.ErrorIs(t, err, errFault)
					var d backend.Divergence
					require.True(t, errors.As(err, &d), "%s: the error is a Divergence", c.op)
					assert.Equal(t, c.op, d.Op)
					assert.Equal(t, c.key, d.Key)
					var be *backend.Error
					require.True(t, errors.As(err, &be))
					assert.Equal(t, "mirror", be.Driver)
					assert.Equal(t, c.op, be.Op)
					if c.op != "Delete" {
						require.NotNil(t, obj, "%s: Strict still returns the primary's object", c.op)
						assert.Equal(t, c.key, obj.Key)
					}
				} else {
					require.NoError(t, err, "%s: the secondary does not fail the call", c.op)
				}
				got := dv.all()
				require.Len(t, got, i+1, "%s: one divergence reported", c.op)
				assert.Equal(t, c.op, got[i].Op)
				assert.Equal(t, c.key, got[i].Key)
				assert.ErrorIs(t, got[i].Err, errFault)
			}
			data, _ := getString(t, p, "k")
			assert.Equal(t, "data", data, "the primary holds the object")
			_, err := p.Stat(ctx, "k2")
			assert.ErrorIs(t, err, backend.ErrNotFound, "the primary's Copy and Delete happened")
			_, err = s.Stat(ctx, "k")
			assert.ErrorIs(t, err, backend.ErrNotFound, "the secondary refused the Put")
		})
	}
}

func TestMirrorFailedPrimaryNeverTouchesSecondary(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newMem(t)
	old, err := p.Put(ctx, "exists", strings.NewReader("old"), backend.PutOptions{})
	require.NoError(t, err)
	failing := newFaulty(p, "Put", "Delete", "Copy")

	cases := []struct {
		name    string
		primary backend.Backend
		call    func(m backend.Backend) error
	}{
		{"Put IfNotExists on an existing key", p, func(m backend.Backend) error {
			_, err := m.Put(ctx, "exists", strings.NewReader("new"), backend.PutOptions{IfNotExists: true})
			return err
		}},
		{"Put IfMatch stale", p, func(m backend.Backend) error {
			_, err := m.Put(ctx, "exists", strings.NewReader("new"), backend.PutOptions{IfMatch: "stale"})
			return err
		}},
		{"Put invalid key", p, func(m backend.Backend) error {
			_, err := m.Put(ctx, "../x", strings.NewReader("new"), backend.PutOptions{})
			return err
		}},
		{"Put size mismatch", p, func(m backend.Backend) error {
			_, err := m.Put(ctx, "exists", strings.NewReader("new"), backend.PutOptions{Size: 99})
			return err
		}},
		{"Put failing primary", failing, func(m backend.Backend) error {
			_, err := m.Put(ctx, "k", strings.NewReader("new"), backend.PutOptions{})
			return err
		}},
		{"Delete invalid key", p, func(m backend.Backend) error { return m.Delete(ctx, "a//b") }},
		{"Delete failing primary", failing, func(m backend.Backend) error { return m.Delete(ctx, "exists") }},
		{"Copy of a missing source", p, func(m backend.Backend) error {
			_, err := m.Copy(ctx, "dst", "missing")
			return err
		}},
		{"Copy failing primary", failing, func(m backend.Backend) error {
			_, err := m.Copy(ctx, "dst", "exists")
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newFaulty(newMem(t))
			var dv divergences
			m := backend.Mirror(c.primary, s, backend.MirrorOptions{OnDivergence: dv.record, Strict: true})
			err := c.call(m)
			require.Error(t, err)
			var d backend.Divergence
			assert.False(t, errors.As(err, &d), "the primary's error, not a divergence: %v", err)
			assert.Zero(t, s.total(), "the secondary was called")
			assert.Empty(t, dv.all())
		})
	}
	data, obj := getString(t, p, "exists")
	assert.Equal(t, "old", data)
	assert.Equal(t, old.ETag, obj.ETag)
}

func TestMirrorConditionalPutOnPrimaryOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, s := newMem(t), newMem(t)
	_, err := s.Put(ctx, "k", strings.NewReader("stale on the secondary"), backend.PutOptions{})
	require.NoError(t, err)
	m := backend.Mirror(p, s, backend.MirrorOptions{Strict: true})
	_, err = m.Put(ctx, "k", strings.NewReader("new"), backend.PutOptions{IfNotExists: true})
	require.NoError(t, err, "IfNotExists is decided by the primary, which lacks the key")
	data, _ := getString(t, s, "k")
	assert.Equal(t, "new", data, "the secondary is written unconditionally")
}

func TestMirrorCopyRestreams(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newMem(t)
	s := newFaulty(newMem(t))
	m := backend.Mirror(p, s, backend.MirrorOptions{Strict: true})

	// The source exists on the primary only (written before the migration).
	_, err := p.Put(ctx, "old/src", strings.NewReader("written before the mirror"), backend.PutOptions{ContentType: "text/plain", Metadata: map[string]string{"a": "1"}})
	require.NoError(t, err)
	_, err = m.Copy(ctx, "new/dst", "old/src")
	require.NoError(t, err)
	data, obj := getString(t, s, "new/dst")
	assert.Equal(t, "written before the mirror", data, "streamed from the primary")
	assert.Equal(t, "text/plain", obj.ContentType)
	assert.Equal(t, map[string]string{"a": "1"}, obj.Metadata)
	_, err = s.Stat(ctx, "old/src")
	assert.ErrorIs(t, err, backend.ErrNotFound, "only the destination is copied")

	// A source of another size on the secondary: streamed, not copied.
	_, err = s.Put(ctx, "old/src", strings.NewReader("other"), backend.PutOptions{})
	require.NoError(t, err)
	_, err = m.Copy(ctx, "new/dst2", "old/src")
	require.NoError(t, err)
	data, _ = getString(t, s, "new/dst2")
	assert.Equal(t, "written before the mirror", data)

	// Both hold the source: a server-side Copy on the secondary.
	_, err = m.Put(ctx, "both", strings.NewReader("same"), backend.PutOptions{})
	require.NoError(t, err)
	puts := s.count("Put")
	_, err = m.Copy(ctx, "both-copy", "both")
	require.NoError(t, err)
	assert.Equal(t, puts, s.count("Put"), "no stream when the secondary can copy")
	assert.Equal(t, 3, s.count("Copy"))
	data, _ = getString(t, s, "both-copy")
	assert.Equal(t, "same", data)
}

func TestMirrorPresignPutReported(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var dv divergences
	m := backend.Mirror(newMem(t), newMem(t), backend.MirrorOptions{OnDivergence: dv.record, Strict: true})
	pr, err := m.PresignPut(ctx, "upload", backend.PresignOptions{})
	require.NoError(t, err, "Strict does not fail a presigned PUT")
	assert.Equal(t, "PUT", pr.Method)
	got := dv.all()
	require.Len(t, got, 1)
	assert.Equal(t, "PresignPut", got[0].Op)
	assert.Equal(t, "upload", got[0].Key)
	assert.ErrorIs(t, got[0].Err, backend.ErrUnsupported)

	_, err = m.PresignGet(ctx, "upload", backend.PresignOptions{})
	require.NoError(t, err)
	assert.Len(t, dv.all(), 1, "a presigned GET is no divergence")
}

func TestMirrorHealth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	good := newMem(t)
	bad := newFaulty(newMem(t), "Health")
	assert.NoError(t, backend.Mirror(good, newMem(t), backend.MirrorOptions{}).Health(ctx))
	for _, c := range []struct {
		name               string
		primary, secondary backend.Backend
		want               string
	}{
		{"secondary", good, bad, "secondary: "},
		{"primary", bad, good, "primary: "},
	} {
		err := backend.Mirror(c.primary, c.secondary, backend.MirrorOptions{}).Health(ctx)
		require.Error(t, err, c.name)
		assert.ErrorIs(t, err, errFault)
		assert.Contains(t, err.Error(), c.want)
		var be *backend.Error
		require.True(t, errors.As(err, &be))
		assert.Equal(t, "mirror", be.Driver)
	}
}

func TestMirrorCloseLeavesTheStoresOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p, s := newMem(t), newMem(t)
	m := backend.Mirror(p, s, backend.MirrorOptions{})
	require.NoError(t, m.Close())
	_, err := m.Put(ctx, "k", strings.NewReader("x"), backend.PutOptions{})
	assert.ErrorIs(t, err, backend.ErrClosed)
	assert.ErrorIs(t, m.Delete(ctx, "k"), backend.ErrClosed)
	assert.ErrorIs(t, m.Health(ctx), backend.ErrClosed)
	assert.NoError(t, p.Health(ctx), "the primary is open")
	assert.NoError(t, s.Health(ctx), "the secondary is open")
	_, err = p.Stat(ctx, "k")
	assert.ErrorIs(t, err, backend.ErrNotFound, "nothing was written after Close")
}

// blocking is a secondary whose first Put signals entered and waits for
// release.
type blocking struct {
	backend.Backend
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (b *blocking) Put(ctx context.Context, key string, r io.Reader, opts backend.PutOptions) (*backend.Object, error) {
	b.once.Do(func() {
		close(b.entered)
		<-b.release
	})
	return b.Backend.Put(ctx, key, r, opts)
}

// signalling closes done when its n-th Put has returned.
type signalling struct {
	backend.Backend
	mu   sync.Mutex
	n    int
	done chan struct{}
}

func (s *signalling) Put(ctx context.Context, key string, r io.Reader, opts backend.PutOptions) (*backend.Object, error) {
	obj, err := s.Backend.Put(ctx, key, r, opts)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n--; s.n == 0 {
		close(s.done)
	}
	return obj, err
}

// TestMirrorKeyLockHonoursContext: a write of a key whose secondary copy is
// under way waits for it, and gives up when its context is done: the primary
// has the write, the key is reported as diverged (the secondary is behind),
// and the key's lock still works.
func TestMirrorKeyLockHonoursContext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newMem(t)
	pw := &signalling{Backend: p, n: 2, done: make(chan struct{})}
	s := &blocking{Backend: newMem(t), entered: make(chan struct{}), release: make(chan struct{})}
	var dv divergences
	m := backend.Mirror(pw, s, backend.MirrorOptions{OnDivergence: dv.record})

	first := make(chan error, 1)
	go func() {
		_, err := m.Put(ctx, "k", strings.NewReader("first"), backend.PutOptions{})
		first <- err
	}()
	<-s.entered // the first Put holds the key's lock

	cctx, cancel := context.WithCancel(ctx)
	second := make(chan error, 1)
	go func() {
		_, err := m.Put(cctx, "k", strings.NewReader("second"), backend.PutOptions{})
		second <- err
	}()
	// The second Put waits for the lock after its primary write.
	<-pw.done
	cancel()
	data, _ := getString(t, p, "k")
	require.Equal(t, "second", data, "the primary has the second write")
	require.NoError(t, <-second, "not Strict: the primary's result")
	got := dv.all()
	require.Len(t, got, 1)
	assert.ErrorIs(t, got[0].Err, context.Canceled)

	assert.Equal(t, "k", got[0].Key)

	close(s.release)
	require.NoError(t, <-first)
	data, _ = getString(t, s, "k")
	assert.Equal(t, "first", data, "the secondary is behind on the reported key")
	_, err := m.Put(ctx, "k", strings.NewReader("third"), backend.PutOptions{})
	require.NoError(t, err, "the lock is free again")
	data, _ = getString(t, s, "k")
	assert.Equal(t, "third", data)
}
