package conformance

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
)

// checkKeysParentAndChild: a key and the keys below it ("a", "a/b",
// "a/b/c") are independent objects, stored in either order, each read,
// listed and deleted on its own, as on S3 and GCS.
func checkKeysParentAndChild(t T, h Harness) {
	if h.NoParentKeys != "" {
		t.Skip("the store cannot hold a key and keys below it at once: " + h.NoParentKeys)
	}
	b, ctx := setup(t, h)
	// "a" after "a/b": a key above an existing one; "a/b/c" after "a/b": below.
	order := []string{"a/b", "a", "a/b/c"}
	data := map[string][]byte{}
	for i, k := range order {
		data[k] = content("parent and child "+k, 10+i)
		obj, err := b.Put(ctx, k, bytes.NewReader(data[k]), backend.PutOptions{ContentType: "text/plain"})
		require.NoError(t, err, "key %s: Put while %s exist", kq(k), quoteKeys(order[:i]))
		assert.Equal(t, int64(len(data[k])), obj.Size, "key %s: Put: Size", kq(k))
	}
	all := []string{"a", "a/b", "a/b/c"}
	assertHeld := func(keys []string, what string) {
		t.Helper()
		for _, k := range keys {
			got, obj, err := getAll(ctx, b, k, backend.GetOptions{})
			if assert.NoError(t, err, "%s: key %s: Get", what, kq(k)) {
				assertBytes(t, data[k], got, fmt.Sprintf("%s: key %s: Get", what, kq(k)))
				assert.Equal(t, int64(len(data[k])), obj.Size, "%s: key %s: Get: Size", what, kq(k))
			}
			if st, err := b.Stat(ctx, k); assert.NoError(t, err, "%s: key %s: Stat", what, kq(k)) {
				assert.Equal(t, int64(len(data[k])), st.Size, "%s: key %s: Stat: Size", what, kq(k))
				assert.Equal(t, "text/plain", st.ContentType, "%s: key %s: Stat: ContentType", what, kq(k))
				assert.False(t, st.IsPrefix, "%s: key %s: Stat: IsPrefix", what, kq(k))
			}
		}
		got, _ := listKeys(t, ctx, b, backend.ListOptions{}, what+": List")
		assertKeys(t, keys, got, what+": flat List")
		for _, opts := range []backend.ListOptions{{Delimiter: "/"}, {Prefix: "a/", Delimiter: "/"}, {Prefix: "a"}, {StartAfter: "a"}, {PageSize: 1}} {
			w := fmt.Sprintf("%s: List with Prefix %s, StartAfter %s, Delimiter %q, PageSize %d", what, kq(opts.Prefix), kq(opts.StartAfter), opts.Delimiter, opts.PageSize)
			got, _ := listKeys(t, ctx, b, opts, w)
			assertKeys(t, refList(keys, opts), got, w)
		}
	}
	assertHeld(all, "a, a/b and a/b/c stored")
	got, objs := listKeys(t, ctx, b, backend.ListOptions{Delimiter: "/"}, "List")
	if assertKeys(t, []string{"a", "a/"}, got, "List of a, a/b, a/b/c with Delimiter \"/\": the object and the common prefix") {
		assert.False(t, objs[0].IsPrefix, "List with Delimiter \"/\": \"a\" is an object")
		assert.True(t, objs[1].IsPrefix, "List with Delimiter \"/\": \"a/\" is a common prefix")
	}

	require.NoError(t, b.Delete(ctx, "a"), "Delete of \"a\"")
	assertMissing(t, ctx, b, "a", "after Delete of \"a\"")
	assertHeld([]string{"a/b", "a/b/c"}, "after Delete of \"a\"")

	put(t, ctx, b, "a", data["a"], backend.PutOptions{ContentType: "text/plain"})
	require.NoError(t, b.Delete(ctx, "a/b/c"), "Delete of \"a/b/c\"")
	assertMissing(t, ctx, b, "a/b/c", "after Delete of \"a/b/c\"")
	assertHeld([]string{"a", "a/b"}, "\"a\" stored again, then Delete of \"a/b/c\"")
}

// longReplaceSegment is the last-segment length above which Copy leaves out
// replacing under Harness.NoLongKeyReplace.
const longReplaceSegment = 200

func checkKeysLongReplace(t T, h Harness) {
	if h.NoLongKeyReplace != "" {
		t.Skip(h.NoLongKeyReplace)
	}
	b, ctx := setup(t, h)
	for _, key := range keysFor(h, []string{"long/" + strings.Repeat("r", 255), "long/" + strings.Repeat("日", 85), key1024}) {
		put(t, ctx, b, key, []byte("first"), backend.PutOptions{})
		put(t, ctx, b, key, []byte("second"), backend.PutOptions{ContentType: "text/plain"})
		got, obj := mustGet(t, ctx, b, key)
		assertBytes(t, []byte("second"), got, fmt.Sprintf("key %s after a replacing Put", kq(key)))
		assert.Equal(t, "text/plain", obj.ContentType, "key %s after a replacing Put: ContentType", kq(key))
		put(t, ctx, b, "long/src", []byte("third"), backend.PutOptions{})
		if _, err := b.Copy(ctx, key, "long/src"); assert.NoError(t, err, "Copy onto %s", kq(key)) {
			got, _ := mustGet(t, ctx, b, key)
			assertBytes(t, []byte("third"), got, fmt.Sprintf("key %s after a Copy onto it", kq(key)))
		}
	}
}
