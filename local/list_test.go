package local_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
)

func TestListOrder(t *testing.T) {
	t.Parallel()
	b, _ := newBackend(t)
	keys := []string{"b/c/d", "a0", "a/b", "a-c", "a", "a/b/c", "a/a", "ab", "a+", "é", "z"}
	for _, k := range keys {
		put(t, b, k, k)
	}
	want := slices.Sorted(slices.Values(keys))
	assert.Equal(t, want, listKeys(t, b, backend.ListOptions{}))
	assert.Equal(t, []string{"a", "a+", "a-c", "a/a", "a/b", "a/b/c", "a0", "ab", "b/c/d", "z", "é"}, want)

	var objs []*backend.Object
	for o, err := range b.List(context.Background(), backend.ListOptions{Prefix: "a/"}) {
		require.NoError(t, err)
		objs = append(objs, o)
	}
	require.Len(t, objs, 3)
	assert.Equal(t, int64(3), objs[0].Size)
	assert.Len(t, objs[0].ETag, 32)
	assert.False(t, objs[0].LastModified.IsZero())
	assert.Equal(t, backend.DefaultContentType, objs[0].ContentType)
}

// reference lists keys with the contract's semantics: keys > StartAfter with
// the prefix, rolled up to common prefixes when a delimiter follows the
// prefix, and only the common prefixes > StartAfter.
func reference(keys []string, o backend.ListOptions) []string {
	var out []string
	for _, k := range slices.Sorted(slices.Values(keys)) {
		if !strings.HasPrefix(k, o.Prefix) || k <= o.StartAfter {
			continue
		}
		if o.Delimiter != "" {
			if i := strings.Index(k[len(o.Prefix):], o.Delimiter); i >= 0 {
				cp := k[:len(o.Prefix)+i+len(o.Delimiter)]
				if cp <= o.StartAfter {
					continue // every yielded key, a common prefix too, is > StartAfter
				}
				cp += "(P)"
				if len(out) == 0 || out[len(out)-1] != cp {
					out = append(out, cp)
				}
				continue
			}
		}
		out = append(out, k)
	}
	return out
}

func listMarked(t *testing.T, b backend.Backend, o backend.ListOptions) []string {
	t.Helper()
	var out []string
	for obj, err := range b.List(context.Background(), o) {
		require.NoError(t, err, "%+v", o)
		k := obj.Key
		if obj.IsPrefix {
			k += "(P)"
		}
		out = append(out, k)
	}
	return out
}

// TestListMatchesReference compares every combination of prefixes, start
// points and delimiters with the reference on a tree with tricky neighbours.
func TestListMatchesReference(t *testing.T) {
	t.Parallel()
	b, dir := newBackend(t)
	keys := []string{
		"a", "a/b", "a/b/c", "a/b/d/e", "a/c", "a-c", "a-c/d", "a0", "ab/x", "b/c/d",
		"b/c-d", "b/cd", "b/c/d/e/f", "c-1-2", "c-1/3", "c", "d/" + strings.Repeat("L", 255),
		"d/" + strings.Repeat("L", 254), "d/L/z", "ü/日本", "x.tmp", ".hidden",
	}
	for _, k := range keys {
		put(t, b, k, k)
	}
	// Empty directories (left by races) must never show up.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "e", "f", "g"), 0o750))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "a", "empty"), 0o750))

	points := []string{""}
	for _, k := range keys {
		for i := 1; i <= len(k); i++ {
			points = append(points, k[:i])
		}
		points = append(points, k+"/", k+"-", k+"\xff")
	}
	points = append(points, "e", "e/", "e/f/", "a/e", "zz")
	slices.Sort(points)
	points = slices.Compact(points)
	n := 0
	for _, delim := range []string{"", "/", "-", "/d", "c"} {
		for _, prefix := range points {
			for _, after := range []string{"", prefix, prefix + "/", prefix + "b", "a/b", "a/b/", "b/c", "b/c/d", "c-1", "d/L", "zzz"} {
				o := backend.ListOptions{Prefix: prefix, StartAfter: after, Delimiter: delim}
				want := reference(keys, o)
				got := listMarked(t, b, o)
				if !assert.Equal(t, want, got, "%+v", o) {
					return
				}
				n++
			}
		}
	}
	t.Logf("%d combinations", n)
}

// TestListPrunes plants corrupt long-name object files, which a listing
// reads as soon as it reads their directory: a passing listing proves the
// directory was skipped.
func TestListPrunes(t *testing.T) {
	t.Parallel()
	b, dir := newBackend(t)
	for _, k := range []string{"a/1", "m/1", "m/x/2", "z/1"} {
		put(t, b, k, "v")
	}
	bad := `\h` + strings.Repeat("0", 64)
	for _, d := range []string{"a", "m/x"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.FromSlash(d), bad), []byte("garbage"), 0o600))
	}
	cases := []struct {
		o    backend.ListOptions
		want []string
	}{
		{backend.ListOptions{Prefix: "m/1"}, []string{"m/1"}},
		{backend.ListOptions{Prefix: "m/", Delimiter: "/"}, []string{"m/1", "m/x/(P)"}},
		{backend.ListOptions{Delimiter: "/"}, []string{"a/(P)", "m/(P)", "z/(P)"}},
		{backend.ListOptions{StartAfter: "n"}, []string{"z/1"}},
		{backend.ListOptions{StartAfter: "m/x0"}, []string{"z/1"}},
		{backend.ListOptions{StartAfter: "m/", Delimiter: "/"}, []string{"z/(P)"}},
		{backend.ListOptions{StartAfter: "m/1", Delimiter: "/"}, []string{"z/(P)"}},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, listMarked(t, b, c.o), "%+v", c.o)
	}
	// A listing that does reach a corrupt file reports it once, last.
	for _, o := range []backend.ListOptions{{Prefix: "a/"}, {}, {Prefix: "m/x/", Delimiter: "/"}} {
		var errs int
		for _, err := range b.List(context.Background(), o) {
			if err != nil {
				errs++
				assert.NotContains(t, err.Error(), dir)
				continue
			}
			assert.Zero(t, errs, "nothing after the error")
		}
		assert.Equal(t, 1, errs, "%+v", o)
	}
}

func TestListStopsAndCancels(t *testing.T) {
	t.Parallel()
	b, _ := newBackend(t)
	for _, k := range []string{"a", "b/c", "b/d", "c", "d/e"} {
		put(t, b, k, "v")
	}
	for _, delim := range []string{"", "/"} {
		var got []string
		for o, err := range b.List(context.Background(), backend.ListOptions{Delimiter: delim}) {
			require.NoError(t, err)
			got = append(got, o.Key)
			if len(got) == 2 {
				break // yield must not be called again: Go would panic
			}
		}
		assert.Len(t, got, 2)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []string
	var lastErr error
	for o, err := range b.List(ctx, backend.ListOptions{}) {
		if err != nil {
			lastErr = err
			continue
		}
		got = append(got, o.Key)
		cancel()
	}
	assert.Equal(t, []string{"a"}, got)
	assert.ErrorIs(t, lastErr, context.Canceled)
	var be *backend.Error
	require.ErrorAs(t, lastErr, &be)
	assert.Equal(t, "List", be.Op)

	for _, err := range b.List(context.Background(), backend.ListOptions{PageSize: -1}) {
		assert.ErrorIs(t, err, backend.ErrInvalidArgument)
	}
	// PageSize is a hint: the result is the same.
	assert.Equal(t, listKeys(t, b, backend.ListOptions{}), listKeys(t, b, backend.ListOptions{PageSize: 1}))
}
