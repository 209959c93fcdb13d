package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	mc "github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/testenv"
)

// syncTestObject is what a test expects of one object.
type syncTestObject struct {
	data []byte
	ct   string
	meta map[string]string
}

// syncTrickyKeys are valid keys that stress escaping; no key is the parent
// "directory" of another (MinIO would hide the child).
var syncTrickyKeys = []string{
	"tricky/a b", "tricky/100%", "tricky/x+y", "tricky/ü/日本", "tricky/emoji😀",
	"tricky/q?a=1#f", "tricky/%2e%2e", "tricky/semi;colon", "tricky/.hidden",
	"tricky/x.tmp", `tricky/quote"s'`, "tricky/amp&er=sand", "tricky/plus+and space%20",
}

// syncTestData returns n objects under prefix, generated deterministically
// from seed: mostly small, one in 250 of 2 to 4 MiB, two of zero bytes, the
// tricky keys among them, with varied content types and metadata.
func syncTestData(prefix string, n int, seed uint64) map[string]syncTestObject {
	r := mrand.New(mrand.NewPCG(seed, 0x6b697465))
	var cc [32]byte
	for i := range cc {
		cc[i] = byte(r.Uint32())
	}
	bytesRand := mrand.NewChaCha8(cc)
	types := []string{"", "text/plain; charset=utf-8", "application/json", "image/png"}
	objs := make(map[string]syncTestObject, n)
	for i := range n {
		key := fmt.Sprintf("%sobj/%04d.bin", prefix, i)
		if i < len(syncTrickyKeys) {
			key = prefix + syncTrickyKeys[i]
		}
		var size int
		switch {
		case i == 20 || i == 21:
			size = 0
		case i%250 == 7:
			size = 2<<20 + r.IntN(2<<20)
		default:
			size = 1 + r.IntN(8<<10)
		}
		data := make([]byte, size)
		_, _ = bytesRand.Read(data)
		var meta map[string]string
		if i%3 != 0 {
			meta = map[string]string{"index": fmt.Sprint(i), "origin": "kite sync test", "x-y": "Mixed Case value"}
		}
		ct := types[i%len(types)]
		if ct == "" {
			ct = backend.DefaultContentType
		}
		objs[key] = syncTestObject{data: data, ct: ct, meta: meta}
	}
	return objs
}

// syncTestOpen opens a store URL in the test process.
func syncTestOpen(t *testing.T, rawURL string) backend.Backend {
	t.Helper()
	b, err := backend.Open(context.Background(), rawURL)
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	return b
}

// syncTestDir returns the URL of a new local store (without fsync, for speed).
func syncTestDir(t *testing.T) (string, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	return dir, "file://" + dir + "?create_dir=true&nosync=true"
}

func syncTestFill(t *testing.T, b backend.Backend, objs map[string]syncTestObject) {
	t.Helper()
	for k, o := range objs {
		_, err := b.Put(context.Background(), k, bytes.NewReader(o.data), backend.PutOptions{
			Size: int64(len(o.data)), ContentType: o.ct, Metadata: o.meta,
		})
		require.NoError(t, err, "Put %q", k)
	}
}

// syncTestSnapshot reads every object under prefix through the library.
// With wantFP, every object must carry a kite-sha256 equal to the SHA-256 of
// its bytes; the fingerprint is left out of the returned metadata.
func syncTestSnapshot(t *testing.T, b backend.Backend, prefix string, wantFP bool) map[string]syncTestObject {
	t.Helper()
	ctx := context.Background()
	got := map[string]syncTestObject{}
	for o, err := range b.List(ctx, backend.ListOptions{Prefix: prefix}) {
		require.NoError(t, err)
		rc, obj, err := b.Get(ctx, o.Key, backend.GetOptions{})
		require.NoError(t, err, "Get %q", o.Key)
		data, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		meta := map[string]string{}
		for k, v := range obj.Metadata {
			meta[k] = v
		}
		if wantFP {
			sum := sha256.Sum256(data)
			assert.Equal(t, hex.EncodeToString(sum[:]), meta["kite-sha256"], "kite-sha256 of %q", o.Key)
			delete(meta, "kite-sha256")
		}
		if len(meta) == 0 {
			meta = nil
		}
		got[o.Key] = syncTestObject{data: data, ct: obj.ContentType, meta: meta}
	}
	return got
}

// syncTestAssertSame checks that got holds exactly the objects of want.
func syncTestAssertSame(t *testing.T, want, got map[string]syncTestObject) {
	t.Helper()
	keys := func(m map[string]syncTestObject) []string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return ks
	}
	require.Equal(t, keys(want), keys(got))
	for k, w := range want {
		g := got[k]
		assert.True(t, bytes.Equal(w.data, g.data), "content of %q: %d bytes, want %d", k, len(g.data), len(w.data))
		assert.Equal(t, w.ct, g.ct, "content type of %q", k)
		if len(w.meta) == 0 {
			assert.Empty(t, g.meta, "metadata of %q", k)
		} else {
			assert.Equal(t, w.meta, g.meta, "metadata of %q", k)
		}
	}
}

// syncTestSummary is the --json document.
type syncTestSummary struct {
	DryRun      bool  `json:"dry_run"`
	Copied      int64 `json:"copied"`
	CopiedBytes int64 `json:"copied_bytes"`
	Skipped     int64 `json:"skipped"`
	Deleted     int64 `json:"deleted"`
	Failed      int64 `json:"failed"`
	Failures    []struct {
		Key, Error string
	} `json:"failures"`
	Actions []struct {
		Op, Key string
		Size    int64
	} `json:"actions"`
	DeleteSkipped bool `json:"delete_skipped"`
	Interrupted   bool `json:"interrupted"`
}

func syncTestJSON(t *testing.T, out string) syncTestSummary {
	t.Helper()
	var s syncTestSummary
	require.NoError(t, json.Unmarshal([]byte(out), &s), "output: %s", out)
	return s
}

func TestSyncFileToFile(t *testing.T) {
	t.Parallel()
	_, srcURL := syncTestDir(t)
	_, dstURL := syncTestDir(t)
	src, dst := syncTestOpen(t, srcURL), syncTestOpen(t, dstURL)
	want := syncTestData("data/", 60, 1)
	syncTestFill(t, src, want)
	outside := map[string]syncTestObject{"other/x": {data: []byte("outside the prefix"), ct: "text/plain"}}
	syncTestFill(t, src, outside)

	out, errOut, code := runKite(t, "", nil, "sync", "--prefix", "data/", srcURL, dstURL)
	require.Equal(t, 0, code, "stderr: %s", errOut)
	assert.Contains(t, out, "copied 60 objects (")
	assert.Contains(t, out, "skipped 0 identical, deleted 0, failed 0")
	syncTestAssertSame(t, want, syncTestSnapshot(t, dst, "", true))

	out, errOut, code = runKite(t, "", nil, "sync", "--prefix", "data/", srcURL, dstURL)
	require.Equal(t, 0, code, "stderr: %s", errOut)
	assert.Contains(t, out, "copied 0 objects (0 bytes), skipped 60 identical")

	// Change one object's bytes only (same size, type and metadata), add
	// one, and give the destination an extra object inside the prefix and
	// one outside it.
	changed := "data/obj/0030.bin"
	o := want[changed]
	o.data = bytes.Clone(o.data)
	o.data[0] ^= 0xff
	want[changed] = o
	want["data/new"] = syncTestObject{data: []byte("new"), ct: "text/plain", meta: map[string]string{"n": "1"}}
	syncTestFill(t, src, map[string]syncTestObject{changed: o, "data/new": want["data/new"]})
	syncTestFill(t, dst, map[string]syncTestObject{
		"data/extra": {data: []byte("extra"), ct: backend.DefaultContentType},
		"keep/me":    {data: []byte("outside the prefix"), ct: backend.DefaultContentType},
	})

	t.Run("dry run changes nothing", func(t *testing.T) {
		before := syncTestSnapshot(t, dst, "", false)
		out, errOut, code := runKite(t, "", nil, "sync", "--prefix", "data/", "--dry-run", "--delete", "--json", srcURL, dstURL)
		require.Equal(t, 0, code, "stderr: %s", errOut)
		s := syncTestJSON(t, out)
		assert.True(t, s.DryRun)
		assert.Equal(t, int64(2), s.Copied)
		assert.Equal(t, int64(59), s.Skipped)
		assert.Equal(t, int64(1), s.Deleted)
		var actions []string
		for _, a := range s.Actions {
			actions = append(actions, a.Op+" "+a.Key)
		}
		assert.Equal(t, []string{"copy data/new", "copy " + changed, "delete data/extra"}, actions)
		syncTestAssertSame(t, before, syncTestSnapshot(t, dst, "", false))

		out, _, code = runKite(t, "", nil, "sync", "--prefix", "data/", "--dry-run", "--delete", srcURL, dstURL)
		require.Equal(t, 0, code)
		assert.Regexp(t, `(?m)^copy +3  data/new$`, out)
		assert.Regexp(t, `(?m)^delete +5  data/extra$`, out)
		assert.Contains(t, out, "dry run: would copy 2 objects (")
		syncTestAssertSame(t, before, syncTestSnapshot(t, dst, "", false))
	})

	t.Run("delete removes extras only", func(t *testing.T) {
		out, errOut, code := runKite(t, "", nil, "sync", "--prefix", "data/", "--delete", "--json", srcURL, dstURL)
		require.Equal(t, 0, code, "stderr: %s", errOut)
		s := syncTestJSON(t, out)
		assert.Equal(t, int64(2), s.Copied)
		assert.Equal(t, int64(59), s.Skipped)
		assert.Equal(t, int64(1), s.Deleted)
		assert.Empty(t, s.Failures)
		syncTestAssertSame(t, want, syncTestSnapshot(t, dst, "data/", true))
		_, err := dst.Stat(context.Background(), "keep/me")
		assert.NoError(t, err, "an object outside the prefix was deleted")
		_, err = dst.Stat(context.Background(), "other/x")
		assert.ErrorIs(t, err, backend.ErrNotFound, "an object outside the prefix was copied")
	})

	t.Run("whole store, then into memory", func(t *testing.T) {
		out, errOut, code := runKite(t, "", nil, "sync", "--json", srcURL, dstURL)
		require.Equal(t, 0, code, "stderr: %s", errOut)
		s := syncTestJSON(t, out)
		assert.Equal(t, int64(1), s.Copied, "other/x")
		assert.Equal(t, int64(61), s.Skipped)

		// mem:// lives in the kite process only: everything is copied (and
		// verified) into it, and it can be a source only while empty.
		out, errOut, code = runKite(t, "", nil, "sync", "--json", srcURL, "mem://")
		require.Equal(t, 0, code, "stderr: %s", errOut)
		assert.Equal(t, int64(62), syncTestJSON(t, out).Copied)
		before := syncTestSnapshot(t, dst, "", false)
		out, errOut, code = runKite(t, "", nil, "sync", "--dry-run", "--delete", "--json", "mem://", dstURL)
		require.Equal(t, 0, code, "stderr: %s", errOut)
		assert.Equal(t, int64(len(before)), syncTestJSON(t, out).Deleted)
		syncTestAssertSame(t, before, syncTestSnapshot(t, dst, "", false))
	})
}

func TestSyncFailures(t *testing.T) {
	t.Parallel()
	_, srcURL := syncTestDir(t)
	dstDir, dstURL := syncTestDir(t)
	src, dst := syncTestOpen(t, srcURL), syncTestOpen(t, dstURL)

	big := map[string]string{}
	for i := range 20 {
		big[fmt.Sprintf("k%02d", i)] = strings.Repeat("v", 98) // 2000 bytes in all
	}
	other := sha256.Sum256([]byte("other bytes"))
	syncTestFill(t, src, map[string]syncTestObject{
		"a/ok":      {data: []byte("fine"), ct: "text/plain"},
		"blocked/x": {data: []byte("the destination refuses this key")},
		"fullmeta":  {data: []byte("metadata leaves no room"), meta: big},
		"stale":     {data: []byte("stale fingerprint"), meta: map[string]string{"kite-sha256": hex.EncodeToString(other[:])}},
		"zz":        {data: []byte("last")},
		// Streamed, not read into memory: the Put must fail at the end.
		"stale-big": {data: bytes.Repeat([]byte("x"), 3<<19), meta: map[string]string{"kite-sha256": hex.EncodeToString(other[:])}},
	})
	syncTestFill(t, dst, map[string]syncTestObject{"extra": {data: []byte("not in the source")}})
	// A plain file where the destination needs a directory: the local
	// driver cannot store "blocked/x" (and does not list the file).
	require.NoError(t, os.WriteFile(filepath.Join(dstDir, "blocked"), []byte("in the way"), 0o644))

	out, errOut, code := runKite(t, "", nil, "sync", "--delete", srcURL, dstURL)
	assert.Equal(t, 1, code, "stdout: %s\nstderr: %s", out, errOut)
	assert.Regexp(t, `(?m)^failed "blocked/x": put file://`, errOut)
	assert.Regexp(t, `(?m)^failed "fullmeta": no room for kite-sha256 in the metadata`, errOut)
	assert.Regexp(t, `(?m)^failed "stale": source file://.*kite-sha256 is stale`, errOut)
	assert.Regexp(t, `(?m)^failed "stale-big": source file://.*kite-sha256 is stale; nothing stored`, errOut)
	assert.Contains(t, errOut, "kite sync: 4 objects failed (listed above); nothing deleted")
	assert.Contains(t, out, "copied 2 objects (")
	assert.Contains(t, out, "failed 4")
	for _, k := range []string{"a/ok", "zz", "extra"} {
		_, err := dst.Stat(context.Background(), k)
		assert.NoError(t, err, k)
	}
	for _, k := range []string{"blocked/x", "fullmeta", "stale", "stale-big"} {
		_, err := dst.Stat(context.Background(), k)
		assert.Error(t, err, k)
	}

	out, _, code = runKite(t, "", nil, "sync", "--json", srcURL, dstURL)
	assert.Equal(t, 1, code)
	s := syncTestJSON(t, out)
	assert.Equal(t, int64(4), s.Failed)
	require.Len(t, s.Failures, 4)
	assert.Equal(t, "blocked/x", s.Failures[0].Key)
	assert.Equal(t, int64(2), s.Skipped)
}

func TestSyncUsage(t *testing.T) {
	t.Parallel()
	_, dir := syncTestDir(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no arguments", nil, 2, "want SRC_URL and DST_URL"},
		{"one argument", []string{dir}, 2, "want SRC_URL and DST_URL"},
		{"bad jobs", []string{"--jobs", "0", dir, dir}, 2, "--jobs 0"},
		{"bad flag", []string{"--bogus", dir, dir}, 2, "bogus"},
		{"help", []string{"--help"}, 0, "kite-sha256"},
		{"unknown scheme", []string{"nosuch://x", dir}, 1, "source:"},
		{"secret redacted", []string{"file:///nonexistent-kite-sync?secret=" + strings.Repeat("s", 40), dir}, 1, "source:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := runKite(t, "", nil, append([]string{"sync"}, tc.args...)...)
			assert.Equal(t, tc.code, code, errOut)
			assert.Contains(t, errOut, tc.want)
			assert.NotContains(t, errOut, strings.Repeat("s", 40))
		})
	}
}

// TestSyncInterrupted stops a sync with SIGINT after its first progress line;
// what it copied is whole, and the next run finishes the job.
func TestSyncInterrupted(t *testing.T) {
	t.Parallel()
	_, srcURL := syncTestDir(t)
	dstDir := filepath.Join(t.TempDir(), "dst")
	dstURL := "file://" + dstDir + "?create_dir=true" // with fsync: slower, so SIGINT lands mid-run
	want := syncTestData("", 400, 2)
	syncTestFill(t, syncTestOpen(t, srcURL), want)

	cmd := exec.Command(kiteBin, "sync", "--jobs", "1", srcURL, dstURL)
	var stdout strings.Builder
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(stderr)
	var errOut strings.Builder
	signalled := false
	for sc.Scan() {
		errOut.WriteString(sc.Text() + "\n")
		if !signalled && strings.HasPrefix(sc.Text(), "sync: 100 objects done") {
			require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
			signalled = true
		}
	}
	err = cmd.Wait()
	require.True(t, signalled, "no progress line; stderr: %s", errOut.String())
	if err == nil {
		t.Logf("the sync finished before SIGINT took effect: %s", stdout.String())
	} else {
		assert.Equal(t, 1, cmd.ProcessState.ExitCode())
		assert.Contains(t, errOut.String(), "interrupted after")
		assert.Contains(t, stdout.String(), "copied ")
	}
	// Whatever was copied is whole.
	dst := syncTestOpen(t, dstURL)
	partial := syncTestSnapshot(t, dst, "", true)
	for k, o := range partial {
		syncTestAssertSame(t, map[string]syncTestObject{k: want[k]}, map[string]syncTestObject{k: o})
	}

	out, errStr, code := runKite(t, "", nil, "sync", "--json", srcURL, dstURL)
	require.Equal(t, 0, code, "stderr: %s", errStr)
	s := syncTestJSON(t, out)
	assert.Equal(t, int64(len(partial)), s.Skipped)
	assert.Equal(t, int64(400-len(partial)), s.Copied)
	syncTestAssertSame(t, want, syncTestSnapshot(t, dst, "", true))
}

// syncTestBucket makes a fresh MinIO bucket and returns its minio:// URL.
func syncTestBucket(t *testing.T, srv testenv.S3Server) string {
	t.Helper()
	ctx := context.Background()
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	bucket := "kite-sync-" + hex.EncodeToString(rnd[:])
	admin, err := mc.New(srv.Endpoint, &mc.Options{Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, ""), Region: "us-east-1", BucketLookup: mc.BucketLookupPath})
	require.NoError(t, err)
	require.NoError(t, admin.MakeBucket(ctx, bucket, mc.MakeBucketOptions{Region: "us-east-1"}))
	t.Cleanup(func() {
		ctx := context.Background()
		for o := range admin.ListObjects(ctx, bucket, mc.ListObjectsOptions{Recursive: true}) {
			if o.Err == nil {
				_ = admin.RemoveObject(ctx, bucket, o.Key, mc.RemoveObjectOptions{})
			}
		}
		_ = admin.RemoveBucket(ctx, bucket)
	})
	return (&url.URL{Scheme: "minio", User: url.UserPassword(srv.AccessKey, srv.SecretKey), Host: srv.Endpoint, Path: "/" + bucket, RawQuery: "secure=false"}).String()
}

// TestSyncMinIORoundTrip is the done-when check: 1,000 objects from
// local to MinIO and back to a new directory, every byte, content type and
// metadata intact, and second runs copy nothing.
func TestSyncMinIORoundTrip(t *testing.T) {
	srv := testenv.MinIO(t)
	t.Parallel()
	start := time.Now()
	_, srcURL := syncTestDir(t)
	minioURL := syncTestBucket(t, srv)
	_, backURL := syncTestDir(t)
	want := syncTestData("", 1000, 3)
	syncTestFill(t, syncTestOpen(t, srcURL), want)
	t.Logf("generated 1000 objects in %s", time.Since(start))

	for _, leg := range []struct{ from, to string }{{srcURL, minioURL}, {minioURL, backURL}} {
		t0 := time.Now()
		out, errOut, code := runKite(t, "", nil, "sync", leg.from, leg.to)
		require.Equal(t, 0, code, "stderr: %s", errOut)
		assert.Contains(t, out, "copied 1000 objects (")
		assert.Contains(t, out, "skipped 0 identical, deleted 0, failed 0")
		assert.Contains(t, errOut, "sync: 1000 objects done: 1000 copied")
		assert.NotContains(t, out+errOut, srv.SecretKey)
		t.Logf("sync %s: %s", backend.RedactURL(leg.to), time.Since(t0))
	}
	syncTestAssertSame(t, want, syncTestSnapshot(t, syncTestOpen(t, minioURL), "", true))
	syncTestAssertSame(t, want, syncTestSnapshot(t, syncTestOpen(t, backURL), "", true))

	for _, leg := range []struct{ from, to string }{{srcURL, minioURL}, {minioURL, backURL}} {
		t0 := time.Now()
		out, errOut, code := runKite(t, "", nil, "sync", leg.from, leg.to)
		require.Equal(t, 0, code, "stderr: %s", errOut)
		assert.Contains(t, out, "copied 0 objects (0 bytes), skipped 1000 identical")
		t.Logf("second sync %s: %s", backend.RedactURL(leg.to), time.Since(t0))
	}
}
