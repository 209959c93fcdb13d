package minio

import (
	"context"
	"net/http"
	"net/url"
	"time"

	mc "github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// NewWithPresignTransport is New with rt as the presign client's transport,
// so that a test can count what presigning sends.
func NewWithPresignTransport(client *mc.Client, bucket string, opts Options, rt http.RoundTripper) (*Backend, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	return newBackend(client, bucket, opts, credentials.New(&clientCreds{c: client}), rt)
}

// SetCopyLimit makes Copy use a multipart copy (ComposeObject) in parts of
// partSize for objects over limit bytes.
func SetCopyLimit(b *Backend, limit int64, partSize uint64) {
	b.copyLimit, b.composePartSize = limit, partSize
}

// ReadAnyReaderAt makes Put read every io.ReaderAt body with ReadAt, so
// that a test's own ReaderAt types take that path.
func ReadAnyReaderAt(b *Backend) { b.anyReaderAt = true }

// PresignSDK signs through minio-go's presigner, the path sigv4 replaces,
// so that a test can compare the two.
func PresignSDK(b *Backend, method, key string, exp time.Duration, params url.Values, h http.Header) (*url.URL, error) {
	return b.presigner.PresignHeader(context.Background(), method, b.bucket, key, exp, params, h)
}
