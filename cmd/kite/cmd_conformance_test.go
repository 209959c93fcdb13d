package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	mc "github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/conformance"
	"github.com/kitehq/kite/internal/testenv"
)

// liveKitetestBin builds, once, the command with the kitetest build tag,
// which adds the deliberately broken broken-mem:// driver.
var liveKitetestBin = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(filepath.Dir(kiteBin), "kite-kitetest") // removed by TestMain
	out, err := exec.Command("go", "build", "-tags", "kitetest", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", &exec.ExitError{Stderr: out}
	}
	return bin, nil
})

// liveRunBin runs bin with args and returns stdout, stderr and exit code.
func liveRunBin(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return stdout.String(), stderr.String(), ee.ExitCode()
	}
	require.NoError(t, err)
	return stdout.String(), stderr.String(), 0
}

// liveAssertTable asserts that out is a conformance table listing every
// check with a result, and a summary line.
func liveAssertTable(t *testing.T, out string) {
	t.Helper()
	for _, c := range conformance.Checks() {
		assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(c.Name)+`\s+(pass|fail|skip)\s+\d`, out, "row of %s", c.Name)
	}
	assert.Regexp(t, `(?m)^CHECK\s+RESULT\s+TIME\s+MESSAGE$`, out)
	assert.Regexp(t, `(?m)^\d+ passed, \d+ failed, \d+ skipped$`, out)
}

// liveConformanceJSON runs "kite conformance --json" and asserts that it
// reports on every check and that nothing failed.
func liveConformanceJSON(t *testing.T, args ...string) conformanceReport {
	t.Helper()
	out, errOut, code := runKite(t, "", nil, append([]string{"conformance", "--json"}, args...)...)
	var rep conformanceReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep), "stdout: %s\nstderr: %s", out, errOut)
	require.Len(t, rep.Results, len(conformance.Checks()))
	failed := 0
	for i, r := range rep.Results {
		assert.Equal(t, conformance.Checks()[i].Name, r.Name)
		assert.Contains(t, []string{"pass", "fail", "skip"}, r.Status, r.Name)
		if r.Status == "fail" {
			failed++
			t.Errorf("%s failed:\n%s", r.Name, r.Message)
		}
		if r.Status == "skip" {
			assert.NotEmpty(t, r.Message, "%s: a skip carries its reason", r.Name)
		}
	}
	assert.Equal(t, failed, rep.Summary.Failed)
	assert.Equal(t, len(rep.Results), rep.Summary.Passed+rep.Summary.Failed+rep.Summary.Skipped)
	if failed > 0 {
		assert.Equal(t, 1, code, "exit status with failures; stderr: %s", errOut)
	} else {
		assert.Equal(t, 0, code, "stderr: %s", errOut)
	}
	assert.True(t, strings.HasPrefix(rep.Prefix, "kite-conformance-"), rep.Prefix)
	assert.NotContains(t, out, "X-Kite-Signature=", "no signature in the report")
	return rep
}

func TestConformanceMem(t *testing.T) {
	t.Parallel()
	t.Run("table", func(t *testing.T) {
		t.Parallel()
		out, errOut, code := runKite(t, "", nil, "conformance", "mem://")
		liveAssertTable(t, out)
		assert.Contains(t, out, "signed URLs served at http://127.0.0.1:")
		assert.Regexp(t, `(?m)^Presign/Get\s+pass`, out, "kite serves the handler, so presigned URLs work")
		assert.Regexp(t, `(?m)^Presign/PublicHost\s+pass`, out, "the public host is kite's own handler")
		assert.Regexp(t, `(?m)^Keys/ParentAndChild\s+pass`, out)
		assert.NotContains(t, out+errOut, "secret=0", "the secret is redacted")
		assert.Contains(t, []int{0, 1}, code, "stderr: %s", errOut)
	})
	t.Run("json", func(t *testing.T) {
		t.Parallel()
		rep := liveConformanceJSON(t, "mem://")
		assert.Zero(t, rep.Summary.Skipped, "nothing to skip on mem://: %+v", rep.Results)
	})
	t.Run("run", func(t *testing.T) {
		t.Parallel()
		out, errOut, code := runKite(t, "", nil, "conformance", "--run", "^(Health|Put/Replace)$", "mem://")
		require.Equal(t, 0, code, "stderr: %s", errOut)
		assert.Regexp(t, `(?m)^Health\s+pass`, out)
		assert.Regexp(t, `(?m)^Put/Replace\s+pass`, out)
		assert.NotContains(t, out, "Put/RoundTrip")
		assert.Contains(t, out, "2 passed, 0 failed, 0 skipped")
	})
}

func TestConformanceFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, _, _ := runKite(t, "", nil, "conformance", "file://"+dir)
	liveAssertTable(t, out)
	rep := liveConformanceJSON(t, "file://"+dir)
	assert.Zero(t, rep.Summary.Skipped, "nothing to skip on file://: %+v", rep.Results)
	liveAssertNoFiles(t, dir) // the scratch prefix is removed

	t.Run("temporary directory", func(t *testing.T) {
		t.Parallel()
		out, errOut, code := runKite(t, "", nil, "conformance", "--run", "^(Health|Presign/Get)$", "file://")
		require.Equal(t, 0, code, "stderr: %s", errOut)
		assert.Contains(t, out, "in the temporary directory ")
		assert.Contains(t, out, "2 passed, 0 failed, 0 skipped")
	})
}

// liveAssertNoFiles asserts that no regular file is left under dir.
func liveAssertNoFiles(t *testing.T, dir string) {
	t.Helper()
	var left []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return err
	}))
	assert.Empty(t, left, "files left in the store's directory")
}

func TestConformanceBrokenStore(t *testing.T) {
	t.Parallel()
	bin, err := liveKitetestBin()
	require.NoError(t, err, "go build -tags kitetest")

	out, errOut, code := liveRunBin(t, bin, "conformance", "broken-mem://")
	assert.Equal(t, 1, code, "a store that breaks promises fails; stderr: %s", errOut)
	liveAssertTable(t, out)
	assert.Regexp(t, `(?m)^Delete\s+fail\s`, out)
	assert.Regexp(t, `(?m)^List/Order\s+fail\s`, out)
	assert.Regexp(t, `(?m)^Presign/Get\s+skip\s.*does not presign`, out, "a store without presigning skips with the reason")
	assert.Regexp(t, `(?m)^Health\s+pass\s`, out)
	assert.Contains(t, errOut, "checks failed")

	out, _, code = liveRunBin(t, bin, "conformance", "--json", "broken-mem://")
	assert.Equal(t, 1, code)
	var rep conformanceReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	require.Len(t, rep.Results, len(conformance.Checks()))
	byName := map[string]conformanceResult{}
	for _, r := range rep.Results {
		byName[r.Name] = r
	}
	for _, name := range []string{"Delete", "List/Order"} {
		assert.Equal(t, "fail", byName[name].Status, name)
	}
	// The reasons are the broken promises, not only the long key.
	assert.Contains(t, byName["Delete"].Message, "deleting a missing key is not an error")
	assert.Contains(t, byName["List/Order"].Message, "order")
}

func TestConformanceUsage(t *testing.T) {
	t.Parallel()
	out, errOut, code := runKite(t, "", nil, "conformance", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out+errOut, "kite conformance [--json]")
	assert.Contains(t, out+errOut, "-no-parent-keys")

	for _, args := range [][]string{
		{"conformance"},
		{"conformance", "mem://", "mem://"},
		{"conformance", "--run", "(", "mem://"},
		{"conformance", "--run", "NoSuchCheck", "mem://"},
		{"conformance", "--stream-size", "lots", "mem://"},
		{"conformance", "--bogus", "mem://"},
	} {
		_, errOut, code := runKite(t, "", []string{storeEnv + "="}, args...)
		assert.Equal(t, 2, code, "%q: stderr: %s", args, errOut)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		assert.True(t, strings.HasPrefix(lines[len(lines)-1], "kite conformance: "), "%q: the error on one line: %s", args, errOut)
	}
	_, errOut, code = runKite(t, "", nil, "conformance", "nosuch://x")
	assert.Equal(t, 1, code, "an unknown scheme fails to open")
	assert.Contains(t, errOut, "nosuch")
	_, errOut, code = runKite(t, "", nil, "conformance", "minio://AKIA:supersecret@127.0.0.1:1/bucket?secure=false")
	assert.Equal(t, 1, code, "an unreachable store fails before any check")
	assert.NotContains(t, errOut, "supersecret")
}

// liveMinIO is a fresh bucket on the MinIO test server.
type liveMinIO struct {
	srv    testenv.S3Server
	admin  *mc.Client
	bucket string
}

// newLiveMinIO makes a fresh bucket on the MinIO test server, removed with
// its objects at cleanup.
func newLiveMinIO(t *testing.T) liveMinIO {
	t.Helper()
	srv := testenv.MinIO(t)
	admin, err := mc.New(srv.Endpoint, &mc.Options{Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, ""), Region: "us-east-1", BucketLookup: mc.BucketLookupPath})
	require.NoError(t, err)
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	bucket := "kite-live-" + hex.EncodeToString(rnd[:])
	require.NoError(t, admin.MakeBucket(context.Background(), bucket, mc.MakeBucketOptions{Region: "us-east-1"}))
	t.Cleanup(func() {
		for o := range admin.ListObjects(context.Background(), bucket, mc.ListObjectsOptions{Recursive: true}) {
			if o.Err == nil {
				_ = admin.RemoveObject(context.Background(), bucket, o.Key, mc.RemoveObjectOptions{})
			}
		}
		_ = admin.RemoveBucket(context.Background(), bucket)
	})
	return liveMinIO{srv: srv, admin: admin, bucket: bucket}
}

// url returns the bucket's minio:// URL with query.
func (m liveMinIO) url(query string) string {
	u := url.URL{Scheme: "minio", User: url.UserPassword(m.srv.AccessKey, m.srv.SecretKey), Host: m.srv.Endpoint, Path: "/" + m.bucket, RawQuery: query}
	return u.String()
}

// objects lists every object of the bucket.
func (m liveMinIO) objects(t *testing.T) []string {
	t.Helper()
	var keys []string
	for o := range m.admin.ListObjects(context.Background(), m.bucket, mc.ListObjectsOptions{Recursive: true}) {
		require.NoError(t, o.Err)
		keys = append(keys, o.Key)
	}
	return keys
}

func TestConformanceMinIO(t *testing.T) {
	t.Parallel()
	m := newLiveMinIO(t)
	args := []string{"--no-parent-keys", "MinIO hides a/b while a exists", "--public-host", m.srv.Endpoint,
		"--stream-size", "11MiB", m.url("secure=false&part_size=5MiB")}

	out, errOut, code := runKite(t, "", nil, append([]string{"conformance"}, args...)...)
	liveAssertTable(t, out)
	assert.Regexp(t, `(?m)^Keys/ParentAndChild\s+skip\s.*MinIO hides a/b while a exists`, out)
	assert.Regexp(t, `(?m)^Presign/PublicHost\s+pass`, out)
	assert.Regexp(t, `(?m)^Put/Streaming\s+pass`, out)
	assert.Contains(t, []int{0, 1}, code, "stderr: %s", errOut)
	assert.NotContains(t, out+errOut, m.srv.SecretKey, "the secret key is redacted")

	liveConformanceJSON(t, args...)
	assert.Empty(t, m.objects(t), "the scratch prefix is removed")
}
