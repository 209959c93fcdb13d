package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/s3canned"
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
	drain := drainer()
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

// BenchmarkClientCPU is what the driver adds to the SDK per 4 KiB put, get
// and stat, without the noise of a server on the same cores: both clients
// talk to s3canned, which answers in process, so with -cpu 1 ns/op is the
// client's CPU per request (SDK, driver, GC):
//
//	go test -run '^$' -bench ClientCPU -cpu 1 -count 8 ./s3
func BenchmarkClientCPU(b *testing.B) {
	data := make([]byte, 4<<10)
	mk := func() *awss3.Client {
		return awss3.New(awss3.Options{
			Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1"), UsePathStyle: true,
			Credentials:                staticProvider{AccessKeyID: "AKBENCH", SecretAccessKey: "bench-secret"},
			HTTPClient:                 &http.Client{Transport: &s3canned.Transport{Body: data}},
			RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
			ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		})
	}
	kite, err := New(mk(), "bucket", Options{})
	if err != nil {
		b.Fatal(err)
	}
	raw := mk()
	ctx := context.Background()
	drain := drainer()
	for _, op := range []struct {
		name      string
		kite, raw func() error
	}{
		{"put", func() error {
			_, err := kite.Put(ctx, benchKey, bytes.NewReader(data), backend.PutOptions{Size: int64(len(data))})
			return err
		}, func() error {
			_, err := raw.PutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String(benchKey),
				Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))), ContentType: aws.String(backend.DefaultContentType)})
			return err
		}},
		{"get", func() error {
			rc, _, err := kite.Get(ctx, benchKey, backend.GetOptions{})
			if err == nil {
				drain(rc)
			}
			return err
		}, func() error {
			out, err := raw.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bucket"), Key: aws.String(benchKey)})
			if err == nil {
				drain(out.Body)
			}
			return err
		}},
		{"stat", func() error {
			_, err := kite.Stat(ctx, benchKey)
			return err
		}, func() error {
			_, err := raw.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String("bucket"), Key: aws.String(benchKey)})
			return err
		}},
	} {
		for _, c := range []struct {
			name string
			fn   func() error
		}{{"kite", op.kite}, {"raw", op.raw}} {
			b.Run(op.name+"/"+c.name, func(b *testing.B) {
				c0 := cpuTime()
				for b.Loop() {
					if err := c.fn(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64((cpuTime()-c0).Nanoseconds())/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// cpuTime is the CPU time (user + system) of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// drainer returns a func that reads a body to its end through one 32 KiB
// buffer and closes it.
func drainer() func(io.ReadCloser) {
	buf := make([]byte, 32<<10)
	return func(r io.ReadCloser) {
		for {
			if _, err := r.Read(buf); err != nil {
				break
			}
		}
		r.Close()
	}
}
