package minio_test

import (
	"context"
	"testing"

	mc "github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/minio"
)

// BenchmarkPresignGet signs offline, with static credentials (Open) and
// through a client's credentials asked on every URL (New).
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
	for name, bk := range map[string]backend.Backend{"Open": open, "New": viaNew} {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				if _, err := bk.PresignGet(ctx, "user/doc/0f8fad5b-d9cb-469f-a165-70867728950e.pdf", backend.PresignOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
