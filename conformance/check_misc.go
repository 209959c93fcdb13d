package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
)

func checkCopy(t T, h Harness) {
	b, ctx := setup(t, h)
	const src, dst, existing = "copy/src", "copy/dst", "copy/existing"
	data := content("copy", 3000)
	meta := map[string]string{"k": "v", "n": "1"}
	s := put(t, ctx, b, src, data, backend.PutOptions{ContentType: "text/csv", Metadata: meta})
	put(t, ctx, b, existing, []byte("old"), backend.PutOptions{ContentType: "image/gif", Metadata: map[string]string{"old": "yes"}})
	for _, d := range []string{dst, existing} {
		what := fmt.Sprintf("Copy of %s to %s", kq(src), kq(d))
		obj, err := b.Copy(ctx, d, src)
		require.NoError(t, err, what)
		require.NotNil(t, obj, "%s returned a nil object", what)
		assert.Equal(t, d, obj.Key, "%s: Key", what)
		assert.Equal(t, int64(len(data)), obj.Size, "%s: Size", what)
		got, gobj := mustGet(t, ctx, b, d)
		assertBytes(t, data, got, what)
		assert.Equal(t, "text/csv", gobj.ContentType, "%s: ContentType", what)
		st := mustStat(t, ctx, b, d)
		assert.Equal(t, "text/csv", st.ContentType, "%s: Stat: ContentType", what)
		assertMetadata(t, meta, st.Metadata, what+": Stat (the copy has the source's metadata only)")
		if obj.ETag != "" {
			assert.Equal(t, st.ETag, obj.ETag, "%s: ETag differs from Stat's", what)
		}
		assertUnchanged(t, ctx, b, src, data, s.ETag, what+": the source")
	}

	put(t, ctx, b, "copy/empty", nil, backend.PutOptions{})
	if _, err := b.Copy(ctx, "copy/empty-copy", "copy/empty"); assert.NoError(t, err, "Copy of an empty object") {
		got, _ := mustGet(t, ctx, b, "copy/empty-copy")
		assert.Empty(t, got, "Copy of an empty object")
	}

	stored := map[string][]byte{}
	keys := tricky(h)
	for i, k := range keys {
		stored[k] = content("tricky copy "+k, i*13)
		put(t, ctx, b, k, stored[k], backend.PutOptions{ContentType: "text/plain"})
	}
	for i, k := range keys {
		out := fmt.Sprintf("copied/%d", i)
		if _, err := b.Copy(ctx, out, k); assert.NoError(t, err, "Copy of %s to %s", kq(k), kq(out)) {
			got, _ := mustGet(t, ctx, b, out)
			assertBytes(t, stored[k], got, fmt.Sprintf("Copy of %s to %s", kq(k), kq(out)))
		}
	}
	for i := range keys {
		from, to := fmt.Sprintf("copied/%d", i), keys[(i+1)%len(keys)]
		if h.NoLongKeyReplace != "" && len(to)-strings.LastIndexByte(to, '/')-1 > longReplaceSegment {
			t.Logf("Copy onto %s left out: %s", kq(to), h.NoLongKeyReplace)
			continue
		}
		if _, err := b.Copy(ctx, to, from); assert.NoError(t, err, "Copy of %s to %s", kq(from), kq(to)) {
			got, obj := mustGet(t, ctx, b, to)
			assertBytes(t, stored[keys[i]], got, fmt.Sprintf("Copy of %s onto %s", kq(from), kq(to)))
			assert.Equal(t, "text/plain", obj.ContentType, "Copy of %s onto %s: ContentType", kq(from), kq(to))
		}
	}

	_, err := b.Copy(ctx, "copy/from-missing", "copy/missing")
	assertKind(t, err, backend.ErrNotFound, "Copy", "Copy from a missing key")
	assertMissing(t, ctx, b, "copy/from-missing", "after Copy from a missing key")
}

func checkDelete(t T, h Harness) {
	b, ctx := setup(t, h)
	putAll(t, ctx, b, []string{"once", "dir/x", "dir/y"})
	require.NoError(t, b.Delete(ctx, "once"), "Delete of \"once\"")
	assertMissing(t, ctx, b, "once", "after Delete")
	keys, _ := listKeys(t, ctx, b, backend.ListOptions{}, "List")
	assertKeys(t, []string{"dir/x", "dir/y"}, keys, "List after Delete of \"once\"")

	assert.NoError(t, b.Delete(ctx, "once"), "second Delete of \"once\": deleting a missing key is not an error")
	assert.NoError(t, b.Delete(ctx, "never/existed"), "Delete of a key that never existed")
	assert.NoError(t, b.Delete(ctx, "dir"), "Delete of \"dir\", a prefix of keys but not a key")
	keys, _ = listKeys(t, ctx, b, backend.ListOptions{}, "List")
	assertKeys(t, []string{"dir/x", "dir/y"}, keys, "List after Delete of missing keys")

	// Deleting a key leaves the keys below it, and the other way round.
	if h.NoParentKeys == "" {
		putAll(t, ctx, b, []string{"a", "a/b", "a/b/c"})
		require.NoError(t, b.Delete(ctx, "a"), "Delete of \"a\"")
		assertMissing(t, ctx, b, "a", "after Delete")
		mustStat(t, ctx, b, "a/b")
		keys, _ = listKeys(t, ctx, b, backend.ListOptions{}, "List")
		assertKeys(t, []string{"a/b", "a/b/c", "dir/x", "dir/y"}, keys, "List after Delete of \"a\"")
		assert.NoError(t, b.Delete(ctx, "a"), "second Delete of \"a\", a missing key below which keys exist")

		put(t, ctx, b, "a", []byte("again"), backend.PutOptions{})
		require.NoError(t, b.Delete(ctx, "a/b"), "Delete of \"a/b\"")
		assertMissing(t, ctx, b, "a/b", "after Delete")
		mustStat(t, ctx, b, "a")
		mustStat(t, ctx, b, "a/b/c")
		require.NoError(t, b.Delete(ctx, "a/b/c"), "Delete of \"a/b/c\"")
		keys, _ = listKeys(t, ctx, b, backend.ListOptions{}, "List")
		assertKeys(t, []string{"a", "dir/x", "dir/y"}, keys, "List after Delete of \"a/b\" and \"a/b/c\"")
		require.NoError(t, b.Delete(ctx, "a"), "Delete of \"a\"")
	} else {
		t.Logf("Delete of a key beside keys below it not checked: %s", h.NoParentKeys)
	}

	for _, k := range []string{"dir/x", "dir/y"} {
		require.NoError(t, b.Delete(ctx, k), "Delete of %s", kq(k))
	}
	all := tricky(h)
	putAll(t, ctx, b, all)
	for _, k := range all {
		assert.NoError(t, b.Delete(ctx, k), "Delete of %s", kq(k))
		assertMissing(t, ctx, b, k, "after Delete")
	}
	keys, _ = listKeys(t, ctx, b, backend.ListOptions{}, "List")
	assertKeys(t, nil, keys, "List after deleting every key")
}

// cancelReader delivers before bytes, then cancels: by calling cancel and
// going on to deliver up to total bytes, or, with block, by blocking until
// ctx is done (cancelled from outside) and failing with ctx's error, like a
// request body.
type cancelReader struct {
	before, total int
	cancel        func()
	block         bool
	ctx           context.Context
	blocked       chan struct{}
	n             int
	once          sync.Once
}

func (r *cancelReader) Read(p []byte) (int, error) {
	if r.n >= r.before {
		if r.block {
			r.once.Do(func() { close(r.blocked) })
			<-r.ctx.Done()
			return 0, r.ctx.Err()
		}
		r.once.Do(r.cancel)
	}
	if r.n >= r.total {
		return 0, io.EOF
	}
	k := min(len(p), r.total-r.n)
	if r.n < r.before {
		k = min(k, r.before-r.n)
	}
	for i := range p[:k] {
		p[i] = 'c'
	}
	r.n += k
	return k, nil
}

func checkCancel(t T, h Harness) {
	b, ctx := setup(t, h)
	const existing = "cancel/existing"
	old := put(t, ctx, b, existing, []byte("old"), backend.PutOptions{})
	const total = 8 << 20
	for _, block := range []bool{false, true} {
		for _, size := range []int64{0, total} {
			for _, key := range []string{"cancel/new", existing} {
				how := "goes on delivering"
				if block {
					how = "blocks"
				}
				what := fmt.Sprintf("Put of key %s (Size %d), cancelled after 64 KiB while the reader %s", kq(key), size, how)
				cctx, cancel := context.WithCancel(ctx)
				r := &cancelReader{before: 64 << 10, total: total, cancel: cancel, block: block, ctx: cctx, blocked: make(chan struct{})}
				putDone := make(chan struct{})
				if block {
					go func() {
						select {
						case <-r.blocked:
							cancel()
						case <-putDone:
						}
					}()
				}
				_, err := b.Put(cctx, key, r, backend.PutOptions{Size: size})
				close(putDone)
				cancel()
				assertCanceled(t, err, "Put", what)
				if key == existing {
					assertUnchanged(t, ctx, b, key, []byte("old"), old.ETag, what)
				} else {
					assertMissing(t, ctx, b, key, what)
				}
			}
		}
	}

	// Get: a read after cancellation fails; it is no silent short read.
	const big = "cancel/big"
	_, err := b.Put(ctx, big, newPattern(7, total), backend.PutOptions{})
	require.NoError(t, err, "Put of %s", kq(big))
	gctx, gcancel := context.WithCancel(ctx)
	rc, _, err := b.Get(gctx, big, backend.GetOptions{})
	require.NoError(t, err, "Get of %s", kq(big))
	_, err = io.ReadFull(rc, make([]byte, 1024))
	require.NoError(t, err, "reading the first KiB of %s", kq(big))
	gcancel()
	n, err := io.Copy(io.Discard, io.LimitReader(rc, total))
	rc.Close()
	if err == nil {
		t.Errorf("Get of %s (%d bytes): reading after cancel returned %d more bytes and no error", kq(big), total, n)
	} else if !errors.Is(err, context.Canceled) {
		t.Errorf("Get of %s: reading after cancel: error %q does not match context.Canceled", kq(big), err)
	}

	// Calls with a context already cancelled do nothing and say so.
	dead, kill := context.WithCancel(ctx)
	kill()
	_, err = b.Stat(dead, big)
	assertCanceled(t, err, "Stat", "Stat with a cancelled context")
	objs, err := collect(t, b.List(dead, backend.ListOptions{}), "List with a cancelled context")
	assert.Empty(t, objs, "List with a cancelled context yielded objects")
	assertCanceled(t, err, "List", "List with a cancelled context")
	rc, _, err = b.Get(dead, big, backend.GetOptions{})
	if rc != nil {
		rc.Close()
	}
	assertCanceled(t, err, "Get", "Get with a cancelled context")
	_, err = b.Put(dead, "cancel/dead", strings.NewReader("x"), backend.PutOptions{})
	assertCanceled(t, err, "Put", "Put with a cancelled context")
	assertMissing(t, ctx, b, "cancel/dead", "after Put with a cancelled context")
	assertCanceled(t, b.Delete(dead, existing), "Delete", "Delete with a cancelled context")
	assertUnchanged(t, ctx, b, existing, []byte("old"), old.ETag, "after Delete with a cancelled context")
	_, err = b.Copy(dead, "cancel/copy", existing)
	assertCanceled(t, err, "Copy", "Copy with a cancelled context")
	assertMissing(t, ctx, b, "cancel/copy", "after Copy with a cancelled context")

	// A listing cancelled midway ends with the context's error, not silently.
	putAll(t, ctx, b, []string{"l/0", "l/1", "l/2", "l/3", "l/4", "l/5", "l/6", "l/7", "l/8", "l/9"})
	lctx, lcancel := context.WithCancel(ctx)
	seen := 0
	var lerr error
	for o, err := range b.List(lctx, backend.ListOptions{Prefix: "l/", PageSize: 1}) {
		if err != nil {
			lerr = err
			break
		}
		if o != nil {
			seen++
		}
		lcancel()
		if seen > 10 {
			break
		}
	}
	lcancel()
	if lerr == nil {
		t.Errorf("List with PageSize 1 cancelled after the first of 10 objects ended without an error after %d objects: cancellation is never swallowed", seen)
	} else {
		assertCanceled(t, lerr, "List", "List cancelled midway")
	}
}

func checkHealth(t T, h Harness) {
	b, ctx := setup(t, h)
	assert.NoError(t, b.Health(ctx), "Health of a fresh backend")
	put(t, ctx, b, "health", []byte("x"), backend.PutOptions{})
	assert.NoError(t, b.Health(ctx), "Health after a Put")
}

func checkClose(t T, h Harness) {
	b := newBackend(t, h) // closed here, not at cleanup
	ctx, cancel := context.WithTimeout(t.Context(), checkTimeout)
	defer cancel()
	put(t, ctx, b, "close/k", []byte("x"), backend.PutOptions{})
	require.NoError(t, b.Close(), "Close")
	check := func(op string, err error) {
		t.Helper()
		assertKind(t, err, backend.ErrClosed, op, op+" after Close")
	}
	_, err := b.Put(ctx, "close/k2", strings.NewReader("x"), backend.PutOptions{})
	check("Put", err)
	rc, _, err := b.Get(ctx, "close/k", backend.GetOptions{})
	if rc != nil {
		rc.Close()
	}
	check("Get", err)
	_, err = b.Stat(ctx, "close/k")
	check("Stat", err)
	_, err = collect(t, b.List(ctx, backend.ListOptions{}), "List after Close")
	check("List", err)
	check("Health", b.Health(ctx))
}

func checkConcurrency(t T, h Harness) {
	b, ctx := setup(t, h)
	const goroutines, rounds = 8, 5
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			prefix := fmt.Sprintf("conc/%d/", g)
			for i := range rounds {
				key := fmt.Sprintf("%s%d", prefix, i)
				data := content(key, 1000+g*100+i)
				if _, err := b.Put(ctx, key, bytes.NewReader(data), backend.PutOptions{}); !assert.NoError(t, err, "goroutine %d: Put %s", g, kq(key)) {
					return
				}
				got, _, err := getAll(ctx, b, key, backend.GetOptions{})
				if assert.NoError(t, err, "goroutine %d: Get %s", g, kq(key)) {
					assertBytes(t, data, got, fmt.Sprintf("goroutine %d: Get %s", g, kq(key)))
				}
				if st, err := b.Stat(ctx, key); assert.NoError(t, err, "goroutine %d: Stat %s", g, kq(key)) {
					assert.Equal(t, int64(len(data)), st.Size, "goroutine %d: Stat %s: Size", g, kq(key))
				}
				objs, err := collect(t, b.List(ctx, backend.ListOptions{Prefix: prefix}), "List")
				if assert.NoError(t, err, "goroutine %d: List", g) {
					var keys []string
					for _, o := range objs {
						keys = append(keys, o.Key)
					}
					want := []string{key}
					if i > 0 {
						want = []string{fmt.Sprintf("%s%d", prefix, i-1), key}
					}
					assertKeys(t, want, keys, fmt.Sprintf("goroutine %d: List with Prefix %s", g, kq(prefix)))
				}
				if i > 0 {
					prev := fmt.Sprintf("%s%d", prefix, i-1)
					assert.NoError(t, b.Delete(ctx, prev), "goroutine %d: Delete %s", g, kq(prev))
				}
				_, err = collect(t, b.List(ctx, backend.ListOptions{}), "List")
				assert.NoError(t, err, "goroutine %d: List of everything", g)
			}
		})
	}
	wg.Wait()
	keys, _ := listKeys(t, ctx, b, backend.ListOptions{}, "List")
	var want []string
	for g := range goroutines {
		want = append(want, fmt.Sprintf("conc/%d/%d", g, rounds-1))
	}
	assertKeys(t, want, keys, "List after the concurrent goroutines")
}

var (
	docKeyRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[0-9a-f-]{36}(\.[a-z0-9]{1,16})?$`)
	uuid4RE  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

func checkDocument(t T, h Harness) {
	b, ctx := setup(t, h)
	assert.Equal(t, ".pdf", backend.ExtOf("Report.PDF"), "ExtOf(\"Report.PDF\")")
	assert.Equal(t, ".gz", backend.ExtOf("My Secret Report.tar.GZ"), "ExtOf(\"My Secret Report.tar.GZ\")")
	assert.Equal(t, "", backend.ExtOf("README"), "ExtOf(\"README\")")
	assert.Equal(t, "", backend.ExtOf(".bashrc"), "ExtOf(\".bashrc\")")

	const name = "My Secret Report.PDF"
	key, err := backend.NewDocumentKey("user1", "doc-1", backend.ExtOf(name))
	require.NoError(t, err, "NewDocumentKey")
	assert.Regexp(t, docKeyRE, key, "NewDocumentKey")
	assert.True(t, strings.HasSuffix(key, ".pdf"), "NewDocumentKey key %q does not end with the lowered extension", key)
	for _, word := range []string{"Secret", "Report", "My", " "} {
		assert.NotContains(t, key, word, "NewDocumentKey: the human file name %q enters the key", name)
	}
	key2, err := backend.NewDocumentKey("user1", "doc-1", ".PDF")
	require.NoError(t, err, "NewDocumentKey with an upper-case extension")
	assert.True(t, strings.HasSuffix(key2, ".pdf"), "NewDocumentKey with \".PDF\": %q, want a lower-case extension", key2)
	dk, err := backend.ParseDocumentKey(key)
	if assert.NoError(t, err, "ParseDocumentKey(%q)", key) {
		assert.Equal(t, "user1", dk.UserID, "ParseDocumentKey: UserID")
		assert.Equal(t, "doc-1", dk.DocumentID, "ParseDocumentKey: DocumentID")
		assert.Equal(t, ".pdf", dk.Ext, "ParseDocumentKey: Ext")
		assert.Regexp(t, uuid4RE, dk.ID, "ParseDocumentKey: ID is not a canonical version 4 UUID")
		assert.Equal(t, key, dk.String(), "DocumentKey.String does not round-trip")
	}
	for _, bad := range []string{"user1/doc-1/not-a-uuid.pdf", "user1/" + dk.ID, "a/b/c/" + dk.ID, "user1/doc-1/" + strings.ToUpper(dk.ID) + ".pdf", "user1/doc-1/" + dk.ID + ".PDF"} {
		_, err := backend.ParseDocumentKey(bad)
		assert.ErrorIs(t, err, backend.ErrInvalidKey, "ParseDocumentKey(%q)", bad)
	}

	// PutDocument never overwrites and keeps users apart.
	stored := map[string][]byte{}
	for _, u := range []string{"user1", "user1", "user10", "user2"} {
		data := content(fmt.Sprint(u, len(stored)), 100+len(stored))
		obj, err := backend.PutDocument(ctx, b, u, "doc-1", ".txt", bytes.NewReader(data), backend.PutOptions{ContentType: "text/plain", IfMatch: "ignored"})
		require.NoError(t, err, "PutDocument for %s", u)
		assert.Regexp(t, docKeyRE, obj.Key, "PutDocument: Key")
		assert.True(t, strings.HasPrefix(obj.Key, u+"/doc-1/"), "PutDocument for %s: key %q", u, obj.Key)
		_, dup := stored[obj.Key]
		assert.False(t, dup, "PutDocument twice gave the same key %q", obj.Key)
		stored[obj.Key] = data
	}
	for k, data := range stored {
		got, _ := mustGet(t, ctx, b, k)
		assertBytes(t, data, got, "document "+kq(k))
	}
	var user1 []string
	for _, k := range sortedKeys(stored) {
		if strings.HasPrefix(k, "user1/") {
			user1 = append(user1, k)
		}
	}
	assert.Len(t, user1, 2, "user1's documents")
	keys, _ := listKeys(t, ctx, b, backend.ListOptions{Prefix: "user1/"}, "List")
	assertKeys(t, user1, keys, "List with Prefix \"user1/\" lists user1's documents only")

	badIDs := []string{"", ".", "..", "a/b", "a b", "ü", "a\x00", strings.Repeat("u", 129)}
	for _, id := range badIDs {
		_, err := backend.NewDocumentKey(id, "doc", ".pdf")
		assert.ErrorIs(t, err, backend.ErrInvalidKey, "NewDocumentKey with user ID %q", id)
		_, err = backend.NewDocumentKey("user", id, ".pdf")
		assert.ErrorIs(t, err, backend.ErrInvalidKey, "NewDocumentKey with document ID %q", id)
		_, err = backend.PutDocument(ctx, b, id, "doc", "", strings.NewReader("x"), backend.PutOptions{})
		assert.ErrorIs(t, err, backend.ErrInvalidKey, "PutDocument with user ID %q", id)
	}
	_, err = backend.NewDocumentKey(strings.Repeat("u", 128), strings.Repeat("d", 128), "."+strings.Repeat("e", 16))
	assert.NoError(t, err, "NewDocumentKey with 128-character IDs and a 16-character extension")
	for _, ext := range []string{"pdf", ".", ".p-f", ".p df", "." + strings.Repeat("e", 17), ".ü", "..pdf", ".pdf/x"} {
		_, err := backend.NewDocumentKey("user", "doc", ext)
		assert.ErrorIs(t, err, backend.ErrInvalidKey, "NewDocumentKey with extension %q", ext)
	}
	keys, _ = listKeys(t, ctx, b, backend.ListOptions{}, "List")
	assertKeys(t, sortedKeys(stored), keys, "List after the refused PutDocument calls")
}
