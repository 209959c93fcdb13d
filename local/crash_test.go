package local_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/local"
)

// The crash tests run this test binary again as a child (crashChildEnv set),
// which writes, overwrites and deletes objects through the local driver in a
// loop and reports every call on stdout, and kill it with SIGKILL at a random
// point. Every object carries its own SHA-256, so the parent checks each
// listed object without trusting the child, and knows from the reports which
// states each key may be in.
const (
	crashChildEnv  = "KITE_CRASH_CHILD"  // "1" in the child
	crashDirEnv    = "KITE_CRASH_DIR"    // the directory
	crashNoSyncEnv = "KITE_CRASH_NOSYNC" // "true": Options.NoSync
	crashRunEnv    = "KITE_CRASH_RUN"    // the run's number: generations are unique across runs

	crashLine = "kite-crash:" // prefix of the child's report lines
	// crashChildLife bounds a child that nobody kills.
	crashChildLife = 60 * time.Second
)

// crashKeys are the keys the child writes: nested ones (a Delete removes
// empty parents), a top-level one, and one whose last segment is 255 bytes
// (stored under a hashed name).
var crashKeys = func() []string {
	var keys []string
	for d := range 3 {
		for k := range 4 {
			keys = append(keys, fmt.Sprintf("d%d/k%d", d, k))
		}
	}
	return append(keys, "top", "long/"+strings.Repeat("L", backend.MaxSegmentLen))
}()

// TestCrashSafety is the fast variant (make test): 3 kills with fsync, 3
// without.
func TestCrashSafety(t *testing.T) {
	for _, nosync := range []bool{false, true} {
		t.Run("nosync="+strconv.FormatBool(nosync), func(t *testing.T) {
			t.Parallel()
			runCrashes(t, nosync, 3)
		})
	}
}

// TestStressCrashSafety kills the writer 20 times on one directory, with and
// without fsync (make stress).
func TestStressCrashSafety(t *testing.T) {
	if os.Getenv("KITE_STRESS") != "1" {
		t.Skip("long test: run make stress")
	}
	for _, nosync := range []bool{false, true} {
		t.Run("nosync="+strconv.FormatBool(nosync), func(t *testing.T) {
			t.Parallel()
			runCrashes(t, nosync, 20)
		})
	}
}

// TestCrashChild is the child's write loop; it runs only in a child.
func TestCrashChild(t *testing.T) {
	if os.Getenv(crashChildEnv) != "1" {
		t.Skip("the child process of TestCrashSafety")
	}
	crashChild(t)
}

// keyState is what the parent knows of a key: its state before the
// child's last unfinished call on it, and that call's result. Both are
// allowed after a kill; pending is false when no call is unfinished.
type keyState struct {
	gen     int64 // 0: absent
	pending bool
	next    int64 // the unfinished call's generation; 0: a Delete
}

func (s keyState) allows(gen int64) bool {
	return gen == s.gen || s.pending && gen == s.next
}

func runCrashes(t *testing.T, nosync bool, kills int) {
	dir := t.TempDir()
	states := map[string]keyState{}
	rnd := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	var temps []int
	swept := 0 // temporary files of killed writers that Sweep removed
	inFlight, ackedTotal := 0, 0
	sawOld, sawNew := 0, 0 // keys in flight at a kill found in their old, new state
	start := time.Now()
	for run := 1; run <= kills; run++ {
		// Kill at a random point of the loop: mostly early (a few
		// writes), sometimes after many.
		delay := time.Duration(rnd.Int64N(int64(200 * time.Millisecond)))
		acked, pending := crashOnce(t, dir, nosync, run, delay, states)
		ackedTotal += acked
		if pending {
			inFlight++
		}
		n, old, nw, sw := checkAfterCrash(t, dir, nosync, run, states)
		temps = append(temps, n)
		swept += sw
		sawOld += old
		sawNew += nw
		if t.Failed() {
			return
		}
	}
	t.Logf("nosync=%v: %d kills survived in %v; %d acknowledged calls, %d kills with a Put or Delete in flight (its key found old %d times, new %d); %d temporary files swept; left after each kill and Sweep: %v",
		nosync, kills, time.Since(start).Round(time.Millisecond), ackedTotal, inFlight, sawOld, sawNew, swept, temps)
	assert.Positive(t, ackedTotal, "the child acknowledged no call: the kills tested nothing")

	// A kill during a write leaves its temporary file behind; the Sweep
	// after each kill removes it. (Whether a kill hits a write is chance:
	// TestSweep makes such files on purpose.)
	t.Run("TempFilesDoNotGrow", func(t *testing.T) {
		for run, n := range temps {
			assert.Zero(t, n, "run %d: temporary files left after the kill and Sweep: %v", run+1, temps)
		}
	})
}

// crashOnce starts a child on dir, kills it with SIGKILL delay after it is
// ready, and updates states from its reports. It returns the number of calls
// the child acknowledged and whether one was in flight at the kill.
func crashOnce(t *testing.T, dir string, nosync bool, run int, delay time.Duration, states map[string]keyState) (acked int, inFlight bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		crashChildEnv+"=1",
		crashDirEnv+"="+dir,
		crashNoSyncEnv+"="+strconv.FormatBool(nosync),
		crashRunEnv+"="+strconv.Itoa(run),
	)
	// Killed with the test, should it die first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	killed := false
	defer func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()

	ready := make(chan struct{})
	var mu sync.Mutex
	var lines []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line, ok := strings.CutPrefix(sc.Text(), crashLine)
			if !ok {
				continue
			}
			if line == "ready" {
				close(ready)
				continue
			}
			mu.Lock()
			lines = append(lines, line)
			mu.Unlock()
		}
	}()
	select {
	case <-ready:
	case <-done:
		_ = cmd.Wait()
		killed = true
		t.Fatalf("run %d: the child ended before it was ready: %s", run, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("run %d: the child is not ready after 30s: %s", run, stderr.String())
	}
	time.Sleep(delay) // the kill lands at a random point
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	<-done
	werr := cmd.Wait()
	killed = true
	var ee *exec.ExitError
	if !errors.As(werr, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("run %d: the child was not killed by SIGKILL (it ended first?): %v\n%s", run, werr, stderr.String())
	}

	// Replay the reports: "put KEY GEN" / "del KEY" start a call, "ok"
	// ends it.
	for _, line := range lines {
		f := strings.Fields(line)
		switch {
		case len(f) == 3 && f[0] == "put":
			gen, err := strconv.ParseInt(f[2], 10, 64)
			require.NoError(t, err, line)
			s := states[f[1]]
			s.pending, s.next = true, gen
			states[f[1]] = s
		case len(f) == 2 && f[0] == "del":
			s := states[f[1]]
			s.pending, s.next = true, 0
			states[f[1]] = s
		case len(f) == 2 && f[0] == "ok":
			s := states[f[1]]
			require.True(t, s.pending, "run %d: %q acknowledges no call", run, line)
			states[f[1]] = keyState{gen: s.next}
			acked++
		default:
			t.Fatalf("run %d: bad report line %q", run, line)
		}
	}
	for _, s := range states {
		inFlight = inFlight || s.pending
	}
	return acked, inFlight
}

// checkAfterCrash opens a fresh Backend on dir and checks that every listed
// object is complete and in a state the child's reports allow, that every
// key not listed may be absent, and that no temporary file is listed. It
// settles states to what it found and returns how many temporary files
// are on disk, and how many keys in flight it found old and new.
func checkAfterCrash(t *testing.T, dir string, nosync bool, run int, states map[string]keyState) (temps, old, nw, swept int) {
	t.Helper()
	ctx := context.Background()
	b, err := local.New(dir, local.Options{NoSync: nosync, NoSweep: true})
	require.NoError(t, err)
	defer b.Close()
	swept, err = b.Sweep(ctx)
	require.NoError(t, err, "run %d: Sweep", run)

	found := map[string]int64{}
	for obj, err := range b.List(ctx, backend.ListOptions{}) {
		if !assert.NoError(t, err, "run %d: List after the kill", run) {
			break
		}
		assert.False(t, strings.Contains(obj.Key, `\`), "run %d: internal file listed as %q", run, obj.Key)
		gen, err := readCrashObject(ctx, b, obj.Key)
		if !assert.NoError(t, err, "run %d: listed object %q is not complete", run, obj.Key) {
			continue
		}
		found[obj.Key] = gen
	}
	for _, key := range crashKeys {
		s := states[key]
		gen := found[key]
		assert.True(t, s.allows(gen), "run %d: %s holds generation %d (0 = absent), want the old %d or the new %d (in flight: %v)", run, key, gen, s.gen, s.next, s.pending)
		switch {
		case s.pending && gen == s.gen:
			old++
		case s.pending && gen == s.next:
			nw++
		}
		states[key] = keyState{gen: gen}
		delete(found, key)
	}
	for key := range found {
		t.Errorf("run %d: listed %q, a key the child never wrote", run, key)
	}

	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), `\t`) {
			temps++
		}
		return nil
	})
	require.NoError(t, err)
	return temps, old, nw, swept
}

// readCrashObject reads key and checks its content: a SHA-256 of the rest,
// then "key gen\n" and the payload. It returns the generation.
func readCrashObject(ctx context.Context, b backend.Backend, key string) (int64, error) {
	rc, obj, err := b.Get(ctx, key, backend.GetOptions{})
	if err != nil {
		return 0, err
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return 0, err
	}
	if int64(len(data)) != obj.Size {
		return 0, fmt.Errorf("read %d bytes, object size %d", len(data), obj.Size)
	}
	if len(data) < sha256.Size {
		return 0, fmt.Errorf("%d bytes: shorter than its checksum", len(data))
	}
	if sum := sha256.Sum256(data[sha256.Size:]); !bytes.Equal(sum[:], data[:sha256.Size]) {
		return 0, errors.New("checksum mismatch: torn or mixed content")
	}
	head, _, ok := bytes.Cut(data[sha256.Size:], []byte("\n"))
	k, g, ok2 := strings.Cut(string(head), " ")
	if !ok || !ok2 || k != key {
		return 0, fmt.Errorf("header %.80q does not name the key", head)
	}
	return strconv.ParseInt(g, 10, 64)
}

// crashObject returns the content of generation gen of key.
func crashObject(rnd *rand.Rand, fill *rand.ChaCha8, key string, gen int64) []byte {
	n := rnd.IntN(64 << 10)
	if rnd.IntN(20) == 0 {
		n = 2 << 20 // several writes to the temporary file
	}
	var buf bytes.Buffer
	buf.Grow(sha256.Size + len(key) + 24 + n)
	buf.Write(make([]byte, sha256.Size))
	fmt.Fprintf(&buf, "%s %d\n", key, gen)
	payload := make([]byte, n)
	_, _ = fill.Read(payload) // fast: the child spends its time in Put, where the kills should land
	buf.Write(payload)
	data := buf.Bytes()
	sum := sha256.Sum256(data[sha256.Size:])
	copy(data, sum[:])
	return data
}

// crashChild writes, overwrites and deletes crashKeys in a loop until it is
// killed, reporting each call before it starts and after it succeeds.
func crashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	run, err := strconv.ParseInt(os.Getenv(crashRunEnv), 10, 64)
	require.NoError(t, err)
	b, err := local.New(dir, local.Options{NoSync: os.Getenv(crashNoSyncEnv) == "true"})
	require.NoError(t, err)
	defer b.Close()
	ctx := context.Background()
	w := bufio.NewWriter(os.Stdout)
	report := func(format string, args ...any) {
		fmt.Fprintf(w, crashLine+format+"\n", args...)
		require.NoError(t, w.Flush())
	}
	rnd := rand.New(rand.NewPCG(uint64(run), uint64(time.Now().UnixNano())))
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(time.Now().UnixNano()))
	fill := rand.NewChaCha8(seed)
	report("ready")
	end := time.Now().Add(crashChildLife)
	for seq := int64(1); time.Now().Before(end); seq++ {
		key := crashKeys[rnd.IntN(len(crashKeys))]
		if rnd.IntN(10) == 0 {
			report("del %s", key)
			require.NoError(t, b.Delete(ctx, key))
			report("ok %s", key)
			continue
		}
		gen := run<<32 | seq // unique across runs
		data := crashObject(rnd, fill, key, gen)
		report("put %s %d", key, gen)
		_, err := b.Put(ctx, key, bytes.NewReader(data), backend.PutOptions{Size: int64(len(data))})
		require.NoError(t, err)
		report("ok %s", key)
	}
}
