package security_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	mc "github.com/minio/minio-go/v7"
	mccreds "github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/testenv"
	"github.com/kitehq/kite/local"
	"github.com/kitehq/kite/memory"
	"github.com/kitehq/kite/minio"
	"github.com/kitehq/kite/s3"
)

// What every attacked store holds, and the one presigned PUT the attacker has.
const (
	pubKey       = "pub/a.txt"
	pubBody      = "PUBLIC-CONTENT"
	privKey      = "priv/secret.txt"
	privBody     = "TOPSECRET-CONTENT"
	sentinelKey  = "keep.txt" // in the sentinel outside the store
	sentinelBody = "SENTINEL-CONTENT"
	putKey       = "up/target.bin"
	putType      = "text/plain"
	putBody      = "hello" // the signed size is its length

	hmacSecret  = "hostile-test-secret-0123456789abcdef"
	otherSecret = "hostile-other-secret-0123456789abcdef"
	wrongS3Key  = "KITEUNKNOWNACCESSKEY"
	wrongS3Sec  = "kite-wrong-secret-key-0123456789"
)

// victim is a store under attack and how to look at it from outside.
type victim struct {
	b backend.Backend
	// others sign for the same store with another secret or access key.
	others []backend.Backend
	// prefix is the URL path before the key ("/files/", "/bucket/");
	// outside names the sentinel next to the store (a directory beside
	// the root, another bucket), reachable as prefix+"../"+outside.
	prefix, outside string
	hmac            bool // Kite's own signatures (X-Kite-*), else SigV4
	// snapshot describes everything a refused request must leave as it
	// was: the sentinel and, for local, every file under the root.
	snapshot func(t *testing.T) []string
}

func (v victim) sigParam() string {
	if v.hmac {
		return "X-Kite-Signature"
	}
	return "X-Amz-Signature"
}

func (v victim) expiresParam() string {
	if v.hmac {
		return "X-Kite-Expires"
	}
	return "X-Amz-Expires"
}

// request is one request sent with its path exactly as written.
type request struct {
	name        string
	method      string
	base        string // scheme://host
	path, query string // raw
	header      http.Header
	body        string
	chunked     bool // no Content-Length
}

// split returns a request for a presigned URL, path and query kept raw.
func split(t *testing.T, name string, pr *backend.PresignedRequest, body string) request {
	t.Helper()
	u, err := url.Parse(pr.URL)
	require.NoError(t, err)
	return request{name: name, method: pr.Method, base: u.Scheme + "://" + u.Host, path: u.EscapedPath(),
		query: u.RawQuery, header: pr.Header.Clone(), body: body}
}

func (r request) with(name string, f func(*request)) request {
	c := r
	c.name = name
	c.header = r.header.Clone()
	if c.header == nil {
		c.header = http.Header{}
	}
	f(&c)
	return c
}

// noRedirect refuses to follow redirects: a 3xx is an answer, not a refusal.
var noRedirect = &http.Client{
	Transport:     &http.Transport{DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       30 * time.Second,
}

func (r request) send(t *testing.T) (int, string) {
	t.Helper()
	var body io.Reader
	if r.body != "" || r.method == http.MethodPut || r.method == http.MethodPost {
		body = strings.NewReader(r.body)
		if r.chunked {
			body = io.MultiReader(body) // hides the length: sent chunked
		}
	}
	req, err := http.NewRequestWithContext(t.Context(), r.method, r.base+"/", body)
	require.NoError(t, err)
	req.URL.Opaque = r.path // sent byte for byte, no cleaning or re-escaping
	req.URL.RawQuery = r.query
	for k, v := range r.header {
		req.Header[k] = v
	}
	resp, err := noRedirect.Do(req)
	if err != nil && r.method == http.MethodPut && (errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)) {
		// The server hung up on an upload it refused (versitygw does on a
		// chunked body past the signed size): refused, and what was stored
		// is checked afterwards all the same.
		return 0, "connection closed by the server: " + err.Error()
	}
	require.NoError(t, err, r.name)
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, string(data)
}

// pairs splits a raw query into its name=value pairs, in order.
func pairs(q string) []string {
	if q == "" {
		return nil
	}
	return strings.Split(q, "&")
}

func pairName(p string) string {
	n, _, _ := strings.Cut(p, "=")
	n, _ = url.QueryUnescape(n)
	return n
}

// without drops parameter name from a raw query.
func without(q, name string) string {
	var out []string
	for _, p := range pairs(q) {
		if pairName(p) != name {
			out = append(out, p)
		}
	}
	return strings.Join(out, "&")
}

// replaced sets parameter name to the raw value v in a raw query.
func replaced(q, name, v string) string {
	out := pairs(q)
	for i, p := range out {
		if pairName(p) == name {
			out[i] = url.QueryEscape(name) + "=" + v
		}
	}
	return strings.Join(out, "&")
}

func param(q, name string) string {
	for _, p := range pairs(q) {
		if pairName(p) == name {
			_, v, _ := strings.Cut(p, "=")
			v, _ = url.QueryUnescape(v)
			return v
		}
	}
	return ""
}

// changed returns another value of the same shape: a larger number, or the
// last character flipped.
func changed(v string) string {
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		return v + "0"
	}
	if v == "" {
		return "x"
	}
	last := v[len(v)-1]
	switch {
	case last == '0':
		last = '1'
	case last >= '0' && last <= '9', last >= 'a' && last <= 'z', last >= 'A' && last <= 'Z':
		last = '0'
	default:
		last = 'x'
	}
	return v[:len(v)-1] + string(last)
}

// hostile returns the requests that must all be refused, given a presigned
// GET of pubKey, a presigned PUT of putKey (Content-Type and size signed) and
// the same two signed with other secrets (the GET for privKey).
func hostile(t *testing.T, v victim, get, put request, others []request) []request {
	var rs []request
	add := func(r request) { rs = append(rs, r) }
	sig := v.sigParam()

	// Tampered and stripped signatures.
	add(get.with("GET: signature tampered", func(r *request) { r.query = replaced(r.query, sig, changed(param(r.query, sig))) }))
	add(put.with("PUT: signature tampered", func(r *request) { r.query = replaced(r.query, sig, changed(param(r.query, sig))) }))
	add(get.with("GET: signature upper-cased", func(r *request) { r.query = replaced(r.query, sig, strings.ToUpper(param(r.query, sig))) }))
	add(get.with("GET: signature stripped", func(r *request) { r.query = without(r.query, sig) }))
	add(get.with("GET: signature empty", func(r *request) { r.query = replaced(r.query, sig, "") }))
	add(get.with("GET: no query", func(r *request) { r.query = "" }))
	add(put.with("PUT: signature stripped", func(r *request) { r.query = without(r.query, sig) }))
	add(put.with("PUT: no query", func(r *request) { r.query = "" }))

	// Method swapped.
	add(get.with("GET URL used to PUT", func(r *request) {
		r.method, r.body = http.MethodPut, putBody
		r.header.Set("Content-Type", putType)
	}))
	add(get.with("GET URL used to DELETE", func(r *request) { r.method = http.MethodDelete }))
	add(get.with("GET URL used to POST", func(r *request) { r.method, r.body = http.MethodPost, putBody }))
	add(put.with("PUT URL used to GET", func(r *request) { r.method, r.body = http.MethodGet, "" }))
	add(put.with("PUT URL used to HEAD", func(r *request) { r.method, r.body = http.MethodHead, "" }))
	add(put.with("PUT URL used to DELETE", func(r *request) { r.method, r.body = http.MethodDelete, "" }))
	add(put.with("PUT URL used to POST", func(r *request) { r.method = http.MethodPost }))

	// Key swapped and path traversal: the signed query on another path.
	out := v.outside
	for _, p := range []string{
		"priv/secret.txt",
		"pub/../priv/secret.txt",
		"pub/%2e%2e/priv/secret.txt",
		"pub/%2E%2E/priv/secret.txt",
		"pub%2f..%2fpriv%2fsecret.txt",
		"pub%2F%2e%2e%2Fpriv%2Fsecret.txt",
		"pub/%252e%252e/priv/secret.txt",
		"pub/%252e%252e%252fpriv%252fsecret.txt",
		"pub/..%5cpriv%5csecret.txt",
		`pub\..\priv\secret.txt`,
		"pub/./../priv/secret.txt",
		"pub/a.txt/../../priv/secret.txt",
		"pub/./a.txt",
		"./pub/a.txt",
		"pub//a.txt",
		"pub/a.txt/",
		"../" + out + "/" + sentinelKey,
		"pub/../../" + out + "/" + sentinelKey,
		"%2e%2e/" + out + "/" + sentinelKey,
		"..%2f" + out + "%2f" + sentinelKey,
		"%2e%2e%2f" + out + "%2f" + sentinelKey,
		"%252e%252e%252f" + out + "%252f" + sentinelKey,
		"..%5c" + out + "%5c" + sentinelKey,
		`..\` + out + `\` + sentinelKey,
	} {
		add(get.with("GET on "+p, func(r *request) { r.path = v.prefix + p }))
	}
	add(get.with("GET of the signed key in the sentinel", func(r *request) { r.path = "/" + out + "/" + pubKey }))
	for _, p := range []string{
		"up/other.bin",
		"up/../evil.bin",
		"up/%2e%2e/evil.bin",
		"up%2f..%2fevil.bin",
		"up/%252e%252e/evil.bin",
		"up/%252e%252e%252fevil.bin",
		"up/..%5cevil.bin",
		`up\..\evil.bin`,
		"up/./target.bin",
		"./up/target.bin",
		"up//target.bin",
		"up/target.bin/",
		"up/target.bin/../../evil.bin",
		"../" + out + "/evil.bin",
		"up/../../" + out + "/evil.bin",
		"up/target.bin/../../../" + out + "/evil.bin",
		"%2e%2e/" + out + "/evil.bin",
		"%2e%2e%2f" + out + "%2fevil.bin",
		"%252e%252e%252f" + out + "%252fevil.bin",
		"..%5c" + out + "%5cevil.bin",
		`..\` + out + `\evil.bin`,
	} {
		add(put.with("PUT on "+p, func(r *request) { r.path = v.prefix + p }))
	}
	add(put.with("PUT of the signed key into the sentinel", func(r *request) { r.path = "/" + out + "/" + putKey }))

	// Extra and repeated query parameters; a repeat puts the changed copy
	// first, since servers read the first value.
	add(get.with("GET: extra response-content-type", func(r *request) { r.query += "&response-content-type=text%2Fhtml" }))
	add(get.with("GET: extra response-content-disposition", func(r *request) {
		r.query += "&response-content-disposition=attachment%3B%20filename%3Dx.html"
	}))
	add(get.with("GET: extra unknown parameter", func(r *request) { r.query += "&kite=1" }))
	add(put.with("PUT: extra x-amz-acl", func(r *request) { r.query += "&x-amz-acl=public-read" }))
	for _, base := range []request{get, put} {
		for _, p := range pairs(base.query) {
			name := pairName(p)
			val := param(base.query, name)
			add(base.with(base.method+": "+name+" repeated, changed copy first", func(r *request) {
				r.query = url.QueryEscape(name) + "=" + url.QueryEscape(changed(val)) + "&" + r.query
			}))
		}
	}
	if v.hmac {
		add(put.with("PUT: signed size given twice, larger first", func(r *request) {
			r.query = "X-Kite-Size=6&" + r.query
			r.body = putBody + "!"
		}))
		add(put.with("PUT: signed Content-Type given twice, another first", func(r *request) {
			r.query = "X-Kite-Content-Type=text%2Fhtml&" + r.query
			r.header.Set("Content-Type", "text/html")
		}))
		add(put.with("PUT: signed size dropped, larger body", func(r *request) {
			r.query = without(r.query, "X-Kite-Size")
			r.body = putBody + "!"
		}))
		add(put.with("PUT: signed Content-Type dropped, another type", func(r *request) {
			r.query = without(r.query, "X-Kite-Content-Type")
			r.header.Set("Content-Type", "text/html")
		}))
		add(get.with("GET: disposition added", func(r *request) { r.query += "&X-Kite-Disposition=inline" }))
	} else {
		add(put.with("PUT: X-Amz-SignedHeaders=host first, another type and size", func(r *request) {
			r.query = "X-Amz-SignedHeaders=host&" + r.query
			r.header = http.Header{"Content-Type": {"text/html"}}
			r.body = putBody + "!"
		}))
		add(put.with("PUT: X-Amz-SignedHeaders=host, another type and size", func(r *request) {
			r.query = replaced(r.query, "X-Amz-SignedHeaders", "host")
			r.header = http.Header{"Content-Type": {"text/html"}}
			r.body = putBody + "!"
		}))
		add(get.with("GET: X-Amz-Credential of another access key first", func(r *request) {
			cred := param(r.query, "X-Amz-Credential")
			_, scope, _ := strings.Cut(cred, "/")
			r.query = "X-Amz-Credential=" + url.QueryEscape(wrongS3Key+"/"+scope) + "&" + r.query
		}))
		add(get.with("GET: extra X-Amz-Security-Token", func(r *request) { r.query += "&X-Amz-Security-Token=x" }))
	}

	// Signed with another secret or access key.
	rs = append(rs, others...)

	// The PUT URL replayed with another size or content type.
	add(put.with("PUT: another Content-Type", func(r *request) { r.header.Set("Content-Type", "text/html") }))
	add(put.with("PUT: Content-Type with parameters", func(r *request) { r.header.Set("Content-Type", putType+"; charset=utf-8") }))
	add(put.with("PUT: no Content-Type", func(r *request) { r.header.Del("Content-Type") }))
	add(put.with("PUT: larger body", func(r *request) { r.body = putBody + "!" }))
	add(put.with("PUT: smaller body", func(r *request) { r.body = putBody[:4] }))
	add(put.with("PUT: empty body", func(r *request) { r.body = "" }))
	add(put.with("PUT: larger body, chunked", func(r *request) { r.body, r.chunked = putBody+"!", true }))
	return rs
}

// refused reports whether an answer refuses the request: a 4xx, but a 404
// only when it names an unknown access key (versitygw's answer to one): any
// other 404 would mean the request got past the signature check.
func refused(code int, body string) bool {
	if code == 0 {
		return true // the server closed the connection (see send)
	}
	if code == http.StatusNotFound {
		return strings.Contains(body, "<Code>XAdminUserNotFound</Code>") || strings.Contains(body, "<Code>InvalidAccessKeyId</Code>")
	}
	return code >= 400 && code < 500
}

// attack puts the store's two objects, sends every hostile request, waits for
// the short URLs to expire and sends those, then checks that nothing changed
// inside the store or outside it, and that the genuine URLs do work.
func attack(t *testing.T, v victim) {
	ctx := t.Context()
	for k, body := range map[string]string{pubKey: pubBody, privKey: privBody} {
		_, err := v.b.Put(ctx, k, strings.NewReader(body), backend.PutOptions{ContentType: "text/plain"})
		require.NoError(t, err)
	}
	putOpts := backend.PresignOptions{ContentType: putType, Size: int64(len(putBody))}
	presign := func(b backend.Backend, method, key string, opts backend.PresignOptions) *backend.PresignedRequest {
		t.Helper()
		var pr *backend.PresignedRequest
		var err error
		if method == http.MethodGet {
			pr, err = b.PresignGet(ctx, key, opts)
		} else {
			pr, err = b.PresignPut(ctx, key, opts)
		}
		require.NoError(t, err)
		return pr
	}
	short := backend.PresignOptions{Expires: time.Second}
	shortPut := putOpts
	shortPut.Expires = time.Second
	expGet := presign(v.b, http.MethodGet, pubKey, short)
	expPut := presign(v.b, http.MethodPut, putKey, shortPut)

	get := split(t, "GET", presign(v.b, http.MethodGet, pubKey, backend.PresignOptions{}), "")
	put := split(t, "PUT", presign(v.b, http.MethodPut, putKey, putOpts), putBody)
	var others []request
	for i, o := range v.others {
		others = append(others,
			split(t, "GET of "+privKey+" signed with other secret "+strconv.Itoa(i), presign(o, http.MethodGet, privKey, backend.PresignOptions{}), ""),
			split(t, "PUT signed with other secret "+strconv.Itoa(i), presign(o, http.MethodPut, putKey, putOpts), putBody))
	}
	before := v.snapshot(t)

	// The genuine GET works: refusals below are the attack's, not a broken setup.
	code, body := get.send(t)
	require.Equal(t, http.StatusOK, code, "genuine GET: %s", body)
	require.Equal(t, pubBody, body)

	sent, ok, codes := 0, 0, map[int]int{}
	check := func(r request) {
		t.Helper()
		code, body := r.send(t)
		sent++
		codes[code]++
		leak := strings.Contains(body, privBody) || strings.Contains(body, sentinelBody)
		if refused(code, body) && !leak {
			ok++
			return
		}
		if len(body) > 300 {
			body = body[:300]
		}
		t.Errorf("ACCEPTED %s: %s %s?%s -> %d %q", r.name, r.method, r.path, r.query, code, body)
	}
	for _, r := range hostile(t, v, get, put, others) {
		check(r)
	}

	// Expired, also with the expiry pushed later (first copy or in place).
	wait := time.Until(expPut.Expires.Add(1200 * time.Millisecond))
	if w := time.Until(expGet.Expires.Add(1200 * time.Millisecond)); w > wait {
		wait = w
	}
	time.Sleep(wait) // the only way to let a URL expire is to wait
	eg, ep := split(t, "GET expired", expGet, ""), split(t, "PUT expired", expPut, putBody)
	later := "604800"
	if v.hmac {
		later = strconv.FormatInt(time.Now().Add(24*time.Hour).Unix(), 10)
	}
	ex := v.expiresParam()
	for _, r := range []request{
		eg, ep,
		eg.with("GET expired, expiry replaced", func(r *request) { r.query = replaced(r.query, ex, later) }),
		eg.with("GET expired, later expiry first", func(r *request) { r.query = ex + "=" + later + "&" + r.query }),
		ep.with("PUT expired, later expiry first", func(r *request) { r.query = ex + "=" + later + "&" + r.query }),
	} {
		check(r)
	}

	// Nothing stored, nothing changed, nothing touched outside.
	var keys []string
	for o, err := range v.b.List(ctx, backend.ListOptions{}) {
		require.NoError(t, err)
		keys = append(keys, o.Key)
	}
	assert.Equal(t, []string{privKey, pubKey}, keys, "the store holds only what the test put")
	for k, want := range map[string]string{pubKey: pubBody, privKey: privBody} {
		rc, _, err := v.b.Get(ctx, k, backend.GetOptions{})
		require.NoError(t, err)
		got, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		assert.Equal(t, want, string(got), k)
	}
	for _, k := range []string{putKey, "up/other.bin", "evil.bin", "up/evil.bin"} {
		_, err := v.b.Stat(ctx, k)
		assert.ErrorIs(t, err, backend.ErrNotFound, k)
	}
	assert.Equal(t, before, v.snapshot(t), "a refused request changed something outside the store")

	// The genuine PUT works, and stores what was signed.
	code, body = put.send(t)
	require.True(t, code >= 200 && code < 300, "genuine PUT: %d %s", code, body)
	o, err := v.b.Stat(ctx, putKey)
	require.NoError(t, err)
	assert.Equal(t, int64(len(putBody)), o.Size)
	assert.Equal(t, putType, o.ContentType)

	t.Logf("hostile requests: %d sent, %d refused (statuses %v)", sent, ok, codes)
}

// serveHandler starts a 127.0.0.1 server for the handler that make returns,
// given the base URL it is reachable at.
func serveHandler(t *testing.T, make func(baseURL string) http.Handler) string {
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String() + "/files/"
	srv.Config.Handler = make(base)
	srv.Start()
	t.Cleanup(srv.Close)
	return base
}

func TestHostileMemory(t *testing.T) {
	t.Parallel()
	var b *memory.Backend
	var other *memory.Backend
	serveHandler(t, func(base string) http.Handler {
		var err error
		b, err = memory.New(memory.Options{BaseURL: base, Secret: hmacSecret})
		require.NoError(t, err)
		other, err = memory.New(memory.Options{BaseURL: base, Secret: otherSecret})
		require.NoError(t, err)
		return b.Handler()
	})
	attack(t, victim{b: b, others: []backend.Backend{other}, prefix: "/files/", outside: "sentinel", hmac: true,
		snapshot: func(*testing.T) []string { return nil }})
}

// tree lists every entry under dir (path, kind, size) but the subtree skip.
func tree(t *testing.T, dir, skip string, filesOnly bool) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == skip {
			return filepath.SkipDir
		}
		if d.IsDir() && filesOnly {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel+" "+fi.Mode().String()+" "+strconv.FormatInt(fi.Size(), 10))
		return nil
	})
	require.NoError(t, err)
	return out
}

func TestHostileLocal(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	require.NoError(t, os.Mkdir(root, 0o755))
	require.NoError(t, os.Mkdir(filepath.Join(parent, "sentinel"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(parent, "sentinel", sentinelKey), []byte(sentinelBody), 0o644))
	var b, other *local.Backend
	serveHandler(t, func(base string) http.Handler {
		var err error
		b, err = local.New(root, local.Options{BaseURL: base, Secret: hmacSecret, NoSync: true})
		require.NoError(t, err)
		other, err = local.New(root, local.Options{BaseURL: base, Secret: otherSecret, NoSync: true})
		require.NoError(t, err)
		return b.Handler()
	})
	attack(t, victim{b: b, others: []backend.Backend{other}, prefix: "/files/", outside: "sentinel", hmac: true,
		snapshot: func(t *testing.T) []string {
			// Outside the root: everything; inside: every file (keys,
			// temporary files), since a refused PUT may leave a directory.
			return append(tree(t, parent, root, false), tree(t, root, "", true)...)
		}})
}

// s3Server is an S3-compatible test server and a client of it with its root
// credentials, for setup and checks.
type s3Server struct {
	name string
	srv  testenv.S3Server
}

func s3Servers(t *testing.T, f func(t *testing.T, s s3Server)) {
	for _, s := range []struct {
		name string
		get  func(testing.TB) testenv.S3Server
	}{{"MinIO", testenv.MinIO}, {"versitygw", testenv.VersityGW}} {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			f(t, s3Server{s.name, s.get(t)})
		})
	}
}

func awsClient(endpoint, accessKey, secretKey string) *awss3.Client {
	return awss3.New(awss3.Options{
		Region:                     "us-east-1",
		BaseEndpoint:               aws.String("http://" + endpoint),
		UsePathStyle:               true,
		Credentials:                awscreds.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		RetryMaxAttempts:           1,
	})
}

func minioClient(t *testing.T, endpoint, accessKey, secretKey string) *mc.Client {
	t.Helper()
	c, err := mc.New(endpoint, &mc.Options{
		Creds:        mccreds.NewStaticV4(accessKey, secretKey, ""),
		Region:       minio.DefaultRegion,
		BucketLookup: mc.BucketLookupPath,
		MaxRetries:   1,
	})
	require.NoError(t, err)
	return c
}

// newBucket makes a uniquely named bucket and removes it, whatever it holds,
// at cleanup.
func newBucket(t *testing.T, c *awss3.Client) string {
	t.Helper()
	var p [8]byte
	_, _ = rand.Read(p[:])
	name := "kite-sec-" + hex.EncodeToString(p[:])
	_, err := c.CreateBucket(t.Context(), &awss3.CreateBucketInput{Bucket: &name})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		pages := awss3.NewListObjectsV2Paginator(c, &awss3.ListObjectsV2Input{Bucket: &name})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				t.Errorf("cleanup of %s: %v", name, err)
				return
			}
			for _, o := range page.Contents {
				_, _ = c.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &name, Key: o.Key})
			}
		}
		_, err := c.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: &name})
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "BucketNotEmpty" {
			// MinIO hides "a/b" from listings once "a" exists.
			_, err = c.DeleteBucket(ctx, &awss3.DeleteBucketInput{Bucket: &name}, awss3.WithAPIOptions(
				smithyhttp.AddHeaderValue("X-Minio-Force-Delete", "true")))
		}
		if err != nil {
			t.Errorf("cleanup of %s: %v", name, err)
		}
	})
	return name
}

// bucketSnapshot lists a bucket's keys and sizes.
func bucketSnapshot(t *testing.T, c *awss3.Client, bucket string) []string {
	t.Helper()
	var out []string
	pages := awss3.NewListObjectsV2Paginator(c, &awss3.ListObjectsV2Input{Bucket: &bucket})
	for pages.HasMorePages() {
		page, err := pages.NextPage(t.Context())
		require.NoError(t, err)
		for _, o := range page.Contents {
			out = append(out, aws.ToString(o.Key)+" "+strconv.FormatInt(aws.ToInt64(o.Size), 10))
		}
	}
	slices.Sort(out)
	return out
}

// s3Victim makes the victim for one driver on a fresh bucket of s, with a
// sentinel bucket beside it holding one object.
func s3Victim(t *testing.T, s s3Server, driver string) victim {
	admin := awsClient(s.srv.Endpoint, s.srv.AccessKey, s.srv.SecretKey)
	bucket, sentinel := newBucket(t, admin), newBucket(t, admin)
	_, err := admin.PutObject(t.Context(), &awss3.PutObjectInput{Bucket: &sentinel, Key: aws.String(sentinelKey), Body: strings.NewReader(sentinelBody)})
	require.NoError(t, err)
	open := func(ak, sk string) backend.Backend {
		var b backend.Backend
		var err error
		if driver == "minio" {
			b, err = minio.New(minioClient(t, s.srv.Endpoint, ak, sk), bucket, minio.Options{})
		} else {
			b, err = s3.New(awsClient(s.srv.Endpoint, ak, sk), bucket, s3.Options{})
		}
		require.NoError(t, err)
		return b
	}
	return victim{
		b:       open(s.srv.AccessKey, s.srv.SecretKey),
		others:  []backend.Backend{open(s.srv.AccessKey, wrongS3Sec), open(wrongS3Key, wrongS3Sec)},
		prefix:  "/" + bucket + "/",
		outside: sentinel,
		snapshot: func(t *testing.T) []string {
			return bucketSnapshot(t, admin, sentinel)
		},
	}
}

func TestHostileMinIODriver(t *testing.T) {
	s3Servers(t, func(t *testing.T, s s3Server) { attack(t, s3Victim(t, s, "minio")) })
}

func TestHostileS3Driver(t *testing.T) {
	s3Servers(t, func(t *testing.T, s s3Server) { attack(t, s3Victim(t, s, "s3")) })
}
