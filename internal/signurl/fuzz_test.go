package signurl

import (
	"context"
	"io"
	"iter"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kitehq/kite/backend"
)

// stubBackend answers the Handler's Get and Put and counts them: a call
// means the request passed verification.
type stubBackend struct{ calls atomic.Int64 }

func (s *stubBackend) Put(_ context.Context, key string, r io.Reader, opts backend.PutOptions) (*backend.Object, error) {
	s.calls.Add(1)
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		return nil, err
	}
	return &backend.Object{Key: key, Size: n, ContentType: opts.ContentType, ETag: "e"}, nil
}

func (s *stubBackend) Get(_ context.Context, key string, _ backend.GetOptions) (io.ReadCloser, *backend.Object, error) {
	s.calls.Add(1)
	return io.NopCloser(strings.NewReader("data")), &backend.Object{Key: key, Size: 4, ContentType: "text/plain", ETag: "e"}, nil
}

func (s *stubBackend) Stat(context.Context, string) (*backend.Object, error) {
	return nil, backend.ErrUnsupported
}
func (s *stubBackend) Delete(context.Context, string) error { return backend.ErrUnsupported }
func (s *stubBackend) List(context.Context, backend.ListOptions) iter.Seq2[*backend.Object, error] {
	return func(func(*backend.Object, error) bool) {}
}
func (s *stubBackend) Copy(context.Context, string, string) (*backend.Object, error) {
	return nil, backend.ErrUnsupported
}
func (s *stubBackend) PresignGet(context.Context, string, backend.PresignOptions) (*backend.PresignedRequest, error) {
	return nil, backend.ErrUnsupported
}
func (s *stubBackend) PresignPut(context.Context, string, backend.PresignOptions) (*backend.PresignedRequest, error) {
	return nil, backend.ErrUnsupported
}
func (s *stubBackend) Health(context.Context) error { return nil }
func (s *stubBackend) Close() error                 { return nil }

// fuzzNow is the fixed clock of FuzzVerify, so that its seed corpus (which
// holds genuine URLs) stays valid: they expire an hour later.
var fuzzNow = time.Unix(1_750_000_000, 0)

// genuine is a signed request: method, decoded path and parsed query.
type genuine struct {
	method, path string
	query        url.Values
}

func fuzzSigner(t testing.TB) (*Signer, []genuine) {
	s, err := New(Config{BaseURL: "http://files.example.test/files/", Secret: testSecret, MaxUpload: 64})
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return fuzzNow }
	var gs []genuine
	for _, c := range []struct {
		method, key string
		opts        backend.PresignOptions
	}{
		{"GET", "u/d/a b.pdf", backend.PresignOptions{Expires: time.Hour}},
		{"GET", "x", backend.PresignOptions{Expires: time.Hour, ContentDisposition: `attachment; filename="x.pdf"`}},
		{"PUT", "up/f.bin", backend.PresignOptions{Expires: time.Hour, ContentType: "text/plain", Size: 5}},
		{"PUT", "up/any", backend.PresignOptions{Expires: time.Hour}},
	} {
		pr, err := s.Presign(c.method, c.key, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(pr.URL)
		if err != nil {
			t.Fatal(err)
		}
		gs = append(gs, genuine{c.method, u.Path, u.Query()})
	}
	return s, gs
}

// FuzzVerify sends arbitrary methods, paths and queries to the Handler: it
// never panics, never shows the secret, and reaches the backend (or answers
// 2xx) only for a request that is, once parsed, one of the genuine signed
// requests.
func FuzzVerify(f *testing.F) {
	s, gs := fuzzSigner(f)
	for _, g := range gs {
		q := g.query.Encode()
		f.Add(g.method, url.PathEscape(g.path), q)
		f.Add(g.method, g.path, q)
		f.Add("HEAD", g.path, q)
		f.Add(g.method, g.path+"/../x", q)
		f.Add(g.method, g.path, q+"&"+paramExpires+"=1")
		f.Add(g.method, strings.Replace(g.path, "/files/", "/files/./", 1), q)
	}
	f.Add("PUT", "/files/up/f.bin", "")
	f.Add("OPTIONS", "/files/x", "")
	f.Add("GET", "/files/%2e%2e/x", "X-Kite-Expires=9999999999&X-Kite-Signature=00")
	f.Fuzz(func(t *testing.T, method, path, query string) {
		u, err := url.ParseRequestURI(path)
		if err != nil || !validMethod(method) {
			return
		}
		u.RawQuery = query
		stub := &stubBackend{}
		req := &http.Request{Method: method, URL: u, Header: http.Header{"Content-Type": {"text/plain"}},
			Body: io.NopCloser(strings.NewReader("hello")), ContentLength: 5, Host: "files.example.test"}
		w := httptest.NewRecorder()
		s.Handler(stub).ServeHTTP(w, req.WithContext(t.Context()))
		if strings.Contains(w.Body.String(), testSecret) {
			t.Fatalf("%s %s?%s: the answer shows the secret", method, path, query)
		}
		passed := stub.calls.Load() > 0 || (w.Code >= 200 && w.Code < 300 && method != http.MethodOptions)
		if !passed {
			return
		}
		q, err := url.ParseQuery(query)
		if err != nil {
			t.Fatalf("%s %s?%s passed with a malformed query: %d", method, path, query, w.Code)
		}
		class := method
		if class == http.MethodHead {
			class = http.MethodGet
		}
		for _, g := range gs {
			if g.method == class && g.path == u.Path && maps.EqualFunc(g.query, q, func(a, b []string) bool {
				return len(a) == 1 && len(b) == 1 && a[0] == b[0]
			}) {
				return
			}
		}
		t.Fatalf("%s %s?%s passed verification (%d) but is no genuine signed request", method, path, query, w.Code)
	})
}

// validMethod is what net/http accepts as a method token.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range m {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, c) {
			return false
		}
	}
	return true
}
