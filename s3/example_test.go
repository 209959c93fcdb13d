package s3_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/s3"
)

// Open a bucket of an S3-compatible server by URL; credentials come from the
// AWS default chain (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, …). Presigned
// URLs are made for the public host.
func Example() {
	ctx := context.Background()
	b, err := backend.Open(ctx, "s3://documents?endpoint=http://127.0.0.1:9000&region=us-east-1&public_endpoint=https://files.example.com")
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Put(ctx, "notes/hello.txt", strings.NewReader("hello"), backend.PutOptions{ContentType: "text/plain"}); err != nil {
		log.Fatal(err)
	}
	pr, err := b.PresignGet(ctx, "notes/hello.txt", backend.PresignOptions{ContentDisposition: `attachment; filename="hello.txt"`})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pr.URL)
}

// New takes a client an application already has.
func ExampleNew() {
	client := awss3.New(awss3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://127.0.0.1:9000"),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(os.Getenv("ACCESS_KEY"), os.Getenv("SECRET_KEY"), ""),
		// What S3-compatible servers accept.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	b, err := s3.New(client, "documents", s3.Options{PartSize: 32 << 20})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	if err := b.Health(context.Background()); err != nil {
		log.Fatal(err)
	}
}
