package conformance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/kitehq/kite/backend"
)

// checkTimeout bounds every check's calls to the backend and HTTP requests.
const checkTimeout = 3 * time.Minute

// maxRead bounds what the suite reads from one Get or HTTP response.
const maxRead = 256 << 20

// maxList bounds how many objects the suite takes from one List.
const maxList = 10000

// setup makes a fresh backend for a check, closed at cleanup, and a context
// bounded by checkTimeout.
func setup(t T, h Harness) (backend.Backend, context.Context) {
	t.Helper()
	b := newBackend(t, h)
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), checkTimeout)
	t.Cleanup(cancel)
	return b, ctx
}

func newBackend(t T, h Harness) backend.Backend {
	t.Helper()
	if h.New == nil {
		t.Fatal("Harness.New is nil")
	}
	b := h.New(t)
	if b == nil {
		t.Fatal("Harness.New returned a nil backend")
	}
	return b
}

// content returns n pseudo-random bytes determined by seed.
func content(seed string, n int) []byte {
	sum := sha256.Sum256([]byte(seed))
	r := rand.NewChaCha8(sum)
	p := make([]byte, n)
	_, _ = r.Read(p)
	return p
}

// onlyReader hides every method of a reader but Read (Len, Seek, WriteTo), as
// a network body would.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// put stores data under key and fails the check when it cannot.
func put(t T, ctx context.Context, b backend.Backend, key string, data []byte, opts backend.PutOptions) *backend.Object {
	t.Helper()
	obj, err := b.Put(ctx, key, bytes.NewReader(data), opts)
	if err != nil {
		t.Fatalf("key %s: Put of %d bytes: %v", kq(key), len(data), err)
	}
	if obj == nil {
		t.Fatalf("key %s: Put returned a nil object and no error", kq(key))
	}
	return obj
}

// getAll reads the object (or range) and closes the reader.
func getAll(ctx context.Context, b backend.Backend, key string, opts backend.GetOptions) ([]byte, *backend.Object, error) {
	rc, obj, err := b.Get(ctx, key, opts)
	if err != nil {
		if rc != nil {
			rc.Close()
		}
		return nil, obj, err
	}
	if rc == nil {
		return nil, obj, errors.New("no reader and no error from Get")
	}
	data, err := io.ReadAll(io.LimitReader(rc, maxRead))
	if cerr := rc.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("closing the reader: %w", cerr)
	}
	if err == nil && obj == nil {
		err = errors.New("no object and no error from Get")
	}
	return data, obj, err
}

// mustGet reads the whole object and fails the check when it cannot.
func mustGet(t T, ctx context.Context, b backend.Backend, key string) ([]byte, *backend.Object) {
	t.Helper()
	data, obj, err := getAll(ctx, b, key, backend.GetOptions{})
	if err != nil {
		t.Fatalf("key %s: Get: %v", kq(key), err)
	}
	return data, obj
}

// mustStat stats key and fails the check when it cannot.
func mustStat(t T, ctx context.Context, b backend.Backend, key string) *backend.Object {
	t.Helper()
	obj, err := b.Stat(ctx, key)
	if err != nil {
		t.Fatalf("key %s: Stat: %v", kq(key), err)
	}
	if obj == nil {
		t.Fatalf("key %s: Stat returned a nil object and no error", kq(key))
	}
	return obj
}

// assertBytes reports a content difference without dumping megabytes.
func assertBytes(t T, want, got []byte, what string) bool {
	t.Helper()
	if bytes.Equal(want, got) {
		return true
	}
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	t.Errorf("%s: content differs: got %d bytes (sha256 %.8x), want %d bytes (sha256 %.8x); first difference at byte %d",
		what, len(got), sha256.Sum256(got), len(want), sha256.Sum256(want), i)
	return false
}

// kinds are the error sentinels of backend with the error each also matches.
var kinds = []struct {
	name string
	err  error
	also error
}{
	{"ErrNotFound", backend.ErrNotFound, fs.ErrNotExist},
	{"ErrExists", backend.ErrExists, fs.ErrExist},
	{"ErrPrecondition", backend.ErrPrecondition, nil},
	{"ErrInvalidKey", backend.ErrInvalidKey, fs.ErrInvalid},
	{"ErrInvalidArgument", backend.ErrInvalidArgument, fs.ErrInvalid},
	{"ErrPermission", backend.ErrPermission, fs.ErrPermission},
	{"ErrUnsupported", backend.ErrUnsupported, errors.ErrUnsupported},
	{"ErrClosed", backend.ErrClosed, fs.ErrClosed},
}

func kindName(err error) string {
	for _, k := range kinds {
		if k.err == err {
			return k.name
		}
	}
	return fmt.Sprint(err)
}

// assertKind asserts that err matches want (and its io/fs twin) and no other
// kind, and that it is a *backend.Error of operation op (op "" = any).
func assertKind(t T, err, want error, op, what string) bool {
	t.Helper()
	if err == nil {
		t.Errorf("%s: got no error, want %s", what, kindName(want))
		return false
	}
	ok := true
	for _, k := range kinds {
		is := errors.Is(err, k.err)
		switch {
		case k.err == want && !is:
			t.Errorf("%s: error %q does not match %s", what, err, k.name)
			ok = false
		case k.err == want && k.also != nil && !errors.Is(err, k.also):
			t.Errorf("%s: error %q matches %s but not %v", what, err, k.name, k.also)
			ok = false
		case k.err != want && is:
			t.Errorf("%s: error %q matches %s besides %s: an error has exactly one kind", what, err, k.name, kindName(want))
			ok = false
		}
	}
	return assertBackendError(t, err, op, what) && ok
}

// assertNoKind asserts that err matches none of the kinds (a context error,
// a provider failure) and is a *backend.Error of op.
func assertNoKind(t T, err error, op, what string) bool {
	t.Helper()
	ok := true
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			t.Errorf("%s: error %q matches %s", what, err, k.name)
			ok = false
		}
	}
	return assertBackendError(t, err, op, what) && ok
}

// assertCanceled asserts that err is a *backend.Error of op wrapping
// context.Canceled and no kind.
func assertCanceled(t T, err error, op, what string) bool {
	t.Helper()
	if err == nil {
		t.Errorf("%s: got no error, want one matching context.Canceled", what)
		return false
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%s: error %q does not match context.Canceled", what, err)
		return false
	}
	return assertNoKind(t, err, op, what)
}

// assertBackendError asserts that err is or wraps a *backend.Error with Op op
// (when op is not "") and a Driver.
func assertBackendError(t T, err error, op, what string) bool {
	t.Helper()
	var be *backend.Error
	if !errors.As(err, &be) {
		t.Errorf("%s: error %q (%T) is not and does not wrap a *backend.Error", what, err, err)
		return false
	}
	ok := true
	if op != "" && be.Op != op {
		t.Errorf("%s: *backend.Error has Op %q, want %q", what, be.Op, op)
		ok = false
	}
	if be.Driver == "" {
		t.Errorf("%s: *backend.Error has no Driver", what)
		ok = false
	}
	return ok
}

// assertErrKey asserts that err's *backend.Error names one of keys.
func assertErrKey(t T, err error, what string, keys ...string) {
	t.Helper()
	var be *backend.Error
	if errors.As(err, &be) && !slices.Contains(keys, be.Key) {
		t.Errorf("%s: *backend.Error has Key %s, want %s", what, kq(be.Key), kq(keys[0]))
	}
}

// assertMissing asserts that Stat reports key as not found.
func assertMissing(t T, ctx context.Context, b backend.Backend, key, what string) {
	t.Helper()
	obj, err := b.Stat(ctx, key)
	if err == nil {
		t.Errorf("%s: key %s exists (%d bytes), want none", what, kq(key), obj.Size)
		return
	}
	assertKind(t, err, backend.ErrNotFound, "Stat", what+": Stat")
}

// assertUnchanged asserts that key still holds want with ETag etag.
func assertUnchanged(t T, ctx context.Context, b backend.Backend, key string, want []byte, etag, what string) {
	t.Helper()
	data, obj, err := getAll(ctx, b, key, backend.GetOptions{})
	if err != nil {
		t.Errorf("%s: the old object %s is gone: Get: %v", what, kq(key), err)
		return
	}
	assertBytes(t, want, data, what+": the old object "+kq(key))
	if etag != "" && obj.ETag != etag {
		t.Errorf("%s: the old object %s has ETag %q, want the old %q", what, kq(key), obj.ETag, etag)
	}
}

// collect drains a listing. It reports a nil object, pairs after an error,
// and a panic of the iterator as failures, and stops after maxList objects.
func collect(t T, seq iter.Seq2[*backend.Object, error], what string) (objs []*backend.Object, err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("%s: List panicked: %v", what, p)
			if err == nil {
				err = fmt.Errorf("the listing panicked: %v", p)
			}
		}
	}()
	for o, e := range seq {
		if err != nil {
			t.Errorf("%s: List yielded after its error %q; an error is the last pair", what, err)
			break
		}
		if e != nil {
			err = e
			continue
		}
		if o == nil {
			t.Errorf("%s: List yielded a nil object without an error", what)
			continue
		}
		objs = append(objs, o)
		if len(objs) > maxList {
			t.Errorf("%s: List yielded more than %d objects; stopped", what, maxList)
			break
		}
	}
	return objs, err
}

// listKeys lists with opts and returns the keys, failing the check on error.
// Common prefixes are returned with their trailing delimiter.
func listKeys(t T, ctx context.Context, b backend.Backend, opts backend.ListOptions, what string) ([]string, []*backend.Object) {
	t.Helper()
	objs, err := collect(t, b.List(ctx, opts), what)
	if err != nil {
		t.Fatalf("%s: List(%+v): %v", what, opts, err)
	}
	keys := make([]string, len(objs))
	for i, o := range objs {
		keys[i] = o.Key
	}
	return keys, objs
}

// assertKeys compares a listing with the expected keys and explains the
// difference: missing, extra (a driver's own file?) or out of order.
func assertKeys(t T, want, got []string, what string) bool {
	t.Helper()
	if slices.Equal(want, got) {
		return true
	}
	wantSet := map[string]bool{}
	for _, k := range want {
		wantSet[k] = true
	}
	gotSet := map[string]int{}
	for _, k := range got {
		gotSet[k]++
	}
	var msgs []string
	for _, k := range got {
		if !wantSet[k] {
			msgs = append(msgs, fmt.Sprintf("extra key %s, never stored (a driver's internal or temporary file?)", kq(k)))
		}
	}
	for k, n := range gotSet {
		if n > 1 {
			msgs = append(msgs, fmt.Sprintf("key %s listed %d times", kq(k), n))
		}
	}
	for _, k := range want {
		if gotSet[k] == 0 {
			msgs = append(msgs, fmt.Sprintf("missing key %s", kq(k)))
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i-1] >= got[i] {
			msgs = append(msgs, fmt.Sprintf("out of byte-wise order: %s listed before %s", kq(got[i-1]), kq(got[i])))
			break
		}
	}
	if len(msgs) == 0 {
		msgs = append(msgs, "different order")
	}
	slices.Sort(msgs)
	t.Errorf("%s: listing differs:\n\t%s\n\tgot  %s\n\twant %s", what, strings.Join(msgs, "\n\t"), quoteKeys(got), quoteKeys(want))
	return false
}

// quoteKeys lists keys for a message, long ones shortened.
func quoteKeys(keys []string) string {
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = kq(k)
	}
	return "[" + strings.Join(q, " ") + "]"
}

// sortedKeys returns the keys of m in byte-wise order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// pattern is a deterministic, non-seekable reader of n pseudo-random bytes
// generated on the fly, delivered in reads of varying sizes.
type pattern struct {
	x    uint64
	left int64
	read int64
	i    int
}

var readSizes = [...]int{32 << 10, 1, 100_000, 4093, 1 << 20, 7}

func newPattern(seed uint64, n int64) *pattern { return &pattern{x: seed | 1, left: n} }

func (p *pattern) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	n := min(len(b), readSizes[p.i%len(readSizes)])
	p.i++
	if int64(n) > p.left {
		n = int(p.left)
	}
	x := p.x
	for i := range b[:n] {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x >> 32)
	}
	p.x = x
	p.left -= int64(n)
	p.read += int64(n)
	return n, nil
}

// patternSum returns the sha256 of what newPattern(seed, n) yields.
func patternSum(seed uint64, n int64) [sha256.Size]byte {
	h := sha256.New()
	_, _ = io.CopyBuffer(h, newPattern(seed, n), make([]byte, 1<<20))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// httpClient returns the client that fetches presigned URLs.
func httpClient(t T, h Harness) *http.Client {
	if h.HTTPClient != nil {
		return h.HTTPClient
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport: tr,
		// A presigned URL answers itself; a redirect is an answer to report.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// response is a fetched presigned URL.
type response struct {
	status int
	header http.Header
	body   []byte
}

// fetch sends one request with the given method, URL, headers and body (nil:
// none) and reads the response.
func fetch(ctx context.Context, c *http.Client, method, rawURL string, header http.Header, body []byte) (response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return response{}, err
	}
	for k, v := range header {
		req.Header[k] = slices.Clone(v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxRead))
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// brief returns the start of a response body for a failure message.
func (r response) brief() string {
	b := r.body
	if len(b) > 200 {
		b = b[:200]
	}
	return fmt.Sprintf("%d %q", r.status, b)
}
