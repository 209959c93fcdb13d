package signurl

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
)

const testSecret = "0123456789abcdef0123456789abcdef-secret"

func newSigner(t *testing.T, cfg Config) *Signer {
	t.Helper()
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://files.example.test/files/"
	}
	if cfg.Secret == "" {
		cfg.Secret = testSecret
	}
	s, err := New(cfg)
	require.NoError(t, err)
	return s
}

func serve(h http.Handler, method, rawURL string, body io.Reader, hdr http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, rawURL, body)
	for k, v := range hdr {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestRefusedBeforeIO(t *testing.T) {
	t.Parallel()
	s := newSigner(t, Config{})
	h := s.Handler(nil) // any call to the backend would panic
	get, err := s.Presign("GET", "user/doc/a b.pdf", backend.PresignOptions{ContentDisposition: `attachment; filename="x.pdf"`})
	require.NoError(t, err)
	put, err := s.Presign("PUT", "user/doc/up.bin", backend.PresignOptions{ContentType: "text/plain", Size: 5})
	require.NoError(t, err)

	gu, _ := url.Parse(get.URL)
	q := gu.Query()
	flip := func(v string) string {
		if v[0] == 'a' {
			return "b" + v[1:]
		}
		return "a" + v[1:]
	}
	tampered := map[string]string{}
	for name := range q {
		q2 := gu.Query()
		q2.Set(name, flip(q2.Get(name)))
		tampered["changed "+name] = gu.Scheme + "://" + gu.Host + gu.EscapedPath() + "?" + q2.Encode()
		q3 := gu.Query()
		q3.Del(name)
		tampered["removed "+name] = gu.Scheme + "://" + gu.Host + gu.EscapedPath() + "?" + q3.Encode()
	}
	tampered["added param"] = get.URL + "&response-content-type=text/html"
	tampered["other key"] = strings.Replace(get.URL, "a%20b.pdf", "a%20c.pdf", 1)
	tampered["no query"] = strings.Split(get.URL, "?")[0]
	tampered["outside prefix"] = strings.Replace(get.URL, "/files/", "/other/", 1)
	tampered["repeated"] = get.URL + "&" + paramExpires + "=1"
	for name, u := range tampered {
		w := serve(h, "GET", u, nil, nil)
		assert.Equal(t, http.StatusForbidden, w.Code, name)
		body := w.Body.String()
		for _, leak := range []string{"user/doc", "a b", testSecret, "/files/", q.Get(paramSignature)} {
			assert.NotContains(t, body, leak, name)
		}
	}
	// Wrong method both ways.
	assert.Equal(t, http.StatusForbidden, serve(h, "PUT", get.URL, strings.NewReader("hello"), nil).Code)
	assert.Equal(t, http.StatusForbidden, serve(h, "GET", put.URL, nil, nil).Code)
	assert.Equal(t, http.StatusMethodNotAllowed, serve(h, "DELETE", get.URL, nil, nil).Code)
	// PUT with another content type or size than signed.
	ct := http.Header{"Content-Type": {"text/html"}}
	assert.Equal(t, http.StatusForbidden, serve(h, "PUT", put.URL, strings.NewReader("hello"), ct).Code)
	ok := http.Header{"Content-Type": {"text/plain"}}
	assert.Equal(t, http.StatusForbidden, serve(h, "PUT", put.URL, strings.NewReader("hello!"), ok).Code)
	assert.Equal(t, http.StatusForbidden, serve(h, "PUT", put.URL, strings.NewReader("hell"), ok).Code)
}

func TestExpired(t *testing.T) {
	t.Parallel()
	s := newSigner(t, Config{})
	s.now = func() time.Time { return time.Now().Add(-time.Hour) }
	req, err := s.Presign("GET", "k", backend.PresignOptions{Expires: time.Minute})
	require.NoError(t, err)
	s.now = time.Now
	w := serve(s.Handler(nil), "GET", req.URL, nil, nil)
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.Contains(t, w.Body.String(), "expired")
}

func TestPresignOutput(t *testing.T) {
	t.Parallel()
	s := newSigner(t, Config{BaseURL: "https://cdn.example.test/base"}) // slash added
	req, err := s.Presign("PUT", "q?a=1#f/100%/ü", backend.PresignOptions{ContentType: "application/pdf", Size: 10, Expires: time.Hour})
	require.NoError(t, err)
	assert.Equal(t, "PUT", req.Method)
	assert.Equal(t, "application/pdf", req.Header.Get("Content-Type"))
	assert.WithinDuration(t, time.Now().Add(time.Hour), req.Expires, 2*time.Second)
	u, err := url.Parse(req.URL)
	require.NoError(t, err)
	assert.Equal(t, "cdn.example.test", u.Host)
	assert.Equal(t, "/base/q?a=1#f/100%/ü", u.Path)
	assert.NotContains(t, req.URL, testSecret)

	var nilSigner *Signer
	_, err = nilSigner.Presign("GET", "k", backend.PresignOptions{})
	assert.ErrorIs(t, err, backend.ErrUnsupported)
	_, err = nilSigner.Presign("GET", "/k", backend.PresignOptions{})
	assert.ErrorIs(t, err, backend.ErrInvalidKey, "key checked first")
	assert.Equal(t, http.StatusForbidden, serve(nilSigner.Handler(nil), "GET", "/x", nil, nil).Code)
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{BaseURL: "http://h/"},
		{Secret: testSecret},
		{BaseURL: "http://h/", Secret: "short"},
		{BaseURL: "ftp://h/", Secret: testSecret},
		{BaseURL: "/relative/", Secret: testSecret},
		{BaseURL: "http://u:p@h/", Secret: testSecret},
		{BaseURL: "http://h/?q=1", Secret: testSecret},
		{BaseURL: "http://h/", Secret: testSecret, CORSOrigins: []string{"http://a/path"}},
		{BaseURL: "http://h/", Secret: testSecret, MaxUpload: -1},
		{CORSOrigins: []string{"*"}},
	} {
		_, err := New(cfg)
		require.Error(t, err, "%+v", cfg)
		assert.ErrorIs(t, err, backend.ErrInvalidArgument)
		assert.NotContains(t, err.Error(), testSecret)
	}
	s, err := New(Config{})
	assert.NoError(t, err)
	assert.Nil(t, s)
}

func TestCORSPreflight(t *testing.T) {
	t.Parallel()
	s := newSigner(t, Config{CORSOrigins: []string{"https://app.example.test"}})
	h := s.Handler(nil)
	pre := func(origin, method, headers string) *httptest.ResponseRecorder {
		hd := http.Header{"Origin": {origin}, "Access-Control-Request-Method": {method}}
		if headers != "" {
			hd.Set("Access-Control-Request-Headers", headers)
		}
		return serve(h, "OPTIONS", "http://files.example.test/files/k", nil, hd)
	}
	w := pre("https://app.example.test", "PUT", "content-type")
	assert.Equal(t, http.StatusNoContent, w.Code)
	assert.Equal(t, "https://app.example.test", w.Header().Get("Access-Control-Allow-Origin"))
	assert.Contains(t, w.Header().Get("Access-Control-Allow-Methods"), "PUT")
	assert.Equal(t, "content-type", w.Header().Get("Access-Control-Allow-Headers"))

	for name, w := range map[string]*httptest.ResponseRecorder{
		"other origin":  pre("https://evil.example.test", "PUT", ""),
		"other method":  pre("https://app.example.test", "DELETE", ""),
		"other header":  pre("https://app.example.test", "PUT", "x-evil"),
		"no origin set": pre("", "GET", ""),
	} {
		assert.Equal(t, http.StatusForbidden, w.Code, name)
		assert.Empty(t, w.Header().Get("Access-Control-Allow-Origin"), name)
	}
}
