package backend_test

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"iter"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/local"
	"github.com/kitehq/kite/memory"
)

// fsTree is a store's worth of files for the io/fs view: nested and deep
// directories, files at the root, spaces, unicode, "%", "?", "+", hidden
// names, an empty file, and "p-r" < "p/q" < "p0", where key order and name
// order differ (the directory "p" lists where "p/" sorts).
var fsTree = map[string]string{
	"README.md":                "# Kite\n",
	"index.html":               "<!doctype html><title>kite</title><h1>Kite</h1>\n",
	".hidden":                  "not listed by ls, listed here",
	"empty":                    "",
	"blob":                     "no extension: the content type is sniffed",
	"docs/guide.txt":           "The guide: Put, Get, Stat, List, Copy, Delete.\n",
	"docs/api/v1/spec.json":    `{"openapi":"3.1.0"}`,
	"docs/api/v2/spec.json":    `{"openapi":"3.2.0"}`,
	"deep/a/b/c/d/e/f/g/h.txt": "deep down",
	"with space/a b.txt":       "spaces in both",
	"ü/日本語.txt":                "こんにちは",
	"100%/x+y=z?.txt":          "percent, plus, equals, question mark",
	"dir/.kite":                "a hidden file in a directory",
	"p-r":                      "before p/ in key order",
	"p/q":                      "inside p",
	"p0":                       "after p/ in key order",
}

// fsTreeNames are the files and directories of fsTree.
func fsTreeNames() []string {
	seen := map[string]bool{}
	var names []string
	for k := range fsTree {
		for name := k; name != "."; name = pathDir(name) {
			if !seen[name] {
				seen[name] = true
				names = append(names, name)
			}
		}
	}
	slices.Sort(names)
	return names
}

func pathDir(name string) string {
	if i := strings.LastIndex(name, "/"); i >= 0 {
		return name[:i]
	}
	return "."
}

func putFiles(t *testing.T, b backend.Backend, files map[string]string) {
	t.Helper()
	for k, v := range files {
		_, err := b.Put(context.Background(), k, strings.NewReader(v), backend.PutOptions{Size: int64(len(v))})
		require.NoError(t, err, "Put %q", k)
	}
}

func newMemory(t *testing.T) *memory.Backend {
	t.Helper()
	b, err := memory.New(memory.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func newLocal(t *testing.T) *local.Backend {
	t.Helper()
	b, err := local.New(t.TempDir(), local.Options{NoSync: true, NoSweep: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

var fsDrivers = []struct {
	name string
	new  func(*testing.T) backend.Backend
}{
	{"memory", func(t *testing.T) backend.Backend { return newMemory(t) }},
	{"local", func(t *testing.T) backend.Backend { return newLocal(t) }},
}

func TestFSTestFS(t *testing.T) {
	for _, d := range fsDrivers {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			b := d.new(t)
			putFiles(t, b, fsTree)
			require.NoError(t, fstest.TestFS(backend.FS(b), fsTreeNames()...))
		})
		t.Run(d.name+"/empty store", func(t *testing.T) {
			t.Parallel()
			require.NoError(t, fstest.TestFS(backend.FS(d.new(t))))
		})
		// An object "a" beside keys "a/…": the file wins, listed once.
		t.Run(d.name+"/file beside keys below it", func(t *testing.T) {
			t.Parallel()
			b := d.new(t)
			putFiles(t, b, map[string]string{"a": "the file a", "a/x": "hidden below a", "a-c": "1", "a.b": "2", "a0/y": "3", "z": "4"})
			fsys := backend.FS(b)
			require.NoError(t, fstest.TestFS(fsys, "a", "a-c", "a.b", "a0", "a0/y", "z"))

			entries, err := fsys.ReadDir(".")
			require.NoError(t, err)
			assert.Equal(t, []string{"a", "a-c", "a.b", "a0", "z"}, entryNames(entries))
			assert.False(t, entries[0].IsDir(), "a is the file")
			info, err := fsys.Stat("a")
			require.NoError(t, err)
			assert.False(t, info.IsDir())
			assert.Equal(t, int64(len("the file a")), info.Size())
			data, err := fsys.ReadFile("a/x")
			require.NoError(t, err, "a key below a file is still reachable by name")
			assert.Equal(t, "hidden below a", string(data))
		})
	}
}

func entryNames(entries []fs.DirEntry) []string {
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names
}

func TestFSInfo(t *testing.T) {
	t.Parallel()
	b := newMemory(t)
	putFiles(t, b, fsTree)
	fsys := backend.FS(b)
	before := time.Now().Add(-time.Second)

	info, err := fsys.Stat("docs/guide.txt")
	require.NoError(t, err)
	assert.Equal(t, "guide.txt", info.Name())
	assert.Equal(t, int64(len(fsTree["docs/guide.txt"])), info.Size())
	assert.Equal(t, fs.FileMode(0o444), info.Mode())
	assert.False(t, info.IsDir())
	assert.Equal(t, time.UTC, info.ModTime().Location())
	assert.Zero(t, info.ModTime().Nanosecond(), "to the second")
	assert.WithinRange(t, info.ModTime(), before.Truncate(time.Second), time.Now())
	obj, ok := info.Sys().(*backend.Object)
	require.True(t, ok, "Sys() is %T", info.Sys())
	assert.Equal(t, "docs/guide.txt", obj.Key)
	assert.NotEmpty(t, obj.ETag)

	for _, name := range []string{".", "docs", "docs/api", "ü"} {
		info, err := fsys.Stat(name)
		require.NoError(t, err, name)
		assert.True(t, info.IsDir(), name)
		assert.Equal(t, fs.ModeDir|0o555, info.Mode(), name)
		assert.Nil(t, info.Sys(), name)
		assert.True(t, info.ModTime().IsZero(), name)
	}
	info, err = fsys.Stat(".")
	require.NoError(t, err)
	assert.Equal(t, ".", info.Name())

	// A listed entry carries the same ModTime as a Stat of it.
	entries, err := fsys.ReadDir("docs")
	require.NoError(t, err)
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		listed, err := e.Info()
		require.NoError(t, err)
		stat, err := fsys.Stat("docs/" + e.Name())
		require.NoError(t, err)
		assert.Zero(t, listed.ModTime().Nanosecond(), "%s: to the second", e.Name())
		assert.Equal(t, stat.ModTime(), listed.ModTime(), e.Name())
		assert.Equal(t, stat.Size(), listed.Size(), e.Name())
	}
}

func TestFSErrors(t *testing.T) {
	t.Parallel()
	b := newMemory(t)
	putFiles(t, b, fsTree)
	fsys := backend.FS(b)

	// checks calls every way of naming a file that must fail with want.
	checks := func(t *testing.T, name string, want error) {
		t.Helper()
		_, err := fsys.Open(name)
		assertPathErr(t, err, "open", name, want)
		_, err = fsys.Stat(name)
		assertPathErr(t, err, "stat", name, want)
		_, err = fsys.ReadFile(name)
		assertPathErr(t, err, "open", name, want)
		_, err = fsys.ReadDir(name)
		assertPathErr(t, err, "readdir", name, want)
	}
	t.Run("not found", func(t *testing.T) {
		for _, name := range []string{"nope", "docs/nope", "docs/guide.txt/x", "docs/api/v3", "README.m", "README.md.x"} {
			checks(t, name, fs.ErrNotExist)
			_, err := fsys.Open(name)
			assert.ErrorIs(t, err, backend.ErrNotFound, name)
		}
	})
	t.Run("invalid paths", func(t *testing.T) {
		for _, name := range []string{"", "/", "/docs", "docs/", "docs//guide.txt", "./docs", "docs/./guide.txt", "docs/../README.md", "..", "\xff"} {
			checks(t, name, fs.ErrInvalid)
		}
		_, err := fsys.Sub("docs/")
		assertPathErr(t, err, "sub", "docs/", fs.ErrInvalid)
	})
	t.Run("valid paths that are no key", func(t *testing.T) {
		for _, name := range []string{`docs\guide.txt`, "a\x01b", "a\x7f", "a\u0085b", strings.Repeat("x", backend.MaxKeyLen+1), strings.Repeat("x", backend.MaxSegmentLen+1) + "/y"} {
			checks(t, name, fs.ErrNotExist)
			_, err := fsys.Open(name)
			assert.NotErrorIs(t, err, fs.ErrInvalid, "%q", name)
			assert.ErrorContains(t, err, "invalid key", "%q", name)
		}
		_, err := fsys.Sub(`a\b`)
		assertPathErr(t, err, "sub", `a\b`, fs.ErrNotExist)
	})
	t.Run("directories and files", func(t *testing.T) {
		_, err := fsys.ReadDir("README.md")
		assertPathErr(t, err, "readdir", "README.md", nil)
		assert.ErrorContains(t, err, "not a directory")
		for _, name := range []string{".", "docs", "docs/api"} {
			_, err := fsys.ReadFile(name)
			assertPathErr(t, err, "read", name, nil)
			assert.ErrorContains(t, err, "is a directory")

			f, err := fsys.Open(name)
			require.NoError(t, err)
			_, err = f.Read(make([]byte, 1))
			assertPathErr(t, err, "read", name, nil)
			assert.ErrorContains(t, err, "is a directory")
			require.NoError(t, f.Close())
		}
		f, err := fsys.Open("README.md")
		require.NoError(t, err)
		t.Cleanup(func() { _ = f.Close() })
		_, isDir := f.(fs.ReadDirFile)
		assert.False(t, isDir, "a file is no fs.ReadDirFile")
	})
	t.Run("backend errors pass through", func(t *testing.T) {
		b := newMemory(t)
		putFiles(t, b, map[string]string{"x": "x"})
		fsys := backend.FS(b)
		require.NoError(t, b.Close())
		_, err := fsys.Open("x")
		assertPathErr(t, err, "open", "x", backend.ErrClosed)
		var be *backend.Error
		require.ErrorAs(t, err, &be)
		assert.Equal(t, "Stat", be.Op)
		_, err = fsys.ReadDir(".")
		assertPathErr(t, err, "readdir", ".", backend.ErrClosed)
	})
	t.Run("nil backend", func(t *testing.T) {
		_, err := backend.FS(nil).Open("x")
		assertPathErr(t, err, "open", "x", nil)
	})
}

// assertPathErr checks that err is a *fs.PathError for op and name that
// matches want (when want is not nil).
func assertPathErr(t *testing.T, err error, op, name string, want error) {
	t.Helper()
	var pe *fs.PathError
	if !assert.ErrorAs(t, err, &pe, "%s %q", op, name) {
		return
	}
	assert.Equal(t, op, pe.Op, "%q", name)
	assert.Equal(t, name, pe.Path)
	if want != nil {
		assert.ErrorIs(t, err, want, "%s %q", op, name)
	}
}

// recorder records the Gets and Lists that reach a backend and counts the
// bodies left open.
type recorder struct {
	backend.Backend
	mu    sync.Mutex
	gets  []backend.GetOptions
	lists []backend.ListOptions
	open  int
}

func (r *recorder) Get(ctx context.Context, key string, opts backend.GetOptions) (io.ReadCloser, *backend.Object, error) {
	r.mu.Lock()
	r.gets = append(r.gets, opts)
	r.mu.Unlock()
	rc, obj, err := r.Backend.Get(ctx, key, opts)
	if err != nil {
		return nil, nil, err
	}
	r.mu.Lock()
	r.open++
	r.mu.Unlock()
	return &countedBody{ReadCloser: rc, r: r}, obj, nil
}

func (r *recorder) List(ctx context.Context, opts backend.ListOptions) iter.Seq2[*backend.Object, error] {
	r.mu.Lock()
	r.lists = append(r.lists, opts)
	r.mu.Unlock()
	return r.Backend.List(ctx, opts)
}

// takeGets returns the Gets since the last call.
func (r *recorder) takeGets() []backend.GetOptions {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.gets
	r.gets = nil
	return g
}

func (r *recorder) takeLists() []backend.ListOptions {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.lists
	r.lists = nil
	return l
}

func (r *recorder) openBodies() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.open
}

type countedBody struct {
	io.ReadCloser
	r    *recorder
	once sync.Once
}

func (c *countedBody) Close() error {
	c.once.Do(func() {
		c.r.mu.Lock()
		c.r.open--
		c.r.mu.Unlock()
	})
	return c.ReadCloser.Close()
}

// pattern returns n bytes in which every 4-byte window differs from its
// neighbours, so that a read at the wrong offset shows.
func pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + i/251)
	}
	return p
}

func TestFSSeekAndReadAt(t *testing.T) {
	t.Parallel()
	const size = 300_000
	data := pattern(size)
	rec := &recorder{Backend: newMemory(t)}
	_, err := rec.Put(context.Background(), "big.bin", bytes.NewReader(data), backend.PutOptions{})
	require.NoError(t, err)
	fsys := backend.FS(rec)

	f, err := fsys.Open("big.bin")
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	assert.Empty(t, rec.takeGets(), "Open reads nothing")
	rs, ok := f.(io.ReadSeeker)
	require.True(t, ok, "%T is no io.Seeker", f)
	ra, ok := f.(io.ReaderAt)
	require.True(t, ok, "%T is no io.ReaderAt", f)

	t.Run("Seek and Read", func(t *testing.T) {
		for _, c := range []struct {
			offset int64
			whence int
			want   int64
		}{
			{0, io.SeekStart, 0},
			{1, io.SeekStart, 1},
			{4095, io.SeekStart, 4095},
			{150_000, io.SeekStart, 150_000},
			{size - 1, io.SeekStart, size - 1},
			{-10, io.SeekEnd, size - 10},
			{-1000, io.SeekCurrent, size - 1000}, // from the end, where the last case stopped
			{-size, io.SeekEnd, 0},
			{77, io.SeekStart, 77},
			{123_456, io.SeekCurrent, 77 + 1000 + 123_456}, // after reading 1000 bytes at 77
		} {
			what := fmt.Sprintf("Seek(%d, %d)", c.offset, c.whence)
			pos, err := rs.Seek(c.offset, c.whence)
			require.NoError(t, err, what)
			require.Equal(t, c.want, pos, what)
			assert.Empty(t, rec.takeGets(), "%s makes no request", what)

			buf := make([]byte, 1000)
			n, err := io.ReadFull(rs, buf)
			wantN := min(1000, size-int(c.want))
			if wantN < 1000 {
				require.ErrorIs(t, err, io.ErrUnexpectedEOF, what)
			} else {
				require.NoError(t, err, what)
			}
			require.Equal(t, wantN, n, what)
			assert.Equal(t, data[c.want:c.want+int64(n)], buf[:n], "%s: the bytes read", what)
			assert.Equal(t, []backend.GetOptions{{Offset: c.want}}, rec.takeGets(), "%s: one Get from the new offset", what)
			if wantN < 1000 {
				// Leave the offset at the end for the SeekCurrent case.
				_, err := rs.Seek(0, io.SeekEnd)
				require.NoError(t, err)
			}
		}
	})
	t.Run("Seek to the offset keeps the body", func(t *testing.T) {
		_, err := rs.Seek(10, io.SeekStart)
		require.NoError(t, err)
		buf := make([]byte, 10)
		_, err = io.ReadFull(rs, buf)
		require.NoError(t, err)
		pos, err := rs.Seek(0, io.SeekCurrent)
		require.NoError(t, err)
		assert.Equal(t, int64(20), pos)
		_, err = rs.Seek(20, io.SeekStart)
		require.NoError(t, err)
		_, err = io.ReadFull(rs, buf)
		require.NoError(t, err)
		assert.Equal(t, data[20:30], buf)
		assert.Len(t, rec.takeGets(), 1, "one Get for both reads")
	})
	t.Run("past the end and bad seeks", func(t *testing.T) {
		pos, err := rs.Seek(size+100, io.SeekStart)
		require.NoError(t, err)
		assert.Equal(t, int64(size+100), pos)
		n, err := rs.Read(make([]byte, 10))
		assert.Equal(t, 0, n)
		assert.Equal(t, io.EOF, err)
		assert.Empty(t, rec.takeGets(), "no request past the end")

		_, err = rs.Seek(-1, io.SeekStart)
		assertPathErr(t, err, "seek", "big.bin", fs.ErrInvalid)
		_, err = rs.Seek(-size-1, io.SeekEnd)
		assertPathErr(t, err, "seek", "big.bin", fs.ErrInvalid)
		_, err = rs.Seek(0, 3)
		assertPathErr(t, err, "seek", "big.bin", fs.ErrInvalid)
		pos, err = rs.Seek(0, io.SeekCurrent)
		require.NoError(t, err)
		assert.Equal(t, int64(size+100), pos, "a failed Seek keeps the offset")
	})
	t.Run("ReadAt", func(t *testing.T) {
		_, err := rs.Seek(5000, io.SeekStart)
		require.NoError(t, err)
		rec.takeGets()
		for _, c := range []struct {
			off int64
			n   int
		}{{0, 1}, {0, 4096}, {1, 1}, {4095, 2}, {99_999, 65_536}, {size - 1, 1}, {size - 10, 100}, {size - 100, 100}, {123, 0}} {
			what := fmt.Sprintf("ReadAt(%d bytes, %d)", c.n, c.off)
			buf := make([]byte, c.n)
			n, err := ra.ReadAt(buf, c.off)
			wantN := min(int64(c.n), size-c.off)
			assert.Equal(t, int(wantN), n, what)
			if wantN < int64(c.n) {
				assert.Equal(t, io.EOF, err, what)
			} else {
				assert.NoError(t, err, what)
			}
			assert.Equal(t, data[c.off:c.off+wantN], buf[:n], what)
			if c.n == 0 {
				assert.Empty(t, rec.takeGets(), "%s makes no request", what)
			} else {
				assert.Equal(t, []backend.GetOptions{{Offset: c.off, Length: wantN}}, rec.takeGets(), "%s: one Get of the range", what)
			}
		}
		n, err := ra.ReadAt(make([]byte, 1), size)
		assert.Equal(t, 0, n)
		assert.Equal(t, io.EOF, err)
		_, err = ra.ReadAt(make([]byte, 1), -1)
		assertPathErr(t, err, "read", "big.bin", fs.ErrInvalid)

		// ReadAt neither used nor moved the offset of Read.
		buf := make([]byte, 8)
		_, err = io.ReadFull(rs, buf)
		require.NoError(t, err)
		assert.Equal(t, data[5000:5008], buf)
		assert.Equal(t, 1, rec.openBodies(), "every ReadAt closed its body; the Read body is open")
	})
	t.Run("parallel ReadAt", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for g := range 16 {
			wg.Go(func() {
				for i := range 20 {
					off := int64((g*20 + i) * 911 % size)
					buf := make([]byte, 333)
					n, err := ra.ReadAt(buf, off)
					if err != nil && err != io.EOF {
						errs <- err
						return
					}
					if !bytes.Equal(buf[:n], data[off:off+int64(n)]) {
						errs <- fmt.Errorf("ReadAt(333, %d): wrong bytes", off)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			assert.NoError(t, err)
		}
	})
	require.NoError(t, f.Close())
	assert.Zero(t, rec.openBodies(), "Close closed the body")
}

func TestFSClose(t *testing.T) {
	t.Parallel()
	rec := &recorder{Backend: newMemory(t)}
	putFiles(t, rec, fsTree)
	fsys := backend.FS(rec)

	f, err := fsys.Open("docs/guide.txt")
	require.NoError(t, err)
	_, err = f.Read(make([]byte, 5))
	require.NoError(t, err)
	require.Equal(t, 1, rec.openBodies())
	rec.takeGets()
	require.NoError(t, f.Close())
	assert.Zero(t, rec.openBodies(), "Close closes the body")

	_, err = f.Read(make([]byte, 1))
	assertPathErr(t, err, "read", "docs/guide.txt", fs.ErrClosed)
	_, err = f.Stat()
	assertPathErr(t, err, "stat", "docs/guide.txt", fs.ErrClosed)
	_, err = f.(io.Seeker).Seek(0, io.SeekStart)
	assertPathErr(t, err, "seek", "docs/guide.txt", fs.ErrClosed)
	_, err = f.(io.ReaderAt).ReadAt(make([]byte, 1), 0)
	assertPathErr(t, err, "read", "docs/guide.txt", fs.ErrClosed)
	assertPathErr(t, f.Close(), "close", "docs/guide.txt", fs.ErrClosed)
	assert.Empty(t, rec.takeGets(), "no Get after Close")

	d, err := fsys.Open("docs")
	require.NoError(t, err)
	require.NoError(t, d.Close())
	_, err = d.(fs.ReadDirFile).ReadDir(-1)
	assertPathErr(t, err, "readdir", "docs", fs.ErrClosed)
	_, err = d.Stat()
	assertPathErr(t, err, "stat", "docs", fs.ErrClosed)
	assertPathErr(t, d.Close(), "close", "docs", fs.ErrClosed)

	// Closing a file that was never read makes no request.
	rec.takeGets()
	f, err = fsys.Open("README.md")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	assert.Empty(t, rec.takeGets())
}

func TestFSReadDirPaging(t *testing.T) {
	t.Parallel()
	files := map[string]string{"d/a": "file a", "d/a/x": "below the file a", "d/a-c": "", "d/a.b": "", "d/sub1/x": "", "d/sub2/y/z": "", "outside": ""}
	for i := range 20 {
		files[fmt.Sprintf("d/f%02d", i)] = strings.Repeat("x", i)
	}
	// Key order: "a" < "a-c" < "a.b" < "a/" (the file a wins) < "f00" … < "sub1/" < "sub2/".
	want := []string{"a", "a-c", "a.b"}
	for i := range 20 {
		want = append(want, fmt.Sprintf("f%02d", i))
	}
	want = append(want, "sub1", "sub2")

	for _, d := range fsDrivers {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{Backend: d.new(t)}
			putFiles(t, rec, files)
			fsys := backend.FS(rec)
			for _, n := range []int{1, 2, 3, 7, 26, 100} {
				f, err := fsys.Open("d")
				require.NoError(t, err)
				dir := f.(fs.ReadDirFile)
				rec.takeLists()
				var got []fs.DirEntry
				for {
					page, err := dir.ReadDir(n)
					if err == io.EOF {
						assert.Empty(t, page, "ReadDir(%d) at EOF", n)
						break
					}
					require.NoError(t, err, "ReadDir(%d)", n)
					require.NotEmpty(t, page, "ReadDir(%d) returned nothing and no error", n)
					require.LessOrEqual(t, len(page), n)
					got = append(got, page...)
					require.LessOrEqual(t, len(got), len(want), "more entries than there are")
				}
				assert.Equal(t, want, entryNames(got), "ReadDir(%d) pages, in key order", n)
				for _, e := range got {
					wantDir := strings.HasPrefix(e.Name(), "sub")
					assert.Equal(t, wantDir, e.IsDir(), e.Name())
				}
				info, err := got[0].Info()
				require.NoError(t, err)
				assert.Equal(t, int64(len("file a")), info.Size(), "the file a wins")

				lists := rec.takeLists()
				assert.GreaterOrEqual(t, len(lists), (len(want)+n-1)/n, "one List per ReadDir(%d)", n)
				for _, l := range lists {
					assert.Equal(t, "d/", l.Prefix)
					assert.Equal(t, "/", l.Delimiter)
					assert.Equal(t, n, l.PageSize, "ReadDir(%d) lists a page of %d", n, n)
				}
				assert.Empty(t, lists[0].StartAfter)

				page, err := dir.ReadDir(-1)
				assert.NoError(t, err)
				assert.Empty(t, page, "ReadDir(-1) at EOF")
				page, err = dir.ReadDir(2)
				assert.Equal(t, io.EOF, err)
				assert.Empty(t, page)
				require.NoError(t, f.Close())
			}

			// ReadDir(-1) after a partial ReadDir(n) returns the rest.
			f, err := fsys.Open("d")
			require.NoError(t, err)
			dir := f.(fs.ReadDirFile)
			first, err := dir.ReadDir(4)
			require.NoError(t, err)
			rest, err := dir.ReadDir(-1)
			require.NoError(t, err)
			assert.Equal(t, want, entryNames(append(first, rest...)))
			require.NoError(t, f.Close())

			sorted, err := fsys.ReadDir("d")
			require.NoError(t, err)
			wantSorted := slices.Clone(want)
			slices.Sort(wantSorted)
			assert.Equal(t, wantSorted, entryNames(sorted), "FileSystem.ReadDir sorts by name")
		})
	}
}

func TestFSReadFile(t *testing.T) {
	t.Parallel()
	rec := &recorder{Backend: newMemory(t)}
	putFiles(t, rec, fsTree)
	fsys := backend.FS(rec)

	rec.takeGets()
	data, err := fsys.ReadFile("docs/guide.txt")
	require.NoError(t, err)
	assert.Equal(t, fsTree["docs/guide.txt"], string(data))
	assert.Len(t, rec.takeGets(), 1, "one Get")
	data[0] = 'X'
	again, err := fsys.ReadFile("docs/guide.txt")
	require.NoError(t, err)
	assert.Equal(t, fsTree["docs/guide.txt"], string(again), "each call returns a new slice")

	data, err = fsys.ReadFile("empty")
	require.NoError(t, err)
	assert.Empty(t, data)

	t.Run("larger than the preallocation", func(t *testing.T) {
		big := pattern(17 << 20)
		_, err := rec.Put(context.Background(), "big", bytes.NewReader(big), backend.PutOptions{})
		require.NoError(t, err)
		data, err := fsys.ReadFile("big")
		require.NoError(t, err)
		assert.True(t, bytes.Equal(big, data), "17 MiB read back")
	})
	t.Run("a size that lies", func(t *testing.T) {
		for _, c := range []struct {
			size int64
			want error
		}{{1 << 50, io.ErrUnexpectedEOF}, {len64(fsTree["README.md"]) + 1, io.ErrUnexpectedEOF}, {2, nil}, {0, nil}} {
			liar := &sizeLiar{Backend: rec, size: c.size}
			_, err := backend.FS(liar).ReadFile("README.md")
			assertPathErr(t, err, "read", "README.md", c.want)
		}
	})
}

func len64(s string) int64 { return int64(len(s)) }

// sizeLiar reports size as the size of every object Get opens.
type sizeLiar struct {
	backend.Backend
	size int64
}

func (l *sizeLiar) Get(ctx context.Context, key string, opts backend.GetOptions) (io.ReadCloser, *backend.Object, error) {
	rc, obj, err := l.Backend.Get(ctx, key, opts)
	if err == nil {
		c := *obj
		c.Size = l.size
		obj = &c
	}
	return rc, obj, err
}

func TestFSObjectReplacedWhileOpen(t *testing.T) {
	t.Parallel()
	b := newMemory(t)
	putFiles(t, b, map[string]string{"x": "version one"})
	fsys := backend.FS(b)

	f, err := fsys.Open("x")
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	buf := make([]byte, 8)
	_, err = io.ReadFull(f, buf)
	require.NoError(t, err)
	putFiles(t, b, map[string]string{"x": "version two"}) // the same size, another ETag

	_, err = f.(io.Seeker).Seek(0, io.SeekStart)
	require.NoError(t, err)
	_, err = f.Read(buf)
	assertPathErr(t, err, "read", "x", backend.ErrPrecondition)
	_, err = f.(io.ReaderAt).ReadAt(buf, 0)
	assertPathErr(t, err, "read", "x", backend.ErrPrecondition)

	putFiles(t, b, map[string]string{"x": "v3"})
	_, err = f.(io.ReaderAt).ReadAt(buf[:1], 0)
	assertPathErr(t, err, "read", "x", backend.ErrPrecondition)
	require.NoError(t, b.Delete(context.Background(), "x"))
	_, err = f.(io.ReaderAt).ReadAt(buf[:1], 0)
	assertPathErr(t, err, "read", "x", fs.ErrNotExist)
}

func TestFSWithContext(t *testing.T) {
	t.Parallel()
	b := newMemory(t)
	putFiles(t, b, fsTree)
	fsys := backend.FS(b)

	ctx, cancel := context.WithCancel(context.Background())
	scoped := fsys.WithContext(ctx)
	f, err := scoped.Open("docs/guide.txt")
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	cancel()

	_, err = f.Read(make([]byte, 1))
	assertPathErr(t, err, "read", "docs/guide.txt", context.Canceled)
	_, err = scoped.Open("README.md")
	assertPathErr(t, err, "open", "README.md", context.Canceled)
	_, err = scoped.ReadDir(".")
	assertPathErr(t, err, "readdir", ".", context.Canceled)
	_, err = scoped.ReadFile("README.md")
	assertPathErr(t, err, "open", "README.md", context.Canceled)
	sub, err := scoped.Sub("docs")
	require.NoError(t, err)
	_, err = fs.Stat(sub, "guide.txt")
	assert.ErrorIs(t, err, context.Canceled, "a Sub keeps the context")

	_, err = fsys.ReadFile("README.md")
	assert.NoError(t, err, "the view FS made is not affected")
	var nilCtx context.Context
	assert.Panics(t, func() { fsys.WithContext(nilCtx) })
}

func TestFSSub(t *testing.T) {
	t.Parallel()
	b := newMemory(t)
	putFiles(t, b, fsTree)
	fsys := backend.FS(b)

	sub, err := fs.Sub(fsys, "docs")
	require.NoError(t, err)
	require.IsType(t, &backend.FileSystem{}, sub, "fs.Sub uses FileSystem.Sub")
	require.NoError(t, fstest.TestFS(sub, "guide.txt", "api/v1/spec.json", "api/v2/spec.json"))
	data, err := fs.ReadFile(sub, "api/v1/spec.json")
	require.NoError(t, err)
	assert.Equal(t, fsTree["docs/api/v1/spec.json"], string(data))
	_, err = fs.Stat(sub, "README.md")
	assertPathErr(t, err, "stat", "README.md", fs.ErrNotExist)

	subsub, err := fs.Sub(sub, "api")
	require.NoError(t, err)
	require.NoError(t, fstest.TestFS(subsub, "v1/spec.json", "v2/spec.json"))
	same, err := fsys.Sub(".")
	require.NoError(t, err)
	assert.Same(t, fsys, same)
}

func TestFSHTTPFileServer(t *testing.T) {
	t.Parallel()
	b := newMemory(t)
	putFiles(t, b, fsTree)
	big := pattern(100_000)
	_, err := b.Put(context.Background(), "files/big.bin", bytes.NewReader(big), backend.PutOptions{})
	require.NoError(t, err)
	fsys := backend.FS(b)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.FileServerFS(fsys.WithContext(r.Context())).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	get := func(t *testing.T, path, rangeHdr string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		require.NoError(t, err)
		if rangeHdr != "" {
			req.Header.Set("Range", rangeHdr)
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(body)
	}

	t.Run("range", func(t *testing.T) {
		for _, c := range []struct{ rng, wantCR string }{
			{"bytes=10-19", "bytes 10-19/100000"},
			{"bytes=99990-", "bytes 99990-99999/100000"},
			{"bytes=-5", "bytes 99995-99999/100000"},
			{"bytes=50000-50000", "bytes 50000-50000/100000"},
		} {
			resp, body := get(t, "/files/big.bin", c.rng)
			assert.Equal(t, http.StatusPartialContent, resp.StatusCode, c.rng)
			assert.Equal(t, c.wantCR, resp.Header.Get("Content-Range"), c.rng)
			var first, last int
			_, err := fmt.Sscanf(c.wantCR, "bytes %d-%d/", &first, &last)
			require.NoError(t, err)
			assert.Equal(t, string(big[first:last+1]), body, c.rng)
		}
		resp, _ := get(t, "/files/big.bin", "bytes=100000-")
		assert.Equal(t, http.StatusRequestedRangeNotSatisfiable, resp.StatusCode)
	})
	t.Run("sniffed content type and a range", func(t *testing.T) {
		// No extension: ServeContent reads the head, seeks back, then to the range.
		resp, body := get(t, "/blob", "bytes=3-11")
		assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
		assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
		assert.Equal(t, fsTree["blob"][3:12], body)
	})
	t.Run("whole file", func(t *testing.T) {
		resp, body := get(t, "/ü/日本語.txt", "")
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, fsTree["ü/日本語.txt"], body)
		assert.NotEmpty(t, resp.Header.Get("Last-Modified"))
		resp, body = get(t, "/100%25/x+y=z%3F.txt", "")
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, fsTree["100%/x+y=z?.txt"], body)
	})
	t.Run("directory listing", func(t *testing.T) {
		resp, body := get(t, "/docs/", "")
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, body, `<a href="api/">api/</a>`)
		assert.Contains(t, body, `<a href="guide.txt">guide.txt</a>`)
		resp, body = get(t, "/with%20space/", "")
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, body, `<a href="a%20b.txt">a b.txt</a>`)
		resp, _ = get(t, "/docs", "")
		assert.Equal(t, http.StatusOK, resp.StatusCode, "redirected to /docs/")
		assert.Equal(t, "/docs/", resp.Request.URL.Path)
	})
	t.Run("index.html", func(t *testing.T) {
		resp, body := get(t, "/", "")
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, fsTree["index.html"], body)
	})
	t.Run("not found", func(t *testing.T) {
		for _, p := range []string{"/nope", "/docs/nope.txt", "/a%5Cb", "/a%01b"} {
			resp, _ := get(t, p, "")
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, p)
		}
	})
}

func TestFSTemplateParseFS(t *testing.T) {
	t.Parallel()
	b := newMemory(t)
	putFiles(t, b, map[string]string{
		"templates/page.html":  `{{define "page"}}<h1>{{.Title}}</h1>{{template "list" .Items}}{{end}}`,
		"templates/list.html":  `{{define "list"}}<ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}`,
		"templates/notes.txt":  "not a template",
		"templates/x/sub.html": `{{define "sub"}}not matched by the glob{{end}}`,
	})
	tmpl, err := template.ParseFS(backend.FS(b), "templates/*.html")
	require.NoError(t, err)
	var out strings.Builder
	require.NoError(t, tmpl.ExecuteTemplate(&out, "page", map[string]any{"Title": "Docs & more", "Items": []string{"a<b", "c"}}))
	assert.Equal(t, `<h1>Docs &amp; more</h1><ul><li>a&lt;b</li><li>c</li></ul>`, out.String())
	assert.Nil(t, tmpl.Lookup("sub"), "the glob does not descend")

	_, err = template.ParseFS(backend.FS(b), "missing/*.html")
	assert.Error(t, err)
}

func TestFSWalkDir(t *testing.T) {
	t.Parallel()
	b := newMemory(t)
	putFiles(t, b, fsTree)
	var walked []string
	require.NoError(t, fs.WalkDir(backend.FS(b), ".", func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		if p != "." {
			walked = append(walked, p)
		}
		return nil
	}))
	want := fsTreeNames()
	assert.ElementsMatch(t, want, walked)
	matches, err := fs.Glob(backend.FS(b), "docs/api/*/spec.json")
	require.NoError(t, err)
	assert.Equal(t, []string{"docs/api/v1/spec.json", "docs/api/v2/spec.json"}, matches)
}
