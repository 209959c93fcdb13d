package gcs_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"cloud.google.com/go/storage"
	"google.golang.org/api/option"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/gcs"
)

// Open a bucket by URL. Against fake-gcs-server on 127.0.0.1:4443, without
// credentials, signing URLs with a service-account key file.
func Example() {
	ctx := context.Background()
	b, err := backend.Open(ctx, "gs://my-bucket?endpoint=http://127.0.0.1:4443&anonymous=true&private_key_path=/etc/kite/sa.json")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	obj, err := b.Put(ctx, "notes/hello.txt", strings.NewReader("hello"), backend.PutOptions{ContentType: "text/plain"})
	if err != nil {
		log.Fatal(err)
	}
	// The ETag is the generation: pass it as IfMatch to replace only this version.
	_, err = b.Put(ctx, "notes/hello.txt", strings.NewReader("hello again"), backend.PutOptions{IfMatch: obj.ETag})
	if err != nil {
		log.Fatal(err)
	}
	req, err := b.PresignGet(ctx, "notes/hello.txt", backend.PresignOptions{ContentDisposition: `attachment; filename="hello.txt"`})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(req.URL)
}

// Build the Backend on a client the application already has.
func ExampleNew() {
	ctx := context.Background()
	client, err := storage.NewClient(ctx, option.WithEndpoint("http://127.0.0.1:4443/storage/v1/"), option.WithoutAuthentication())
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close() // New does not take ownership of the client
	b, err := gcs.New(client, "my-bucket", gcs.Options{PublicEndpoint: "https://files.example.com", ChunkSize: 8 << 20})
	if err != nil {
		log.Fatal(err)
	}
	if err := b.Health(ctx); err != nil {
		log.Fatal(err)
	}
}
