package reliability_test

import (
	"bytes"
	"context"
	"errors"
	mrand "math/rand/v2"
	"net"
	"net/http"
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
	"github.com/kitehq/kite/internal/testenv"
)

// minioBinEnv names the MinIO binary that scripts/servers.sh built.
const minioBinEnv = "KITE_MINIO_BIN"

// minioProc is a MinIO server of the test's own, one drive on its own
// directory and port, which the test kills and starts again. (The
// processes of internal/cluster need two nodes at least: MinIO refuses a
// single node named by URL.)
type minioProc struct {
	bin, dir, logPath string
	srv               testenv.S3Server
	cmd               *exec.Cmd
	exited            chan struct{} // closed once cmd has been waited for
}

// newMinIO starts a MinIO from KITE_MINIO_BIN on a fresh directory and a
// free port, and kills it at cleanup. It is for stress tests: asked for
// one, a missing binary is a failure, not a skip.
func newMinIO(t *testing.T) *minioProc {
	t.Helper()
	bin := os.Getenv(minioBinEnv)
	if bin == "" {
		t.Fatalf("%s is unset: run under ./scripts/servers.sh (make stress does), which builds MinIO and sets it", minioBinEnv)
	}
	dir := t.TempDir()
	m := &minioProc{
		bin: bin, dir: filepath.Join(dir, "data"), logPath: filepath.Join(dir, "minio.log"),
		srv: testenv.S3Server{Endpoint: freePort(t), AccessKey: randomName("kite"), SecretKey: randomName("secret-")},
	}
	require.NoError(t, os.Mkdir(m.dir, 0o750))
	t.Cleanup(func() { m.kill(t) })
	m.start(t)
	return m
}

// freePort returns a 127.0.0.1 address nothing listens on, with a port
// below the kernel's ephemeral range: while the server is down, no
// outgoing connection can be given its port and keep it from coming back.
func freePort(t *testing.T) string {
	t.Helper()
	lo, hi := 20000, 32767
	if data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(data)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil && v-1-lo >= 1000 {
				hi = v - 1
			}
		}
	}
	for range 1000 {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(lo+mrand.IntN(hi-lo+1)))
		if ln, err := net.Listen("tcp", addr); err == nil {
			ln.Close()
			return addr
		}
	}
	t.Fatalf("no free port in %d-%d", lo, hi)
	return ""
}

// start launches the server on its directory and port and waits until it
// is ready.
func (m *minioProc) start(t *testing.T) {
	t.Helper()
	logf, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	require.NoError(t, err)
	defer logf.Close()
	cmd := exec.Command(m.bin, "server", m.dir, "--address", m.srv.Endpoint, "--quiet")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MINIO_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env,
		"MINIO_ROOT_USER="+m.srv.AccessKey, "MINIO_ROOT_PASSWORD="+m.srv.SecretKey,
		// This machine looks like a container to MinIO and the drive is on
		// the root filesystem; no update checks off the machine.
		"MINIO_BROWSER=off", "MINIO_CI_CD=1", "MINIO_UPDATE=off")
	cmd.Stdout, cmd.Stderr = logf, logf
	// Killed with the test binary, should it die without cleaning up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	require.NoError(t, cmd.Start(), "starting %s", m.bin)
	m.cmd, m.exited = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(m.exited)
	}()
	hc := &http.Client{Transport: newTransport(false), Timeout: 2 * time.Second}
	url := "http://" + m.srv.Endpoint + "/minio/health/ready"
	deadline := time.Now().Add(time.Minute)
	for {
		// Polling: a server says it is ready only when asked.
		if resp, err := hc.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-m.exited:
			t.Fatalf("MinIO exited before it was ready; its log:\n%s", m.logTail())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("MinIO not ready at %s after a minute; its log:\n%s", url, m.logTail())
		}
	}
}

// kill sends SIGKILL to the server, if it runs, and waits for it to be gone.
func (m *minioProc) kill(t *testing.T) {
	t.Helper()
	if m.cmd == nil {
		return
	}
	if err := m.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("SIGKILL to MinIO: %v", err)
	}
	<-m.exited
	m.cmd = nil
}

func (m *minioProc) logTail() string {
	b, _ := os.ReadFile(m.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

const (
	crashSize = 256 << 20 // the upload MinIO dies under, of unknown size
	crashAt   = 64 << 20  // bytes the driver has read when MinIO is killed
)

// TestStressServerCrash kills MinIO with SIGKILL during a 256 MiB upload of
// unknown size (16 MiB parts) through each remote driver, then starts it
// again on the same directory and port: the upload fails with an error, no
// partial object is visible, Health fails while the server is down and
// passes after, and later calls succeed, on objects from before included.
func TestStressServerCrash(t *testing.T) {
	stress(t)
	m := newMinIO(t)
	srv := m.srv
	admin := adminClient(t, srv.Endpoint, srv)
	// A killed upload cannot be aborted: its parts stay until MinIO's own
	// clean-up of stale uploads, so orphans are expected here.
	bucket := newBucket(t, admin, true)
	for _, driver := range remoteDrivers {
		t.Run(driver, func(t *testing.T) {
			ctx := t.Context()
			b := openDriver(t, driver, srv.Endpoint, srv, bucket, clientOpts{keepAlive: true})
			before := "crash/" + driver + "/before"
			key := "crash/" + driver + "/big"
			old := patternBytes(10, 100<<10)
			_, err := b.Put(ctx, before, bytes.NewReader(old), backend.PutOptions{})
			require.NoError(t, err)

			src := newPattern(11, crashSize)
			var once sync.Once
			killed := make(chan time.Time, 1)
			src.onRead = func(total int64) {
				if total >= crashAt {
					once.Do(func() {
						go func() {
							at := time.Now()
							m.kill(t)
							killed <- at
						}()
					})
				}
			}
			start := time.Now()
			_, err = b.Put(ctx, key, src, backend.PutOptions{})
			returned := time.Now()
			var killedAt time.Time
			select {
			case killedAt = <-killed:
			case <-time.After(time.Minute):
				t.Fatal("MinIO was not killed within a minute")
			}
			require.Error(t, err, "a Put whose server was killed after %d MiB of %d succeeded", crashAt>>20, crashSize>>20)
			require.True(t, killedAt.Before(returned), "the Put ended (%v) before the kill", err)
			var be *backend.Error
			assert.True(t, errors.As(err, &be), "the error is a *backend.Error: %T %v", err, err)
			t.Logf("%s: Put of 256 MiB (unknown size) failed %v after the kill at %d MiB (%v after it started), the SDK's retries included: %v",
				driver, returned.Sub(killedAt).Round(time.Millisecond), crashAt>>20, returned.Sub(start).Round(time.Millisecond), err)

			hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			hstart := time.Now()
			herr := b.Health(hctx)
			cancel()
			assert.Error(t, herr, "Health while MinIO is down")
			t.Logf("%s: Health while down failed after %v: %v", driver, time.Since(hstart).Round(time.Millisecond), herr)

			m.start(t) // the same directory and port
			_, err = b.Stat(ctx, key)
			assert.ErrorIs(t, err, backend.ErrNotFound, "Stat of the killed upload's key after the restart")
			var listed []string
			for o, err := range b.List(ctx, backend.ListOptions{Prefix: "crash/" + driver + "/"}) {
				require.NoError(t, err, "List after the restart")
				listed = append(listed, o.Key)
			}
			assert.Equal(t, []string{before}, listed, "List after the restart")
			assert.NoError(t, b.Health(ctx), "Health after the restart")
			require.NoError(t, readBack(ctx, b, before, backend.GetOptions{}, old), "the object from before the crash")
			after := patternBytes(12, 20<<20)
			_, err = b.Put(ctx, key, opaque{bytes.NewReader(after)}, backend.PutOptions{})
			require.NoError(t, err, "Put after the restart")
			require.NoError(t, readBack(ctx, b, key, backend.GetOptions{}, after), "Get after the restart")

			orphans := 0
			for u := range admin.ListIncompleteUploads(ctx, bucket, key, true) {
				require.NoError(t, u.Err)
				orphans++
			}
			t.Logf("%s: after the restart: the killed upload is invisible (Stat: not found, List: absent), "+
				"%d incomplete upload of it left on the server (the driver's abort could not reach it)", driver, orphans)
		})
	}
}
