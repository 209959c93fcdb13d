package main

import (
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// benchTestJSON runs "kite bench --json" with args and asserts that every
// operation has a row for every size and concurrency, with positive ops/s.
func benchTestJSON(t *testing.T, sizes []string, concs []int, args ...string) benchReport {
	t.Helper()
	out, errOut, code := runKite(t, "", nil, append([]string{"bench", "--json"}, args...)...)
	require.Equal(t, 0, code, "stderr: %s", errOut)
	var rep benchReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	require.Len(t, rep.Results, len(sizes)*len(concs)*len(benchOps))
	i := 0
	for _, size := range sizes {
		for _, c := range concs {
			for _, op := range benchOps {
				r := rep.Results[i]
				i++
				assert.Equal(t, op, r.Op)
				assert.Equal(t, size, r.Size)
				assert.Equal(t, c, r.Concurrency)
				assert.Empty(t, r.Skipped, "%s %s: skipped", op, size)
				assert.Positive(t, r.Ops, "%s %s c=%d: ops", op, size, c)
				assert.Positive(t, r.OpsPerSec, "%s %s c=%d: ops/s", op, size, c)
				assert.LessOrEqual(t, r.P50ms, r.P90ms)
				assert.LessOrEqual(t, r.P90ms, r.P99ms)
				assert.LessOrEqual(t, r.P99ms, r.MaxMs)
				if op == "put" || op == "get" {
					assert.Equal(t, r.Ops*r.SizeBytes, r.Bytes, "%s %s: every byte moved", op, size)
					assert.Positive(t, r.MBPerSec)
				} else {
					assert.Zero(t, r.Bytes)
				}
			}
		}
	}
	assert.True(t, strings.HasPrefix(rep.Prefix, "kite-bench-"), rep.Prefix)
	return rep
}

func TestBenchMem(t *testing.T) {
	t.Parallel()
	t.Run("table", func(t *testing.T) {
		t.Parallel()
		out, errOut, code := runKite(t, "", nil, "bench", "--sizes", "4KiB,1MiB", "--concurrency", "1,3", "--duration", "20ms", "mem://")
		require.Equal(t, 0, code, "stderr: %s", errOut)
		assert.Regexp(t, `(?m)^OP\s+SIZE\s+CONC\s+OPS/S\s+MB/S\s+P50\s+P90\s+P99\s+MAX$`, out)
		for _, size := range []string{"4KiB", "1MiB"} {
			for _, c := range []string{"1", "3"} {
				for _, op := range benchOps {
					mb := `[0-9.]+`
					if op != "put" && op != "get" {
						mb = "-"
					}
					assert.Regexp(t, `(?m)^`+op+`\s+`+size+`\s+`+c+`\s+[0-9.]+\s+`+mb+`(\s+[0-9.]+[µnm]?s){4}$`, out, "row %s %s %s", op, size, c)
				}
			}
		}
		assert.Equal(t, 20, len(regexp.MustCompile(`(?m)^(put|get|stat|list|presign) `).FindAllString(out, -1)), out)
	})
	t.Run("json ops", func(t *testing.T) {
		t.Parallel()
		rep := benchTestJSON(t, []string{"4KiB", "100B"}, []int{1, 4}, "--sizes", "4KiB,100", "--concurrency", "1,4", "--ops", "6", "mem://")
		assert.EqualValues(t, 6, rep.Ops)
		for _, r := range rep.Results {
			assert.EqualValues(t, 6, r.Ops, "%s: --ops is the number of operations of each run", r.Op)
		}
	})
}

func TestBenchFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	benchTestJSON(t, []string{"4KiB", "2MiB"}, []int{2}, "--sizes", "4KiB,2MiB", "--concurrency", "2", "--duration", "10ms", "file://"+dir)
	liveAssertNoFiles(t, dir) // the scratch prefix is removed
}

func TestBenchMinIO(t *testing.T) {
	t.Parallel()
	m := newLiveMinIO(t)
	benchTestJSON(t, []string{"4KiB", "1MiB"}, []int{1, 4}, "--sizes", "4KiB,1MiB", "--concurrency", "1,4", "--ops", "8", m.url("secure=false"))
	assert.Empty(t, m.objects(t), "the scratch prefix is removed")
}

func TestBenchUsage(t *testing.T) {
	t.Parallel()
	out, errOut, code := runKite(t, "", nil, "bench", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out+errOut, "kite bench [--sizes")
	for _, args := range [][]string{
		{"bench"},
		{"bench", "--duration", "1s", "--ops", "3", "mem://"},
		{"bench", "--ops", "0", "mem://"},
		{"bench", "--sizes", "4KiB,big", "mem://"},
		{"bench", "--sizes", "0", "mem://"},
		{"bench", "--concurrency", "0", "mem://"},
		{"bench", "--duration", "-1s", "mem://"},
		{"bench", "mem://", "extra"},
	} {
		_, errOut, code := runKite(t, "", []string{storeEnv + "="}, args...)
		assert.Equal(t, 2, code, "%q: stderr: %s", args, errOut)
	}
	_, errOut, code = runKite(t, "", nil, "bench", "--ops", "1", "nosuch://x")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "nosuch")
}

func TestBenchReader(t *testing.T) {
	t.Parallel()
	g := newBenchGen()
	for _, n := range []int64{1, 1000, 1 << 20, 3<<20 + 7} {
		got, err := io.ReadAll(g.reader(n))
		require.NoError(t, err)
		require.Len(t, got, int(n))
		assert.Equal(t, g.block[:min(n, int64(len(g.block)))], got[:min(n, int64(len(g.block)))])
		again, _ := io.ReadAll(iotest.OneByteReader(g.reader(n)))
		assert.Equal(t, got, again, "deterministic, whatever the reads")
	}
}
