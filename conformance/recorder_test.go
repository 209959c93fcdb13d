package conformance

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
)

func TestKeyTables(t *testing.T) {
	t.Parallel()
	assert.Len(t, key1024, backend.MaxKeyLen)
	seen := map[string]bool{}
	for _, k := range trickyKeys {
		assert.NoError(t, backend.ValidateKey(k), "tricky key %s must be valid", kq(k))
		assert.False(t, seen[k], "tricky key %s twice", kq(k))
		seen[k] = true
	}
	for _, k := range invalidKeys {
		assert.Error(t, backend.ValidateKey(k), "invalid key %s must be refused", kq(k))
	}
}

// hasParentPair reports a key of keys that is the "/"-parent of another.
func hasParentPair(keys []string) (string, bool) {
	for _, p := range keys {
		for _, k := range keys {
			if strings.HasPrefix(k, p+"/") {
				return p, true
			}
		}
	}
	return "", false
}

func TestKeysFor(t *testing.T) {
	t.Parallel()
	all := Harness{}
	noParents := Harness{NoParentKeys: "files"}
	set := []string{"p", "p/q", "p-r", "p0", "p/q/r", "p.s"}
	assert.Equal(t, set, keysFor(all, set), "without NoParentKeys every key is kept")
	assert.Equal(t, trickyKeys, tricky(all))
	assert.Equal(t, []string{"p-r", "p0", "p/q/r", "p.s"}, keysFor(noParents, set), "parents are dropped, the rest keeps its order")
	assert.Equal(t, []string{"a/b", "a-c", "a0", "a/c/d"}, keysFor(noParents, []string{"a", "a/b", "a-c", "a0"}, []string{"a/c/d"}), "across sets")
	assert.Equal(t, []string{"ab", "a/b/c"}, keysFor(noParents, []string{"a", "ab"}, []string{"a/b", "a/b/c"}))
	_, ok := hasParentPair(tricky(all))
	assert.True(t, ok, "the tricky keys hold a parent and its child")
	assert.NotContains(t, tricky(noParents), "a")
	assert.Len(t, tricky(noParents), len(trickyKeys)-1, "only \"a\" is a parent among the tricky keys")
	for _, extra := range [][]string{nil, {"dir/one", "dir/sub/two", "dira", "a/b/c", "ab"}, {"a/b", "a/b/c"}, {"dir", "dir/x", "long"}} {
		if p, bad := hasParentPair(keysFor(noParents, trickyKeys, extra)); bad {
			t.Errorf("keysFor with the tricky keys and %q keeps the parent %s", extra, kq(p))
		}
	}
	keys := keysFor(noParents, set)
	keys[0] = "changed"
	assert.Equal(t, "p", set[0], "keysFor returns a new slice")
}

func TestRefList(t *testing.T) {
	t.Parallel()
	keys := []string{"a0", "a/b", "a", "a-c", "a/c/d", "b"}
	assert.Equal(t, []string{"a", "a-c", "a/", "a0", "b"}, refList(keys, backend.ListOptions{Delimiter: "/"}))
	assert.Equal(t, []string{"a/b", "a/c/"}, refList(keys, backend.ListOptions{Prefix: "a/", Delimiter: "/"}))
	assert.Equal(t, []string{"a/c/d", "a0", "b"}, refList(keys, backend.ListOptions{StartAfter: "a/b"}))
}

func TestAlter(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"", "600", "abc", "abz", "ab9", "a/b", "Z"} {
		assert.NotEqual(t, v, alter(v), "alter(%q)", v)
	}
	assert.Equal(t, "87000", alter("600"), "a number grows by a day")
}

func TestCondense(t *testing.T) {
	t.Parallel()
	var r recorder
	r.Errorf("\n\tError Trace:\t/x/y.go:1\n\tError:      \tNot equal: \n\t            \texpected: 1\n\t            \tactual  : 2\n\tTest:       \tTestX\n\tMessages:   \tkey \"k\": Size\n")
	assert.Equal(t, "key \"k\": Size: Not equal:\n\texpected: 1\n\tactual  : 2", r.lines[0])
}

func run(t *testing.T, checks ...Check) []Result {
	t.Helper()
	return runChecks(t.Context(), Harness{}, checks)
}

func TestRecorder(t *testing.T) {
	t.Parallel()
	var order []string
	var dir string
	var ctx context.Context
	after := false
	results := run(t,
		Check{"pass", func(t T, h Harness) { t.Log("hello") }},
		Check{"error", func(t T, h Harness) { t.Errorf("bad %d", 1); t.Error("worse") }},
		Check{"fatal", func(t T, h Harness) { t.Fatal("stop"); after = true }},
		Check{"require", func(t T, h Harness) { require.Equal(t, 1, 2, "one is two"); after = true }},
		Check{"skip", func(t T, h Harness) { t.Skip("not here"); after = true }},
		Check{"error then skip", func(t T, h Harness) { t.Error("bad"); t.Skipf("then %s", "skip") }},
		Check{"panic", func(t T, h Harness) { panic("boom") }},
		Check{"nil harness", func(t T, h Harness) { setup(t, h) }},
		Check{"cleanup", func(t T, h Harness) {
			ctx = t.Context()
			dir = t.TempDir()
			t.Cleanup(func() { order = append(order, "first registered") })
			t.Cleanup(func() {
				order = append(order, "last registered")
				assert.Error(t, ctx.Err(), "Context is done before the cleanups")
				t.Cleanup(func() { order = append(order, "registered in a cleanup") })
			})
			t.Cleanup(func() { panic("cleanup panics") })
			_, err := os.Stat(dir)
			assert.NoError(t, err, "TempDir exists during the check")
			assert.NoError(t, ctx.Err(), "Context is live during the check")
			t.FailNow()
		}},
	)
	status := map[string]Status{}
	msg := map[string]string{}
	for _, r := range results {
		status[r.Name], msg[r.Name] = r.Status, r.Message
		assert.Positive(t, r.Duration, r.Name)
	}
	assert.Equal(t, map[string]Status{
		"pass": StatusPass, "error": StatusFail, "fatal": StatusFail, "require": StatusFail, "skip": StatusSkip,
		"error then skip": StatusFail, "panic": StatusFail, "nil harness": StatusFail, "cleanup": StatusFail,
	}, status)
	assert.False(t, after, "FailNow, Fatal and SkipNow end the check")
	assert.Equal(t, "hello", msg["pass"])
	assert.Equal(t, "bad 1\nworse", msg["error"])
	assert.Contains(t, msg["require"], "one is two")
	assert.Equal(t, "not here", msg["skip"])
	assert.Contains(t, msg["panic"], "panic: boom")
	assert.Contains(t, msg["nil harness"], "Harness.New is nil")
	assert.Contains(t, msg["cleanup"], "panic in cleanup: cleanup panics")
	assert.Equal(t, []string{"last registered", "registered in a cleanup", "first registered"}, order, "cleanups run last-in first-out")
	_, err := os.Stat(dir)
	assert.True(t, errors.Is(err, os.ErrNotExist), "TempDir is removed after the check: %v", err)
}

func TestRunChecksCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	results := runChecks(ctx, Harness{}, []Check{{"a", func(T, Harness) {}}})
	require.Len(t, results, 1)
	assert.Equal(t, StatusFail, results[0].Status)
	assert.Contains(t, results[0].Message, "not run")
}

func TestRunChecksMatch(t *testing.T) {
	t.Parallel()
	results := RunChecks(t.Context(), Harness{}, func(name string) bool { return name == "Health" })
	require.Len(t, results, 1)
	assert.Equal(t, "Health", results[0].Name)
	assert.Equal(t, StatusFail, results[0].Status, "a nil Harness.New fails")
}

func TestRunChecksParallel(t *testing.T) {
	t.Parallel()
	// parallelChecks checks that each wait for all of them to start prove
	// they run at once; more would deadlock.
	started := make(chan struct{}, parallelChecks)
	var checks []Check
	for i := range parallelChecks {
		checks = append(checks, Check{strings.Repeat("x", i+1), func(t T, h Harness) {
			started <- struct{}{}
			deadline := time.After(10 * time.Second)
			for len(started) < parallelChecks {
				select {
				case <-deadline:
					t.Fatal("checks do not run in parallel")
				case <-time.After(time.Millisecond):
				}
			}
		}})
	}
	for _, r := range runChecks(t.Context(), Harness{}, checks) {
		assert.Equal(t, StatusPass, r.Status, r.Message)
	}
}
