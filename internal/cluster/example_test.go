package cluster_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/cluster"
	_ "github.com/kitehq/kite/minio"
)

// A four-node cluster, one node killed and brought back: the drivers talk to
// any node, and the cluster keeps write quorum with one node down. It needs
// the MinIO binary that scripts/servers.sh builds (KITE_MINIO_BIN) and some
// seconds, so it is compiled here but not run; in a test, use t.TempDir for
// Dir and t.Cleanup(c.Stop).
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "kite-cluster-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	c, err := cluster.Start(ctx, cluster.Config{Bin: os.Getenv("KITE_MINIO_BIN"), Nodes: 4, Dir: dir})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Stop()

	// The store through node 0 (make the bucket first, with minio-go).
	u := url.URL{Scheme: "minio", User: url.UserPassword(c.AccessKey, c.SecretKey),
		Host: c.Endpoint(0), Path: "/kite-cluster", RawQuery: "secure=false"}
	b, err := backend.Open(ctx, u.String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()

	// Node 3 dies; nodes 0 to 2 keep write quorum.
	if err := c.Kill(3); err != nil {
		fmt.Println(err)
		return
	}
	status, err := c.Health(ctx, 0, cluster.HealthCluster)
	fmt.Println("write quorum with a node down:", status == http.StatusOK, err)

	// It comes back on its drive and port.
	if err := c.Restart(3); err != nil {
		fmt.Println(err)
		return
	}
	err = c.WaitHealth(ctx, 3, cluster.HealthCluster, http.StatusOK)
	fmt.Println("node 3 back:", err == nil, c.Running(3))
}
