package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Health paths of a MinIO node.
const (
	// HealthCluster answers 200 while the cluster has write quorum, 503 when not.
	HealthCluster = "/minio/health/cluster"
	// HealthClusterRead answers 200 while the cluster has read quorum.
	HealthClusterRead = "/minio/health/cluster/read"
)

// Config describes a cluster to start.
type Config struct {
	Bin   string // the minio server binary
	Nodes int    // number of processes (and drives); 4 when 0
	Dir   string // parent of the drives and logs; must exist
}

// Cluster is a running MinIO cluster. Its methods are safe for concurrent use.
type Cluster struct {
	AccessKey, SecretKey string

	cfg   Config
	ports []int
	args  []string

	mu    sync.Mutex
	procs []*exec.Cmd // nil: node stopped
	logs  []*os.File
}

// Start starts cfg.Nodes MinIO processes on free 127.0.0.1 ports, each with
// its own drive under cfg.Dir, and returns once every node answers 200 at
// HealthCluster or ctx is done. On error every process started is killed.
// The caller must call Stop.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Nodes == 0 {
		cfg.Nodes = 4
	}
	if _, err := os.Stat(cfg.Bin); err != nil {
		return nil, fmt.Errorf("minio binary: %w", err)
	}
	c := &Cluster{
		AccessKey: "kite" + randHex(6),
		SecretKey: randHex(16),
		cfg:       cfg,
		procs:     make([]*exec.Cmd, cfg.Nodes),
		logs:      make([]*os.File, cfg.Nodes),
	}
	var err error
	if c.ports, err = freePorts(cfg.Nodes); err != nil {
		return nil, err
	}
	// Endpoints one by one, each with its own directory (FACTS.md).
	for i, p := range c.ports {
		drive := c.Drive(i)
		if err := os.MkdirAll(drive, 0o750); err != nil {
			return nil, err
		}
		c.args = append(c.args, "http://127.0.0.1:"+strconv.Itoa(p)+drive)
	}
	for i := range cfg.Nodes {
		if err := c.Restart(i); err != nil {
			c.Stop()
			return nil, err
		}
	}
	for i := range cfg.Nodes {
		if err := c.WaitHealth(ctx, i, HealthCluster, http.StatusOK); err != nil {
			c.Stop()
			return nil, err
		}
	}
	return c, nil
}

// Nodes returns the number of nodes.
func (c *Cluster) Nodes() int { return len(c.ports) }

// Drive returns the directory of node i's drive.
func (c *Cluster) Drive(i int) string { return filepath.Join(c.cfg.Dir, "drive"+strconv.Itoa(i+1)) }

// Endpoint returns node i's host:port.
func (c *Cluster) Endpoint(i int) string { return "127.0.0.1:" + strconv.Itoa(c.ports[i]) }

// Kill sends SIGKILL to node i and waits for it to exit. Killing a stopped
// node does nothing.
func (c *Cluster) Kill(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.killLocked(i)
}

func (c *Cluster) killLocked(i int) error {
	cmd := c.procs[i]
	if cmd == nil {
		return nil
	}
	c.procs[i] = nil
	err := cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait() // "signal: killed"
	if c.logs[i] != nil {
		c.logs[i].Close()
		c.logs[i] = nil
	}
	if errors.Is(err, os.ErrProcessDone) {
		err = nil
	}
	return err
}

// Restart starts node i (again) on its drive and port; it does not wait
// for readiness (WaitHealth does). Restarting a running node does nothing.
func (c *Cluster) Restart(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.procs[i] != nil {
		return nil
	}
	addr := c.Endpoint(i)
	log, err := os.OpenFile(c.logPath(i), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	args := append([]string{"server", "--address", addr, "--quiet"}, c.args...)
	cmd := exec.Command(c.cfg.Bin, args...)
	cmd.Env = append(baseEnv(),
		"MINIO_ROOT_USER="+c.AccessKey,
		"MINIO_ROOT_PASSWORD="+c.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		// This machine looks like a container to MinIO: name the local
		// endpoint, and allow drives on the root filesystem.
		"MINIO_CI_CD=1",
		"_MINIO_SERVER_LOCAL="+addr,
	)
	cmd.Stdout, cmd.Stderr = log, log
	// Killed with the test binary, should it die without cleaning up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return err
	}
	c.procs[i], c.logs[i] = cmd, log
	return nil
}

// Running reports whether node i's process is running (started and not killed).
func (c *Cluster) Running(i int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.procs[i] != nil
}

// Stop kills every node and waits for them. It may be called more than once.
func (c *Cluster) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.procs {
		_ = c.killLocked(i)
	}
}

// Health returns the HTTP status node i answers at path (a Health* constant).
func (c *Cluster) Health(ctx context.Context, i int, path string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.Endpoint(i)+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := healthClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// healthClient never reuses a connection, so that a restarted node is asked
// afresh, and ignores proxies (loopback only).
var healthClient = &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}

// WaitHealth waits until node i answers want at path, ctx is done, or the
// node's process is gone; errors end with the tail of the node's log.
func (c *Cluster) WaitHealth(ctx context.Context, i int, path string, want int) error {
	last := "no answer"
	for {
		if !c.Running(i) {
			return fmt.Errorf("node %d is not running%s", i, c.logTail(i))
		}
		code, err := c.Health(ctx, i, path)
		if err == nil && code == want {
			return nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = "status " + strconv.Itoa(code)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %d: %s: want %d, last %s: %w%s", i, path, want, last, ctx.Err(), c.logTail(i))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Cluster) logPath(i int) string {
	return filepath.Join(c.cfg.Dir, "node"+strconv.Itoa(i+1)+".log")
}

// logTail returns the last lines of node i's log, for error messages.
func (c *Cluster) logTail(i int) string {
	data, err := os.ReadFile(c.logPath(i))
	if err != nil || len(data) == 0 {
		return ""
	}
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return "\nnode log:\n    " + string(bytes.Join(lines, []byte("\n    ")))
}

// baseEnv is the environment without any MINIO_ setting of the caller's.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MINIO_") && !strings.HasPrefix(kv, "_MINIO") {
			env = append(env, kv)
		}
	}
	return env
}

// freePorts returns n distinct 127.0.0.1 ports nothing listens on, from
// below the kernel's ephemeral range, so that no outgoing connection (the
// nodes talk to each other) can hold one while its node is down.
func freePorts(n int) ([]int, error) {
	lo, hi := 20000, ephemeralLow()-1
	if hi-lo < 1000 {
		lo, hi = 10000, 65000
	}
	var ports []int
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for attempt := 0; len(ports) < n && attempt < 1000; attempt++ {
		r, _ := rand.Int(rand.Reader, big.NewInt(int64(hi-lo+1)))
		p := lo + int(r.Int64())
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		held = append(held, l)
		ports = append(ports, p)
	}
	if len(ports) < n {
		return nil, errors.New("no free ports")
	}
	return ports, nil
}

func ephemeralLow() int {
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(data)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil {
				return v
			}
		}
	}
	return 32768
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
