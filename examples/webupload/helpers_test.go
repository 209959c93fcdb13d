package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	mc "github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/testenv"
	"github.com/kitehq/kite/minio"
)

// testMaxSize is the upload limit of the apps the tests start.
const testMaxSize = 8 << 20

// testApp is the app served in-process on a free loopback port.
type testApp struct {
	Origin string          // http://127.0.0.1:PORT
	Store  backend.Backend // the store the app uses
}

// store says how a test gets its store: "" for a local directory, or a URL.
type store struct {
	name string
	url  func(t *testing.T) string
}

// stores are the stores every end-to-end test runs on: a local directory
// always, MinIO when scripts/servers.sh runs it (or a failure under
// KITE_REQUIRE_SERVERS=1).
var stores = []store{
	{"local", func(*testing.T) string { return "" }},
	{"minio", minioURL},
}

// startApp opens the store at storageURL ("" = a local directory) the way
// main does and serves the app for origin http://127.0.0.1:PORT until the
// test ends.
func startApp(t *testing.T, storageURL string) *testApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	origin := "http://" + ln.Addr().String()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := storageOptions{URL: storageURL, Origin: origin, MaxSize: testMaxSize, CreateBucket: true, Log: log}
	if storageURL == "" {
		opts.Dir = t.TempDir()
	}
	st, err := openStorage(ctx, opts)
	if err != nil {
		ln.Close()
		require.NoError(t, err, "openStorage")
	}
	h, err := newApp(ctx, st, config{MaxSize: testMaxSize, Files: st.Files, Origin: origin, Log: log})
	require.NoError(t, err, "newApp")

	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		// Shutdown waits for the requests in flight, so none logs after
		// the test has ended.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
		<-done
		st.Close()
	})
	return &testApp{Origin: origin, Store: st.Backend}
}

// minioURL returns the minio:// URL of a new bucket name on the MinIO test
// server (the app makes the bucket: CreateBucket), and removes the bucket
// and its objects when the test ends. Without the server the test skips,
// or fails under KITE_REQUIRE_SERVERS=1.
func minioURL(t *testing.T) string {
	t.Helper()
	srv := testenv.MinIO(t)
	admin, err := mc.New(srv.Endpoint, &mc.Options{
		Creds:        credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, ""),
		Region:       minio.DefaultRegion,
		BucketLookup: mc.BucketLookupPath,
	})
	require.NoError(t, err)
	var p [6]byte
	_, _ = rand.Read(p[:])
	bucket := "webupload-" + hex.EncodeToString(p[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if ok, err := admin.BucketExists(ctx, bucket); err != nil || !ok {
			return // the test failed before the app made it
		}
		for o := range admin.ListObjectsIter(ctx, bucket, mc.ListObjectsOptions{Recursive: true}) {
			if o.Err != nil {
				t.Errorf("listing bucket %s for cleanup: %v", bucket, o.Err)
				break
			}
			if err := admin.RemoveObject(ctx, bucket, o.Key, mc.RemoveObjectOptions{}); err != nil {
				t.Errorf("removing %q: %v", o.Key, err)
			}
		}
		if err := admin.RemoveBucket(ctx, bucket); err != nil {
			t.Errorf("removing bucket %s: %v", bucket, err)
		}
	})
	u := url.URL{
		Scheme: "minio", User: url.UserPassword(srv.AccessKey, srv.SecretKey),
		Host: srv.Endpoint, Path: "/" + bucket, RawQuery: "secure=false",
	}
	return u.String()
}
