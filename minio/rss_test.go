package minio_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/testenv"
)

// Environment of the RSS measurement: the test runs only when asked, as
// KITE_RSS_TEST=1 go test -run TestUploadRSS -v ./minio/ (without -race),
// and re-executes the test binary with rssChildEnv set for a fresh process.
const (
	rssTestEnv  = "KITE_RSS_TEST"
	rssChildEnv = "KITE_RSS_CHILD"
	rssSize     = 1 << 30
	rssLimit    = 64 << 20 // issue 5's bound
)

// TestUploadRSS measures the peak RSS (VmHWM) of a process that uploads
// 1 GiB of unknown size from a non-seekable reader with 16 MiB parts.
func TestUploadRSS(t *testing.T) {
	if os.Getenv(rssTestEnv) != "1" {
		t.Skipf("set %s=1 to measure the peak RSS of a 1 GiB upload", rssTestEnv)
	}
	if raceEnabled {
		t.Skip("the race detector distorts memory use: run without -race")
	}
	testenv.MinIO(t)
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestUploadRSSChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), rssChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "child:\n%s", out)
	var hwm int64 = -1
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "RSS-HWM-KB:"); ok {
			hwm, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			require.NoError(t, err)
		}
		if strings.Contains(sc.Text(), "uploaded") {
			t.Log(strings.TrimSpace(sc.Text()))
		}
	}
	require.GreaterOrEqual(t, hwm, int64(0), "no measurement in the child's output:\n%s", out)
	t.Logf("peak RSS (VmHWM) of a 1 GiB unknown-size upload with 16 MiB parts: %.1f MiB", float64(hwm)/1024)
	assert.LessOrEqual(t, hwm<<10, int64(rssLimit), "peak RSS")
}

// TestUploadRSSChild is the measured process of TestUploadRSS.
func TestUploadRSSChild(t *testing.T) {
	if os.Getenv(rssChildEnv) != "1" {
		t.Skip("run by TestUploadRSS")
	}
	srv := testenv.MinIO(t)
	bucket := newBucket(t, adminClient(t, srv))
	b := openBucket(t, srv, bucket, "secure=false&part_size=16MiB")
	start := time.Now()
	r := &generator{left: rssSize}
	obj, err := b.Put(context.Background(), "rss/1GiB", r, backend.PutOptions{}) // Size 0: unknown
	require.NoError(t, err)
	require.Equal(t, int64(rssSize), obj.Size)
	d := time.Since(start)
	fmt.Printf("uploaded %d MiB in %v (%.0f MiB/s), ETag %s\n", rssSize>>20, d.Round(time.Millisecond), float64(rssSize>>20)/d.Seconds(), obj.ETag)
	fmt.Printf("RSS-HWM-KB: %d\n", vmHWM(t))
}

// generator is a non-seekable reader of pseudo-random bytes that holds no
// more than one block.
type generator struct {
	left  int64
	block [64 << 10]byte
	x     uint64
}

func (g *generator) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	if g.x == 0 {
		g.x = 0x9e3779b97f4a7c15
	}
	n := int(min(int64(len(p)), g.left, int64(len(g.block))))
	for i := 0; i+8 <= len(g.block); i += 8 {
		g.x ^= g.x << 13
		g.x ^= g.x >> 7
		g.x ^= g.x << 17
		binary.LittleEndian.PutUint64(g.block[i:], g.x)
	}
	copy(p, g.block[:n])
	g.left -= int64(n)
	return n, nil
}

// vmHWM returns this process's peak resident set size in KiB.
func vmHWM(t *testing.T) int64 {
	data, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}
