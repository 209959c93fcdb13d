package s3

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/testenv"
)

// rssUploadSize is the upload whose peak memory TestRSSUnknownSizeUpload measures.
const rssUploadSize = 1 << 30

// TestRSSUnknownSizeUpload measures the peak RSS of a 1 GiB upload of unknown
// size from a non-seekable reader with 16 MiB parts, in a child process so
// that nothing else in the test binary counts:
//
//	KITE_RSS_TEST=1 scripts/servers.sh go test -run TestRSSUnknownSizeUpload -v ./s3/
func TestRSSUnknownSizeUpload(t *testing.T) {
	if os.Getenv("KITE_RSS_TEST") != "1" {
		t.Skip("set KITE_RSS_TEST=1 to measure the peak RSS of a 1 GiB upload")
	}
	s := server{"minio", testenv.MinIO(t)}
	bucket := newBucket(t, s.client())
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestRSSChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "KITE_RSS_CHILD="+bucket)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "child: %s", out)
	var hwm int64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "rss_test_result VmHWM_kB="); ok {
			hwm, err = strconv.ParseInt(rest, 10, 64)
			require.NoError(t, err)
		}
	}
	require.NotZero(t, hwm, "no result in the child's output: %s", out)
	t.Logf("peak RSS (VmHWM) of a %d MiB upload of unknown size, %d MiB parts: %.1f MiB",
		rssUploadSize>>20, DefaultPartSize>>20, float64(hwm)/1024)
	assert.LessOrEqual(t, hwm, int64(64<<10), "peak RSS over 64 MiB (issue 5's bound)")
}

// TestRSSChild is the child process of TestRSSUnknownSizeUpload.
func TestRSSChild(t *testing.T) {
	bucket := os.Getenv("KITE_RSS_CHILD")
	if bucket == "" {
		t.Skip("run by TestRSSUnknownSizeUpload")
	}
	s := server{"minio", testenv.MinIO(t)}
	b, err := New(s.client(), bucket, Options{PartSize: DefaultPartSize})
	require.NoError(t, err)
	r := &generated{left: rssUploadSize, rng: rand.NewChaCha8([32]byte{1})}
	obj, err := b.Put(t.Context(), "rss/1GiB", r, backend.PutOptions{})
	require.NoError(t, err)
	require.Equal(t, int64(rssUploadSize), obj.Size)
	st, err := b.Stat(t.Context(), "rss/1GiB")
	require.NoError(t, err)
	require.Equal(t, int64(rssUploadSize), st.Size)
	status, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fmt.Printf("rss_test_result VmHWM_kB=%s\n", strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
		}
	}
}

// generated is a non-seekable reader of pseudo-random bytes.
type generated struct {
	left int64
	rng  *rand.ChaCha8
}

func (g *generated) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	n, _ := g.rng.Read(p)
	g.left -= int64(n)
	return n, nil
}
