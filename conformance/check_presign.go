package conformance

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
)

// presignSetup skips the check when presigning is unsupported or one of the
// reasons is set, and returns a fresh backend with the client for its URLs.
func presignSetup(t T, h Harness, reasons ...string) (backend.Backend, context.Context, *http.Client) {
	t.Helper()
	if h.NoPresign != "" {
		t.Skip("presigning unsupported: " + h.NoPresign)
	}
	for _, r := range reasons {
		if r != "" {
			t.Skip(r)
		}
	}
	b, ctx := setup(t, h)
	return b, ctx, httpClient(t, h)
}

// expirySlack is how far PresignedRequest.Expires may be from now + Expires:
// signers truncate times to seconds.
const expirySlack = 2 * time.Second

// assertPresigned checks the form of a presigned request made at or after
// start with expiry exp.
func assertPresigned(t T, pr *backend.PresignedRequest, method string, start time.Time, exp time.Duration, what string) bool {
	t.Helper()
	if pr == nil {
		t.Errorf("%s: nil PresignedRequest and no error", what)
		return false
	}
	ok := assert.Equal(t, method, pr.Method, "%s: Method", what)
	u, err := url.Parse(pr.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		t.Errorf("%s: URL %q is not an absolute http or https URL", what, pr.URL)
		ok = false
	}
	ok = assert.WithinRange(t, pr.Expires, start.Add(exp-expirySlack), time.Now().Add(exp+expirySlack),
		"%s: Expires, want about now + %v", what, exp) && ok
	if method == http.MethodGet && len(pr.Header) > 0 {
		t.Errorf("%s: a presigned GET needs headers %v, which a browser following a link cannot send", what, pr.Header)
		ok = false
	}
	return ok
}

// refused reports whether status is a refusal of a bad signature.
func refused(status int) bool {
	return status == http.StatusBadRequest || status == http.StatusUnauthorized || status == http.StatusForbidden
}

func is2xx(status int) bool { return status >= 200 && status < 300 }

func checkPresignGet(t T, h Harness) {
	b, ctx, c := presignSetup(t, h)
	for _, ct := range []string{"text/plain; charset=utf-8", ""} {
		key := "presign/get-" + strconv.Itoa(len(ct))
		data := content(key, 1000)
		put(t, ctx, b, key, data, backend.PutOptions{ContentType: ct})
		if ct == "" {
			ct = backend.DefaultContentType
		}
		start := time.Now()
		pr, err := b.PresignGet(ctx, key, backend.PresignOptions{Expires: 10 * time.Minute})
		require.NoError(t, err, "key %s: PresignGet", kq(key))
		what := fmt.Sprintf("key %s: presigned GET", kq(key))
		assertPresigned(t, pr, http.MethodGet, start, 10*time.Minute, what)
		res, err := fetch(ctx, c, pr.Method, pr.URL, pr.Header, nil)
		require.NoError(t, err, what)
		if !assert.Equal(t, http.StatusOK, res.status, "%s: status (%s)", what, res.brief()) {
			continue
		}
		assertBytes(t, data, res.body, what)
		assert.Equal(t, ct, res.header.Get("Content-Type"), "%s: Content-Type response header, want the stored type", what)
		assert.Empty(t, res.header.Get("Content-Disposition"), "%s: Content-Disposition that nobody asked for", what)

		hd := http.Header{"Range": {"bytes=10-19"}}
		res, err = fetch(ctx, c, pr.Method, pr.URL, hd, nil)
		require.NoError(t, err, what+" with Range")
		if assert.Equal(t, http.StatusPartialContent, res.status, "%s with Range: bytes=10-19: status (%s)", what, res.brief()) {
			assertBytes(t, data[10:20], res.body, what+" with Range: bytes=10-19")
		}
	}
}

func checkPresignContentDisposition(t T, h Harness) {
	b, ctx, c := presignSetup(t, h)
	const key = "presign/cd"
	data := content(key, 300)
	put(t, ctx, b, key, data, backend.PutOptions{ContentType: "application/pdf"})
	for _, cd := range []string{`attachment; filename="a.pdf"`, "inline", `attachment; filename="report 2024.pdf"`} {
		what := fmt.Sprintf("key %s: presigned GET with ContentDisposition %q", kq(key), cd)
		pr, err := b.PresignGet(ctx, key, backend.PresignOptions{ContentDisposition: cd})
		require.NoError(t, err, what)
		assertPresigned(t, pr, http.MethodGet, time.Now().Add(-time.Second), backend.DefaultPresignExpiry, what)
		res, err := fetch(ctx, c, pr.Method, pr.URL, pr.Header, nil)
		require.NoError(t, err, what)
		if assert.Equal(t, http.StatusOK, res.status, "%s: status (%s)", what, res.brief()) {
			assert.Equal(t, cd, res.header.Get("Content-Disposition"), "%s: Content-Disposition response header", what)
			assertBytes(t, data, res.body, what)
		}
	}
}

func checkPresignTrickyKeys(t T, h Harness) {
	b, ctx, c := presignSetup(t, h)
	all := tricky(h)
	for _, key := range all {
		data := []byte("presigned:" + key)
		what := fmt.Sprintf("key %s: presigned PUT", kq(key))
		pr, err := b.PresignPut(ctx, key, backend.PresignOptions{ContentType: "text/plain"})
		if !assert.NoError(t, err, what) {
			continue
		}
		res, err := fetch(ctx, c, pr.Method, pr.URL, pr.Header, data)
		if !assert.NoError(t, err, what) || !assert.True(t, is2xx(res.status), "%s: status (%s), want 2xx", what, res.brief()) {
			continue
		}
		if st, err := b.Stat(ctx, key); assert.NoError(t, err, "%s, then Stat", what) {
			assert.Equal(t, int64(len(data)), st.Size, "%s, then Stat: Size", what)
			assert.Equal(t, "text/plain", st.ContentType, "%s, then Stat: ContentType", what)
		}
		what = fmt.Sprintf("key %s: presigned GET", kq(key))
		pr, err = b.PresignGet(ctx, key, backend.PresignOptions{})
		if !assert.NoError(t, err, what) {
			continue
		}
		res, err = fetch(ctx, c, pr.Method, pr.URL, pr.Header, nil)
		if assert.NoError(t, err, what) && assert.Equal(t, http.StatusOK, res.status, "%s: status (%s)", what, res.brief()) {
			assertBytes(t, data, res.body, what)
		}
	}
	keys, _ := listKeys(t, ctx, b, backend.ListOptions{}, "List")
	assertKeys(t, slices.Sorted(slices.Values(all)), keys, "List after presigned PUTs of the tricky keys (stored byte for byte)")
}

func checkPresignPublicHost(t T, h Harness) {
	noHost := ""
	if h.PublicHost == "" {
		noHost = "Harness.PublicHost is not set"
	}
	b, ctx, c := presignSetup(t, h, noHost)
	const key = "presign/public host"
	put(t, ctx, b, key, []byte("public"), backend.PutOptions{})
	get, err := b.PresignGet(ctx, key, backend.PresignOptions{})
	require.NoError(t, err, "PresignGet")
	putReq, err := b.PresignPut(ctx, key, backend.PresignOptions{})
	require.NoError(t, err, "PresignPut")
	for _, pr := range []*backend.PresignedRequest{get, putReq} {
		u, err := url.Parse(pr.URL)
		if assert.NoError(t, err, "presigned %s URL", pr.Method) {
			assert.Equal(t, h.PublicHost, u.Host, "presigned %s URL %q: host, want the public one (signed for it, not rewritten)", pr.Method, pr.URL)
		}
	}
	res, err := fetch(ctx, c, get.Method, get.URL, get.Header, nil)
	require.NoError(t, err, "presigned GET on the public host")
	assert.Equal(t, http.StatusOK, res.status, "presigned GET on the public host: status (%s)", res.brief())
}

func checkPresignOptions(t T, h Harness) {
	b, ctx, _ := presignSetup(t, h)
	const key = "presign/options"
	type presignFunc func(context.Context, string, backend.PresignOptions) (*backend.PresignedRequest, error)
	for _, m := range []struct {
		op string
		fn presignFunc
	}{{"PresignGet", b.PresignGet}, {"PresignPut", b.PresignPut}} {
		for _, exp := range []time.Duration{backend.MaxPresignExpiry + time.Second, 30 * 24 * time.Hour, -time.Second, -time.Hour, 500 * time.Millisecond} {
			_, err := m.fn(ctx, key, backend.PresignOptions{Expires: exp})
			assertKind(t, err, backend.ErrInvalidArgument, m.op, fmt.Sprintf("%s with Expires %v", m.op, exp))
		}
		for _, c := range []struct{ exp, want time.Duration }{
			{0, backend.DefaultPresignExpiry},
			{time.Hour, time.Hour},
			{backend.MaxPresignExpiry, backend.MaxPresignExpiry},
		} {
			what := fmt.Sprintf("%s with Expires %v", m.op, c.exp)
			start := time.Now()
			pr, err := m.fn(ctx, key, backend.PresignOptions{Expires: c.exp})
			if assert.NoError(t, err, what) {
				assertPresigned(t, pr, strings.ToUpper(m.op[len("Presign"):]), start, c.want, what)
			}
		}
	}
	for _, c := range []struct {
		op   string
		fn   presignFunc
		opts backend.PresignOptions
		name string
	}{
		{"PresignGet", b.PresignGet, backend.PresignOptions{ContentType: "text/plain"}, "ContentType on a GET"},
		{"PresignGet", b.PresignGet, backend.PresignOptions{Size: 10}, "Size on a GET"},
		{"PresignPut", b.PresignPut, backend.PresignOptions{ContentDisposition: "inline"}, "ContentDisposition on a PUT"},
		{"PresignPut", b.PresignPut, backend.PresignOptions{Size: -1}, "negative Size"},
		{"PresignPut", b.PresignPut, backend.PresignOptions{ContentType: "text/plain\r\nX-Evil: 1"}, "a ContentType with CR LF"},
		{"PresignGet", b.PresignGet, backend.PresignOptions{ContentDisposition: "attachment\nx"}, "a ContentDisposition with LF"},
	} {
		_, err := c.fn(ctx, key, c.opts)
		assertKind(t, err, backend.ErrInvalidArgument, c.op, fmt.Sprintf("%s with %s", c.op, c.name))
	}
}

// waitPast waits until the presigned requests have expired, plus a margin
// for the store's clock granularity. It is the suite's only sleep: expiry has
// no event to wait on.
func waitPast(t T, ctx context.Context, prs ...*backend.PresignedRequest) {
	t.Helper()
	var last time.Time
	for _, pr := range prs {
		if pr.Expires.After(last) {
			last = pr.Expires
		}
	}
	d := time.Until(last) + 1100*time.Millisecond
	if d > 15*time.Second {
		t.Fatalf("presigned requests expire in %v, asked for a few seconds", d)
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
		t.Fatalf("waiting for expiry: %v", ctx.Err())
	}
}

func checkPresignExpiry(t T, h Harness) {
	b, ctx, c := presignSetup(t, h, reason("the store checks no signature or expiry", h.NoSignatureCheck))
	const key, putKey = "presign/expiry", "presign/expiry-put"
	data := content(key, 100)
	put(t, ctx, b, key, data, backend.PutOptions{})
	// 3 s, not 1 s: SigV4 truncates the signing time to the second.
	const exp = 3 * time.Second
	start := time.Now()
	get, err := b.PresignGet(ctx, key, backend.PresignOptions{Expires: exp})
	require.NoError(t, err, "PresignGet with Expires %v", exp)
	assertPresigned(t, get, http.MethodGet, start, exp, "PresignGet")
	up, err := b.PresignPut(ctx, putKey, backend.PresignOptions{Expires: exp, ContentType: "text/plain"})
	require.NoError(t, err, "PresignPut with Expires %v", exp)
	assertPresigned(t, up, http.MethodPut, start, exp, "PresignPut")

	res, err := fetch(ctx, c, get.Method, get.URL, get.Header, nil)
	require.NoError(t, err, "presigned GET before expiry")
	require.Equal(t, http.StatusOK, res.status, "presigned GET before expiry: status (%s)", res.brief())
	res, err = fetch(ctx, c, up.Method, up.URL, up.Header, []byte("before"))
	require.NoError(t, err, "presigned PUT before expiry")
	require.True(t, is2xx(res.status), "presigned PUT before expiry: status (%s), want 2xx", res.brief())
	before := mustStat(t, ctx, b, putKey)

	waitPast(t, ctx, get, up)
	res, err = fetch(ctx, c, get.Method, get.URL, get.Header, nil)
	require.NoError(t, err, "presigned GET after expiry")
	assert.True(t, refused(res.status), "presigned GET %v after its expiry: status (%s), want 403", time.Since(get.Expires).Round(time.Millisecond), res.brief())
	assert.False(t, bytes.Equal(data, res.body), "presigned GET after expiry returned the content")
	res, err = fetch(ctx, c, up.Method, up.URL, up.Header, []byte("after"))
	require.NoError(t, err, "presigned PUT after expiry")
	assert.True(t, refused(res.status), "presigned PUT %v after its expiry: status (%s), want 403", time.Since(up.Expires).Round(time.Millisecond), res.brief())
	assertUnchanged(t, ctx, b, putKey, []byte("before"), before.ETag, "after a presigned PUT past its expiry")
}

// reason returns why a check is skipped, or "" when it is not.
func reason(what, why string) string {
	if why == "" {
		return ""
	}
	return what + ": " + why
}

// alter changes a query value: a number grows by a day (a longer expiry, a
// later date), anything else has its last character changed.
func alter(v string) string {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return strconv.FormatInt(n+86400, 10)
	}
	if v == "" {
		return "x"
	}
	last := v[len(v)-1]
	switch {
	case last >= '0' && last < '9', last >= 'a' && last < 'z', last >= 'A' && last < 'Z':
		last++
	case last == '9':
		last = '0'
	default:
		last = 'a'
	}
	return v[:len(v)-1] + string(last)
}

// withQuery returns u with query q.
func withQuery(u *url.URL, q url.Values) string {
	c := *u
	c.RawQuery = q.Encode()
	return c.String()
}

// tampered returns the variants of a presigned URL that must all be refused:
// each query parameter altered, and each removed. A parameter given twice is
// not among them: S3 servers (MinIO, versitygw) read the first value, so a
// changed second copy gains an attacker nothing; Kite's own signed URLs
// refuse repeats, which internal/signurl tests.
func tampered(u *url.URL) map[string]string {
	q := u.Query()
	out := map[string]string{}
	for _, name := range sortedKeys(q) {
		v := q.Get(name)
		variant := func(desc string, vals []string) {
			c := url.Values{}
			for k, vs := range q {
				c[k] = slices.Clone(vs)
			}
			if vals == nil {
				delete(c, name)
			} else {
				c[name] = vals
			}
			out[fmt.Sprintf("parameter %s %s", name, desc)] = withQuery(u, c)
		}
		variant(fmt.Sprintf("changed to %q", alter(v)), []string{alter(v)})
		variant("removed", nil)
	}
	return out
}

func checkPresignTampered(t T, h Harness) {
	b, ctx, c := presignSetup(t, h, reason("the store checks no signature", h.NoSignatureCheck))
	const key, putKey = "presign/tampered", "presign/tampered-put"
	data := content(key, 100)
	put(t, ctx, b, key, data, backend.PutOptions{ContentType: "application/pdf"})
	get, err := b.PresignGet(ctx, key, backend.PresignOptions{ContentDisposition: `attachment; filename="a.pdf"`})
	require.NoError(t, err, "PresignGet")
	up, err := b.PresignPut(ctx, putKey, backend.PresignOptions{ContentType: "text/plain", Size: 5})
	require.NoError(t, err, "PresignPut")

	for _, pr := range []*backend.PresignedRequest{get, up} {
		u, err := url.Parse(pr.URL)
		require.NoError(t, err, "presigned URL")
		var body []byte
		if pr.Method == http.MethodPut {
			body = []byte("evil!")
		}
		// Re-encoding the query alone must not break the URL, or the variants prove nothing.
		if pr.Method == http.MethodGet {
			res, err := fetch(ctx, c, pr.Method, withQuery(u, u.Query()), pr.Header, body)
			require.NoError(t, err, "presigned GET with its query re-encoded")
			require.Equal(t, http.StatusOK, res.status, "presigned GET with its query re-encoded: status (%s)", res.brief())
		}
		variants := tampered(u)
		add := u.Query()
		if !add.Has("response-content-type") {
			add.Set("response-content-type", "text/html")
			variants["parameter response-content-type=text/html added"] = withQuery(u, add)
		}
		for _, desc := range sortedKeys(variants) {
			what := fmt.Sprintf("presigned %s of %s with %s", pr.Method, kq(key), desc)
			res, err := fetch(ctx, c, pr.Method, variants[desc], pr.Header, body)
			if !assert.NoError(t, err, what) {
				continue
			}
			if strings.HasPrefix(desc, "parameter response-content-type") && res.status == http.StatusOK {
				assert.NotEqual(t, "text/html", res.header.Get("Content-Type"), "%s: an unsigned parameter changed the response", what)
				continue
			}
			assert.True(t, refused(res.status), "%s: status (%s), want 403 (or 400, 401)", what, res.brief())
		}
	}
	assertMissing(t, ctx, b, putKey, "after tampered presigned PUTs")
}

func checkPresignOtherKey(t T, h Harness) {
	b, ctx, c := presignSetup(t, h, reason("the store checks no signature", h.NoSignatureCheck))
	const k1, k2 = "other/k1", "other/k2"
	put(t, ctx, b, k1, []byte("one"), backend.PutOptions{})
	two := put(t, ctx, b, k2, []byte("two"), backend.PutOptions{})
	get, err := b.PresignGet(ctx, k1, backend.PresignOptions{})
	require.NoError(t, err, "PresignGet")
	up, err := b.PresignPut(ctx, k1, backend.PresignOptions{})
	require.NoError(t, err, "PresignPut")
	for _, pr := range []*backend.PresignedRequest{get, up} {
		u, err := url.Parse(pr.URL)
		require.NoError(t, err, "presigned URL")
		if !strings.HasSuffix(u.Path, k1) {
			t.Fatalf("presigned %s URL %q: the path does not end with the key %s; the suite cannot move it to another key", pr.Method, pr.URL, kq(k1))
		}
		var body []byte
		if pr.Method == http.MethodPut {
			body = []byte("evil")
		}
		for _, path := range []string{strings.TrimSuffix(u.Path, k1) + k2, u.Path + "/x", strings.TrimSuffix(u.Path, "1")} {
			v := *u
			v.Path, v.RawPath = path, ""
			what := fmt.Sprintf("presigned %s of %s sent to path %q", pr.Method, kq(k1), path)
			res, err := fetch(ctx, c, pr.Method, v.String(), pr.Header, body)
			if !assert.NoError(t, err, what) {
				continue
			}
			assert.True(t, refused(res.status), "%s: status (%s), want 403", what, res.brief())
			assert.NotEqual(t, "two", string(res.body), "%s: served the other key", what)
		}
	}
	assertUnchanged(t, ctx, b, k2, []byte("two"), two.ETag, "after presigned requests moved to it")
	for _, k := range []string{k1 + "/x", "other/k"} {
		assertMissing(t, ctx, b, k, "after presigned PUTs moved to it")
	}
}

func checkPresignOtherMethod(t T, h Harness) {
	b, ctx, c := presignSetup(t, h, reason("the store checks no signature", h.NoSignatureCheck))
	const key = "method/obj"
	obj := put(t, ctx, b, key, []byte("original"), backend.PutOptions{ContentType: "text/plain"})
	get, err := b.PresignGet(ctx, key, backend.PresignOptions{})
	require.NoError(t, err, "PresignGet")
	up, err := b.PresignPut(ctx, key, backend.PresignOptions{ContentType: "text/plain"})
	require.NoError(t, err, "PresignPut")
	refusedMethod := func(s int) bool { return refused(s) || s == http.StatusMethodNotAllowed }
	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodPost} {
		what := fmt.Sprintf("%s to the presigned GET URL of %s", m, kq(key))
		res, err := fetch(ctx, c, m, get.URL, http.Header{"Content-Type": {"text/plain"}}, []byte("evil"))
		if assert.NoError(t, err, what) {
			assert.True(t, refusedMethod(res.status), "%s: status (%s), want 403", what, res.brief())
		}
	}
	for _, m := range []string{http.MethodGet, http.MethodDelete, http.MethodPost} {
		what := fmt.Sprintf("%s to the presigned PUT URL of %s", m, kq(key))
		var body []byte
		if m == http.MethodPost {
			body = []byte("evil")
		}
		res, err := fetch(ctx, c, m, up.URL, up.Header, body)
		if assert.NoError(t, err, what) {
			assert.True(t, refusedMethod(res.status), "%s: status (%s), want 403", what, res.brief())
			assert.NotEqual(t, "original", string(res.body), "%s: returned the content", what)
		}
	}
	assertUnchanged(t, ctx, b, key, []byte("original"), obj.ETag, "after requests with another method")
}

// signedHeaders returns the signed headers a SigV4 or GCS V4 URL names, and
// whether it names any.
func signedHeaders(rawURL string) ([]string, bool) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, false
	}
	q := u.Query()
	for _, p := range []string{"X-Amz-SignedHeaders", "X-Goog-SignedHeaders"} {
		if q.Has(p) {
			return strings.Split(strings.ToLower(q.Get(p)), ";"), true
		}
	}
	return nil, false
}

func checkPresignPut(t T, h Harness) {
	b, ctx, c := presignSetup(t, h)
	const key = "presign/put"
	for i, opts := range []backend.PresignOptions{
		{ContentType: "application/pdf", Size: 1234, Expires: time.Hour},
		{ContentType: "text/plain; charset=utf-8"},
		{Size: 77},
		{},
	} {
		data := content(fmt.Sprint(key, i), 500+i)
		if opts.Size > 0 {
			data = content(fmt.Sprint(key, i), int(opts.Size))
		}
		what := fmt.Sprintf("key %s: presigned PUT with %+v", kq(key), opts)
		start := time.Now()
		pr, err := b.PresignPut(ctx, key, opts)
		require.NoError(t, err, what)
		exp := opts.Expires
		if exp == 0 {
			exp = backend.DefaultPresignExpiry
		}
		assertPresigned(t, pr, http.MethodPut, start, exp, what)
		if opts.ContentType != "" {
			assert.Equal(t, opts.ContentType, pr.Header.Get("Content-Type"), "%s: Header must carry the signed Content-Type", what)
		}
		if signed, ok := signedHeaders(pr.URL); ok {
			if opts.ContentType != "" {
				assert.Contains(t, signed, "content-type", "%s: the Content-Type is not among the URL's signed headers", what)
			}
			if opts.Size > 0 && strings.Contains(pr.URL, "X-Amz-SignedHeaders") {
				assert.Contains(t, signed, "content-length", "%s: the length is not among the URL's signed headers", what)
			}
		}
		res, err := fetch(ctx, c, pr.Method, pr.URL, pr.Header, data)
		require.NoError(t, err, what)
		if !assert.True(t, is2xx(res.status), "%s: status (%s), want 2xx", what, res.brief()) {
			continue
		}
		st := mustStat(t, ctx, b, key)
		assert.Equal(t, int64(len(data)), st.Size, "%s, then Stat: Size", what)
		if wantCT := pr.Header.Get("Content-Type"); wantCT != "" {
			assert.Equal(t, wantCT, st.ContentType, "%s, then Stat: ContentType", what)
		} else {
			// The uploader sent no type and none was signed: the store picks
			// its default (AWS S3 stores binary/octet-stream).
			assert.Contains(t, []string{backend.DefaultContentType, "binary/octet-stream"}, st.ContentType, "%s, then Stat: ContentType", what)
		}
		got, _ := mustGet(t, ctx, b, key)
		assertBytes(t, data, got, what+", then Get")
	}
}

func checkPresignPutContentType(t T, h Harness) {
	b, ctx, c := presignSetup(t, h, reason("the store does not enforce a signed Content-Type", h.NoContentTypeCheck))
	const key = "presign/put-ct"
	pr, err := b.PresignPut(ctx, key, backend.PresignOptions{ContentType: "image/png"})
	require.NoError(t, err, "PresignPut")
	for _, ct := range []string{"text/html", "", "image/png; charset=utf-8", "IMAGE/PNG2"} {
		hd := pr.Header.Clone()
		if hd == nil {
			hd = http.Header{}
		}
		if ct == "" {
			hd.Del("Content-Type")
		} else {
			hd.Set("Content-Type", ct)
		}
		what := fmt.Sprintf("presigned PUT signed for image/png sent with Content-Type %q", ct)
		res, err := fetch(ctx, c, pr.Method, pr.URL, hd, []byte("<script>"))
		if assert.NoError(t, err, what) {
			assert.True(t, refused(res.status), "%s: status (%s), want 403", what, res.brief())
		}
	}
	assertMissing(t, ctx, b, key, "after presigned PUTs with another Content-Type")
	keys, _ := listKeys(t, ctx, b, backend.ListOptions{}, "List")
	assertKeys(t, nil, keys, "List after refused presigned PUTs")
	res, err := fetch(ctx, c, pr.Method, pr.URL, pr.Header, []byte("png"))
	require.NoError(t, err, "presigned PUT with the signed Content-Type")
	assert.True(t, is2xx(res.status), "presigned PUT with the signed Content-Type: status (%s), want 2xx", res.brief())
}

func checkPresignPutSize(t T, h Harness) {
	b, ctx, c := presignSetup(t, h, reason("the store does not enforce a signed length", h.NoSizeCheck))
	const key, n = "presign/put-size", 100
	pr, err := b.PresignPut(ctx, key, backend.PresignOptions{Size: n, ContentType: "text/plain"})
	require.NoError(t, err, "PresignPut")
	for _, size := range []int{n + 1, n - 1, 0, 2 * n} {
		what := fmt.Sprintf("presigned PUT signed for %d bytes sent with %d", n, size)
		res, err := fetch(ctx, c, pr.Method, pr.URL, pr.Header, make([]byte, size))
		if assert.NoError(t, err, what) {
			assert.True(t, res.status >= 400 && res.status < 500, "%s: status (%s), want 4xx", what, res.brief())
		}
	}
	assertMissing(t, ctx, b, key, "after presigned PUTs of another length")
	keys, _ := listKeys(t, ctx, b, backend.ListOptions{}, "List")
	assertKeys(t, nil, keys, "List after refused presigned PUTs")
	res, err := fetch(ctx, c, pr.Method, pr.URL, pr.Header, make([]byte, n))
	require.NoError(t, err, "presigned PUT of the signed length")
	assert.True(t, is2xx(res.status), "presigned PUT of the signed length: status (%s), want 2xx", res.brief())
}

func checkPresignNoCheckAtPresign(t T, h Harness) {
	b, ctx, c := presignSetup(t, h)
	const key = "presign/missing"
	get, err := b.PresignGet(ctx, key, backend.PresignOptions{})
	require.NoError(t, err, "PresignGet of a missing key")
	_, err = b.PresignPut(ctx, key, backend.PresignOptions{})
	require.NoError(t, err, "PresignPut of a missing key")
	res, err := fetch(ctx, c, get.Method, get.URL, get.Header, nil)
	require.NoError(t, err, "presigned GET of a missing key")
	// S3 answers 403 instead of 404 to a caller that may not list the bucket.
	assert.Contains(t, []int{http.StatusNotFound, http.StatusForbidden}, res.status, "presigned GET of a missing key: status (%s), want 404", res.brief())
}
