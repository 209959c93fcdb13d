package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// freeAddr returns a loopback address that was free a moment ago: base_url
// must name the port before "kite serve" listens on it.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// logWatch collects a process's stderr and says when a line with want appeared.
type logWatch struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	want  string
	ready chan struct{}
	once  sync.Once
}

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.ready) })
	}
	return len(p), nil
}

func (w *logWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// startServe starts "kite serve" for raw on addr, waits until it listens and
// returns its log and a function that sends SIGTERM and returns the exit code.
func startServe(t *testing.T, raw, addr string) (*logWatch, func() int) {
	t.Helper()
	logs := &logWatch{want: "msg=listening", ready: make(chan struct{})}
	cmd := exec.Command(kiteBin, "serve", "--store", raw, "--addr", addr)
	cmd.Stderr = logs
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() }) // a no-op once it exited

	select {
	case <-logs.ready:
	case err := <-exited:
		t.Fatalf("kite serve exited early: %v\n%s", err, logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("kite serve did not listen within 30s\n%s", logs)
	}
	stop := func() int {
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		select {
		case err := <-exited:
			if ee, ok := err.(*exec.ExitError); ok {
				return ee.ExitCode()
			}
			require.NoError(t, err)
			return 0
		case <-time.After(10 * time.Second):
			t.Fatalf("kite serve did not stop within 10s of SIGTERM\n%s", logs)
			return -1
		}
	}
	return logs, stop
}

func TestServe(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		scheme, mount, logged string
	}{
		{"file", "/files/", "path=/files/up/%s"},
		{"mem", "/my%20files/", `path="/my files/up/%s"`}, // a space, which ServeMux patterns would misread
	} {
		t.Run(c.scheme, func(t *testing.T) {
			t.Parallel()
			addr := freeAddr(t)
			q := url.Values{"base_url": {"http://" + addr + c.mount}, "secret": {testSecret}}
			raw := "mem://?" + q.Encode()
			if c.scheme == "file" {
				raw, _ = fileStore(t, q)
			}
			logs, stop := startServe(t, raw, addr)

			// Signed by other processes with the same store URL: presigning is offline.
			out, errOut, code := runKite(t, "", nil, "presign", "--store", raw, "put", "--content-type", "text/plain", "--size", "5", "up/doc.txt")
			require.Equal(t, 0, code, errOut)
			putURL, h := parsePresign(t, out)
			resp, _ := do(t, http.MethodPut, putURL, h, "hello")
			require.Equal(t, http.StatusOK, resp.StatusCode)

			out, errOut, code = runKite(t, "", nil, "presign", "--store", raw, "get", "--filename", "Grüße.txt", "up/doc.txt")
			require.Equal(t, 0, code, errOut)
			getURL, _ := parsePresign(t, out)
			resp, body := do(t, http.MethodGet, getURL, nil, "")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "hello", body)
			assert.Contains(t, resp.Header.Get("Content-Disposition"), "attachment")

			tampered := strings.Replace(getURL, "/up/doc.txt", "/up/other.txt", 1)
			resp, _ = do(t, http.MethodGet, tampered, nil, "")
			assert.Equal(t, http.StatusForbidden, resp.StatusCode)
			resp, _ = do(t, http.MethodGet, "http://"+addr+"/elsewhere", nil, "")
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, "only the base_url path is served")

			assert.Equal(t, 0, stop(), "exit code after SIGTERM\n%s", logs)
			log := logs.String()
			for _, want := range []string{
				"method=PUT " + fmt.Sprintf(c.logged, "doc.txt") + " status=200",
				"method=GET " + fmt.Sprintf(c.logged, "doc.txt") + " status=200 bytes=5 ",
				"method=GET " + fmt.Sprintf(c.logged, "other.txt") + " status=403",
				"method=GET path=/elsewhere status=404",
			} {
				assert.Contains(t, log, want)
			}
			assert.Contains(t, log, "msg=stopped")
			for _, u := range []string{putURL, getURL} {
				sig := mustParse(t, u).Query().Get("X-Kite-Signature")
				require.NotEmpty(t, sig)
				assert.NotContains(t, log, sig, "a signature in the log")
			}
			assert.NotContains(t, log, "X-Kite-Signature")
			assert.NotContains(t, log, testSecret)
		})
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

func TestServeRefuses(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		store, want string
	}{
		{"s3://bucket?region=us-east-1", "file:// and mem://"},
		{"minio://AK:SK@127.0.0.1:1/bucket", "file:// and mem://"},
		{"mem://", "needs base_url and secret"},
		{"file:///tmp?secret=" + testSecret, "needs base_url and secret"},
		{"", "no store"},
	} {
		_, errOut, code := runKite(t, "", []string{storeEnv + "="}, "serve", "--store", c.store, "--addr", "127.0.0.1:0")
		assert.Equal(t, 2, code, c.store)
		assert.Contains(t, errOut, c.want, c.store)
		assert.NotContains(t, errOut, "SK", "a credential in the error")
	}
}
