package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
)

// fileStore returns the URL of a new file:// store in a temporary directory
// (with the extra query parameters) and the store opened in this process: the
// command run as a subprocess sees the same objects.
func fileStore(t *testing.T, query url.Values) (string, backend.Backend) {
	t.Helper()
	q := url.Values{"nosync": {"true"}}
	for k, v := range query {
		q[k] = v
	}
	raw := (&url.URL{Scheme: "file", Path: t.TempDir(), RawQuery: q.Encode()}).String()
	b, err := backend.Open(context.Background(), raw)
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	return raw, b
}

func storeEnvOf(raw string) []string { return []string{storeEnv + "=" + raw} }

func putString(t *testing.T, b backend.Backend, key, content string, opts backend.PutOptions) {
	t.Helper()
	_, err := b.Put(context.Background(), key, strings.NewReader(content), opts)
	require.NoError(t, err)
}

func getString(t *testing.T, b backend.Backend, key string) (string, *backend.Object) {
	t.Helper()
	rc, obj, err := b.Get(context.Background(), key, backend.GetOptions{})
	require.NoError(t, err)
	defer rc.Close()
	data, err := io.ReadAll(rc)
	require.NoError(t, err)
	return string(data), obj
}

func TestPutGet(t *testing.T) {
	t.Parallel()
	raw, b := fileStore(t, nil)
	env := storeEnvOf(raw)
	dir := t.TempDir()
	local := filepath.Join(dir, "Report March.pdf")
	require.NoError(t, os.WriteFile(local, []byte("%PDF-1.7 report"), 0o644))

	t.Run("put a file guesses the type and keeps metadata", func(t *testing.T) {
		_, errOut, code := runKite(t, "", env, "put", "--meta", "author=alice", "--meta", "v=2", local, "docs/report.pdf")
		require.Equal(t, 0, code, errOut)
		data, obj := getString(t, b, "docs/report.pdf")
		assert.Equal(t, "%PDF-1.7 report", data)
		assert.Equal(t, "application/pdf", obj.ContentType)
		assert.Equal(t, map[string]string{"author": "alice", "v": "2"}, obj.Metadata)
	})

	t.Run("put into a prefix takes the base name", func(t *testing.T) {
		_, errOut, code := runKite(t, "", env, "put", local, "docs/")
		require.Equal(t, 0, code, errOut)
		data, _ := getString(t, b, "docs/Report March.pdf")
		assert.Equal(t, "%PDF-1.7 report", data)
	})

	t.Run("put from stdin, type from the key, flags after the arguments", func(t *testing.T) {
		_, errOut, code := runKite(t, "<html></html>", env, "put", "-", "page.html", "--quiet")
		require.Equal(t, 0, code, errOut)
		data, obj := getString(t, b, "page.html")
		assert.Equal(t, "<html></html>", data)
		assert.Equal(t, "text/html; charset=utf-8", obj.ContentType)

		_, errOut, code = runKite(t, "raw", env, "put", "--content-type", "application/x-kite", "-", "raw.bin")
		require.Equal(t, 0, code, errOut)
		_, obj = getString(t, b, "raw.bin")
		assert.Equal(t, "application/x-kite", obj.ContentType)
	})

	t.Run("a key starting with a dash after --", func(t *testing.T) {
		_, errOut, code := runKite(t, "dash", env, "put", "--", "-", "-draft")
		require.Equal(t, 0, code, errOut)
		out, errOut, code := runKite(t, "", env, "get", "--", "-draft", "-")
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, "dash", out)
	})

	t.Run("get to stdout and to a file", func(t *testing.T) {
		out, errOut, code := runKite(t, "", env, "get", "docs/report.pdf", "-")
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, "%PDF-1.7 report", out)

		dst := filepath.Join(dir, "out.pdf")
		_, errOut, code = runKite(t, "", env, "get", "docs/report.pdf", dst)
		require.Equal(t, 0, code, errOut)
		data, err := os.ReadFile(dst)
		require.NoError(t, err)
		assert.Equal(t, "%PDF-1.7 report", string(data))
	})

	t.Run("get into a directory names the file after the key", func(t *testing.T) {
		sub := filepath.Join(dir, "sub")
		require.NoError(t, os.Mkdir(sub, 0o755))
		_, errOut, code := runKite(t, "", env, "get", "page.html", sub)
		require.Equal(t, 0, code, errOut)
		data, err := os.ReadFile(filepath.Join(sub, "page.html"))
		require.NoError(t, err)
		assert.Equal(t, "<html></html>", string(data))
	})

	t.Run("a failed get leaves the old file and no temporary file", func(t *testing.T) {
		dst := filepath.Join(dir, "keep.txt")
		require.NoError(t, os.WriteFile(dst, []byte("old"), 0o600))
		_, errOut, code := runKite(t, "", env, "get", "no/such", dst)
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "not found")
		data, err := os.ReadFile(dst)
		require.NoError(t, err)
		assert.Equal(t, "old", string(data))
		assertNoTemp(t, dir)
	})

	t.Run("get replacing a file keeps its permissions", func(t *testing.T) {
		dst := filepath.Join(dir, "private.pdf")
		require.NoError(t, os.WriteFile(dst, []byte("old"), 0o600))
		_, errOut, code := runKite(t, "", env, "get", "docs/report.pdf", dst)
		require.Equal(t, 0, code, errOut)
		st, err := os.Stat(dst)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
		data, _ := os.ReadFile(dst)
		assert.Equal(t, "%PDF-1.7 report", string(data))
	})

	t.Run("get to /dev/null writes through", func(t *testing.T) {
		_, errOut, code := runKite(t, "", env, "get", "docs/report.pdf", os.DevNull)
		require.Equal(t, 0, code, errOut)
		st, err := os.Stat(os.DevNull)
		require.NoError(t, err)
		assert.False(t, st.Mode().IsRegular(), "/dev/null was replaced by a file")
	})

	t.Run("usage errors exit 2 before any I/O", func(t *testing.T) {
		for _, args := range [][]string{
			{"put", local},
			{"put", "-", "docs/"},
			{"put", local, "a//b"},
			{"put", "--meta", "novalue", local, "k"},
			{"get", "k"},
			{"get", "/abs", "-"},
			{"get", "k", "-", "extra"},
			{"cp", "a"},
			{"cp", "a", "../b"},
		} {
			_, errOut, code := runKite(t, "", env, args...)
			assert.Equal(t, 2, code, "%v: %s", args, errOut)
		}
		_, errOut, code := runKite(t, "", []string{storeEnv + "="}, "get", "k", "-")
		assert.Equal(t, 2, code)
		assert.Contains(t, errOut, "no store")
	})
}

// assertNoTemp fails if a temporary file of writeFileAtomic is left in dir.
func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.NotContains(t, e.Name(), ".kite-", "temporary file left behind")
	}
}

func TestTransferNoProgressWithoutTerminal(t *testing.T) {
	t.Parallel()
	raw, b := fileStore(t, nil)
	env := storeEnvOf(raw)
	dir := t.TempDir()
	big := make([]byte, 3<<20) // over progressMin, so only the terminal test stops the bar
	_, _ = rand.Read(big)
	local := filepath.Join(dir, "big.bin")
	require.NoError(t, os.WriteFile(local, big, 0o644))

	for _, c := range []struct {
		name  string
		stdin string
		args  []string
	}{
		{"put file", "", []string{"put", local, "big.bin"}},
		{"put stdin", string(big), []string{"put", "-", "big2.bin"}},
		{"get file", "", []string{"get", "big.bin", filepath.Join(dir, "back.bin")}},
		{"get stdout", "", []string{"get", "big2.bin", "-"}},
		{"cp streamed", "", []string{"cp", "--to", raw + "&create_dir=true", "big.bin", "big3.bin"}},
	} {
		out, errOut, code := runKite(t, c.stdin, env, c.args...)
		require.Equal(t, 0, code, "%s: %s", c.name, errOut)
		assert.Empty(t, errOut, "%s: progress output on a non-terminal stderr", c.name)
		if c.name == "get stdout" {
			assert.True(t, bytes.Equal(big, []byte(out)), "get stdout: content differs")
		}
	}
	back, err := os.ReadFile(filepath.Join(dir, "back.bin"))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(big, back), "get file: content differs")
	for _, k := range []string{"big2.bin", "big3.bin"} {
		data, _ := getString(t, b, k)
		assert.True(t, data == string(big), "%s: content differs", k)
	}
}

func TestCp(t *testing.T) {
	t.Parallel()
	rawA, a := fileStore(t, nil)
	rawB, b := fileStore(t, nil)
	putString(t, a, "src/doc.pdf", "content", backend.PutOptions{ContentType: "application/pdf", Metadata: map[string]string{"owner": "alice"}})

	t.Run("within one store", func(t *testing.T) {
		_, errOut, code := runKite(t, "", storeEnvOf(rawA), "cp", "src/doc.pdf", "dst/")
		require.Equal(t, 0, code, errOut)
		data, obj := getString(t, a, "dst/doc.pdf")
		assert.Equal(t, "content", data)
		assert.Equal(t, "application/pdf", obj.ContentType)
		assert.Equal(t, map[string]string{"owner": "alice"}, obj.Metadata)
	})

	t.Run("between stores, streamed", func(t *testing.T) {
		_, errOut, code := runKite(t, "", nil, "cp", "--from", rawA, "--to", rawB, "src/doc.pdf", "copy.pdf")
		require.Equal(t, 0, code, errOut)
		data, obj := getString(t, b, "copy.pdf")
		assert.Equal(t, "content", data)
		assert.Equal(t, "application/pdf", obj.ContentType)
		assert.Equal(t, map[string]string{"owner": "alice"}, obj.Metadata)
		_, err := a.Stat(context.Background(), "copy.pdf")
		assert.ErrorIs(t, err, backend.ErrNotFound, "written to the source store")
	})

	t.Run("a missing source fails with 1", func(t *testing.T) {
		_, errOut, code := runKite(t, "", nil, "cp", "--from", rawA, "--to", rawB, "nope", "x")
		assert.Equal(t, 1, code)
		assert.Contains(t, errOut, "not found")
	})
}

// failingReader yields n bytes, then fails.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errors.New("connection reset")
	}
	k := min(len(p), r.n)
	for i := range p[:k] {
		p[i] = 'x'
	}
	r.n -= k
	return k, nil
}

func TestWriteFileAtomic(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		r       io.Reader
		size    int64
		wantErr string
	}{
		{"interrupted", &failingReader{n: 5000}, 10000, "connection reset"},
		{"short", strings.NewReader("abc"), 10, "read 3 bytes, the object has 10"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			dst := filepath.Join(dir, "f")
			require.NoError(t, os.WriteFile(dst, []byte("old"), 0o644))
			err := writeFileAtomic(dst, c.r, c.size)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.wantErr)
			data, _ := os.ReadFile(dst)
			assert.Equal(t, "old", string(data))
			assertNoTemp(t, dir)

			// With no old file, nothing at all is left.
			dst2 := filepath.Join(dir, "new")
			c.r = &failingReader{n: 10}
			require.Error(t, writeFileAtomic(dst2, c.r, 100))
			assert.NoFileExists(t, dst2)
			assertNoTemp(t, dir)
		})
	}

	t.Run("through a symbolic link", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		target := filepath.Join(dir, "target")
		require.NoError(t, os.WriteFile(target, []byte("old"), 0o644))
		link := filepath.Join(dir, "link")
		require.NoError(t, os.Symlink(target, link))
		require.NoError(t, writeFileAtomic(link, strings.NewReader("new"), 3))
		data, _ := os.ReadFile(target)
		assert.Equal(t, "new", string(data))
		fi, err := os.Lstat(link)
		require.NoError(t, err)
		assert.Equal(t, os.ModeSymlink, fi.Mode()&os.ModeSymlink, "the link was replaced")
	})
}

func TestParseArgs(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args  []string
		pos   []string
		quiet bool
	}{
		{[]string{"a", "b"}, []string{"a", "b"}, false},
		{[]string{"--quiet", "a", "b"}, []string{"a", "b"}, true},
		{[]string{"a", "--quiet", "b"}, []string{"a", "b"}, true},
		{[]string{"a", "b", "--quiet"}, []string{"a", "b"}, true},
		{[]string{"-", "k"}, []string{"-", "k"}, false},
		{[]string{"--", "-x", "--quiet"}, []string{"-x", "--quiet"}, false},
		{[]string{"a", "--", "--quiet"}, []string{"a", "--quiet"}, false},
	} {
		fs := newFlags("t", io.Discard)
		quiet := fs.Bool("quiet", false, "")
		pos, err := parseArgs(fs, c.args)
		require.NoError(t, err, c.args)
		assert.Equal(t, c.pos, pos, c.args)
		assert.Equal(t, c.quiet, *quiet, c.args)
	}
	fs := newFlags("t", io.Discard)
	_, err := parseArgs(fs, []string{"a", "--nosuch"})
	assert.ErrorIs(t, err, errUsage)
}
