package s3

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/kitehq/kite/backend"
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
