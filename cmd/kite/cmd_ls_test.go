package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
)

func TestLsStat(t *testing.T) {
	t.Parallel()
	raw, b := fileStore(t, nil)
	env := storeEnvOf(raw)
	for _, k := range []string{"a/1.pdf", "a/b/2.pdf", "a/b/3.pdf", "a b/ü.txt", "z"} {
		putString(t, b, k, "data of "+k, backend.PutOptions{ContentType: "application/pdf", Metadata: map[string]string{"who": "alice", "n": "1"}})
	}

	t.Run("flat, every key", func(t *testing.T) {
		out, errOut, code := runKite(t, "", env, "ls")
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, "a b/ü.txt\na/1.pdf\na/b/2.pdf\na/b/3.pdf\nz\n", out)
	})

	t.Run("prefix and delimiter", func(t *testing.T) {
		out, errOut, code := runKite(t, "", env, "ls", "--delimiter", "/", "a/")
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, "a/1.pdf\na/b/\n", out)
	})

	t.Run("-l shows size, time and key, PRE for prefixes", func(t *testing.T) {
		out, errOut, code := runKite(t, "", env, "ls", "-l", "--delimiter", "/", "a/")
		require.Equal(t, 0, code, errOut)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		require.Len(t, lines, 2)
		assert.Regexp(t, `^ +15  \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  a/1\.pdf$`, lines[0])
		assert.Regexp(t, `^ +PRE {24}a/b/$`, lines[1])
	})

	t.Run("--json lines", func(t *testing.T) {
		out, errOut, code := runKite(t, "", env, "ls", "--json", "--delimiter", "/", "a/")
		require.Equal(t, 0, code, errOut)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		require.Len(t, lines, 2)
		var obj, pre map[string]any
		require.NoError(t, json.Unmarshal([]byte(lines[0]), &obj))
		require.NoError(t, json.Unmarshal([]byte(lines[1]), &pre))
		assert.Equal(t, "a/1.pdf", obj["key"])
		assert.Equal(t, float64(15), obj["size"])
		assert.NotEmpty(t, obj["etag"])
		_, err := time.Parse(time.RFC3339Nano, obj["last_modified"].(string))
		assert.NoError(t, err)
		assert.Nil(t, obj["prefix"])
		assert.Equal(t, map[string]any{"key": "a/b/", "prefix": true}, pre)
	})

	t.Run("an empty listing prints nothing", func(t *testing.T) {
		out, errOut, code := runKite(t, "", env, "ls", "nothing/")
		require.Equal(t, 0, code, errOut)
		assert.Empty(t, out)
	})

	t.Run("stat", func(t *testing.T) {
		out, errOut, code := runKite(t, "", env, "stat", "a b/ü.txt")
		require.Equal(t, 0, code, errOut)
		assert.Regexp(t, `^key: a b/ü\.txt
size: 18
content-type: application/pdf
etag: \S+
last-modified: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ
meta\.n: 1
meta\.who: alice
$`, out)
	})

	t.Run("stat --json", func(t *testing.T) {
		out, errOut, code := runKite(t, "", env, "stat", "--json", "z")
		require.Equal(t, 0, code, errOut)
		var got statJSON
		require.NoError(t, json.Unmarshal([]byte(out), &got))
		st, _ := getString(t, b, "z")
		assert.Equal(t, "data of z", st)
		want, err := b.Stat(t.Context(), "z")
		require.NoError(t, err)
		assert.Equal(t, statJSON{Key: "z", Size: 9, ContentType: "application/pdf", ETag: want.ETag,
			LastModified: want.LastModified.UTC().Format(time.RFC3339Nano), Metadata: map[string]string{"who": "alice", "n": "1"}}, got)
		lm, err := time.Parse(time.RFC3339, got.LastModified)
		require.NoError(t, err)
		assert.True(t, lm.Equal(want.LastModified))
	})

	t.Run("stat --json of an object without metadata has an empty object", func(t *testing.T) {
		putString(t, b, "plain", "x", backend.PutOptions{})
		out, errOut, code := runKite(t, "", env, "stat", "--json", "plain")
		require.Equal(t, 0, code, errOut)
		assert.Contains(t, out, `"metadata":{}`)
		assert.Contains(t, out, `"content_type":"application/octet-stream"`)
	})

	t.Run("errors", func(t *testing.T) {
		_, errOut, code := runKite(t, "", env, "stat", "no/such")
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "not found")
		for _, args := range [][]string{{"stat"}, {"stat", "a", "b"}, {"stat", "a/"}, {"ls", "a", "b"}, {"ls", "-l", "--json"}} {
			_, _, code := runKite(t, "", env, args...)
			assert.Equal(t, 2, code, args)
		}
	})
}
