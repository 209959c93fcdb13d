package crosstest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	mc "github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/conformance"
	"github.com/kitehq/kite/internal/testenv"
	_ "github.com/kitehq/kite/minio"
	_ "github.com/kitehq/kite/s3"
)

// portableKeys are the conformance suite's tricky keys that a file-system
// backed MinIO can hold under this test's prefixes: no key that is the
// "/"-parent of another (MinIO hides "a/b" while "a" exists), none too long
// once prefixed.
func portableKeys() []string {
	const prefixLen = len("minio-to-s3/")
	all := conformance.TrickyKeys()
	var keys []string
	for _, k := range all {
		parent := false
		for _, other := range all {
			parent = parent || strings.HasPrefix(other, k+"/")
		}
		if !parent && len(k)+prefixLen <= backend.MaxKeyLen {
			keys = append(keys, k)
		}
	}
	return keys
}

// TestMinIOAndS3Portability writes through one driver and reads through the
// other, on the same MinIO bucket: the same bytes, content type and metadata.
func TestMinIOAndS3Portability(t *testing.T) {
	srv := testenv.MinIO(t)
	ctx := context.Background()

	// A bucket for this test, made with the SDK itself.
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	bucket := "kite-port-" + hex.EncodeToString(rnd[:])
	admin, err := mc.New(srv.Endpoint, &mc.Options{Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, ""), Region: "us-east-1", BucketLookup: mc.BucketLookupPath})
	require.NoError(t, err)
	require.NoError(t, admin.MakeBucket(ctx, bucket, mc.MakeBucketOptions{Region: "us-east-1"}))
	t.Cleanup(func() {
		for o := range admin.ListObjects(context.Background(), bucket, mc.ListObjectsOptions{Recursive: true}) {
			if o.Err == nil {
				_ = admin.RemoveObject(context.Background(), bucket, o.Key, mc.RemoveObjectOptions{})
			}
		}
		_ = admin.RemoveBucket(context.Background(), bucket)
	})

	// The s3 driver takes its credentials from the AWS default chain: give it
	// the test server's, and nothing from this machine's configuration.
	empty := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", empty)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", empty)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	minioURL := (&url.URL{Scheme: "minio", User: url.UserPassword(srv.AccessKey, srv.SecretKey), Host: srv.Endpoint, Path: "/" + bucket, RawQuery: "secure=false"}).String()
	s3URL := fmt.Sprintf("s3://%s?endpoint=http://%s&region=us-east-1", bucket, srv.Endpoint)
	viaMinIO, err := backend.Open(ctx, minioURL)
	require.NoError(t, err)
	t.Cleanup(func() { viaMinIO.Close() })
	viaS3, err := backend.Open(ctx, s3URL)
	require.NoError(t, err)
	t.Cleanup(func() { viaS3.Close() })

	drivers := map[string]backend.Backend{"minio": viaMinIO, "s3": viaS3}
	keys := portableKeys()
	require.Greater(t, len(keys), 30)
	for _, dir := range [][2]string{{"minio", "s3"}, {"s3", "minio"}} {
		w, r := drivers[dir[0]], drivers[dir[1]]
		for i, k := range keys {
			key := dir[0] + "-to-" + dir[1] + "/" + k
			data := []byte(fmt.Sprintf("%d %s written by %s", i, k, dir[0]))
			meta := map[string]string{"origin": dir[0], "index": fmt.Sprint(i), "x-y": "Mixed Case value"}
			_, err := w.Put(ctx, key, bytes.NewReader(data), backend.PutOptions{ContentType: "text/x-kite; charset=utf-8", Metadata: meta})
			require.NoError(t, err, "%s Put %q", dir[0], key)

			st, err := r.Stat(ctx, key)
			require.NoError(t, err, "%s Stat %q", dir[1], key)
			assert.Equal(t, int64(len(data)), st.Size, key)
			assert.Equal(t, "text/x-kite; charset=utf-8", st.ContentType, key)
			assert.Equal(t, meta, st.Metadata, key)

			rc, obj, err := r.Get(ctx, key, backend.GetOptions{})
			require.NoError(t, err, "%s Get %q", dir[1], key)
			got, err := io.ReadAll(rc)
			rc.Close()
			require.NoError(t, err)
			assert.Equal(t, data, got, key)
			assert.Equal(t, meta, obj.Metadata, key)
			assert.Equal(t, st.ETag, obj.ETag, key)
		}
		// The reader lists exactly what the writer stored, byte for byte.
		var listed []string
		for o, err := range r.List(ctx, backend.ListOptions{Prefix: dir[0] + "-to-" + dir[1] + "/"}) {
			require.NoError(t, err)
			listed = append(listed, o.Key[len(dir[0]+"-to-"+dir[1]+"/"):])
		}
		assert.ElementsMatch(t, keys, listed)
	}
}
