package minio_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/testenv"
)

// fsFiles is a tree for the io/fs view on MinIO: nested and deep
// directories, root files, spaces, unicode, "%", "?", "+", hidden names, an
// empty file, and "p-r" < "p/q" < "p0" (key order is not name order). No
// key is also a directory: MinIO lists no key below an object of its name.
var fsFiles = map[string]string{
	"README.md":                "# Kite\n",
	".hidden":                  "hidden",
	"empty":                    "",
	"docs/guide.txt":           "The guide.\n",
	"docs/api/v1/spec.json":    `{"openapi":"3.1.0"}`,
	"deep/a/b/c/d/e/f/g/h.txt": "deep down",
	"with space/a b.txt":       "spaces",
	"ü/日本語.txt":                "こんにちは",
	"100%/x+y=z?.txt":          "percent, plus, equals, question mark",
	"dir/.kite":                "hidden in a directory",
	"p-r":                      "before p/",
	"p/q":                      "inside p",
	"p0":                       "after p/",
}

func fsNames(files map[string]string) []string {
	seen := map[string]bool{}
	for k := range files {
		for name := k; ; {
			seen[name] = true
			i := strings.LastIndex(name, "/")
			if i < 0 {
				break
			}
			name = name[:i]
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// TestFS runs testing/fstest.TestFS over backend.FS of a MinIO bucket, and
// reads ranges of a larger object through Seek, ReadAt and
// http.FileServerFS.
func TestFS(t *testing.T) {
	srv := testenv.MinIO(t)
	admin := adminClient(t, srv)
	b := openBucket(t, srv, newBucket(t, admin), "secure=false")
	ctx := context.Background()
	for k, v := range fsFiles {
		_, err := b.Put(ctx, k, strings.NewReader(v), backend.PutOptions{Size: int64(len(v))})
		require.NoError(t, err, "Put %q", k)
	}
	fsys := backend.FS(b)

	t.Run("fstest.TestFS", func(t *testing.T) {
		require.NoError(t, fstest.TestFS(fsys, fsNames(fsFiles)...))
	})

	t.Run("ReadDir pages", func(t *testing.T) {
		f, err := fsys.Open(".")
		require.NoError(t, err)
		defer f.Close()
		var got []string
		for {
			page, err := f.(fs.ReadDirFile).ReadDir(2)
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			require.NotEmpty(t, page)
			for _, e := range page {
				got = append(got, e.Name())
			}
			require.LessOrEqual(t, len(got), 20)
		}
		// Key order: "p-r" < "p/" < "p0".
		assert.Equal(t, []string{".hidden", "100%", "README.md", "deep", "dir", "docs", "empty", "p-r", "p", "p0", "with space", "ü"}, got)
	})

	const size = 1 << 20
	big := make([]byte, size)
	for i := range big {
		big[i] = byte(i*7 + i/251)
	}
	_, err := b.Put(ctx, "files/big.bin", bytes.NewReader(big), backend.PutOptions{Size: size})
	require.NoError(t, err)

	t.Run("Seek and ReadAt", func(t *testing.T) {
		f, err := fsys.Open("files/big.bin")
		require.NoError(t, err)
		defer f.Close()
		rs := f.(io.ReadSeeker)
		ra := f.(io.ReaderAt)
		buf := make([]byte, 4096)
		for _, off := range []int64{0, 1, 4095, 65_536, 500_001, size - 4096} {
			_, err := rs.Seek(off, io.SeekStart)
			require.NoError(t, err)
			_, err = io.ReadFull(rs, buf)
			require.NoError(t, err, "Read at %d", off)
			assert.True(t, bytes.Equal(big[off:off+4096], buf), "Read at %d", off)

			n, err := ra.ReadAt(buf, size-off-1)
			want := min(4096, off+1)
			if want < 4096 {
				assert.Equal(t, io.EOF, err)
			} else {
				assert.NoError(t, err)
			}
			require.Equal(t, int(want), n)
			assert.True(t, bytes.Equal(big[size-off-1:size-off-1+want], buf[:n]), "ReadAt at %d", size-off-1)
		}
	})

	t.Run("http.FileServerFS range", func(t *testing.T) {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.FileServerFS(fsys.WithContext(r.Context())).ServeHTTP(w, r)
		}))
		defer hs.Close()
		req, err := http.NewRequest(http.MethodGet, hs.URL+"/files/big.bin", nil)
		require.NoError(t, err)
		req.Header.Set("Range", "bytes=700000-700099")
		resp, err := hs.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
		assert.Equal(t, fmt.Sprintf("bytes 700000-700099/%d", size), resp.Header.Get("Content-Range"))
		assert.True(t, bytes.Equal(big[700000:700100], body))
	})
}
