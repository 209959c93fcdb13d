package minio_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"

	mc "github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/minio"
)

// Open a bucket by URL, store a document and hand out a presigned URL for
// the public host. It needs a running server, so it only compiles here.
func Example() {
	ctx := context.Background()
	// e.g. minio://ACCESS:SECRET@minio.internal:9000/docs?secure=false&public_endpoint=https://files.example.com
	b, err := backend.Open(ctx, os.Getenv("STORAGE_URL"))
	if err != nil {
		log.Fatal(err) // the URL is redacted in the message
	}
	defer b.Close()

	obj, err := backend.PutDocument(ctx, b, "user-1", "invoice-7", backend.ExtOf("Invoice.PDF"),
		strings.NewReader("%PDF-1.7 …"), backend.PutOptions{ContentType: "application/pdf"})
	if err != nil {
		log.Fatal(err)
	}
	req, err := b.PresignGet(ctx, obj.Key, backend.PresignOptions{ContentDisposition: `attachment; filename="Invoice.pdf"`})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(req.URL) // https://files.example.com/docs/user-1/invoice-7/….pdf?X-Amz-…
}

// New takes a minio-go client the application already has.
func ExampleNew() {
	client, err := mc.New("127.0.0.1:9000", &mc.Options{
		Creds:        credentials.NewStaticV4(os.Getenv("MINIO_ACCESS_KEY"), os.Getenv("MINIO_SECRET_KEY"), ""),
		Region:       minio.DefaultRegion,
		BucketLookup: mc.BucketLookupPath,
	})
	if err != nil {
		log.Fatal(err)
	}
	b, err := minio.New(client, "docs", minio.Options{PublicEndpoint: "https://files.example.com", PartSize: 32 << 20})
	if err != nil {
		log.Fatal(err)
	}
	req, err := b.PresignPut(context.Background(), "uploads/a.png", backend.PresignOptions{ContentType: "image/png"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(req.Method, req.Header.Get("Content-Type")) // the uploader sends this header as it is
}
