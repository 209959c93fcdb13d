package main

import (
	"encoding/json"
	"io"
	"mime"
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

const testSecret = "kite-test-secret-0123456789abcdef-0123456789"

// presignStore is a file:// store whose handler this process serves; the
// URLs that "kite presign" signs with the same store URL are fetched from it.
func presignStore(t *testing.T) (string, backend.Backend) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	raw, b := fileStore(t, url.Values{"base_url": {srv.URL + "/files/"}, "secret": {testSecret}})
	mux.Handle("/files/", b.(interface{ Handler() http.Handler }).Handler())
	return raw, b
}

// parsePresign splits the text output of "kite presign": the URL, then the
// curl-style -H lines.
func parsePresign(t *testing.T, out string) (string, http.Header) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.NotEmpty(t, lines)
	h := http.Header{}
	for _, l := range lines[1:] {
		require.True(t, strings.HasPrefix(l, "-H '") && strings.HasSuffix(l, "'"), "header line %q", l)
		k, v, ok := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(l, "-H '"), "'"), ": ")
		require.True(t, ok, l)
		h.Add(k, v)
	}
	return lines[0], h
}

func do(t *testing.T, method, u string, h http.Header, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(data)
}

func TestPresign(t *testing.T) {
	t.Parallel()
	raw, b := presignStore(t)
	env := storeEnvOf(raw)

	t.Run("put: URL then headers; the signed type and size are enforced", func(t *testing.T) {
		out, errOut, code := runKite(t, "", env, "presign", "put", "docs/a.pdf", "--content-type", "application/pdf", "--size", "5")
		require.Equal(t, 0, code, errOut)
		u, h := parsePresign(t, out)
		assert.Equal(t, http.Header{"Content-Type": {"application/pdf"}}, h)
		resp, _ := do(t, http.MethodPut, u, http.Header{"Content-Type": {"text/plain"}}, "hello")
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "another Content-Type")
		resp, _ = do(t, http.MethodPut, u, h, "hello!")
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "another size")
		resp, _ = do(t, http.MethodPut, u, h, "hello")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		data, obj := getString(t, b, "docs/a.pdf")
		assert.Equal(t, "hello", data)
		assert.Equal(t, "application/pdf", obj.ContentType)
	})

	t.Run("get --filename with a non-ASCII name", func(t *testing.T) {
		putString(t, b, "docs/b.pdf", "%PDF", backend.PutOptions{ContentType: "application/pdf"})
		const name = `Vertrag März "final".pdf`
		out, errOut, code := runKite(t, "", env, "presign", "--filename", name, "get", "docs/b.pdf")
		require.Equal(t, 0, code, errOut)
		u, h := parsePresign(t, out)
		assert.Empty(t, h, "a GET needs no header")
		resp, body := do(t, http.MethodGet, u, nil, "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "%PDF", body)
		disp, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
		require.NoError(t, err)
		assert.Equal(t, "attachment", disp)
		assert.Equal(t, name, params["filename"])
	})

	t.Run("--json", func(t *testing.T) {
		before := time.Now().Truncate(time.Second)
		out, errOut, code := runKite(t, "", env, "presign", "put", "--json", "--expires", "2h", "--content-type", "text/plain", "docs/c.txt")
		require.Equal(t, 0, code, errOut)
		var got presignJSON
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		assert.Equal(t, "PUT", got.Method)
		assert.Equal(t, map[string]string{"Content-Type": "text/plain"}, got.Headers)
		exp, err := time.Parse(time.RFC3339, got.Expires)
		require.NoError(t, err)
		assert.WithinDuration(t, before.Add(2*time.Hour), exp, time.Minute)
		resp, _ := do(t, http.MethodPut, got.URL, http.Header{"Content-Type": {"text/plain"}}, "text")
		assert.Equal(t, http.StatusOK, resp.StatusCode)

		out, errOut, code = runKite(t, "", env, "presign", "get", "--json", "--expires", "7d", "docs/c.txt")
		require.Equal(t, 0, code, errOut)
		got = presignJSON{}
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		assert.Equal(t, "GET", got.Method)
		assert.Equal(t, map[string]string{}, got.Headers)
		resp, body := do(t, http.MethodGet, got.URL, nil, "")
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "text", body)
	})

	t.Run("errors", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			code int
		}{
			{[]string{"presign", "delete", "k"}, 2},
			{[]string{"presign", "get"}, 2},
			{[]string{"presign", "get", "k", "--content-type", "a/b"}, 2},
			{[]string{"presign", "get", "k", "--size", "3"}, 2},
			{[]string{"presign", "put", "k", "--filename", "a.pdf"}, 2},
			{[]string{"presign", "put", "k", "--size", "lots"}, 2},
			{[]string{"presign", "get", "k", "--expires", "soon"}, 2},
			{[]string{"presign", "get", "k", "--expires", "-5m"}, 2},
			{[]string{"presign", "get", "bad//key"}, 2},
			{[]string{"presign", "get", "k", "--expires", "8d"}, 1}, // the store's limit
		} {
			out, errOut, code := runKite(t, "", env, c.args...)
			assert.Equal(t, c.code, code, "%v: %s", c.args, errOut)
			assert.Empty(t, out, c.args)
			assert.NotContains(t, errOut, testSecret, c.args)
		}
		// A store without base_url and secret cannot presign.
		plain, _ := fileStore(t, nil)
		_, errOut, code := runKite(t, "", storeEnvOf(plain), "presign", "get", "k")
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "base_url")
	})
}

func TestShellQuote(t *testing.T) {
	t.Parallel()
	assert.Equal(t, `'Content-Type: text/plain'`, shellQuote("Content-Type: text/plain"))
	assert.Equal(t, `'a'\''b'`, shellQuote("a'b"))
}

func TestParseExpires(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"15m": 15 * time.Minute, "90s": 90 * time.Second, "1d": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "1h30m": 90 * time.Minute} {
		got, err := parseExpires(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "0", "0d", "-1h", "d", "1.5d", "x"} {
		_, err := parseExpires(in)
		assert.ErrorIs(t, err, errUsage, in)
	}
}
