package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/testenv"
)

const benchKey = "user/doc/0f8fad5b-d9cb-469f-a165-70867728950e.pdf"

// BenchmarkPresignGet signs offline through the driver (kite) and through
// the SDK's presign client on the same client (raw). Nothing listens on
// 127.0.0.1:1: a request would fail the benchmark.
func BenchmarkPresignGet(b *testing.B) {
	client := newClient("127.0.0.1:1", "AKBENCH", "bench-secret", refuseAll{})
	kite, err := New(client, "bucket", Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("kite", func(b *testing.B) {
		ctx := context.Background()
		for b.Loop() {
			if _, err := kite.PresignGet(ctx, benchKey, backend.PresignOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	raw := awss3.NewPresignClient(client)
	b.Run("raw", func(b *testing.B) {
		ctx := context.Background()
		for b.Loop() {
			in := &awss3.GetObjectInput{Bucket: aws.String("bucket"), Key: aws.String(benchKey)}
			if _, err := raw.PresignGetObject(ctx, in, awss3.WithPresignExpires(15*time.Minute)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPut64MiB uploads 64 MiB of known size from a bytes.Reader through
// the driver (kite) and with one PutObject of the SDK (raw), each with its
// own client and connections, on the MinIO of scripts/servers.sh:
//
//	./scripts/servers.sh go test -run '^$' -bench Put64MiB ./s3
func BenchmarkPut64MiB(b *testing.B) {
	s := server{"minio", testenv.MinIO(b)}
	bucket := newBucket(b, s.client())
	data := make([]byte, 64<<20)
	_, _ = rand.Read(data)
	kite, err := New(s.client(), bucket, Options{})
	if err != nil {
		b.Fatal(err)
	}
	raw := s.client()
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
			in := &awss3.PutObjectInput{Bucket: &bucket, Key: aws.String("bench/64MiB-raw"), Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data)))}
			if _, err := raw.PutObject(b.Context(), in); err != nil {
				b.Fatal(err)
			}
		}
	})
}
