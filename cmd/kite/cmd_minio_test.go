package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/testenv"
)

// TestObjectCommandsMinIO runs put, get, cp, ls, stat, presign and rm end to
// end against a real MinIO bucket (serve and demo are for file:// and mem://
// only), and checks each result through the library.
func TestObjectCommandsMinIO(t *testing.T) {
	srv := testenv.MinIO(t)
	t.Parallel()
	store := syncTestBucket(t, srv)
	env := []string{"KITE_STORE=" + store}
	kite := func(stdin string, args ...string) string {
		t.Helper()
		out, errOut, code := runKite(t, stdin, env, args...)
		require.Equal(t, 0, code, "kite %v: stderr: %s", args, errOut)
		assert.NotContains(t, out+errOut, srv.SecretKey, "kite %v printed the secret", args)
		return out
	}
	b := syncTestOpen(t, store)
	ctx := t.Context()
	dir := t.TempDir()

	// put from a file (type from the extension) and from stdin, with metadata.
	data := bytes.Repeat([]byte("kite on minio\n"), 100_000) // 1.4 MB: over the progress threshold
	local := filepath.Join(dir, "report.pdf")
	require.NoError(t, os.WriteFile(local, data, 0o600))
	kite("", "put", "--meta", "owner=alice", local, "docs/a b/report.pdf")
	kite("from stdin", "put", "--content-type", "text/plain", "-", "docs/100%/note.txt")
	st, err := b.Stat(ctx, "docs/a b/report.pdf")
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), st.Size)
	assert.Equal(t, "application/pdf", st.ContentType)
	assert.Equal(t, map[string]string{"owner": "alice"}, st.Metadata)

	// get to a file and to stdout.
	back := filepath.Join(dir, "back.pdf")
	kite("", "get", "docs/a b/report.pdf", back)
	got, err := os.ReadFile(back)
	require.NoError(t, err)
	assert.Equal(t, data, got)
	assert.Equal(t, "from stdin", kite("", "get", "docs/100%/note.txt", "-"))

	// cp inside the bucket (server-side) and from a local store into it.
	kite("", "cp", "docs/a b/report.pdf", "copies/report.pdf")
	_, fileStore := syncTestDir(t)
	fb := syncTestOpen(t, fileStore)
	_, err = fb.Put(ctx, "ü/日本.txt", strings.NewReader("across stores"), backend.PutOptions{ContentType: "text/x-kite", Metadata: map[string]string{"k": "v"}})
	require.NoError(t, err)
	kite("", "cp", "--from", fileStore, "--to", store, "ü/日本.txt", "copies/ü.txt")
	st, err = b.Stat(ctx, "copies/ü.txt")
	require.NoError(t, err)
	assert.Equal(t, "text/x-kite", st.ContentType)
	assert.Equal(t, map[string]string{"k": "v"}, st.Metadata)
	st, err = b.Stat(ctx, "copies/report.pdf")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"owner": "alice"}, st.Metadata)

	// ls and stat.
	assert.Equal(t, "copies/report.pdf\ncopies/ü.txt\ndocs/100%/note.txt\ndocs/a b/report.pdf\n", kite("", "ls"))
	assert.Equal(t, "copies/\ndocs/\n", kite("", "ls", "--delimiter", "/"))
	var stat struct {
		Key         string            `json:"key"`
		Size        int64             `json:"size"`
		ContentType string            `json:"content_type"`
		Metadata    map[string]string `json:"metadata"`
	}
	require.NoError(t, json.Unmarshal([]byte(kite("", "stat", "--json", "docs/a b/report.pdf")), &stat))
	assert.Equal(t, "docs/a b/report.pdf", stat.Key)
	assert.Equal(t, int64(len(data)), stat.Size)
	assert.Equal(t, "alice", stat.Metadata["owner"])

	// presign get and put, used with a plain HTTP client.
	c := &http.Client{}
	getURL := strings.TrimSpace(kite("", "presign", "--filename", "Report March.pdf", "get", "docs/a b/report.pdf"))
	resp, err := c.Get(getURL)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, data, body)
	assert.Contains(t, resp.Header.Get("Content-Disposition"), "Report March.pdf")

	var pr struct {
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
	}
	require.NoError(t, json.Unmarshal([]byte(kite("", "presign", "--json", "--content-type", "image/png", "--size", "5", "put", "up/x.png")), &pr))
	req, err := http.NewRequest(http.MethodPut, pr.URL, strings.NewReader("12345"))
	require.NoError(t, err)
	for k, v := range pr.Headers {
		req.Header.Set(k, v)
	}
	resp, err = c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	st, err = b.Stat(ctx, "up/x.png")
	require.NoError(t, err)
	assert.Equal(t, int64(5), st.Size)
	assert.Equal(t, "image/png", st.ContentType)

	// rm one key, then a prefix.
	kite("", "rm", "up/x.png", "up/never-there")
	_, err = b.Stat(ctx, "up/x.png")
	assert.ErrorIs(t, err, backend.ErrNotFound)
	kite("", "rm", "--prefix", "copies/", "--yes")
	assert.Equal(t, "docs/100%/note.txt\ndocs/a b/report.pdf\n", kite("", "ls"))
}
