package conformance_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/conformance"
	"github.com/kitehq/kite/internal/signurl"
	"github.com/kitehq/kite/memory"
)

const secret = "conformance-test-secret-0123456789abcdef"

// stores serves the presigned URLs of many memory backends from one
// loopback server, each under its own base path, so that every URL names
// the same public host.
type stores struct {
	srv *httptest.Server
	n   atomic.Int64
	mu  sync.RWMutex
	m   map[string]http.Handler // by first path segment
}

func newStores(t *testing.T) *stores {
	s := &stores{m: map[string]http.Handler{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seg, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		s.mu.RLock()
		h := s.m[seg]
		s.mu.RUnlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *stores) host() string { return s.srv.Listener.Addr().String() }

// newMemory returns a memory backend whose URLs serve (given the backend and
// its base URL) is mounted on s; serve nil means the backend's own Handler.
func (s *stores) newMemory(t conformance.T, serve func(*memory.Backend, string) http.Handler) *memory.Backend {
	seg := fmt.Sprintf("b%d", s.n.Add(1))
	base := s.srv.URL + "/" + seg + "/files/"
	b, err := memory.New(memory.Options{BaseURL: base, Secret: secret})
	if err != nil {
		t.Fatalf("memory.New: %v", err)
	}
	h := b.Handler()
	if serve != nil {
		h = serve(b, base)
	}
	s.mu.Lock()
	s.m[seg] = h
	s.mu.Unlock()
	t.Cleanup(func() {
		s.mu.Lock()
		delete(s.m, seg)
		s.mu.Unlock()
	})
	return b
}

func (s *stores) harness(wrap func(backend.Backend) backend.Backend) conformance.Harness {
	return s.harnessServing(nil, wrap)
}

// harnessServing is harness with the presigned URLs served by serve.
func (s *stores) harnessServing(serve func(*memory.Backend, string) http.Handler, wrap func(backend.Backend) backend.Backend) conformance.Harness {
	return conformance.Harness{
		New: func(t conformance.T) backend.Backend {
			var b backend.Backend = s.newMemory(t, serve)
			if wrap != nil {
				b = wrap(b)
			}
			return b
		},
		PublicHost: s.host(),
	}
}

// TestMemory runs the suite on the memory driver: every check passes, none
// is skipped.
func TestMemory(t *testing.T) {
	s := newStores(t)
	conformance.Run(t, s.harness(nil))
}

// TestRunChecksMemory runs the same checks through RunChecks, as `kite
// conformance` does.
func TestRunChecksMemory(t *testing.T) {
	t.Parallel()
	s := newStores(t)
	results := conformance.RunChecks(t.Context(), s.harness(nil), nil)
	require.Len(t, results, len(conformance.Checks()))
	for i, r := range results {
		assert.Equal(t, conformance.Checks()[i].Name, r.Name, "results are in the order of Checks")
		assert.Equal(t, conformance.StatusPass, r.Status, "%s: %s", r.Name, r.Message)
	}
}

func TestCheckNames(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, c := range conformance.Checks() {
		assert.False(t, seen[c.Name], "duplicate check name %q", c.Name)
		seen[c.Name] = true
		assert.NotNil(t, c.Run, c.Name)
		assert.NotContains(t, c.Name, " ", c.Name)
	}
	for _, name := range []string{"Put/RoundTrip", "List/Order", "Presign/Expiry", "Delete", "Put/IfNotExists", "Keys/ParentAndChild"} {
		assert.True(t, seen[name], "check %q is missing", name)
	}
}

// Broken drivers: each wraps the memory driver, breaks one promise, and must
// be caught by the named check.

// longExpiry presigns for an hour whatever was asked, reporting the asked expiry.
type longExpiry struct{ backend.Backend }

func (b longExpiry) PresignGet(ctx context.Context, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	return b.long(ctx, key, opts, b.Backend.PresignGet)
}

func (b longExpiry) PresignPut(ctx context.Context, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	return b.long(ctx, key, opts, b.Backend.PresignPut)
}

func (longExpiry) long(ctx context.Context, key string, opts backend.PresignOptions, fn func(context.Context, string, backend.PresignOptions) (*backend.PresignedRequest, error)) (*backend.PresignedRequest, error) {
	asked := opts.Expires
	if asked == 0 {
		asked = backend.DefaultPresignExpiry
	}
	opts.Expires = time.Hour
	pr, err := fn(ctx, key, opts)
	if err == nil {
		pr.Expires = time.Now().Add(asked)
	}
	return pr, err
}

// walkOrder lists in the order of a directory walk, where "a/b" comes
// before "a-c": '/' sorts first.
type walkOrder struct{ backend.Backend }

func (b walkOrder) List(ctx context.Context, opts backend.ListOptions) iter.Seq2[*backend.Object, error] {
	return reorder(b.Backend.List(ctx, opts), func(objs []*backend.Object) []*backend.Object {
		slices.SortFunc(objs, func(x, y *backend.Object) int {
			return strings.Compare(strings.ReplaceAll(x.Key, "/", "\x00"), strings.ReplaceAll(y.Key, "/", "\x00"))
		})
		return objs
	})
}

// reorder collects a listing, lets f change it, and yields the result.
func reorder(seq iter.Seq2[*backend.Object, error], f func([]*backend.Object) []*backend.Object) iter.Seq2[*backend.Object, error] {
	return func(yield func(*backend.Object, error) bool) {
		var objs []*backend.Object
		for o, err := range seq {
			if err != nil {
				yield(nil, err)
				return
			}
			objs = append(objs, o)
		}
		for _, o := range f(objs) {
			if !yield(o, nil) {
				return
			}
		}
	}
}

// leakyList shows a temporary file, in order.
type leakyList struct{ backend.Backend }

func (b leakyList) List(ctx context.Context, opts backend.ListOptions) iter.Seq2[*backend.Object, error] {
	return reorder(b.Backend.List(ctx, opts), func(objs []*backend.Object) []*backend.Object {
		tmp := &backend.Object{Key: ".kite-tmp-123", Size: 3, ETag: "x", LastModified: time.Now()}
		if !strings.HasPrefix(tmp.Key, opts.Prefix) || tmp.Key <= opts.StartAfter || len(objs) == 0 {
			return objs
		}
		i, _ := slices.BinarySearchFunc(objs, tmp.Key, func(o *backend.Object, k string) int { return strings.Compare(o.Key, k) })
		return slices.Insert(objs, i, tmp)
	})
}

// strictDelete fails on a missing key, the way a HEAD-then-DELETE does.
type strictDelete struct{ backend.Backend }

func (b strictDelete) Delete(ctx context.Context, key string) error {
	if _, err := b.Stat(ctx, key); err != nil {
		return err
	}
	return b.Backend.Delete(ctx, key)
}

// noIfNotExists drops the create-only flag.
type noIfNotExists struct{ backend.Backend }

func (b noIfNotExists) Put(ctx context.Context, key string, r io.Reader, opts backend.PutOptions) (*backend.Object, error) {
	opts.IfNotExists = false
	return b.Backend.Put(ctx, key, r, opts)
}

// noIfMatch drops the precondition.
type noIfMatch struct{ backend.Backend }

func (b noIfMatch) Put(ctx context.Context, key string, r io.Reader, opts backend.PutOptions) (*backend.Object, error) {
	opts.IfMatch = ""
	return b.Backend.Put(ctx, key, r, opts)
}

// offByOne reads a range one byte late.
type offByOne struct{ backend.Backend }

func (b offByOne) Get(ctx context.Context, key string, opts backend.GetOptions) (io.ReadCloser, *backend.Object, error) {
	if opts.Offset > 0 {
		opts.Offset++
	}
	return b.Backend.Get(ctx, key, opts)
}

// bareErrors returns the sentinel without a *backend.Error.
type bareErrors struct{ backend.Backend }

func (b bareErrors) Stat(ctx context.Context, key string) (*backend.Object, error) {
	obj, err := b.Backend.Stat(ctx, key)
	if errors.Is(err, backend.ErrNotFound) {
		return nil, backend.ErrNotFound
	}
	return obj, err
}

// lazyGet reports a missing key at the first Read, as minio-go does.
type lazyGet struct{ backend.Backend }

func (b lazyGet) Get(ctx context.Context, key string, opts backend.GetOptions) (io.ReadCloser, *backend.Object, error) {
	rc, obj, err := b.Backend.Get(ctx, key, opts)
	if errors.Is(err, backend.ErrNotFound) {
		return io.NopCloser(errReader{err}), &backend.Object{Key: key}, nil
	}
	return rc, obj, err
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// copyDropsMetadata copies the bytes only.
type copyDropsMetadata struct{ backend.Backend }

func (b copyDropsMetadata) Copy(ctx context.Context, dst, src string) (*backend.Object, error) {
	rc, obj, err := b.Get(ctx, src, backend.GetOptions{})
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return b.Put(ctx, dst, rc, backend.PutOptions{ContentType: obj.ContentType})
}

// mergesMetadata keeps the old object's metadata on a replace.
type mergesMetadata struct{ backend.Backend }

func (b mergesMetadata) Put(ctx context.Context, key string, r io.Reader, opts backend.PutOptions) (*backend.Object, error) {
	if old, err := b.Stat(ctx, key); err == nil && backend.ValidateMetadata(opts.Metadata) == nil {
		m := map[string]string{}
		for k, v := range old.Metadata {
			m[k] = v
		}
		for k, v := range opts.Metadata {
			m[k] = v
		}
		opts.Metadata = m
	}
	return b.Backend.Put(ctx, key, r, opts)
}

// keepsYielding ignores the range loop's break.
type keepsYielding struct{ backend.Backend }

func (b keepsYielding) List(ctx context.Context, opts backend.ListOptions) iter.Seq2[*backend.Object, error] {
	return func(yield func(*backend.Object, error) bool) {
		for o, err := range b.Backend.List(ctx, opts) {
			yield(o, err)
		}
	}
}

// swallowsCancel ends a listing silently on error.
type swallowsCancel struct{ backend.Backend }

func (b swallowsCancel) List(ctx context.Context, opts backend.ListOptions) iter.Seq2[*backend.Object, error] {
	return func(yield func(*backend.Object, error) bool) {
		for o, err := range b.Backend.List(ctx, opts) {
			if err != nil {
				return
			}
			if !yield(o, nil) {
				return
			}
		}
	}
}

// uncancellable Put ignores the caller's context.
type uncancellable struct{ backend.Backend }

func (b uncancellable) Put(ctx context.Context, key string, r io.Reader, opts backend.PutOptions) (*backend.Object, error) {
	return b.Backend.Put(context.WithoutCancel(ctx), key, r, opts)
}

// truncatesStreams keeps only the first MiB of an upload of unknown size.
type truncatesStreams struct{ backend.Backend }

func (b truncatesStreams) Put(ctx context.Context, key string, r io.Reader, opts backend.PutOptions) (*backend.Object, error) {
	if opts.Size == 0 && r != nil {
		r = io.LimitReader(r, 1<<20)
	}
	return b.Backend.Put(ctx, key, r, opts)
}

// ignoresStartAfter lists from the start.
type ignoresStartAfter struct{ backend.Backend }

func (b ignoresStartAfter) List(ctx context.Context, opts backend.ListOptions) iter.Seq2[*backend.Object, error] {
	opts.StartAfter = ""
	return b.Backend.List(ctx, opts)
}

// firstPageOnly loses every page after the first.
type firstPageOnly struct{ backend.Backend }

func (b firstPageOnly) List(ctx context.Context, opts backend.ListOptions) iter.Seq2[*backend.Object, error] {
	return func(yield func(*backend.Object, error) bool) {
		n := 0
		for o, err := range b.Backend.List(ctx, opts) {
			if opts.PageSize > 0 && n == opts.PageSize {
				return
			}
			n++
			if !yield(o, err) {
				return
			}
		}
	}
}

// flatDelimiter ignores the delimiter.
type flatDelimiter struct{ backend.Backend }

func (b flatDelimiter) List(ctx context.Context, opts backend.ListOptions) iter.Seq2[*backend.Object, error] {
	opts.Delimiter = ""
	return b.Backend.List(ctx, opts)
}

// skipsKeyCheck stats invalid keys as missing instead of refusing them.
type skipsKeyCheck struct{ backend.Backend }

func (b skipsKeyCheck) Stat(ctx context.Context, key string) (*backend.Object, error) {
	if backend.ValidateKey(key) != nil {
		return nil, &backend.Error{Op: "Stat", Driver: "broken", Key: key, Err: backend.ErrNotFound}
	}
	return b.Backend.Stat(ctx, key)
}

// dropsDisposition presigns without the Content-Disposition.
type dropsDisposition struct{ backend.Backend }

func (b dropsDisposition) PresignGet(ctx context.Context, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	opts.ContentDisposition = ""
	return b.Backend.PresignGet(ctx, key, opts)
}

// unsignedContentType presigns a PUT without signing its Content-Type, the
// aws-sdk-go-v2 pitfall, and still tells the client to send it.
type unsignedContentType struct{ backend.Backend }

func (b unsignedContentType) PresignPut(ctx context.Context, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	ct := opts.ContentType
	opts.ContentType = ""
	pr, err := b.Backend.PresignPut(ctx, key, opts)
	if err == nil && ct != "" {
		pr.Header = http.Header{"Content-Type": {ct}}
	}
	return pr, err
}

// clampsExpiry accepts any expiry, clamping it to 7 days.
type clampsExpiry struct{ backend.Backend }

func (b clampsExpiry) PresignGet(ctx context.Context, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	opts.Expires = min(opts.Expires, backend.MaxPresignExpiry)
	if opts.Expires < 0 {
		opts.Expires = 0
	}
	return b.Backend.PresignGet(ctx, key, opts)
}

// rewritesHost signs for one host and hands out another.
type rewritesHost struct{ backend.Backend }

func (b rewritesHost) PresignGet(ctx context.Context, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	pr, err := b.Backend.PresignGet(ctx, key, opts)
	if err == nil {
		pr.URL = strings.Replace(pr.URL, "127.0.0.1", "localhost", 1)
	}
	return pr, err
}

// unhealthy always fails Health.
type unhealthy struct{ backend.Backend }

func (unhealthy) Health(context.Context) error {
	return &backend.Error{Op: "Health", Driver: "broken", Err: errors.New("down")}
}

// inTheWay returns a stored key that is a "/"-parent of key or below it.
func inTheWay(ctx context.Context, b backend.Backend, key string) (string, bool) {
	for i := range len(key) {
		if key[i] == '/' {
			if _, err := b.Stat(ctx, key[:i]); err == nil {
				return key[:i], true
			}
		}
	}
	for o, err := range b.List(ctx, backend.ListOptions{Prefix: key + "/", PageSize: 1}) {
		if err == nil && o != nil {
			return o.Key, true
		}
		break
	}
	return "", false
}

// refusesParents cannot hold a key and keys below it at once, like
// versitygw on a file system: it refuses to store "a/b" beside "a" (409
// ObjectParentIsFile) and "a" beside "a/b" (ExistingObjectIsDirectory), by
// Put, Copy and presigned PUT (with refusesParentsHTTP).
type refusesParents struct{ backend.Backend }

func (b refusesParents) Put(ctx context.Context, key string, r io.Reader, opts backend.PutOptions) (*backend.Object, error) {
	if k, ok := inTheWay(ctx, b.Backend, key); ok {
		return nil, &backend.Error{Op: "Put", Driver: "noparents", Key: key, Err: fmt.Errorf("409 ObjectParentIsFile: %q is in the way", k)}
	}
	return b.Backend.Put(ctx, key, r, opts)
}

func (b refusesParents) Copy(ctx context.Context, dst, src string) (*backend.Object, error) {
	if k, ok := inTheWay(ctx, b.Backend, dst); ok {
		return nil, &backend.Error{Op: "Copy", Driver: "noparents", Key: dst, Err: fmt.Errorf("409 ObjectParentIsFile: %q is in the way", k)}
	}
	return b.Backend.Copy(ctx, dst, src)
}

// refusesParentsHTTP serves b's presigned URLs, signed for base, with the
// uploads going through refusesParents once the signature is verified.
func refusesParentsHTTP(b *memory.Backend, base string) http.Handler {
	s, err := signurl.New(signurl.Config{BaseURL: base, Secret: secret})
	if err != nil {
		panic(err)
	}
	return s.Handler(refusesParents{b})
}

// hidesChildren leaves a key out of every listing while its parent exists,
// as MinIO on a file system does with "a/b" beside "a".
type hidesChildren struct{ backend.Backend }

func (b hidesChildren) List(ctx context.Context, opts backend.ListOptions) iter.Seq2[*backend.Object, error] {
	return func(yield func(*backend.Object, error) bool) {
		for o, err := range b.Backend.List(ctx, opts) {
			if err == nil && !o.IsPrefix && b.hasParent(ctx, o.Key) {
				continue
			}
			if !yield(o, err) {
				return
			}
		}
	}
}

func (b hidesChildren) hasParent(ctx context.Context, key string) bool {
	for i := range len(key) {
		if key[i] == '/' {
			if _, err := b.Stat(ctx, key[:i]); err == nil {
				return true
			}
		}
	}
	return false
}

// TestNoParentKeys: on a store that cannot hold "a" and "a/b" at once,
// declaring it makes the whole suite pass, Keys/ParentAndChild skipped with
// the reason; every other check still runs, and stores no such pair.
func TestNoParentKeys(t *testing.T) {
	t.Parallel()
	s := newStores(t)
	for _, c := range []struct {
		name  string
		serve func(*memory.Backend, string) http.Handler
		wrap  func(backend.Backend) backend.Backend
	}{
		{"refuses parents", refusesParentsHTTP, func(b backend.Backend) backend.Backend { return refusesParents{b} }},
		{"hides children", nil, func(b backend.Backend) backend.Backend { return hidesChildren{b} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := s.harnessServing(c.serve, c.wrap)
			h.NoParentKeys = "objects are files"
			results := conformance.RunChecks(t.Context(), h, nil)
			require.Len(t, results, len(conformance.Checks()))
			for _, r := range results {
				if r.Name == "Keys/ParentAndChild" {
					assert.Equal(t, conformance.StatusSkip, r.Status, "%s: %s", r.Name, r.Message)
					assert.Contains(t, r.Message, "objects are files", "%s: a skip carries the reason", r.Name)
					continue
				}
				assert.Equal(t, conformance.StatusPass, r.Status, "%s with NoParentKeys: %s", r.Name, r.Message)
			}

			// Undeclared, the same store is caught.
			h.NoParentKeys = ""
			catchers := []string{"Keys/ParentAndChild", "List/Order", "List/Delimiter", "Delete"}
			for _, r := range conformance.RunChecks(t.Context(), h, func(name string) bool { return slices.Contains(catchers, name) }) {
				assert.Equal(t, conformance.StatusFail, r.Status, "%s without NoParentKeys: %s", r.Name, r.Message)
			}
		})
	}
}

// TestBrokenDriversAreCaught proves that the suite bites: each broken driver
// fails the named check.
func TestBrokenDriversAreCaught(t *testing.T) {
	t.Parallel()
	s := newStores(t)
	refuse := func(b backend.Backend) backend.Backend { return refusesParents{b} }
	hide := func(b backend.Backend) backend.Backend { return hidesChildren{b} }
	cases := []struct {
		name  string
		wrap  func(backend.Backend) backend.Backend
		check string
	}{
		{"ignores expiry", func(b backend.Backend) backend.Backend { return longExpiry{b} }, "Presign/Expiry"},
		{"lists out of order", func(b backend.Backend) backend.Backend { return walkOrder{b} }, "List/Order"},
		{"Delete of a missing key errors", func(b backend.Backend) backend.Backend { return strictDelete{b} }, "Delete"},
		{"second IfNotExists writer wins", func(b backend.Backend) backend.Backend { return noIfNotExists{b} }, "Put/IfNotExists"},
		{"leaks an internal key", func(b backend.Backend) backend.Backend { return leakyList{b} }, "List/Order"},
		{"ignores IfMatch", func(b backend.Backend) backend.Backend { return noIfMatch{b} }, "Put/IfMatch"},
		{"ignores IfMatch under race", func(b backend.Backend) backend.Backend { return noIfMatch{b} }, "Put/IfMatchRace"},
		{"range off by one", func(b backend.Backend) backend.Backend { return offByOne{b} }, "Get/Range"},
		{"bare sentinel errors", func(b backend.Backend) backend.Backend { return bareErrors{b} }, "Errors/NotFound"},
		{"missing key reported at Read", func(b backend.Backend) backend.Backend { return lazyGet{b} }, "Errors/NotFound"},
		{"Copy drops metadata", func(b backend.Backend) backend.Backend { return copyDropsMetadata{b} }, "Copy"},
		{"replace merges metadata", func(b backend.Backend) backend.Backend { return mergesMetadata{b} }, "Put/Replace"},
		{"List ignores break", func(b backend.Backend) backend.Backend { return keepsYielding{b} }, "List/Break"},
		{"List swallows cancellation", func(b backend.Backend) backend.Backend { return swallowsCancel{b} }, "Cancel"},
		{"Put ignores cancellation", func(b backend.Backend) backend.Backend { return uncancellable{b} }, "Cancel"},
		{"truncates streams", func(b backend.Backend) backend.Backend { return truncatesStreams{b} }, "Put/Streaming"},
		{"ignores StartAfter", func(b backend.Backend) backend.Backend { return ignoresStartAfter{b} }, "List/StartAfter"},
		{"loses later pages", func(b backend.Backend) backend.Backend { return firstPageOnly{b} }, "List/Pagination"},
		{"ignores the delimiter", func(b backend.Backend) backend.Backend { return flatDelimiter{b} }, "List/Delimiter"},
		{"skips the key check", func(b backend.Backend) backend.Backend { return skipsKeyCheck{b} }, "Errors/InvalidKey"},
		{"drops Content-Disposition", func(b backend.Backend) backend.Backend { return dropsDisposition{b} }, "Presign/ContentDisposition"},
		{"Content-Type not signed", func(b backend.Backend) backend.Backend { return unsignedContentType{b} }, "Presign/PutContentType"},
		{"clamps expiry", func(b backend.Backend) backend.Backend { return clampsExpiry{b} }, "Presign/Options"},
		{"rewrites the host", func(b backend.Backend) backend.Backend { return rewritesHost{b} }, "Presign/PublicHost"},
		{"unhealthy", func(b backend.Backend) backend.Backend { return unhealthy{b} }, "Health"},
		{"refuses a key beside keys below it", refuse, "Keys/ParentAndChild"},
		{"refuses a key beside keys below it", refuse, "Delete"},
		{"refuses a key beside keys below it", refuse, "Put/IfNotExists"},
		{"refuses a key beside keys below it", refuse, "Put/RoundTrip"},
		{"refuses a key beside keys below it", refuse, "List/Order"},
		{"refuses a key beside keys below it", refuse, "List/Delimiter"},
		{"refuses a key beside keys below it", refuse, "List/Prefix"},
		{"refuses a key beside keys below it", refuse, "Copy"},
		{"hides a key below another from List", hide, "Keys/ParentAndChild"},
		{"hides a key below another from List", hide, "List/Order"},
		{"hides a key below another from List", hide, "List/Delimiter"},
		{"hides a key below another from List", hide, "Delete"},
	}
	for _, c := range cases {
		t.Run(c.name+" "+c.check, func(t *testing.T) {
			t.Parallel()
			results := conformance.RunChecks(t.Context(), s.harness(c.wrap), func(name string) bool { return name == c.check })
			require.Len(t, results, 1, "check %q", c.check)
			r := results[0]
			assert.Equal(t, conformance.StatusFail, r.Status, "driver that %s passed %s", c.name, c.check)
			assert.NotEmpty(t, r.Message, "a failure explains itself")
			t.Logf("%s caught by %s:\n%s", c.name, c.check, firstLines(r.Message, 4))
		})
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

// insecure serves every request under the base path without checking any
// signature, expiry, method, Content-Type or length, as fake-gcs-server does.
func insecure(b *memory.Backend, _ string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/files/")
		switch r.Method {
		case http.MethodGet:
			rc, obj, err := b.Get(r.Context(), rest, backend.GetOptions{})
			if err != nil {
				http.Error(w, err.Error(), http.StatusNotFound)
				return
			}
			defer rc.Close()
			w.Header().Set("Content-Type", obj.ContentType)
			if cd := r.URL.Query().Get("X-Kite-Disposition"); cd != "" {
				w.Header().Set("Content-Disposition", cd)
			}
			if rs, ok := rc.(io.ReadSeeker); ok {
				http.ServeContent(w, r, "", obj.LastModified, rs)
				return
			}
			_, _ = io.Copy(w, rc)
		default:
			if _, err := b.Put(r.Context(), rest, r.Body, backend.PutOptions{ContentType: r.Header.Get("Content-Type")}); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusOK)
		}
	})
}

// TestNoSignatureCheck proves the signature checks bite on a store that
// checks nothing, and that declaring it turns them into skips with the reason.
func TestNoSignatureCheck(t *testing.T) {
	t.Parallel()
	s := newStores(t)
	h := conformance.Harness{
		New:        func(t conformance.T) backend.Backend { return s.newMemory(t, insecure) },
		PublicHost: s.host(),
	}
	signed := []string{"Presign/Expiry", "Presign/Tampered", "Presign/OtherKey", "Presign/OtherMethod", "Presign/PutContentType", "Presign/PutSize"}
	match := func(name string) bool {
		return slices.Contains(signed, name) || name == "Presign/Get" || name == "Presign/Put"
	}

	for _, r := range conformance.RunChecks(t.Context(), h, match) {
		want := conformance.StatusFail
		if !slices.Contains(signed, r.Name) {
			want = conformance.StatusPass
		}
		assert.Equal(t, want, r.Status, "%s on a store that checks no signature: %s", r.Name, firstLines(r.Message, 3))
	}

	h.NoSignatureCheck = "fake store"
	h.NoContentTypeCheck = "fake store"
	h.NoSizeCheck = "fake store"
	for _, r := range conformance.RunChecks(t.Context(), h, match) {
		want := conformance.StatusSkip
		if !slices.Contains(signed, r.Name) {
			want = conformance.StatusPass
		}
		assert.Equal(t, want, r.Status, "%s with the store's limits declared: %s", r.Name, r.Message)
		if want == conformance.StatusSkip {
			assert.Contains(t, r.Message, "fake store", "%s: a skip carries the reason", r.Name)
		}
	}
}

// TestNoPresign: a store without presigning skips the presign checks with the reason.
func TestNoPresign(t *testing.T) {
	t.Parallel()
	h := conformance.Harness{
		New: func(t conformance.T) backend.Backend {
			b, err := memory.New(memory.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
		NoPresign: "no base URL",
	}
	results := conformance.RunChecks(t.Context(), h, func(name string) bool {
		return strings.HasPrefix(name, "Presign/") || name == "Errors/InvalidKey" || name == "Errors/NotFound"
	})
	for _, r := range results {
		if strings.HasPrefix(r.Name, "Presign/") {
			assert.Equal(t, conformance.StatusSkip, r.Status, "%s without presigning: %s", r.Name, r.Message)
			assert.Contains(t, r.Message, "no base URL", "%s: a skip carries the reason", r.Name)
		} else {
			assert.Equal(t, conformance.StatusPass, r.Status, "%s without presigning: %s", r.Name, r.Message)
		}
	}
}
