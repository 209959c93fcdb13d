package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
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

// BenchmarkStatGet4KiB stats and gets a 4 KiB object through the driver
// (kite) and with the SDK (raw), each with its own client, on the MinIO of
// scripts/servers.sh; -benchmem shows what the driver adds per call:
//
//	./scripts/servers.sh go test -run '^$' -bench StatGet4KiB -benchmem ./s3
func BenchmarkStatGet4KiB(b *testing.B) {
	s := server{"minio", testenv.MinIO(b)}
	bucket := newBucket(b, s.client())
	data := make([]byte, 4<<10)
	kite, err := New(s.client(), bucket, Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := kite.Put(context.Background(), benchKey, bytes.NewReader(data), backend.PutOptions{}); err != nil {
		b.Fatal(err)
	}
	raw := s.client()
	buf := make([]byte, 32<<10)
	drain := func(r io.ReadCloser) {
		for {
			if _, err := r.Read(buf); err != nil {
				break
			}
		}
		r.Close()
	}
	b.Run("get/kite", func(b *testing.B) {
		for b.Loop() {
			rc, _, err := kite.Get(b.Context(), benchKey, backend.GetOptions{})
			if err != nil {
				b.Fatal(err)
			}
			drain(rc)
		}
	})
	b.Run("get/raw", func(b *testing.B) {
		for b.Loop() {
			out, err := raw.GetObject(b.Context(), &awss3.GetObjectInput{Bucket: &bucket, Key: aws.String(benchKey)})
			if err != nil {
				b.Fatal(err)
			}
			drain(out.Body)
		}
	})
	b.Run("stat/kite", func(b *testing.B) {
		for b.Loop() {
			if _, err := kite.Stat(b.Context(), benchKey); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stat/raw", func(b *testing.B) {
		for b.Loop() {
			if _, err := raw.HeadObject(b.Context(), &awss3.HeadObjectInput{Bucket: &bucket, Key: aws.String(benchKey)}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
