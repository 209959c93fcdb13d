package signurl_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/memory"
)

func newServed(t *testing.T, opts memory.Options) (*memory.Backend, *http.Client) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	opts.BaseURL = srv.URL + "/files/"
	opts.Secret = strings.Repeat("k", 40)
	b, err := memory.New(opts)
	require.NoError(t, err)
	mux.Handle("/files/", b.Handler())
	return b, &http.Client{Transport: &http.Transport{}}
}

func do(t *testing.T, c *http.Client, method, url string, body io.Reader, hdr http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(data)
}

func TestGetServesRangesAndValidators(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, c := newServed(t, memory.Options{CORSOrigins: []string{"http://app.test"}})
	_, err := b.Put(ctx, "u/d/f.txt", strings.NewReader("0123456789"), backend.PutOptions{ContentType: "text/plain"})
	require.NoError(t, err)
	req, err := b.PresignGet(ctx, "u/d/f.txt", backend.PresignOptions{ContentDisposition: `attachment; filename="Report March.txt"`})
	require.NoError(t, err)

	resp, body := do(t, c, "GET", req.URL, nil, http.Header{"Origin": {"http://app.test"}})
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "0123456789", body)
	assert.Equal(t, "text/plain", resp.Header.Get("Content-Type"))
	assert.Equal(t, `attachment; filename="Report March.txt"`, resp.Header.Get("Content-Disposition"))
	assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	assert.Equal(t, "http://app.test", resp.Header.Get("Access-Control-Allow-Origin"))
	etag := resp.Header.Get("ETag")
	require.NotEmpty(t, etag)

	resp, body = do(t, c, "GET", req.URL, nil, http.Header{"Range": {"bytes=2-4"}})
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.Equal(t, "234", body)
	resp, body = do(t, c, "GET", req.URL, nil, http.Header{"Range": {"bytes=-3"}})
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.Equal(t, "789", body)
	resp, _ = do(t, c, "GET", req.URL, nil, http.Header{"If-None-Match": {etag}})
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)
	resp, body = do(t, c, "HEAD", req.URL, nil, nil)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Empty(t, body)
	assert.Equal(t, int64(10), resp.ContentLength)

	missing, err := b.PresignGet(ctx, "u/d/none", backend.PresignOptions{})
	require.NoError(t, err)
	resp, body = do(t, c, "GET", missing.URL, nil, nil)
	assert.Equal(t, 404, resp.StatusCode)
	assert.NotContains(t, body, "u/d/none")
}

func TestPutStoresAtomicallyWithLimits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, c := newServed(t, memory.Options{MaxUploadSize: 16})
	req, err := b.PresignPut(ctx, "up/x y.bin", backend.PresignOptions{ContentType: "application/pdf", Size: 5})
	require.NoError(t, err)
	resp, _ := do(t, c, "PUT", req.URL, strings.NewReader("hello"), req.Header)
	require.Equal(t, 200, resp.StatusCode)
	first, err := b.Stat(ctx, "up/x y.bin")
	require.NoError(t, err)
	assert.Equal(t, int64(5), first.Size)
	assert.Equal(t, "application/pdf", first.ContentType)
	assert.Equal(t, `"`+first.ETag+`"`, resp.Header.Get("ETag"))

	// Over the configured maximum, known length and chunked: refused, nothing stored.
	any, err := b.PresignPut(ctx, "up/big", backend.PresignOptions{})
	require.NoError(t, err)
	resp, _ = do(t, c, "PUT", any.URL, strings.NewReader(strings.Repeat("x", 17)), nil)
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	resp, _ = do(t, c, "PUT", any.URL, io.MultiReader(strings.NewReader(strings.Repeat("x", 17))), nil)
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	_, err = b.Stat(ctx, "up/big")
	assert.ErrorIs(t, err, backend.ErrNotFound)

	// Unsigned content type: the uploader's is stored.
	resp, _ = do(t, c, "PUT", any.URL, strings.NewReader("ok"), http.Header{"Content-Type": {"image/png"}})
	require.Equal(t, 200, resp.StatusCode)
	o, err := b.Stat(ctx, "up/big")
	require.NoError(t, err)
	assert.Equal(t, "image/png", o.ContentType)

	// Signed size, chunked body of another length: refused by the exact-size check.
	resp, _ = do(t, c, "PUT", req.URL, io.MultiReader(strings.NewReader("hello!")), req.Header)
	assert.GreaterOrEqual(t, resp.StatusCode, 400)
	o2, err := b.Stat(ctx, "up/x y.bin")
	require.NoError(t, err)
	assert.Equal(t, first.ETag, o2.ETag, "old object kept")
}
