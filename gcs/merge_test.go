package gcs

import (
	"testing"

	"cloud.google.com/go/storage"
	"github.com/stretchr/testify/assert"

	"github.com/kitehq/kite/backend"
)

func TestMerger(t *testing.T) {
	t.Parallel()
	obj := func(n string) *storage.ObjectAttrs { return &storage.ObjectAttrs{Name: n} }
	pre := func(p string) *storage.ObjectAttrs { return &storage.ObjectAttrs{Prefix: p} }
	cases := []struct {
		name  string
		after string
		pages [][]*storage.ObjectAttrs
		want  []string
	}{{
		// Real GCS: a page is a range of names; the SDK gives its objects, then its prefixes.
		name:  "GCS pages",
		pages: [][]*storage.ObjectAttrs{{obj("a"), obj("a-c"), pre("a/")}, {obj("a0"), pre("b/")}, {obj("c")}},
		want:  []string{"a", "a-c", "a/", "a0", "b/", "c"},
	}, {
		// fake-gcs-server: each page carries every prefix at or after its token.
		name:  "fake-gcs-server pages",
		pages: [][]*storage.ObjectAttrs{{obj(" lead"), pre("a/"), pre("dir/"), pre("ü/")}, {obj("a"), pre("a/"), pre("dir/"), pre("ü/")}, {obj("b"), pre("dir/"), pre("ü/")}, {obj("z"), pre("ü/")}},
		want:  []string{" lead", "a", "a/", "b", "dir/", "z", "ü/"},
	}, {
		name:  "StartAfter drops what is at or before it",
		after: "a/b",
		pages: [][]*storage.ObjectAttrs{{obj("a/b"), obj("a0"), pre("a/")}, {obj("b"), pre("c/")}},
		want:  []string{"a0", "b", "c/"},
	}, {
		name:  "prefixes only",
		pages: [][]*storage.ObjectAttrs{{pre("b/"), pre("a/")}, {pre("b/"), pre("c/")}},
		want:  []string{"a/", "b/", "c/"},
	}}
	for _, c := range cases {
		m := merger{last: c.after}
		var got []string
		yield := func(o *backend.Object, err error) bool {
			assert.NoError(t, err)
			assert.Equal(t, o.Key[len(o.Key)-1] == '/', o.IsPrefix, "%s: %q", c.name, o.Key)
			got = append(got, o.Key)
			return true
		}
		for _, p := range c.pages {
			assert.True(t, m.page(p, yield))
		}
		got = append(got, m.pending...)
		assert.Equal(t, c.want, got, c.name)

		// A false from yield stops the page at once and is passed on.
		n := 0
		m = merger{last: c.after}
		ok := m.page(c.pages[0], func(*backend.Object, error) bool { n++; return false })
		assert.LessOrEqual(t, n, 1, c.name)
		assert.Equal(t, n == 0, ok, c.name)
	}
}

func TestChunkFor(t *testing.T) {
	t.Parallel()
	const unit, chunk = MinChunkSize, 16 << 20
	for _, c := range []struct {
		size int64
		want int
	}{
		{0, chunk}, {1, unit}, {unit - 1, unit}, {unit, 2 * unit}, {5 << 20, 5<<20 + unit},
		{chunk - 1, chunk}, {chunk, chunk}, {1 << 40, chunk},
	} {
		assert.Equal(t, c.want, chunkFor(c.size, chunk), "size %d", c.size)
	}
}
