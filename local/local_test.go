package local_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/local"
)

func newBackend(t *testing.T) (*local.Backend, string) {
	t.Helper()
	dir := t.TempDir()
	b, err := local.New(dir, local.Options{NoSync: true})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	return b, dir
}

func put(t *testing.T, b backend.Backend, key, data string) *backend.Object {
	t.Helper()
	obj, err := b.Put(context.Background(), key, strings.NewReader(data), backend.PutOptions{})
	require.NoError(t, err, key)
	return obj
}

func get(t *testing.T, b backend.Backend, key string) string {
	t.Helper()
	rc, _, err := b.Get(context.Background(), key, backend.GetOptions{})
	require.NoError(t, err, key)
	defer rc.Close()
	data, err := io.ReadAll(rc)
	require.NoError(t, err, key)
	return string(data)
}

func listKeys(t *testing.T, b backend.Backend, opts backend.ListOptions) []string {
	t.Helper()
	var keys []string
	for obj, err := range b.List(context.Background(), opts) {
		require.NoError(t, err)
		keys = append(keys, obj.Key)
	}
	return keys
}

// files returns every name under dir, relative and slash-separated.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	require.NoError(t, err)
	return names
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	for _, n := range files(t, dir) {
		assert.NotContains(t, "/"+n, `/\t`, "temporary file left: %q", n)
	}
}

var trickyKeys = []string{
	"x.tmp", "x.attrs", ".hidden", "a b", "100%", "x+y", "q?a=1#f", "ü/日本",
	"a/.hidden", "dir/x.tmp", "..a", "a..", "~", "a=b&c", "<>&'\"", "a\u00a0b",
}

func TestTrickyKeysRoundTrip(t *testing.T) {
	t.Parallel()
	b, dir := newBackend(t)
	ctx := context.Background()
	for _, k := range trickyKeys {
		put(t, b, k, "data of "+k)
	}
	for _, k := range trickyKeys {
		assert.Equal(t, "data of "+k, get(t, b, k))
		obj, err := b.Stat(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, k, obj.Key)
		assert.Equal(t, int64(len("data of "+k)), obj.Size)
		cp, err := b.Copy(ctx, "copy/"+k, k)
		require.NoError(t, err)
		assert.Equal(t, "copy/"+k, cp.Key)
	}
	want := slices.Clone(trickyKeys)
	for _, k := range trickyKeys {
		want = append(want, "copy/"+k)
	}
	slices.Sort(want)
	assert.Equal(t, want, listKeys(t, b, backend.ListOptions{}))
	for _, k := range want {
		require.NoError(t, b.Delete(ctx, k))
	}
	assert.Empty(t, listKeys(t, b, backend.ListOptions{}))
	assert.Empty(t, files(t, dir), "Delete leaves no directories")
}

func TestKeyAndChildCoexist(t *testing.T) {
	t.Parallel()
	b, _ := newBackend(t)
	ctx := context.Background()
	put(t, b, "a", "parent")
	put(t, b, "a/b", "child")
	put(t, b, "a/b/c", "grandchild")
	assert.Equal(t, "parent", get(t, b, "a"))
	assert.Equal(t, "child", get(t, b, "a/b"))
	assert.Equal(t, "grandchild", get(t, b, "a/b/c"))
	assert.Equal(t, []string{"a", "a/b", "a/b/c"}, listKeys(t, b, backend.ListOptions{}))
	require.NoError(t, b.Delete(ctx, "a"))
	assert.Equal(t, "child", get(t, b, "a/b"))
	_, err := b.Stat(ctx, "a")
	assert.ErrorIs(t, err, backend.ErrNotFound)
}

func TestLongSegment(t *testing.T) {
	t.Parallel()
	b, dir := newBackend(t)
	ctx := context.Background()
	long := strings.Repeat("L", 255)
	long2 := strings.Repeat("é", 127) + "x" // 255 bytes too
	require.Len(t, long2, 255)
	keys := []string{long, "d/" + long, "d/" + long2, long + "/child", "d/" + strings.Repeat("s", 254)}
	for _, k := range keys {
		put(t, b, k, k[:3])
	}
	for _, k := range keys {
		assert.Equal(t, k[:3], get(t, b, k))
	}
	want := slices.Sorted(slices.Values(keys))
	assert.Equal(t, want, listKeys(t, b, backend.ListOptions{}))
	assert.Equal(t, []string{"d/" + long, "d/" + strings.Repeat("s", 254), "d/" + long2}, listKeys(t, b, backend.ListOptions{Prefix: "d/"}))
	assert.Equal(t, []string{"d/" + strings.Repeat("s", 254), "d/" + long2}, listKeys(t, b, backend.ListOptions{Prefix: "d/", StartAfter: "d/M"}))
	assert.Equal(t, []string{"d/" + long2}, listKeys(t, b, backend.ListOptions{Prefix: "d/", StartAfter: "d/t"}))

	// A long-name file moved under another long key's name is not that key.
	other := "d/" + strings.Repeat("M", 255)
	names, err := os.ReadDir(filepath.Join(dir, "d"))
	require.NoError(t, err)
	var src string
	for _, n := range names {
		if strings.HasPrefix(n.Name(), `\h`) {
			src = n.Name()
		}
	}
	require.NotEmpty(t, src)
	data, err := os.ReadFile(filepath.Join(dir, "d", src))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "d", longNameOf(t, b, other)), data, 0o600))
	_, err = b.Stat(ctx, other)
	assert.ErrorIs(t, err, backend.ErrNotFound)
	assert.NotContains(t, listKeys(t, b, backend.ListOptions{}), other)

	for _, k := range keys {
		require.NoError(t, b.Delete(ctx, k))
	}
}

// longNameOf finds the file name a long key gets, by writing it to a scratch backend.
func longNameOf(t *testing.T, _ *local.Backend, key string) string {
	scratch, dir := newBackend(t)
	put(t, scratch, key, "x")
	sub := filepath.Join(dir, filepath.FromSlash(key[:strings.LastIndexByte(key, '/')]))
	ents, err := os.ReadDir(sub)
	require.NoError(t, err)
	require.Len(t, ents, 1)
	return ents[0].Name()
}

func TestAttributesAndReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	b, err := local.New(dir, local.Options{})
	require.NoError(t, err)
	md := map[string]string{"owner": "ann", "x-y": "1 2"}
	obj, err := b.Put(ctx, "docs/a.pdf", strings.NewReader("%PDF"), backend.PutOptions{ContentType: "application/pdf", Metadata: md})
	require.NoError(t, err)
	assert.Equal(t, int64(4), obj.Size)
	assert.Len(t, obj.ETag, 32)
	require.NoError(t, b.Close())

	b2, err := local.New(dir, local.Options{})
	require.NoError(t, err)
	defer b2.Close()
	got, err := b2.Stat(ctx, "docs/a.pdf")
	require.NoError(t, err)
	assert.Equal(t, obj, got)
	rc, gobj, err := b2.Get(ctx, "docs/a.pdf", backend.GetOptions{})
	require.NoError(t, err)
	rc.Close()
	assert.Equal(t, obj, gobj)
	var listed *backend.Object
	for o, err := range b2.List(ctx, backend.ListOptions{}) {
		require.NoError(t, err)
		listed = o
	}
	assert.Equal(t, obj.ETag, listed.ETag)
	assert.True(t, obj.LastModified.Equal(listed.LastModified))

	// A rewrite with the same bytes still changes the ETag.
	obj2, err := b2.Put(ctx, "docs/a.pdf", strings.NewReader("%PDF"), backend.PutOptions{})
	require.NoError(t, err)
	assert.NotEqual(t, obj.ETag, obj2.ETag)
	assert.Equal(t, backend.DefaultContentType, obj2.ContentType)
	assert.Empty(t, obj2.Metadata)
}

func TestLargeObjectAndRanges(t *testing.T) {
	t.Parallel()
	b, _ := newBackend(t)
	ctx := context.Background()
	for _, size := range []int{0, 1, 1000, 64<<10 - 200, 64 << 10, 300 << 10, 1<<20 + 7} {
		data := make([]byte, size)
		rand.Read(data)
		key := "obj/" + strings.Repeat("n", size%7+1)
		obj, err := b.Put(ctx, key, bytes.NewReader(data), backend.PutOptions{Size: int64(size)})
		require.NoError(t, err)
		require.Equal(t, int64(size), obj.Size)
		assert.Equal(t, string(data), get(t, b, key), "size %d", size)

		for _, r := range []backend.GetOptions{{Offset: 0, Length: 1}, {Offset: int64(size) / 2}, {Offset: int64(size) - 1, Length: 100}, {Offset: 3, Length: 5}} {
			if r.Offset >= int64(size) || size == 0 {
				continue
			}
			rc, gobj, err := b.Get(ctx, key, r)
			require.NoError(t, err)
			assert.Equal(t, int64(size), gobj.Size)
			got, err := io.ReadAll(rc)
			require.NoError(t, err)
			rc.Close()
			end := int64(size)
			if r.Length > 0 {
				end = min(end, r.Offset+r.Length)
			}
			assert.Equal(t, data[r.Offset:end], got, "size %d range %+v", size, r)
		}
		if size > 0 {
			_, _, err = b.Get(ctx, key, backend.GetOptions{Offset: int64(size)})
			assert.ErrorIs(t, err, backend.ErrInvalidArgument)
		}
	}
}

func TestGetReaderSeeksAndHonoursContext(t *testing.T) {
	t.Parallel()
	b, _ := newBackend(t)
	for _, size := range []int{100, 200 << 10} {
		data := bytes.Repeat([]byte("0123456789"), size/10)
		_, err := b.Put(context.Background(), "k", bytes.NewReader(data), backend.PutOptions{})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		rc, _, err := b.Get(ctx, "k", backend.GetOptions{Offset: 10})
		require.NoError(t, err)
		rs, ok := rc.(io.ReadSeeker)
		require.True(t, ok, "Get returns an io.ReadSeeker even with a cancellable context")
		n, err := rs.Seek(-5, io.SeekEnd)
		require.NoError(t, err)
		assert.Equal(t, int64(size-10-5), n)
		tail, err := io.ReadAll(rs)
		require.NoError(t, err)
		assert.Equal(t, "56789", string(tail))
		_, err = rs.Seek(0, io.SeekStart)
		require.NoError(t, err)
		cancel()
		_, err = rs.Read(make([]byte, 10))
		assert.ErrorIs(t, err, context.Canceled)
		_, err = io.Copy(io.Discard, rs)
		assert.ErrorIs(t, err, context.Canceled)
		require.NoError(t, rc.Close())
	}
}

func TestMissing(t *testing.T) {
	t.Parallel()
	b, dir := newBackend(t)
	ctx := context.Background()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "plainfile"), []byte("x"), 0o600))
	put(t, b, "a/b", "x")
	for _, k := range []string{"nope", "a", "a/b/c", "x/y/z", "plainfile", "plainfile/x"} {
		_, _, err := b.Get(ctx, k, backend.GetOptions{})
		assert.ErrorIs(t, err, backend.ErrNotFound, k)
		assert.ErrorIs(t, err, fs.ErrNotExist, k)
		_, err = b.Stat(ctx, k)
		assert.ErrorIs(t, err, backend.ErrNotFound, k)
		_, err = b.Copy(ctx, "dst", k)
		assert.ErrorIs(t, err, backend.ErrNotFound, k)
		assert.NoError(t, b.Delete(ctx, k), k)
		var be *backend.Error
		require.ErrorAs(t, err, &be)
		assert.Equal(t, "file", be.Driver)
	}
	_, err := b.Put(ctx, "a/../b", strings.NewReader(""), backend.PutOptions{})
	assert.ErrorIs(t, err, backend.ErrInvalidKey)
	_, _, err = b.Get(ctx, `a\`, backend.GetOptions{})
	assert.ErrorIs(t, err, backend.ErrInvalidKey)
}

// cancelReader cancels its context after the first read.
type cancelReader struct {
	cancel context.CancelFunc
	n      int
}

func (c *cancelReader) Read(p []byte) (int, error) {
	c.n++
	if c.n > 1 {
		c.cancel()
	}
	return copy(p, "some bytes "), nil
}

func TestFailedPutLeavesOldObjectAndNoTemp(t *testing.T) {
	t.Parallel()
	b, dir := newBackend(t)
	ctx := context.Background()
	old := put(t, b, "k/v", "old")

	_, err := b.Put(ctx, "k/v", strings.NewReader("short"), backend.PutOptions{Size: 10})
	assert.ErrorIs(t, err, backend.ErrInvalidArgument)
	_, err = b.Put(ctx, "k/v", strings.NewReader("much too long"), backend.PutOptions{Size: 3})
	assert.ErrorIs(t, err, backend.ErrInvalidArgument)
	cctx, cancel := context.WithCancel(ctx)
	_, err = b.Put(cctx, "k/v", &cancelReader{cancel: cancel}, backend.PutOptions{})
	assert.ErrorIs(t, err, context.Canceled)
	_, err = b.Put(cctx, "k/new", strings.NewReader("x"), backend.PutOptions{})
	assert.ErrorIs(t, err, context.Canceled)
	_, err = b.Put(ctx, "k/v", iotestErrReader{}, backend.PutOptions{})
	assert.ErrorIs(t, err, errBroken)

	assert.Equal(t, "old", get(t, b, "k/v"))
	obj, err := b.Stat(ctx, "k/v")
	require.NoError(t, err)
	assert.Equal(t, old.ETag, obj.ETag)
	assertNoTemp(t, dir)

	put(t, b, "k/v", "new")
	put(t, b, "fresh/dir/key", "new")
	assertNoTemp(t, dir)
	_, err = b.Put(ctx, "fresh/dir/key", strings.NewReader("x"), backend.PutOptions{IfNotExists: true})
	assert.ErrorIs(t, err, backend.ErrExists)
	_, err = b.Put(ctx, "fresh/dir/key", strings.NewReader("x"), backend.PutOptions{IfMatch: "nope"})
	assert.ErrorIs(t, err, backend.ErrPrecondition)
	assertNoTemp(t, dir)
	assert.Equal(t, []string{"fresh", "fresh/dir", `fresh/dir/key\`, "k", `k/v\`}, files(t, dir))
}

var errBroken = errors.New("broken reader")

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errBroken }

func TestDeleteRemovesEmptyParents(t *testing.T) {
	t.Parallel()
	b, dir := newBackend(t)
	ctx := context.Background()
	put(t, b, "a/b/c/d", "1")
	put(t, b, "a/x", "2")
	require.NoError(t, b.Delete(ctx, "a/b/c/d"))
	assert.Equal(t, []string{"a", `a/x\`}, files(t, dir))
	require.NoError(t, b.Delete(ctx, "a/x"))
	assert.Empty(t, files(t, dir))
	require.NoError(t, b.Delete(ctx, "a/x"), "idempotent")
	// The root itself stays.
	_, err := os.Stat(dir)
	require.NoError(t, err)
	put(t, b, "a/b/c/d", "again")
	assert.Equal(t, "again", get(t, b, "a/b/c/d"))
}

func TestConcurrentIfNotExists(t *testing.T) {
	t.Parallel()
	b, dir := newBackend(t)
	ctx := context.Background()
	for round := range 5 {
		key := "race/" + strings.Repeat("r", round+1)
		var wg sync.WaitGroup
		errs := make([]error, 16)
		for i := range errs {
			wg.Go(func() {
				_, errs[i] = b.Put(ctx, key, strings.NewReader(string(rune('A'+i))), backend.PutOptions{IfNotExists: true})
			})
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			if err == nil {
				assert.Equal(t, -1, winner, "two winners")
				winner = i
				continue
			}
			assert.ErrorIs(t, err, backend.ErrExists)
			assert.ErrorIs(t, err, fs.ErrExist)
		}
		require.NotEqual(t, -1, winner, "no winner")
		assert.Equal(t, string(rune('A'+winner)), get(t, b, key))
	}
	assertNoTemp(t, dir)
}

func TestConcurrentIfMatch(t *testing.T) {
	t.Parallel()
	b, dir := newBackend(t)
	ctx := context.Background()
	obj := put(t, b, "m", "0")

	// Many writers with the same ETag: exactly one wins.
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = b.Put(ctx, "m", strings.NewReader("w"), backend.PutOptions{IfMatch: obj.ETag})
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
		} else {
			assert.ErrorIs(t, err, backend.ErrPrecondition)
		}
	}
	assert.Equal(t, 1, wins)

	// Read-modify-write loops lose no update, also with two Backends (two
	// sets of file descriptors, as two processes would have).
	b2, err := local.New(dir, local.Options{NoSync: true})
	require.NoError(t, err)
	defer b2.Close()
	put(t, b, "counter", "0")
	const workers, incs = 8, 25
	for w := range workers {
		bk := b
		if w%2 == 1 {
			bk = b2
		}
		wg.Go(func() {
			for range incs {
				for {
					rc, cur, err := bk.Get(ctx, "counter", backend.GetOptions{})
					if !assert.NoError(t, err) {
						return
					}
					data, _ := io.ReadAll(rc)
					rc.Close()
					next := strings.Repeat("x", len(strings.TrimPrefix(string(data), "0"))+1)
					_, err = bk.Put(ctx, "counter", strings.NewReader(next), backend.PutOptions{IfMatch: cur.ETag})
					if err == nil {
						break
					}
					if !assert.ErrorIs(t, err, backend.ErrPrecondition) {
						return
					}
				}
			}
		})
	}
	// Plain writers and deleters on another key meanwhile must not break it.
	wg.Go(func() {
		for i := range 50 {
			put(t, b2, "other", strings.Repeat("o", i))
			assert.NoError(t, b.Delete(ctx, "other"))
		}
	})
	wg.Wait()
	assert.Len(t, get(t, b, "counter"), workers*incs)
	assertNoTemp(t, dir)
}

func TestIfMatchMissing(t *testing.T) {
	t.Parallel()
	b, _ := newBackend(t)
	ctx := context.Background()
	obj := put(t, b, "gone", "x")
	require.NoError(t, b.Delete(ctx, "gone"))
	_, err := b.Put(ctx, "gone", strings.NewReader("y"), backend.PutOptions{IfMatch: obj.ETag})
	assert.ErrorIs(t, err, backend.ErrPrecondition)
	_, err = b.Stat(ctx, "gone")
	assert.ErrorIs(t, err, backend.ErrNotFound)
}

func TestConcurrentPutDeleteSameDirectory(t *testing.T) {
	t.Parallel()
	b, dir := newBackend(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			key := "deep/tree/k" + string(rune('0'+w))
			for range 100 {
				_, err := b.Put(ctx, key, strings.NewReader("v"), backend.PutOptions{})
				if !assert.NoError(t, err) {
					return
				}
				if !assert.NoError(t, b.Delete(ctx, key)) {
					return
				}
			}
		})
	}
	wg.Wait()
	assert.Empty(t, listKeys(t, b, backend.ListOptions{}))
	assertNoTemp(t, dir)
}

func TestCopy(t *testing.T) {
	t.Parallel()
	b, _ := newBackend(t)
	ctx := context.Background()
	data := make([]byte, 9<<20) // more than one copy chunk
	rand.Read(data)
	src, err := b.Put(ctx, "src", bytes.NewReader(data), backend.PutOptions{ContentType: "image/png", Metadata: map[string]string{"a": "b"}})
	require.NoError(t, err)
	dst, err := b.Copy(ctx, "dir/dst", "src")
	require.NoError(t, err)
	assert.Equal(t, "dir/dst", dst.Key)
	assert.Equal(t, src.Size, dst.Size)
	assert.Equal(t, "image/png", dst.ContentType)
	assert.Equal(t, map[string]string{"a": "b"}, dst.Metadata)
	assert.NotEqual(t, src.ETag, dst.ETag)
	assert.True(t, bytes.Equal(data, []byte(get(t, b, "dir/dst"))))
	st, err := b.Stat(ctx, "dir/dst")
	require.NoError(t, err)
	assert.Equal(t, dst, st)
	// Onto itself.
	self, err := b.Copy(ctx, "src", "src")
	require.NoError(t, err)
	assert.Equal(t, src.Size, self.Size)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = b.Copy(cctx, "x", "src")
	assert.ErrorIs(t, err, context.Canceled)
}

func TestSymlinkOutsideRootNotFollowed(t *testing.T) {
	t.Parallel()
	b, dir := newBackend(t)
	ctx := context.Background()
	outside := t.TempDir()
	// A valid object file outside, and a directory holding one.
	other, err := local.New(outside, local.Options{NoSync: true})
	require.NoError(t, err)
	defer other.Close()
	put(t, other, "secret", "outside data")
	put(t, other, "sub/secret", "outside data")

	require.NoError(t, os.Symlink(filepath.Join(outside, `secret\`), filepath.Join(dir, `evil\`)))
	require.NoError(t, os.Symlink(filepath.Join(outside, "sub"), filepath.Join(dir, "link")))
	require.NoError(t, os.Symlink("../"+filepath.Base(outside), filepath.Join(dir, "rel")))

	for _, k := range []string{"evil", "link/secret", "rel/secret", "rel/sub/secret"} {
		_, _, err := b.Get(ctx, k, backend.GetOptions{})
		assert.Error(t, err, k)
		_, err = b.Stat(ctx, k)
		assert.Error(t, err, k)
		_, err = b.Copy(ctx, "copied", k)
		assert.Error(t, err, k)
		assert.Error(t, b.Delete(ctx, k), k)
		assert.NotContains(t, err.Error(), dir)
		assert.NotContains(t, err.Error(), outside)
	}
	_, err = b.Put(ctx, "link/new", strings.NewReader("x"), backend.PutOptions{})
	assert.Error(t, err)
	_, err = b.Put(ctx, "rel/sub/new", strings.NewReader("x"), backend.PutOptions{})
	assert.Error(t, err)
	_, err = b.Put(ctx, "evil", strings.NewReader("x"), backend.PutOptions{IfMatch: "x"})
	assert.Error(t, err)

	// Nothing outside changed; listing shows no link.
	assert.Equal(t, []string{`secret\`, "sub", `sub/secret\`}, files(t, outside))
	assert.Equal(t, "outside data", get(t, other, "secret"))
	assert.Empty(t, listKeys(t, b, backend.ListOptions{}))
	assert.Empty(t, listKeys(t, b, backend.ListOptions{Delimiter: "/"}))
}

func TestErrorsHideRootPath(t *testing.T) {
	t.Parallel()
	b, dir := newBackend(t)
	ctx := context.Background()
	put(t, b, "k", "v")
	require.NoError(t, os.WriteFile(filepath.Join(dir, `corrupt\`), []byte("not an object"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "file"), nil, 0o600))

	var errs []error
	add := func(err error) { require.Error(t, err); errs = append(errs, err) }
	_, _, err := b.Get(ctx, "missing/x", backend.GetOptions{})
	add(err)
	_, err = b.Stat(ctx, "corrupt")
	add(err)
	_, _, err = b.Get(ctx, "corrupt", backend.GetOptions{})
	add(err)
	_, err = b.Copy(ctx, "y", "missing")
	add(err)
	_, err = b.Put(ctx, "k", strings.NewReader("x"), backend.PutOptions{IfNotExists: true})
	add(err)
	_, err = b.Put(ctx, "k", strings.NewReader("x"), backend.PutOptions{IfMatch: "no"})
	add(err)
	_, err = b.Put(ctx, "file/x", strings.NewReader("x"), backend.PutOptions{})
	add(err) // a parent that is a file
	for _, err := range b.List(ctx, backend.ListOptions{}) {
		if err != nil {
			add(err)
		}
	}
	_, err = local.New(filepath.Join(dir, "missing"), local.Options{})
	add(err)
	assert.ErrorIs(t, err, backend.ErrNotFound)
	_, err = local.New(filepath.Join(dir, "file"), local.Options{})
	add(err)
	assert.ErrorIs(t, err, backend.ErrInvalidArgument)
	require.Len(t, errs, 10)
	for _, err := range errs {
		assert.NotContains(t, err.Error(), dir)
		assert.NotContains(t, err.Error(), filepath.Base(dir))
		var be *backend.Error
		assert.ErrorAs(t, err, &be, err.Error())
	}
}

func TestCloseAndHealth(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	b, err := local.New(dir, local.Options{})
	require.NoError(t, err)
	require.NoError(t, b.Health(ctx))
	assert.Empty(t, files(t, dir), "Health leaves nothing")
	assert.Equal(t, dir, b.Dir())
	require.NoError(t, b.Close())
	assert.ErrorIs(t, b.Close(), backend.ErrClosed)
	assert.ErrorIs(t, b.Health(ctx), backend.ErrClosed)
	_, err = b.Put(ctx, "k", strings.NewReader("v"), backend.PutOptions{})
	assert.ErrorIs(t, err, backend.ErrClosed)
	_, _, err = b.Get(ctx, "k", backend.GetOptions{})
	assert.ErrorIs(t, err, backend.ErrClosed)
	_, err = b.Stat(ctx, "k")
	assert.ErrorIs(t, err, backend.ErrClosed)
	assert.ErrorIs(t, b.Delete(ctx, "k"), backend.ErrClosed)
	_, err = b.Copy(ctx, "a", "k")
	assert.ErrorIs(t, err, backend.ErrClosed)
	for _, err := range b.List(ctx, backend.ListOptions{}) {
		assert.ErrorIs(t, err, backend.ErrClosed)
	}
	_, err = b.PresignGet(ctx, "k", backend.PresignOptions{})
	assert.ErrorIs(t, err, backend.ErrClosed)

	// A directory that is gone is unhealthy.
	sub := filepath.Join(dir, "sub")
	b2, err := local.New(sub, local.Options{CreateDir: true})
	require.NoError(t, err)
	defer b2.Close()
	require.NoError(t, b2.Health(ctx))
	require.NoError(t, os.Remove(sub))
	assert.Error(t, b2.Health(ctx))
}

func TestOpenURL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "new", "dir")
	secret := "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t"
	u := "file://" + filepath.ToSlash(dir) + "?create_dir=true&nosync=true&base_url=http://127.0.0.1/files/&secret=" + secret + "&max_upload_size=1MiB&cors_origins=https://a.example,https://b.example"
	bk, err := backend.Open(ctx, u)
	require.NoError(t, err)
	b, ok := bk.(*local.Backend)
	require.True(t, ok, "Open returns *local.Backend")
	defer b.Close()
	assert.Equal(t, dir, b.Dir())
	put(t, b, "k", "v")
	bk2, err := backend.Open(ctx, "file://localhost"+filepath.ToSlash(dir))
	require.NoError(t, err)
	assert.Equal(t, "v", get(t, bk2, "k"))
	bk2.Close()

	for _, bad := range []string{
		"file://" + filepath.ToSlash(dir) + "?nosinc=true&secret=" + secret,
		"file://" + filepath.ToSlash(dir) + "?create_dir=maybe&secret=" + secret,
		"file://host" + filepath.ToSlash(dir) + "?secret=" + secret,
		"file:relative/dir?secret=" + secret,
		"file://" + filepath.ToSlash(dir) + "/missing?secret=" + secret + "&base_url=http://x/",
		"file://" + filepath.ToSlash(dir) + "?secret=short&base_url=http://x/",
		"file://" + filepath.ToSlash(dir) + "?secret=" + secret, // no base_url
	} {
		_, err := backend.Open(ctx, bad)
		require.Error(t, err, bad)
		assert.NotContains(t, err.Error(), secret, bad)
		assert.NotContains(t, err.Error(), "s3cr3t", bad)
		assert.NotContains(t, err.Error(), dir, bad)
	}
}

func TestPresign(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b0, _ := newBackend(t)
	_, err := b0.PresignGet(ctx, "k", backend.PresignOptions{})
	assert.ErrorIs(t, err, backend.ErrUnsupported)

	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	b, err := local.New(t.TempDir(), local.Options{NoSync: true, BaseURL: srv.URL + "/files/", Secret: strings.Repeat("k", 32)})
	require.NoError(t, err)
	defer b.Close()
	mux.Handle("/files/", b.Handler())

	data := strings.Repeat("0123456789", 10000) // 100 KB: the file-backed reader
	up, err := b.PresignPut(ctx, "a b/ü", backend.PresignOptions{ContentType: "text/plain", Size: int64(len(data))})
	require.NoError(t, err)
	req, err := http.NewRequest(up.Method, up.URL, strings.NewReader(data))
	require.NoError(t, err)
	for k, v := range up.Header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	obj, err := b.Stat(ctx, "a b/ü")
	require.NoError(t, err)
	assert.Equal(t, "text/plain", obj.ContentType)

	dl, err := b.PresignGet(ctx, "a b/ü", backend.PresignOptions{})
	require.NoError(t, err)
	_, err = url.Parse(dl.URL)
	require.NoError(t, err)
	req, err = http.NewRequest("GET", dl.URL, nil)
	require.NoError(t, err)
	req.Header.Set("Range", "bytes=99995-")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.Equal(t, "56789", string(body))

	_, err = b.PresignGet(ctx, "a/../b", backend.PresignOptions{})
	assert.ErrorIs(t, err, backend.ErrInvalidKey)
}

// TestSmallGetAfterClose: a small object is read into a pooled buffer that
// Close gives back, so reading after Close must fail, never show another
// object's bytes.
func TestSmallGetAfterClose(t *testing.T) {
	t.Parallel()
	b, _ := newBackend(t)
	ctx := context.Background()
	put(t, b, "a", "first object")
	put(t, b, "b", "second object")
	rc, _, err := b.Get(ctx, "a", backend.GetOptions{})
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	assert.Equal(t, "second object", get(t, b, "b"))
	_, err = rc.Read(make([]byte, 10))
	assert.ErrorIs(t, err, os.ErrClosed)
	_, err = io.Copy(io.Discard, rc)
	assert.ErrorIs(t, err, os.ErrClosed)
}
