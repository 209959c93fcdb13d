package conformance

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
)

// clockSkew is how far a store's LastModified may be from this machine's clock.
const clockSkew = 5 * time.Minute

func checkPutRoundTrip(t T, h Harness) {
	b, ctx := setup(t, h)
	sizes := []int{0, 1, 4 << 10, 1<<20 + 7}
	types := []string{"", "text/plain; charset=utf-8", "image/png", "application/vnd.kite.test+json"}
	for i, key := range tricky(h) {
		size := sizes[i%len(sizes)]
		ct := types[(i/len(sizes)+i)%len(types)]
		data := content(key, size)
		opts := backend.PutOptions{ContentType: ct}
		var r io.Reader = bytes.NewReader(data)
		how := "size given"
		if i%2 == 0 {
			opts.Size = int64(size)
		} else {
			r, how = onlyReader{r}, "size unknown"
		}
		what := fmt.Sprintf("key %s (%d bytes, %s, content type %q)", kq(key), size, how, ct)
		wantCT := ct
		if wantCT == "" {
			wantCT = backend.DefaultContentType
		}
		start := time.Now()
		obj, err := b.Put(ctx, key, r, opts)
		if !assert.NoError(t, err, "%s: Put", what) {
			continue
		}
		if !assert.NotNil(t, obj, "%s: Put returned a nil object", what) {
			continue
		}
		assert.Equal(t, key, obj.Key, "%s: Put: Key", what)
		assert.Equal(t, int64(size), obj.Size, "%s: Put: Size", what)
		assert.NotEmpty(t, obj.ETag, "%s: Put: ETag", what)

		got, gobj, err := getAll(ctx, b, key, backend.GetOptions{})
		if assert.NoError(t, err, "%s: Get", what) {
			assertBytes(t, data, got, what+": Get")
			assert.Equal(t, key, gobj.Key, "%s: Get: Key", what)
			assert.Equal(t, int64(size), gobj.Size, "%s: Get: Size", what)
			assert.Equal(t, wantCT, gobj.ContentType, "%s: Get: ContentType", what)
			assert.Equal(t, obj.ETag, gobj.ETag, "%s: Get: ETag is not the one Put returned", what)
		}
		st, err := b.Stat(ctx, key)
		if assert.NoError(t, err, "%s: Stat", what) && assert.NotNil(t, st, "%s: Stat returned nil", what) {
			assert.Equal(t, key, st.Key, "%s: Stat: Key", what)
			assert.Equal(t, int64(size), st.Size, "%s: Stat: Size", what)
			assert.Equal(t, wantCT, st.ContentType, "%s: Stat: ContentType", what)
			assert.Equal(t, obj.ETag, st.ETag, "%s: Stat: ETag is not the one Put returned", what)
			assert.Empty(t, st.Metadata, "%s: Stat: Metadata of an object stored without any", what)
			assert.False(t, st.IsPrefix, "%s: Stat: IsPrefix", what)
			assert.WithinRange(t, st.LastModified, start.Add(-clockSkew), time.Now().Add(clockSkew), "%s: Stat: LastModified", what)
		}
	}
}

func checkPutReplace(t T, h Harness) {
	b, ctx := setup(t, h)
	const key = "replace/me"
	versions := []struct {
		data []byte
		ct   string
		meta map[string]string
	}{
		{content("v1", 100), "text/plain", map[string]string{"version": "1", "only-v1": "x"}},
		{content("v2", 37), "image/png", map[string]string{"version": "2"}},
		{content("v3", 2000), "", nil},
		{nil, "application/json", map[string]string{"empty": "yes"}},
	}
	var etags []string
	for i, v := range versions {
		what := fmt.Sprintf("key %s, version %d", kq(key), i+1)
		obj := put(t, ctx, b, key, v.data, backend.PutOptions{ContentType: v.ct, Metadata: v.meta})
		for j, e := range etags {
			assert.NotEqual(t, e, obj.ETag, "%s: Put returned the ETag of version %d: an ETag changes when the content does", what, j+1)
		}
		etags = append(etags, obj.ETag)
		wantCT := v.ct
		if wantCT == "" {
			wantCT = backend.DefaultContentType
		}
		got, gobj := mustGet(t, ctx, b, key)
		assertBytes(t, v.data, got, what+": Get")
		assert.Equal(t, wantCT, gobj.ContentType, "%s: Get: ContentType", what)
		st := mustStat(t, ctx, b, key)
		assert.Equal(t, int64(len(v.data)), st.Size, "%s: Stat: Size", what)
		assert.Equal(t, wantCT, st.ContentType, "%s: Stat: ContentType", what)
		assert.Equal(t, obj.ETag, st.ETag, "%s: Stat: ETag", what)
		assertMetadata(t, v.meta, st.Metadata, what+": Stat (metadata is replaced, not merged)")
		assertMetadata(t, v.meta, gobj.Metadata, what+": Get (metadata is replaced, not merged)")
	}
}

// assertMetadata compares metadata, nil and empty being equal.
func assertMetadata(t T, want, got map[string]string, what string) {
	t.Helper()
	if len(want) == 0 && len(got) == 0 {
		return
	}
	assert.Equal(t, want, got, "%s: Metadata", what)
}

func checkPutMetadata(t T, h Harness) {
	b, ctx := setup(t, h)
	good := map[string]string{
		"a":               "1",
		"x-kite-test":     `Hello, World! ~!@#$%^&*()_+={}[]|:;"'<>,.?/`,
		"n0":              "two  spaces inside",
		"with-digits-123": "v",
	}
	const key = "meta/good"
	put(t, ctx, b, key, []byte("m"), backend.PutOptions{Metadata: good})
	st := mustStat(t, ctx, b, key)
	assertMetadata(t, good, st.Metadata, "key "+kq(key)+": Stat")
	_, gobj := mustGet(t, ctx, b, key)
	assertMetadata(t, good, gobj.Metadata, "key "+kq(key)+": Get")

	const existing = "meta/existing"
	old := put(t, ctx, b, existing, []byte("old"), backend.PutOptions{Metadata: map[string]string{"keep": "me"}})
	bad := []struct {
		name string
		meta map[string]string
	}{
		{"upper-case key", map[string]string{"Abc": "1"}},
		{"key with underscore", map[string]string{"a_b": "1"}},
		{"key with space", map[string]string{"a b": "1"}},
		{"empty key", map[string]string{"": "1"}},
		{"non-ASCII key", map[string]string{"ü": "1"}},
		{"non-ASCII value", map[string]string{"a": "ü"}},
		{"control character in value", map[string]string{"a": "x\ny"}},
		{"DEL in value", map[string]string{"a": "x\x7f"}},
		{"leading space in value", map[string]string{"a": " x"}},
		{"more than 2 KiB", map[string]string{"big": strings.Repeat("v", backend.MaxMetadataBytes)}},
	}
	for i, c := range bad {
		key := fmt.Sprintf("meta/bad/%d", i)
		what := fmt.Sprintf("metadata with %s, key %s", c.name, kq(key))
		_, err := b.Put(t.Context(), key, strings.NewReader("x"), backend.PutOptions{Metadata: c.meta})
		assertKind(t, err, backend.ErrInvalidArgument, "Put", what+": Put")
		assertMissing(t, ctx, b, key, what+": after the refused Put")

		what = fmt.Sprintf("metadata with %s over existing key %s", c.name, kq(existing))
		_, err = b.Put(ctx, existing, strings.NewReader("new"), backend.PutOptions{Metadata: c.meta})
		assertKind(t, err, backend.ErrInvalidArgument, "Put", what+": Put")
		assertUnchanged(t, ctx, b, existing, []byte("old"), old.ETag, what)
	}
}

func checkPutSizeMismatch(t T, h Harness) {
	b, ctx := setup(t, h)
	const n = 1000
	data := content("size-mismatch", n)
	cases := []struct {
		name string
		size int64
	}{
		{"declared one more than the reader has", n + 1},
		{"declared one less than the reader has", n - 1},
		{"declared 1 of 1000", 1},
		{"declared 5000 of 1000", 5000},
	}
	readers := []struct {
		name string
		wrap func([]byte) io.Reader
	}{
		{"bytes.Reader", func(p []byte) io.Reader { return bytes.NewReader(p) }},
		{"plain reader", func(p []byte) io.Reader { return onlyReader{bytes.NewReader(p)} }},
	}
	for i, c := range cases {
		for _, rd := range readers {
			fresh := fmt.Sprintf("size/fresh-%d-%s", i, rd.name[:5])
			existing := fmt.Sprintf("size/existing-%d-%s", i, rd.name[:5])
			old := put(t, ctx, b, existing, []byte("old content"), backend.PutOptions{})

			what := fmt.Sprintf("Put %s (%s), new key %s", c.name, rd.name, kq(fresh))
			_, err := b.Put(ctx, fresh, rd.wrap(data), backend.PutOptions{Size: c.size})
			if assert.Error(t, err, "%s: Put succeeded", what) {
				assertSizeError(t, err, what)
			}
			assertMissing(t, ctx, b, fresh, what)

			what = fmt.Sprintf("Put %s (%s), existing key %s", c.name, rd.name, kq(existing))
			_, err = b.Put(ctx, existing, rd.wrap(data), backend.PutOptions{Size: c.size})
			if assert.Error(t, err, "%s: Put succeeded", what) {
				assertSizeError(t, err, what)
			}
			assertUnchanged(t, ctx, b, existing, []byte("old content"), old.ETag, what)
		}
	}
}

// assertSizeError accepts ErrInvalidArgument or no kind for a size mismatch
// (the contract names no kind), but nothing else.
func assertSizeError(t T, err error, what string) {
	t.Helper()
	if errors.Is(err, backend.ErrInvalidArgument) {
		assertKind(t, err, backend.ErrInvalidArgument, "Put", what)
	} else {
		assertNoKind(t, err, "Put", what)
	}
}

func checkPutNilReader(t T, h Harness) {
	b, ctx := setup(t, h)
	for _, size := range []int64{0, 10} {
		key := fmt.Sprintf("nil-reader/%d", size)
		what := fmt.Sprintf("Put of a nil reader with Size %d, key %s", size, kq(key))
		_, err := b.Put(ctx, key, nil, backend.PutOptions{Size: size})
		assertKind(t, err, backend.ErrInvalidArgument, "Put", what)
		assertMissing(t, ctx, b, key, what)
	}
}

var errReader = errors.New("conformance: the reader failed on purpose")

// failingReader yields n bytes, then fails with errReader.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errReader
	}
	k := min(len(p), f.n)
	for i := range p[:k] {
		p[i] = 'f'
	}
	f.n -= k
	return k, nil
}

func checkPutReaderError(t T, h Harness) {
	b, ctx := setup(t, h)
	old := put(t, ctx, b, "reader-error/existing", []byte("old"), backend.PutOptions{})
	for _, size := range []int64{0, 5000} {
		for _, key := range []string{"reader-error/new", "reader-error/existing"} {
			what := fmt.Sprintf("Put of a reader failing after 1000 bytes, Size %d, key %s", size, kq(key))
			_, err := b.Put(ctx, key, &failingReader{n: 1000}, backend.PutOptions{Size: size})
			if !assert.Error(t, err, "%s: Put succeeded", what) {
				continue
			}
			assertBackendError(t, err, "Put", what)
			if key == "reader-error/new" {
				assertMissing(t, ctx, b, key, what)
			} else {
				assertUnchanged(t, ctx, b, key, []byte("old"), old.ETag, what)
			}
		}
	}
}

func checkPutStreaming(t T, h Harness) {
	b, ctx := setup(t, h)
	n := h.StreamSize
	if n <= 0 {
		n = 3<<20 + 1
	}
	for i, size := range []int64{0, n} {
		key := fmt.Sprintf("stream/%d", i)
		what := fmt.Sprintf("key %s, %d bytes from a non-seekable reader, Size %d", kq(key), n, size)
		seed := uint64(0x6b697465 + i)
		r := newPattern(seed, n)
		obj, err := b.Put(ctx, key, r, backend.PutOptions{Size: size, ContentType: "application/x-stream"})
		require.NoError(t, err, "%s: Put", what)
		assert.Equal(t, n, r.read, "%s: Put did not read the reader to its end", what)
		assert.Equal(t, n, obj.Size, "%s: Put: Size", what)

		rc, gobj, err := b.Get(ctx, key, backend.GetOptions{})
		require.NoError(t, err, "%s: Get", what)
		hash := sha256.New()
		got, err := io.Copy(hash, io.LimitReader(rc, n+1))
		rc.Close()
		require.NoError(t, err, "%s: reading", what)
		assert.Equal(t, n, got, "%s: bytes read back", what)
		assert.Equal(t, n, gobj.Size, "%s: Get: Size", what)
		want := patternSum(seed, n)
		assert.Equal(t, want[:], hash.Sum(nil), "%s: sha256 of the content read back", what)
		st := mustStat(t, ctx, b, key)
		assert.Equal(t, n, st.Size, "%s: Stat: Size", what)
		assert.Equal(t, "application/x-stream", st.ContentType, "%s: Stat: ContentType", what)
	}
}

func checkPutIfNotExists(t T, h Harness) {
	b, ctx := setup(t, h)
	const key = "ine/key"
	first, err := b.Put(ctx, key, strings.NewReader("first"), backend.PutOptions{IfNotExists: true})
	require.NoError(t, err, "key %s: first Put with IfNotExists", kq(key))
	_, err = b.Put(ctx, key, strings.NewReader("second"), backend.PutOptions{IfNotExists: true})
	assertKind(t, err, backend.ErrExists, "Put", "key "+kq(key)+": second Put with IfNotExists")
	assertUnchanged(t, ctx, b, key, []byte("first"), first.ETag, "after the refused IfNotExists Put")

	require.NoError(t, b.Delete(ctx, key), "Delete")
	_, err = b.Put(ctx, key, strings.NewReader("again"), backend.PutOptions{IfNotExists: true})
	assert.NoError(t, err, "key %s: Put with IfNotExists after Delete", kq(key))

	// A key that is the parent of another is still free.
	if h.NoParentKeys == "" {
		put(t, ctx, b, "ine/parent/child", []byte("c"), backend.PutOptions{})
		_, err = b.Put(ctx, "ine/parent", strings.NewReader("p"), backend.PutOptions{IfNotExists: true})
		assert.NoError(t, err, "key \"ine/parent\" while \"ine/parent/child\" exists: Put with IfNotExists")
	} else {
		t.Logf("IfNotExists on a key that is the parent of another not checked: %s", h.NoParentKeys)
	}

	const writers = 16
	for round := range 3 {
		key := fmt.Sprintf("ine/race-%d", round)
		type outcome struct {
			data []byte
			obj  *backend.Object
			err  error
		}
		outs := make([]outcome, writers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for w := range writers {
			outs[w].data = content(fmt.Sprintf("%s writer %d", key, w), 1000+w)
			wg.Go(func() {
				<-start
				outs[w].obj, outs[w].err = b.Put(ctx, key, bytes.NewReader(outs[w].data), backend.PutOptions{IfNotExists: true})
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for w, o := range outs {
			if o.err == nil {
				if winner >= 0 {
					t.Errorf("key %s: %d concurrent IfNotExists writers: writers %d and %d both succeeded", kq(key), writers, winner, w)
				}
				winner = w
				continue
			}
			assertKind(t, o.err, backend.ErrExists, "Put", fmt.Sprintf("key %s: concurrent IfNotExists writer %d", kq(key), w))
		}
		if winner < 0 {
			t.Errorf("key %s: none of %d concurrent IfNotExists writers succeeded", kq(key), writers)
			continue
		}
		got, obj := mustGet(t, ctx, b, key)
		assertBytes(t, outs[winner].data, got, fmt.Sprintf("key %s: content after the race, want writer %d's", kq(key), winner))
		assert.Equal(t, outs[winner].obj.ETag, obj.ETag, "key %s: ETag after the race, want writer %d's", kq(key), winner)
	}
}

func checkPutIfMatch(t T, h Harness) {
	b, ctx := setup(t, h)
	const key = "im/key"
	v1 := put(t, ctx, b, key, []byte("v1"), backend.PutOptions{})
	v2, err := b.Put(ctx, key, strings.NewReader("v2"), backend.PutOptions{IfMatch: v1.ETag})
	require.NoError(t, err, "key %s: Put with IfMatch of the current ETag", kq(key))
	assert.NotEqual(t, v1.ETag, v2.ETag, "key %s: Put with IfMatch returned the old ETag", kq(key))
	assertUnchanged(t, ctx, b, key, []byte("v2"), v2.ETag, "after Put with IfMatch")

	_, err = b.Put(ctx, key, strings.NewReader("stale"), backend.PutOptions{IfMatch: v1.ETag})
	assertKind(t, err, backend.ErrPrecondition, "Put", "key "+kq(key)+": Put with IfMatch of a stale ETag")
	assertUnchanged(t, ctx, b, key, []byte("v2"), v2.ETag, "after Put with a stale IfMatch")

	_, err = b.Put(ctx, key, strings.NewReader("bogus"), backend.PutOptions{IfMatch: "no-such-etag"})
	assertKind(t, err, backend.ErrPrecondition, "Put", "key "+kq(key)+": Put with IfMatch of a made-up ETag")
	assertUnchanged(t, ctx, b, key, []byte("v2"), v2.ETag, "after Put with a made-up IfMatch")

	const missing = "im/missing"
	_, err = b.Put(ctx, missing, strings.NewReader("x"), backend.PutOptions{IfMatch: v2.ETag})
	assertKind(t, err, backend.ErrPrecondition, "Put", "missing key "+kq(missing)+": Put with IfMatch")
	assertMissing(t, ctx, b, missing, "after Put with IfMatch on a missing key")

	for _, k := range []string{key, missing} {
		_, err = b.Put(ctx, k, strings.NewReader("both"), backend.PutOptions{IfMatch: v2.ETag, IfNotExists: true})
		assertKind(t, err, backend.ErrInvalidArgument, "Put", "key "+kq(k)+": Put with IfMatch and IfNotExists")
	}
	assertUnchanged(t, ctx, b, key, []byte("v2"), v2.ETag, "after Put with IfMatch and IfNotExists")
	assertMissing(t, ctx, b, missing, "after Put with IfMatch and IfNotExists")

	// The ETag of a listing and of Stat are the same, and both work as IfMatch.
	_, objs := listKeys(t, ctx, b, backend.ListOptions{Prefix: key}, "List")
	if assert.Len(t, objs, 1, "List with Prefix %s", kq(key)) {
		assert.Equal(t, v2.ETag, objs[0].ETag, "key %s: listed ETag differs from Put's", kq(key))
		v3, err := b.Put(ctx, key, strings.NewReader("v3"), backend.PutOptions{IfMatch: objs[0].ETag})
		if assert.NoError(t, err, "key %s: Put with IfMatch of the listed ETag", kq(key)) {
			assertUnchanged(t, ctx, b, key, []byte("v3"), v3.ETag, "after Put with the listed ETag")
		}
	}
}

func checkPutIfMatchRace(t T, h Harness) {
	b, ctx := setup(t, h)
	const writers = 8
	for round := range 3 {
		key := fmt.Sprintf("im-race/%d", round)
		base := put(t, ctx, b, key, []byte("base"), backend.PutOptions{})
		datas := make([][]byte, writers)
		objs := make([]*backend.Object, writers)
		errs := make([]error, writers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for w := range writers {
			datas[w] = content(fmt.Sprintf("%s writer %d", key, w), 500+w)
			wg.Go(func() {
				<-start
				objs[w], errs[w] = b.Put(ctx, key, bytes.NewReader(datas[w]), backend.PutOptions{IfMatch: base.ETag})
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for w, err := range errs {
			if err == nil {
				if winner >= 0 {
					t.Errorf("key %s: %d concurrent writers with IfMatch of one ETag: writers %d and %d both succeeded (IfMatch is a compare-and-swap)", kq(key), writers, winner, w)
				}
				winner = w
				continue
			}
			assertKind(t, err, backend.ErrPrecondition, "Put", fmt.Sprintf("key %s: concurrent IfMatch writer %d", kq(key), w))
		}
		if winner < 0 {
			t.Errorf("key %s: none of %d concurrent IfMatch writers succeeded", kq(key), writers)
			continue
		}
		assertUnchanged(t, ctx, b, key, datas[winner], objs[winner].ETag, fmt.Sprintf("after the race, want writer %d's", winner))
	}
}

func checkPutAtomic(t T, h Harness) {
	b, ctx := setup(t, h)
	const key = "atomic/key"
	// Version v is sizeOf(v) bytes, all of value v, so a torn or mixed read shows.
	sizeOf := func(v byte) int { return 64<<10 + int(v)*1111 }
	version := func(v byte) []byte { return bytes.Repeat([]byte{v}, sizeOf(v)) }
	put(t, ctx, b, key, version(1), backend.PutOptions{})
	const writers, puts, readers = 2, 8, 4
	done := make(chan struct{})
	var wg, rw sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range puts {
				v := byte(2 + w*puts + i)
				_, err := b.Put(ctx, key, bytes.NewReader(version(v)), backend.PutOptions{})
				assert.NoError(t, err, "key %s: Put of version %d", kq(key), v)
			}
		})
	}
	for r := range readers {
		rw.Go(func() {
			for i := 0; i < 200; i++ {
				select {
				case <-done:
					return
				default:
				}
				data, obj, err := getAll(ctx, b, key, backend.GetOptions{})
				if !assert.NoError(t, err, "reader %d: Get of %s while it is being replaced", r, kq(key)) {
					return
				}
				if len(data) == 0 {
					t.Errorf("reader %d: Get of %s returned no bytes while it was being replaced", r, kq(key))
					return
				}
				v := data[0]
				if len(data) != sizeOf(v) || bytes.Count(data, []byte{v}) != len(data) {
					t.Errorf("reader %d: Get of %s saw a partly written object: %d bytes starting with version %d, want %d bytes of it", r, kq(key), len(data), v, sizeOf(v))
					return
				}
				if obj.Size != int64(len(data)) {
					t.Errorf("reader %d: Get of %s: Object.Size %d describes another version than the %d bytes read", r, kq(key), obj.Size, len(data))
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	rw.Wait()
	st := mustStat(t, ctx, b, key)
	assert.Contains(t, []int64{int64(sizeOf(1 + puts)), int64(sizeOf(1 + 2*puts))}, st.Size, "key %s: size after the writers, want one of the last versions", kq(key))
}
