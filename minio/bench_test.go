package minio_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"
	"time"

	mc "github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/testenv"
	"github.com/kitehq/kite/minio"
)

const benchKey = "user/doc/0f8fad5b-d9cb-469f-a165-70867728950e.pdf"

// BenchmarkPresignGet signs offline, with static credentials (Open) and
// through a client's credentials (New), beside minio-go's own
// PresignedGetObject on a client for the same public host (raw).
func BenchmarkPresignGet(b *testing.B) {
	open, err := backend.Open(context.Background(), "minio://AKBENCH:bench-secret@127.0.0.1:1/bucket?secure=false&public_endpoint=https://files.example.com")
	if err != nil {
		b.Fatal(err)
	}
	client, err := mc.New("127.0.0.1:1", &mc.Options{Creds: credentials.NewStaticV4("AKBENCH", "bench-secret", ""), Region: minio.DefaultRegion, BucketLookup: mc.BucketLookupPath})
	if err != nil {
		b.Fatal(err)
	}
	viaNew, err := minio.New(client, "bucket", minio.Options{PublicEndpoint: "https://files.example.com"})
	if err != nil {
		b.Fatal(err)
	}
	raw, err := mc.New("files.example.com", &mc.Options{Creds: credentials.NewStaticV4("AKBENCH", "bench-secret", ""), Secure: true, Region: minio.DefaultRegion, BucketLookup: mc.BucketLookupPath})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		bk   backend.Backend
	}{{"Open", open}, {"New", viaNew}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				if _, err := c.bk.PresignGet(ctx, benchKey, backend.PresignOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("raw", func(b *testing.B) {
		ctx := context.Background()
		for b.Loop() {
			u, err := raw.PresignedGetObject(ctx, "bucket", benchKey, 15*time.Minute, nil)
			if err != nil {
				b.Fatal(err)
			}
			_ = u.String()
		}
	})
}

// BenchmarkPut64MiB uploads 64 MiB of known size from a bytes.Reader through
// the driver (kite) and through minio-go's PutObject (raw), each with its own
// client and connections, on the MinIO of scripts/servers.sh:
//
//	./scripts/servers.sh go test -run '^$' -bench Put64MiB ./minio
func BenchmarkPut64MiB(b *testing.B) {
	srv := testenv.MinIO(b)
	bucket := newBucket(b, adminClient(b, srv))
	data := make([]byte, 64<<20)
	_, _ = rand.Read(data)
	kite := openBucket(b, srv, bucket, "secure=false")
	raw := adminClient(b, srv)
	b.Run("kite", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := kite.Put(b.Context(), "bench/64MiB-kite", bytes.NewReader(data), backend.PutOptions{Size: int64(len(data))}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := raw.PutObject(b.Context(), bucket, "bench/64MiB-raw", bytes.NewReader(data), int64(len(data)), mc.PutObjectOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
