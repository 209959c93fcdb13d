package main

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
)

// keysOf lists every key of b.
func keysOf(t *testing.T, b backend.Backend) []string {
	t.Helper()
	var keys []string
	for o, err := range b.List(context.Background(), backend.ListOptions{}) {
		require.NoError(t, err)
		keys = append(keys, o.Key)
	}
	return keys
}

func TestRm(t *testing.T) {
	t.Parallel()

	t.Run("keys, idempotent", func(t *testing.T) {
		t.Parallel()
		raw, b := fileStore(t, nil)
		env := storeEnvOf(raw)
		for _, k := range []string{"a", "b", "c"} {
			putString(t, b, k, k, backend.PutOptions{})
		}
		_, errOut, code := runKite(t, "", env, "rm", "a", "b", "never-was")
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, []string{"c"}, keysOf(t, b))
		_, errOut, code = runKite(t, "", env, "rm", "a", "b")
		assert.Equal(t, 0, code, errOut)
	})

	t.Run("--prefix without a terminal and without --yes deletes nothing", func(t *testing.T) {
		t.Parallel()
		raw, b := fileStore(t, nil)
		putString(t, b, "p/1", "1", backend.PutOptions{})
		putString(t, b, "p/2", "2", backend.PutOptions{})
		_, errOut, code := runKite(t, "y\n", storeEnvOf(raw), "rm", "--prefix", "p/")
		assert.Equal(t, 2, code)
		assert.Contains(t, errOut, "2 objects under \"p/\"")
		assert.Contains(t, errOut, "--yes")
		assert.Equal(t, []string{"p/1", "p/2"}, keysOf(t, b))
	})

	t.Run("--prefix --yes deletes every object under the prefix only", func(t *testing.T) {
		t.Parallel()
		raw, b := fileStore(t, nil)
		var want []string
		for i := range 30 {
			putString(t, b, "p/"+strings.Repeat("x", i+1), "x", backend.PutOptions{})
		}
		for _, k := range []string{"p", "p0", "q/1"} {
			putString(t, b, k, k, backend.PutOptions{})
			want = append(want, k)
		}
		_, errOut, code := runKite(t, "", storeEnvOf(raw), "rm", "--prefix", "p/", "--yes")
		require.Equal(t, 0, code, errOut)
		assert.Contains(t, errOut, `deleted 30 objects under "p/"`)
		assert.Equal(t, want, keysOf(t, b))

		_, errOut, code = runKite(t, "", storeEnvOf(raw), "rm", "--prefix", "p/")
		assert.Equal(t, 0, code, "nothing to delete needs no confirmation")
		assert.Contains(t, errOut, `no objects under "p/"`)
	})

	t.Run("usage", func(t *testing.T) {
		t.Parallel()
		raw, b := fileStore(t, nil)
		putString(t, b, "k", "k", backend.PutOptions{})
		for _, args := range [][]string{
			{"rm"},
			{"rm", "--prefix", "", "--yes"},
			{"rm", "--prefix", "k", "k"},
			{"rm", "bad//key"},
		} {
			_, _, code := runKite(t, "", storeEnvOf(raw), args...)
			assert.Equal(t, 2, code, args)
		}
		assert.Equal(t, []string{"k"}, keysOf(t, b))
	})
}

func TestRmPrefix(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	setup := func(t *testing.T) backend.Backend {
		_, b := fileStore(t, nil)
		for _, k := range []string{"d/1", "d/2", "d/e/3", "dx"} {
			putString(t, b, k, k, backend.PutOptions{})
		}
		return b
	}

	t.Run("asked with the count; no deletes nothing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var asked int
		err := rmPrefix(ctx, b, "d/", func(n int) (bool, error) { asked = n; return false, nil }, io.Discard)
		assert.ErrorContains(t, err, "nothing deleted")
		assert.Equal(t, 3, asked)
		assert.Len(t, keysOf(t, b), 4)
	})

	t.Run("yes deletes exactly the listed objects", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var out strings.Builder
		require.NoError(t, rmPrefix(ctx, b, "d/", func(int) (bool, error) { return true, nil }, &out))
		assert.Equal(t, []string{"dx"}, keysOf(t, b))
		assert.Equal(t, "deleted 3 objects under \"d/\"\n", out.String())
	})

	t.Run("an error from ask is returned", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		boom := errors.New("boom")
		err := rmPrefix(ctx, b, "d/", func(int) (bool, error) { return false, boom }, io.Discard)
		assert.ErrorIs(t, err, boom)
		assert.Len(t, keysOf(t, b), 4)
	})
}

func TestConfirm(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"y\n", true}, {"Y\n", true}, {"yes\n", true}, {" YES \n", true}, {"y", true},
		{"\n", false}, {"n\n", false}, {"no\n", false}, {"yep\n", false}, {"", false},
	} {
		var prompt strings.Builder
		ok, err := confirm(context.Background(), strings.NewReader(c.in), &prompt, "delete 3 objects under \"d/\"?")
		require.NoError(t, err)
		assert.Equal(t, c.want, ok, "%q", c.in)
		assert.True(t, strings.HasPrefix(prompt.String(), "delete 3 objects under \"d/\"? [y/N] "), prompt.String())
	}

	t.Run("cancelled while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r, w := io.Pipe() // never written: the answer never comes
		defer w.Close()
		ok, err := confirm(ctx, r, io.Discard, "?")
		assert.False(t, ok)
		assert.ErrorIs(t, err, context.Canceled)
	})
}

func TestDeleteKeysStopsAtFirstError(t *testing.T) {
	t.Parallel()
	_, b := fileStore(t, nil)
	keys := []string{"a", "b"}
	for _, k := range keys {
		putString(t, b, k, k, backend.PutOptions{})
	}
	b.Close() // every Delete now fails
	n, err := deleteKeys(context.Background(), b, slices.Clone(keys))
	assert.Error(t, err)
	assert.Equal(t, 0, n)
}
