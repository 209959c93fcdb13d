package cluster_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	mc "github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/cluster"
	"github.com/kitehq/kite/minio"
	"github.com/kitehq/kite/s3"
)

// The load of TestStressCluster.
const (
	workers     = 16 // goroutines; worker w starts on node w%4, minio driver for w/4 even, s3 for odd
	keysPer     = 16 // keys each worker owns
	loadFor     = 20 * time.Second
	killAt      = 6 * time.Second  // into the load: SIGKILL one node
	restartAt   = 12 * time.Second // into the load: restart it on its drive and port
	killed      = 1                // the node killed under load
	partSize    = 5 << 20          // smallest part: the large Puts go multipart
	largeSize   = 6 << 20          // one Put in 50
	maxAttempts = 8                // of one call, over the live nodes
	slowCall    = 5 * time.Second  // reported
	// A live node answers 503 SlowDown ("please reduce your request
	// rate") now and then under this load on a 2-core machine: at the
	// start, while the survivors still wait on the killed node, and at
	// random (seen: 13 calls in one run, 4 of them before the kill). It is
	// MinIO shedding load, which clients are told to retry with backoff,
	// as the SDKs do by default. The test runs the drivers with retries
	// off to see every failure, so it retries SlowDown itself, after
	// slowDownBackoff x attempt, and counts it apart; the call must then
	// succeed within maxAttempts like any other.
	slowDownBackoff = 200 * time.Millisecond
	// callTimeout bounds one call. A write in flight on the killed node
	// leaves its dsync write lock on the other nodes' lockers, which MinIO
	// expires only when it has not been refreshed for a minute, checked
	// once a minute from each node's start (lockValidityDuration,
	// lockMaintenanceInterval in cmd/lock-rest-server.go): every call on
	// that key, reads included, waits 60-120 s for it, on every node.
	callTimeout = 150 * time.Second
)

// sentinels are the error kinds a two-nodes-down write is checked against.
var sentinels = []struct {
	name string
	err  error
}{
	{"ErrNotFound", backend.ErrNotFound},
	{"ErrExists", backend.ErrExists},
	{"ErrPrecondition", backend.ErrPrecondition},
	{"ErrInvalidKey", backend.ErrInvalidKey},
	{"ErrInvalidArgument", backend.ErrInvalidArgument},
	{"ErrPermission", backend.ErrPermission},
	{"ErrUnsupported", backend.ErrUnsupported},
	{"ErrClosed", backend.ErrClosed},
	{"context.Canceled", context.Canceled},
	{"context.DeadlineExceeded", context.DeadlineExceeded},
}

// TestStressCluster runs the minio and s3 drivers on a 4-node erasure-coded
// MinIO cluster, kills one node with SIGKILL under a mixed load and restarts
// it, then kills two: no acknowledged object may be lost or changed, only
// calls to the killed node may fail, and with two nodes down writes fail
// while reads work.
func TestStressCluster(t *testing.T) {
	if os.Getenv("KITE_STRESS") != "1" {
		t.Skip("long test: run make stress")
	}
	bin := os.Getenv("KITE_MINIO_BIN")
	if bin == "" {
		t.Fatal("KITE_STRESS=1 but KITE_MINIO_BIN is unset: run under ./scripts/servers.sh (make stress does)")
	}
	// Two clusters at once: the second does its work while the first
	// waits out MinIO's stale locks (see callTimeout).
	t.Run("OneNodeKilled", func(t *testing.T) {
		t.Parallel()
		oneNodeKilled(t, bin)
	})
	t.Run("TwoNodesDown", func(t *testing.T) {
		t.Parallel()
		twoNodesDown(t, bin)
	})
}

// startCluster starts a 4-node cluster with a bucket and the clients of
// every node; retries > 0 sets the SDKs' attempts per call.
func startCluster(ctx context.Context, t *testing.T, bin string, retries int) (*cluster.Cluster, []nodeClients) {
	t.Helper()
	start := time.Now()
	c, err := cluster.Start(ctx, cluster.Config{Bin: bin, Nodes: 4, Dir: t.TempDir()})
	require.NoError(t, err, "starting the cluster")
	t.Cleanup(c.Stop)
	t.Logf("4-node cluster ready in %v", time.Since(start).Round(time.Millisecond))
	nodes := make([]nodeClients, c.Nodes())
	for i := range nodes {
		nodes[i] = newNodeClients(t, c, i, bucket, retries)
	}
	require.NoError(t, nodes[0].admin.MakeBucket(ctx, bucket, mc.MakeBucketOptions{Region: minio.DefaultRegion}))
	return c, nodes
}

const bucket = "kite-cluster"

// oneNodeKilled runs the load on a cluster, kills one node with SIGKILL
// under it and restarts it: only calls to the killed node may fail, no
// acknowledged object may be lost or changed, and afterwards every object
// reads back intact through every node and both drivers.
func oneNodeKilled(t *testing.T, bin string) {
	// The budget: start 5-20 s, load 20 s, then up to 120 s from the
	// cluster's start for a key that MinIO keeps locked (see callTimeout),
	// verification ~10 s, the restarted-node check ~10 s: ~155 s seen.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Second)
	defer cancel()
	c, nodes := startCluster(ctx, t, bin, 0)

	// Load, one node killed and restarted under it.
	ld := &load{nodes: nodes, c: c}
	for i := range nodes {
		ld.up[i].Store(true)
	}
	start := time.Now()
	loadCtx, stopLoad := context.WithTimeout(ctx, loadFor)
	defer stopLoad()
	var wg sync.WaitGroup
	ws := make([]*worker, workers)
	for w := range ws {
		ws[w] = &worker{id: w, ld: ld, node: w % len(nodes), drv: (w / len(nodes)) % 2, rnd: rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano()))), keys: map[string][]version{}}
		wg.Go(func() { ws[w].run(ctx, loadCtx) })
	}
	var killTime, restartTime, readyTime time.Duration
	onKilled := 0
	func() {
		select {
		case <-time.After(killAt):
		case <-loadCtx.Done():
			return
		}
		for _, w := range ws {
			if int(w.cur.Load()) == killed {
				onKilled++
			}
		}
		ld.markDown(killed)
		require.NoError(t, c.Kill(killed))
		killTime = time.Since(start)
		select {
		case <-time.After(restartAt - killAt):
		case <-loadCtx.Done():
		}
		require.NoError(t, c.Restart(killed))
		restartTime = time.Since(start)
		require.NoError(t, c.WaitHealth(ctx, killed, cluster.HealthCluster, http.StatusOK), "restarted node")
		readyTime = time.Since(start)
		// The workers stay on the survivors: a restarted node answers
		// 200 at HealthCluster before it serves current data (see
		// restartedNode).
	}()
	wg.Wait()
	loadTime := time.Since(start)
	require.NoError(t, ctx.Err(), "the load outlived the test's deadline")

	var s stats
	final := map[string]version{}
	for _, w := range ws {
		s.add(&w.st)
		for k, vs := range w.keys {
			if !assert.Len(t, vs, 1, "key %s: its last call never succeeded", k) {
				continue
			}
			final[k] = vs[0]
		}
	}
	t.Logf("load: %v, %d workers over 4 nodes (minio and s3 drivers); node %d killed at %v (%d workers on it), restarted at %v, healthy at %v (%v after restart)",
		loadTime.Round(time.Millisecond), workers, killed, killTime.Round(time.Millisecond), onKilled,
		restartTime.Round(time.Millisecond), readyTime.Round(time.Millisecond), (readyTime - restartTime).Round(time.Millisecond))
	t.Logf("calls: %d ok (put %d, get %d, stat %d, list %d, delete %d; %d multipart puts, %d bytes written); failed on the killed node and retried elsewhere: %d; 503 SlowDown from a live node, retried after a backoff: %d; failed on a live node otherwise: %d",
		s.ok(), s.calls[opPut], s.calls[opGet], s.calls[opStat], s.calls[opList], s.calls[opDelete], s.large, s.bytes, s.failover, s.slowDown, s.unexpected)
	for _, e := range s.errs {
		t.Logf("  error: %s", e)
	}
	for _, e := range s.slow {
		t.Logf("  slow call: %s", e)
	}
	assert.Zero(t, s.unexpected, "calls failed on nodes that were not killed")
	assert.LessOrEqual(t, s.failover, int64(onKilled), "more calls failed than were in flight on the killed node")
	assert.Zero(t, s.mismatch, "reads under load returned content no acknowledged write made")

	// Every node healthy again, every acknowledged object intact through
	// every node and both drivers.
	for i := range nodes {
		require.NoError(t, c.WaitHealth(ctx, i, cluster.HealthCluster, http.StatusOK))
	}
	start = time.Now()
	verified := verifyAll(ctx, t, nodes, []int{0, 1, 2, 3}, final, "after the node returned")
	t.Logf("after restart: %d objects present (%d keys deleted), %d reads verified by SHA-256 through 4 nodes x 2 drivers, lists checked; %v",
		present(final), len(final)-present(final), verified, time.Since(start).Round(time.Millisecond))

	t.Run("RestartedNodeServesCurrentData", func(t *testing.T) {
		restartedNode(ctx, t, c, nodes, final)
	})
}

// restartedNode kills node 1 again, overwrites and deletes objects through
// node 0 while it is down, restarts it and, as soon as it answers 200 at
// HealthCluster, reads those objects and deletes one through it: what a
// client behind a load balancer that trusts that health check sees.
func restartedNode(ctx context.Context, t *testing.T, c *cluster.Cluster, nodes []nodeClients, want map[string]version) {
	const n = 1
	var keys []string
	for k, v := range want {
		if v.present && v.size < partSize {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	require.GreaterOrEqual(t, len(keys), 17)
	require.NoError(t, c.Kill(n))
	for i, k := range keys[:16] {
		if i%2 == 0 {
			require.NoError(t, nodes[0].minio.Delete(ctx, k))
			want[k] = version{}
			continue
		}
		body := []byte(fmt.Sprintf("overwritten while node %d was down: %s", n, k))
		_, err := nodes[0].minio.Put(ctx, k, bytes.NewReader(body), backend.PutOptions{Size: int64(len(body))})
		require.NoError(t, err)
		want[k] = version{present: true, size: int64(len(body)), sum: sha256.Sum256(body)}
	}
	require.NoError(t, c.Restart(n))
	restarted := time.Now()
	require.NoError(t, c.WaitHealth(ctx, n, cluster.HealthCluster, http.StatusOK))
	ready := time.Since(restarted)
	// At once: reads of the changed keys, and a delete, through the node.
	var wrong []string
	missing, stale := 0, 0 // overwritten objects not found; deleted objects found or old content
	for _, k := range keys[:16] {
		got, err := readVersion(ctx, nodes[n].minio, k)
		if err != nil || got != want[k] {
			if want[k].present && !got.present {
				missing++
			} else {
				stale++
			}
			wrong = append(wrong, fmt.Sprintf("%s: got present=%v size=%d err=%v, want present=%v size=%d", k, got.present, got.size, err, want[k].present, want[k].size))
		}
	}
	victim := keys[16]
	delErr := nodes[n].minio.Delete(ctx, victim)
	if delErr == nil {
		want[victim] = version{}
	}
	// Then wait until every node serves the current data again.
	require.NoError(t, c.WaitHealth(ctx, n, cluster.HealthCluster, http.StatusOK))
	time.Sleep(5 * time.Second) // settle: nothing to wait on says the node has caught up
	resurrected := false
	for i := range nodes {
		if _, err := nodes[i].minio.Stat(ctx, victim); delErr == nil && err == nil {
			resurrected = true
		}
	}
	t.Logf("node %d restarted: HealthCluster 200 after %v; at once %d of 16 reads through it wrong; Delete %s through it: %v, still present 5 s later: %v",
		n, ready.Round(time.Millisecond), len(wrong), victim, delErr, resurrected)
	for _, w := range wrong {
		t.Logf("  wrong read through the restarted node: %s", w)
	}
	if len(wrong) > 0 || resurrected {
		t.Skipf("known: a restarted MinIO node answers 200 at %s before it serves current data: of 16 objects changed while it was down, read through it at once, %d overwritten ones not found and %d others wrong; an acknowledged Delete through it lost: %v. MinIO's, not Kite's: a client must not send traffic to a node because it passes this check",
			cluster.HealthCluster, missing, stale, resurrected)
	}
	assert.NoError(t, delErr)
}

// readVersion reads key through b.
func readVersion(ctx context.Context, b backend.Backend, key string) (version, error) {
	rc, _, err := b.Get(ctx, key, backend.GetOptions{})
	if errors.Is(err, backend.ErrNotFound) {
		return version{}, nil
	}
	if err != nil {
		return version{}, err
	}
	defer rc.Close()
	h := sha256.New()
	size, err := io.Copy(h, rc)
	if err != nil {
		return version{}, err
	}
	return version{present: true, size: size, sum: [sha256.Size]byte(h.Sum(nil))}, nil
}

// twoNodesDown writes objects to a cluster and kills two of its four
// nodes: with no write quorum writes fail with an error and change nothing,
// and with read quorum every object still reads back.
func twoNodesDown(t *testing.T, bin string) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	c, nodes := startCluster(ctx, t, bin, 0)
	want := map[string]version{}
	var keys []string
	rnd := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	for j := range 32 {
		key := fmt.Sprintf("w%02d/k%02d", j%4, j)
		body := make([]byte, rnd.IntN(64<<10))
		for i := range body {
			body[i] = byte(rnd.Uint32())
		}
		// A healthy cluster sheds load with 503 SlowDown now and then on
		// 2 cores (this test runs beside OneNodeKilled's): retried after a
		// backoff, as in the load, before any node is down.
		var err error
		for attempt := 1; attempt <= maxAttempts; attempt++ {
			_, err = nodes[j%4].drivers()[j%2].Put(ctx, key, bytes.NewReader(body), backend.PutOptions{Size: int64(len(body))})
			if !isSlowDown(err) {
				break
			}
			time.Sleep(slowDownBackoff * time.Duration(attempt))
		}
		require.NoError(t, err)
		want[key] = version{present: true, size: int64(len(body)), sum: sha256.Sum256(body)}
		keys = append(keys, key)
	}

	// Two nodes down keep every object readable only if it is on all
	// four drives. Under load MinIO acknowledges a write that reached
	// write quorum (3 of 4) and heals the fourth in the background (seen:
	// objects through node 3 unreadable with nodes 1 and 2 down, while
	// OneNodeKilled loaded the machine). Wait for that first.
	if missing := waitOnAllDrives(ctx, c, keys, 30*time.Second); len(missing) > 0 {
		t.Skipf("known: 30 s after the writes MinIO still has %d of %d objects on fewer than 4 drives (%v): under load it acknowledges a write at write quorum and heals the rest later; MinIO's, not Kite's", len(missing), len(keys), missing)
	}
	start := time.Now()
	require.NoError(t, c.Kill(1))
	require.NoError(t, c.Kill(2))
	alive := []int{0, 3}
	for _, i := range alive {
		require.NoError(t, c.WaitHealth(ctx, i, cluster.HealthCluster, http.StatusServiceUnavailable), "two nodes down: no write quorum")
		require.NoError(t, c.WaitHealth(ctx, i, cluster.HealthClusterRead, http.StatusOK), "two nodes down: read quorum")
	}
	t.Logf("two nodes down: %s 503 and %s 200 on nodes 0 and 3 after %v", cluster.HealthCluster, cluster.HealthClusterRead, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	verified := verifyAll(ctx, t, nodes, alive, want, "with two nodes down")
	t.Logf("two nodes down: %d reads verified by SHA-256 through nodes 0 and 3 x 2 drivers, lists checked; %v", verified, time.Since(start).Round(time.Millisecond))

	// A new key and an overwrite through each live node and driver, at
	// once (distinct keys: no write waits for another's lock).
	type result struct {
		node, drv int
		key       string
		took      time.Duration
		err       error
	}
	var mu sync.Mutex
	var results []result
	var wg sync.WaitGroup
	for _, i := range alive {
		for d, b := range nodes[i].drivers() {
			for _, key := range []string{fmt.Sprintf("quorum/new-%d-%d", i, d), keys[(2*i+d)*3]} {
				wg.Go(func() {
					body := []byte("written without write quorum")
					wctx, wcancel := context.WithTimeout(ctx, 120*time.Second)
					defer wcancel()
					t0 := time.Now()
					_, err := b.Put(wctx, key, bytes.NewReader(body), backend.PutOptions{Size: int64(len(body))})
					mu.Lock()
					results = append(results, result{i, d, key, time.Since(t0), err})
					mu.Unlock()
				})
			}
		}
	}
	wg.Wait()
	for _, r := range results {
		if !assert.Error(t, r.err, "Put %s on node %d via %s without write quorum", r.key, r.node, driverName(r.drv)) {
			continue
		}
		var be *backend.Error
		assert.ErrorAs(t, r.err, &be)
		var kinds []string
		for _, s := range sentinels {
			if errors.Is(r.err, s.err) {
				kinds = append(kinds, s.name)
			}
		}
		code := ""
		var er mc.ErrorResponse
		var ae smithy.APIError
		switch {
		case errors.As(r.err, &er):
			code = fmt.Sprintf("%s (HTTP %d)", er.Code, er.StatusCode)
		case errors.As(r.err, &ae):
			code = ae.ErrorCode()
		}
		t.Logf("Put %s on node %d via %s without write quorum failed after %v: %q; provider code %s; matches %v",
			r.key, r.node, driverName(r.drv), r.took.Round(time.Millisecond), r.err, code, kinds)
		assert.Empty(t, kinds, "a lost write quorum must not look like another kind of error (or time out)")
	}
	// The failed writes changed nothing and are not visible.
	verified = verifyAll(ctx, t, nodes, alive, want, "after the failed writes")
	for _, i := range alive {
		for d, b := range nodes[i].drivers() {
			for _, r := range results {
				if strings.HasPrefix(r.key, "quorum/") {
					_, err := b.Stat(ctx, r.key)
					assert.ErrorIs(t, err, backend.ErrNotFound, "a write that failed for want of quorum is visible: %s through node %d via %s", r.key, i, driverName(d))
				}
			}
		}
	}
	t.Logf("after the failed writes: %d reads verified, no failed write visible", verified)
}

// nodeClients are the clients of one node.
type nodeClients struct {
	admin *mc.Client
	minio backend.Backend
	s3    backend.Backend
}

func (n nodeClients) drivers() []backend.Backend { return []backend.Backend{n.minio, n.s3} }

func driverName(d int) string { return [...]string{"minio", "s3"}[d] }

func newNodeClients(t *testing.T, c *cluster.Cluster, i int, bucket string, retries int) nodeClients {
	t.Helper()
	admin, err := mc.New(c.Endpoint(i), &mc.Options{
		Creds:        credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""),
		Region:       minio.DefaultRegion,
		BucketLookup: mc.BucketLookupPath,
		MaxRetries:   retries,
	})
	require.NoError(t, err)
	mb, err := minio.New(admin, bucket, minio.Options{PartSize: partSize})
	require.NoError(t, err)
	client := awss3.New(awss3.Options{
		Region:                     minio.DefaultRegion,
		BaseEndpoint:               aws.String("http://" + c.Endpoint(i)),
		UsePathStyle:               true,
		Credentials:                awscreds.NewStaticCredentialsProvider(c.AccessKey, c.SecretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		RetryMaxAttempts:           retries,
	})
	sb, err := s3.New(client, bucket, s3.Options{PartSize: partSize})
	require.NoError(t, err)
	t.Cleanup(func() { mb.Close(); sb.Close() })
	return nodeClients{admin: admin, minio: mb, s3: sb}
}

// version is one state a key may be in: absent, or an object of this size
// and SHA-256.
type version struct {
	present bool
	size    int64
	sum     [sha256.Size]byte
}

func present(m map[string]version) int {
	n := 0
	for _, v := range m {
		if v.present {
			n++
		}
	}
	return n
}

type op int

const (
	opPut op = iota
	opGet
	opStat
	opList
	opDelete
	numOps
)

var opNames = [numOps]string{"Put", "Get", "Stat", "List", "Delete"}

type stats struct {
	calls      [numOps]int64
	large      int64
	bytes      int64
	failover   int64 // calls that failed on a node killed before or during them
	unexpected int64 // calls that failed on a node that stayed up
	slowDown   int64 // calls a live node answered 503 SlowDown, retried after a backoff
	mismatch   int64
	errs       []string
	slow       []string // calls that took more than slowCall
}

func (s *stats) ok() int64 {
	var n int64
	for _, c := range s.calls {
		n += c
	}
	return n
}

func (s *stats) add(o *stats) {
	for i := range s.calls {
		s.calls[i] += o.calls[i]
	}
	s.large += o.large
	s.bytes += o.bytes
	s.failover += o.failover
	s.unexpected += o.unexpected
	s.slowDown += o.slowDown
	s.mismatch += o.mismatch
	s.errs = append(s.errs, o.errs...)
	s.slow = append(s.slow, o.slow...)
}

// load is what the workers share: the clients and which nodes are up.
type load struct {
	nodes []nodeClients
	c     *cluster.Cluster
	up    [4]atomic.Bool
	// kills counts the kills of each node: a call whose node was killed
	// before it ended may fail.
	kills [4]atomic.Int64
}

// isSlowDown reports whether err is MinIO's 503 SlowDown or SlowDownWrite
// (or SlowDownRead), through either driver.
func isSlowDown(err error) bool {
	var er mc.ErrorResponse
	if errors.As(err, &er) {
		return strings.HasPrefix(er.Code, "SlowDown")
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && strings.HasPrefix(ae.ErrorCode(), "SlowDown")
}

// markDown records that node i is being killed; the test's own view of
// the cluster, used to pick a live node for a retry.
func (l *load) markDown(i int) {
	l.kills[i].Add(1)
	l.up[i].Store(false)
}

// worker owns keysPer keys and knows, for each, every state it may be in:
// one after an acknowledged call, two while a call on it has failed.
type worker struct {
	id   int
	ld   *load
	node int          // current node
	cur  atomic.Int64 // node, for the controller
	drv  int          // 0 minio, 1 s3
	rnd  *rand.Rand
	keys map[string][]version
	st   stats
}

func (w *worker) key(j int) string { return fmt.Sprintf("w%02d/k%02d", w.id, j) }

func (w *worker) allowed(key string) []version {
	if vs, ok := w.keys[key]; ok {
		return vs
	}
	return []version{{}}
}

func (w *worker) run(ctx, loadCtx context.Context) {
	w.cur.Store(int64(w.node))
	for loadCtx.Err() == nil {
		key := w.key(w.rnd.IntN(keysPer))
		var o op
		switch r := w.rnd.IntN(100); {
		case r < 35:
			o = opPut
		case r < 65:
			o = opGet
		case r < 80:
			o = opStat
		case r < 85:
			o = opList
		default:
			o = opDelete
		}
		var body []byte
		var v version
		if o == opPut {
			n := w.rnd.IntN(64 << 10)
			if w.rnd.IntN(50) == 0 {
				n = largeSize
				w.st.large++
			}
			body = make([]byte, n)
			for i := range body {
				body[i] = byte(w.rnd.Uint32())
			}
			v = version{present: true, size: int64(n), sum: sha256.Sum256(body)}
		}
		// The call, retried on another live node when the node it went
		// to was killed; finished even after the load's end, so that the
		// key's state is known.
		for attempt := 1; ; attempt++ {
			n := w.node
			kills := w.ld.kills[n].Load()
			t0 := time.Now()
			err := w.call(ctx, n, o, key, body, v)
			if took := time.Since(t0); took > slowCall {
				w.st.slow = append(w.st.slow, fmt.Sprintf("worker %d node %d %s %s %s attempt %d: %v (error: %v)", w.id, n, driverName(w.drv), opNames[o], key, attempt, took.Round(time.Millisecond), err))
			}
			if err == nil {
				w.st.calls[o]++
				break
			}
			if w.ld.kills[n].Load() != kills || !w.ld.up[n].Load() {
				w.st.failover++
				w.move()
			} else if isSlowDown(err) {
				w.st.slowDown++
				time.Sleep(slowDownBackoff * time.Duration(attempt))
				w.move()
			} else {
				w.st.unexpected++
				w.move()
			}
			w.st.errs = append(w.st.errs, fmt.Sprintf("worker %d node %d %s attempt %d: %v", w.id, n, driverName(w.drv), attempt, err))
			if attempt == maxAttempts || ctx.Err() != nil {
				return
			}
		}
	}
}

// move sends the worker to the next live node.
func (w *worker) move() {
	for d := 1; d < len(w.ld.nodes); d++ {
		n := (w.node + d) % len(w.ld.nodes)
		if w.ld.up[n].Load() {
			w.node = n
			w.cur.Store(int64(n))
			return
		}
	}
}

// call does o once on node n and checks what it returns against the key's
// allowed states, updating them. A failed Put or Delete leaves the key
// in its old or its new state.
func (w *worker) call(ctx context.Context, n int, o op, key string, body []byte, v version) error {
	b := w.ld.nodes[n].drivers()[w.drv]
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	allowed := w.allowed(key)
	switch o {
	case opPut:
		obj, err := b.Put(ctx, key, bytes.NewReader(body), backend.PutOptions{Size: int64(len(body))})
		if err != nil {
			w.keys[key] = appendVersion(allowed, v)
			return err
		}
		w.keys[key] = []version{v}
		w.st.bytes += int64(len(body))
		if obj.Size != v.size {
			w.mismatchf("Put %s: object size %d, wrote %d", key, obj.Size, v.size)
		}
	case opDelete:
		if err := b.Delete(ctx, key); err != nil {
			w.keys[key] = appendVersion(allowed, version{})
			return err
		}
		w.keys[key] = []version{{}}
	case opGet:
		rc, obj, err := b.Get(ctx, key, backend.GetOptions{})
		if errors.Is(err, backend.ErrNotFound) {
			if !slices.Contains(allowed, version{}) {
				w.mismatchf("Get %s: not found, but an acknowledged write made it", key)
			}
			return nil
		}
		if err != nil {
			return err
		}
		h := sha256.New()
		size, err := io.Copy(h, rc)
		rc.Close()
		if err != nil {
			return err
		}
		got := version{present: true, size: size, sum: [sha256.Size]byte(h.Sum(nil))}
		if !slices.Contains(allowed, got) || obj.Size != size {
			w.mismatchf("Get %s: %d bytes (object size %d) that no acknowledged write made", key, size, obj.Size)
		}
	case opStat:
		obj, err := b.Stat(ctx, key)
		if errors.Is(err, backend.ErrNotFound) {
			if !slices.Contains(allowed, version{}) {
				w.mismatchf("Stat %s: not found, but an acknowledged write made it", key)
			}
			return nil
		}
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(allowed, func(a version) bool { return a.present && a.size == obj.Size }) {
			w.mismatchf("Stat %s: size %d that no acknowledged write made", key, obj.Size)
		}
	case opList:
		listed := map[string]int64{}
		for obj, err := range b.List(ctx, backend.ListOptions{Prefix: fmt.Sprintf("w%02d/", w.id)}) {
			if err != nil {
				return err
			}
			listed[obj.Key] = obj.Size
		}
		for j := range keysPer {
			k := w.key(j)
			vs := w.allowed(k)
			size, ok := listed[k]
			delete(listed, k)
			if !ok && !slices.Contains(vs, version{}) {
				w.mismatchf("List: %s missing, but an acknowledged write made it", k)
			}
			if ok && !slices.ContainsFunc(vs, func(a version) bool { return a.present && a.size == size }) {
				w.mismatchf("List: %s listed with size %d that no acknowledged write made", k, size)
			}
		}
		for k := range listed {
			w.mismatchf("List: %s listed, never written", k)
		}
	}
	return nil
}

func (w *worker) mismatchf(format string, args ...any) {
	w.st.mismatch++
	w.st.errs = append(w.st.errs, fmt.Sprintf("worker %d: ", w.id)+fmt.Sprintf(format, args...))
}

func appendVersion(vs []version, v version) []version {
	if slices.Contains(vs, v) {
		return vs
	}
	return append(slices.Clone(vs), v)
}

// verifyAll reads every key of want through every node and driver, checks
// each against its SHA-256, and checks that each lists exactly the present
// keys. It returns the number of objects read and verified.
func verifyAll(ctx context.Context, t *testing.T, nodes []nodeClients, idx []int, want map[string]version, when string) int {
	t.Helper()
	var presentKeys []string
	for k, v := range want {
		if v.present {
			presentKeys = append(presentKeys, k)
		}
	}
	slices.Sort(presentKeys)
	verified := 0
	for _, i := range idx {
		for d, b := range nodes[i].drivers() {
			var listed []string
			for obj, err := range b.List(ctx, backend.ListOptions{Prefix: "w"}) {
				if !assert.NoError(t, err, "%s: List through node %d via %s", when, i, driverName(d)) {
					break
				}
				listed = append(listed, obj.Key)
			}
			assert.Equal(t, presentKeys, listed, "%s: List through node %d via %s", when, i, driverName(d))
			for k, v := range want {
				rc, _, err := b.Get(ctx, k, backend.GetOptions{})
				if !v.present {
					assert.ErrorIs(t, err, backend.ErrNotFound, "%s: deleted %s through node %d via %s", when, k, i, driverName(d))
					if err == nil {
						rc.Close()
					}
					continue
				}
				if !assert.NoError(t, err, "%s: Get %s through node %d via %s", when, k, i, driverName(d)) {
					continue
				}
				h := sha256.New()
				size, err := io.Copy(h, rc)
				rc.Close()
				if assert.NoError(t, err, "%s: reading %s through node %d via %s", when, k, i, driverName(d)) &&
					assert.Equal(t, v, version{present: true, size: size, sum: [sha256.Size]byte(h.Sum(nil))},
						"%s: %s through node %d via %s: content changed", when, k, i, driverName(d)) {
					verified++
				}
			}
		}
	}
	return verified
}

// waitOnAllDrives waits until every key has its xl.meta on every drive of
// c, or d has passed, and returns the keys still missing on some drive.
func waitOnAllDrives(ctx context.Context, c *cluster.Cluster, keys []string, d time.Duration) []string {
	deadline := time.Now().Add(d)
	for {
		var missing []string
		for _, key := range keys {
			for i := range c.Nodes() {
				if _, err := os.Stat(filepath.Join(c.Drive(i), bucket, filepath.FromSlash(key), "xl.meta")); err != nil {
					missing = append(missing, key)
					break
				}
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return missing
		}
		time.Sleep(200 * time.Millisecond)
	}
}
