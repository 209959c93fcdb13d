package conformance

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/stretchr/testify/assert"

	"github.com/kitehq/kite/backend"
)

// refList is what List must yield for keys (in any order) and opts, common
// prefixes ending with their delimiter.
func refList(keys []string, opts backend.ListOptions) []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range keys {
		if !strings.HasPrefix(k, opts.Prefix) {
			continue
		}
		item := k
		if opts.Delimiter != "" {
			if i := strings.Index(k[len(opts.Prefix):], opts.Delimiter); i >= 0 {
				item = k[:len(opts.Prefix)+i+len(opts.Delimiter)]
			}
		}
		if item <= opts.StartAfter || seen[item] {
			continue
		}
		seen[item] = true
		out = append(out, item)
	}
	slices.Sort(out)
	return out
}

// putAll stores each key with its own content and returns the contents.
func putAll(t T, ctx context.Context, b backend.Backend, keys []string) map[string][]byte {
	t.Helper()
	m := make(map[string][]byte, len(keys))
	for i, k := range keys {
		m[k] = content(k, i%7*3)
		put(t, ctx, b, k, m[k], backend.PutOptions{})
	}
	return m
}

func checkListOrder(t T, h Harness) {
	b, ctx := setup(t, h)
	// Where '/' sorts matters: "p-r" < "p/q" < "p0" byte-wise, not in a
	// directory walk. Without parent keys, "p-r" < "p/q/r" < "p0" still shows it.
	keys := keysFor(h, trickyKeys, []string{"p", "p/q", "p-r", "p0", "p/q/r", "p.s"})
	want := putAll(t, ctx, b, keys)

	// A mix of operations, so that whatever a driver leaves behind shows.
	for i, k := range keys {
		if i%3 == 0 {
			want[k] = content("v2 "+k, 100+i)
			put(t, ctx, b, k, want[k], backend.PutOptions{ContentType: "text/plain", Metadata: map[string]string{"v": "2"}})
		}
	}
	for _, k := range []string{"zz/size-fail", keys[1]} {
		_, err := b.Put(ctx, k, bytes.NewReader(make([]byte, 10)), backend.PutOptions{Size: 11})
		assert.Error(t, err, "key %s: Put of 10 bytes declared as 11", kq(k))
	}
	for _, k := range []string{"zz/reader-fail", keys[2]} {
		_, err := b.Put(ctx, k, &failingReader{n: 100}, backend.PutOptions{})
		assert.Error(t, err, "key %s: Put of a failing reader", kq(k))
	}
	for _, k := range []string{"zz/cancelled", keys[3]} {
		cctx, cancel := context.WithCancel(ctx)
		_, err := b.Put(cctx, k, &cancelReader{before: 4096, total: 1 << 20, cancel: cancel}, backend.PutOptions{})
		cancel()
		assert.Error(t, err, "key %s: Put cancelled while reading", kq(k))
	}
	_, err := b.Put(ctx, keys[4], strings.NewReader("no"), backend.PutOptions{IfNotExists: true})
	assert.Error(t, err, "key %s: Put with IfNotExists on an existing key", kq(keys[4]))
	_, err = b.Put(ctx, keys[5], strings.NewReader("no"), backend.PutOptions{IfMatch: "stale"})
	assert.Error(t, err, "key %s: Put with a stale IfMatch", kq(keys[5]))
	_, err = b.Put(ctx, "zz/if-match-missing", strings.NewReader("no"), backend.PutOptions{IfMatch: "stale"})
	assert.Error(t, err, "Put with IfMatch on a missing key")
	_, err = b.Put(ctx, "zz/bad-meta", strings.NewReader("no"), backend.PutOptions{Metadata: map[string]string{"BAD": "x"}})
	assert.Error(t, err, "Put with bad metadata")
	for i, k := range keys {
		if i%5 == 1 {
			assert.NoError(t, b.Delete(ctx, k), "key %s: Delete", kq(k))
			delete(want, k)
		}
	}
	assert.NoError(t, b.Delete(ctx, "zz/never"), "Delete of a key never stored")
	for _, c := range [][2]string{{"zz/copy", keys[0]}, {keys[7], keys[8]}} {
		_, err := b.Copy(ctx, c[0], c[1])
		if assert.NoError(t, err, "Copy of %s to %s", kq(c[1]), kq(c[0])) {
			want[c[0]] = want[c[1]]
		}
	}

	keys, objs := listKeys(t, ctx, b, backend.ListOptions{}, "List after a mix of operations")
	assertKeys(t, sortedKeys(want), keys, "List with no options after a mix of operations")
	for _, o := range objs {
		data, ok := want[o.Key]
		if !ok {
			continue
		}
		what := fmt.Sprintf("listed key %s", kq(o.Key))
		assert.Equal(t, int64(len(data)), o.Size, "%s: Size", what)
		assert.False(t, o.IsPrefix, "%s: IsPrefix without a delimiter", what)
		assert.False(t, o.LastModified.IsZero(), "%s: LastModified is not set", what)
		if st, err := b.Stat(ctx, o.Key); assert.NoError(t, err, "%s: Stat", what) {
			assert.Equal(t, st.ETag, o.ETag, "%s: listed ETag differs from Stat's", what)
		}
	}
}

func checkListPrefix(t T, h Harness) {
	b, ctx := setup(t, h)
	keys := keysFor(h, trickyKeys, []string{"dir/one", "dir/sub/two", "dira", "a/b/c", "ab"})
	putAll(t, ctx, b, keys)
	for _, p := range []string{"", "a", "a/", "a-", "a/b", "dir/", "dir", "ü", "ü/", "deep/a/b", "100%", "q?", "x.", "%", "+", " ", ".", "emoji😀", key1024, key1024[:1000], "nomatch", "zzz"} {
		opts := backend.ListOptions{Prefix: p}
		got, objs := listKeys(t, ctx, b, opts, "List with Prefix "+kq(p))
		assertKeys(t, refList(keys, opts), got, "List with Prefix "+kq(p))
		for _, o := range objs {
			assert.False(t, o.IsPrefix, "List with Prefix %s: key %s is IsPrefix without a delimiter", kq(p), kq(o.Key))
		}
	}
}

func checkListStartAfter(t T, h Harness) {
	b, ctx := setup(t, h)
	keys := keysFor(h, trickyKeys, []string{"dir/one", "dir/sub/two", "b"})
	putAll(t, ctx, b, keys)
	sorted := slices.Sorted(slices.Values(keys))
	cases := []backend.ListOptions{
		{StartAfter: ""},
		{StartAfter: "a"},     // equal to a key that prefixes others
		{StartAfter: "a/"},    // between "a-c" and "a/b", not a key
		{StartAfter: "a/a"},   // just before "a/b"
		{StartAfter: "a/b"},   // equal to a key
		{StartAfter: "a/b/"},  // after a key
		{StartAfter: "0"},     // before almost everything
		{StartAfter: "dir"},   // a prefix of keys
		{StartAfter: "dir/o"}, // a prefix of one key
		{StartAfter: "\U0010FFFF"},
		{StartAfter: sorted[len(sorted)-1]},
		{StartAfter: sorted[len(sorted)/2]},
		{Prefix: "dir/", StartAfter: "0"},
		{Prefix: "dir/", StartAfter: "dir/one"},
		{Prefix: "dir/", StartAfter: "dir/"},
		{Prefix: "dir/", StartAfter: "e"},
		{Prefix: "a", StartAfter: "a/b"},
		// With a delimiter every yielded key, a common prefix too, is >
		// StartAfter: resuming after "dir/" must not yield "dir/" again.
		{StartAfter: "dir/one", Delimiter: "/"},
		{StartAfter: "dir/", Delimiter: "/"},
		{StartAfter: "dir", Delimiter: "/"},
		{Prefix: "dir/", StartAfter: "dir/sub/", Delimiter: "/"},
	}
	for _, opts := range cases {
		what := fmt.Sprintf("List with Prefix %s, StartAfter %s, Delimiter %s", kq(opts.Prefix), kq(opts.StartAfter), kq(opts.Delimiter))
		got, _ := listKeys(t, ctx, b, opts, what)
		assertKeys(t, refList(keys, opts), got, what)
	}
}

func checkListDelimiter(t T, h Harness) {
	b, ctx := setup(t, h)
	// The classic: "a-c" < "a/" < "a0", because '-' < '/' < '0'; and "a" is
	// an object beside the common prefix "a/".
	classic := []string{"a", "a/b", "a-c", "a0"}
	if h.NoParentKeys == "" {
		putAll(t, ctx, b, classic)
		got, _ := listKeys(t, ctx, b, backend.ListOptions{}, "List")
		assertKeys(t, []string{"a", "a-c", "a/b", "a0"}, got, "flat List of a, a/b, a-c, a0")
		got, _ = listKeys(t, ctx, b, backend.ListOptions{Delimiter: "/"}, "List")
		assertKeys(t, []string{"a", "a-c", "a/", "a0"}, got, "List of a, a/b, a-c, a0 with Delimiter \"/\"")
	} else {
		t.Logf("the listing of a, a/b, a-c, a0 (a key beside its common prefix) not checked: %s", h.NoParentKeys)
	}

	more := []string{"a/c/d", "b/x", "b/y/z", "dir/one", "dir/sub/two", "dir/sub/three", "dir/.kite", "dir/sub-file", "ü/日本", "deep/a/b/c/d/e/f/g", "z", key1024}
	stored := putAll(t, ctx, b, keysFor(h, classic, more))
	keys := sortedKeys(stored)
	for _, p := range []string{"", "a", "a/", "b/", "dir/", "dir/sub", "dir/sub/", "deep/a/", "ü/", "nomatch/", key1024[:256]} {
		opts := backend.ListOptions{Prefix: p, Delimiter: "/"}
		what := fmt.Sprintf("List with Prefix %s, Delimiter \"/\"", kq(p))
		got, objs := listKeys(t, ctx, b, opts, what)
		assertKeys(t, refList(keys, opts), got, what)
		for _, o := range objs {
			isDir := strings.HasSuffix(o.Key, "/")
			if o.IsPrefix != isDir {
				t.Errorf("%s: %s has IsPrefix %v; a common prefix ends with the delimiter, an object never does", what, kq(o.Key), o.IsPrefix)
			}
			if data, ok := stored[o.Key]; ok && !o.IsPrefix {
				assert.Equal(t, int64(len(data)), o.Size, "%s: Size of %s", what, kq(o.Key))
			}
		}
	}
	got, _ := listKeys(t, ctx, b, backend.ListOptions{Prefix: "dir/", Delimiter: "/"}, "List")
	assertKeys(t, []string{"dir/.kite", "dir/one", "dir/sub-file", "dir/sub/"}, got, "List with Prefix \"dir/\", Delimiter \"/\" lists one level")
}

func checkListPagination(t T, h Harness) {
	b, ctx := setup(t, h)
	keys := keysFor(h, trickyKeys, []string{"dir/one", "dir/sub/two", "dir/sub/three", "dir/x"})
	putAll(t, ctx, b, keys)
	variants := []backend.ListOptions{
		{},
		{Prefix: "a"},
		{Delimiter: "/"},
		{Prefix: "dir/", Delimiter: "/"},
		{StartAfter: "a0"},
		{Prefix: "d", StartAfter: "deep"},
	}
	for _, base := range variants {
		want := refList(keys, base)
		for _, ps := range []int{0, 1, 2, 3, 7, 1000} {
			opts := base
			opts.PageSize = ps
			what := fmt.Sprintf("List with Prefix %s, StartAfter %s, Delimiter %q, PageSize %d", kq(opts.Prefix), kq(opts.StartAfter), opts.Delimiter, ps)
			got, _ := listKeys(t, ctx, b, opts, what)
			assertKeys(t, want, got, what)
		}
	}
	objs, err := collect(t, b.List(ctx, backend.ListOptions{PageSize: -1}), "List with PageSize -1")
	assert.Empty(t, objs, "List with PageSize -1 yielded objects")
	assertKind(t, err, backend.ErrInvalidArgument, "List", "List with PageSize -1")
}

func checkListBreak(t T, h Harness) {
	b, ctx := setup(t, h)
	keys := []string{"k0", "k1", "k2", "k3", "k4", "d/x", "d/y", "e/z"}
	putAll(t, ctx, b, keys)
	for _, opts := range []backend.ListOptions{{}, {PageSize: 1}, {PageSize: 2}, {Delimiter: "/"}, {Delimiter: "/", PageSize: 1}, {Prefix: "k", PageSize: 1}} {
		for _, stopAt := range []int{1, 2} {
			what := fmt.Sprintf("List(%+v), breaking after %d", opts, stopAt)
			n := 0
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Errorf("%s: the iterator went on after the loop broke: %v", what, p)
					}
				}()
				for _, err := range b.List(ctx, opts) {
					assert.NoError(t, err, what)
					n++
					if n == stopAt {
						break
					}
				}
			}()
			assert.Equal(t, stopAt, n, "%s: items seen", what)
		}
	}
	// The backend still works after the abandoned listings.
	put(t, ctx, b, "after", []byte("x"), backend.PutOptions{})
	got, _ := listKeys(t, ctx, b, backend.ListOptions{}, "List after breaks")
	assertKeys(t, refList(append(keys, "after"), backend.ListOptions{}), got, "List after breaking out of listings")
}

func checkListEmpty(t T, h Harness) {
	b, ctx := setup(t, h)
	for _, opts := range []backend.ListOptions{{}, {Prefix: "x"}, {Delimiter: "/"}, {StartAfter: "a"}, {PageSize: 1}} {
		got, _ := listKeys(t, ctx, b, opts, "List of an empty backend")
		assertKeys(t, nil, got, fmt.Sprintf("List(%+v) of an empty backend", opts))
	}
	putAll(t, ctx, b, []string{"a/b", "c"})
	for _, opts := range []backend.ListOptions{{Prefix: "b"}, {Prefix: "a/b/"}, {Prefix: "a/bb"}, {Prefix: "A"}, {StartAfter: "c"}, {Prefix: "a", StartAfter: "a/b"}, {Prefix: "a/b/", Delimiter: "/"},
		// A prefix longer than any key matches nothing: not an error.
		{Prefix: "a/b" + strings.Repeat("x", backend.MaxKeyLen)}, {Prefix: strings.Repeat("a/", backend.MaxKeyLen)}} {
		got, _ := listKeys(t, ctx, b, opts, "List")
		assertKeys(t, nil, got, fmt.Sprintf("List(%+v) of a/b, c", opts))
	}
}
