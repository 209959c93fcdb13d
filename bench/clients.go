package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	mc "github.com/minio/minio-go/v7"
	mcreds "github.com/minio/minio-go/v7/pkg/credentials"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/memblob"
	"gocloud.dev/blob/s3blob"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/local"
	"github.com/kitehq/kite/memory"
	kminio "github.com/kitehq/kite/minio"
	ks3 "github.com/kitehq/kite/s3"
)

const (
	region   = "us-east-1"
	bucket   = "kite-bench"
	secret   = "kite-bench-presign-secret-0123456789abcdef"
	baseURL  = "http://127.0.0.1:1/files/"
	presignT = 15 * time.Minute
)

// store is what every measured client can do, each the way a user of that
// library would write it.
type store interface {
	put(ctx context.Context, key string, data []byte) error
	get(ctx context.Context, key string, buf []byte) (int64, error)
	stat(ctx context.Context, key string) error
	presign(ctx context.Context, key string) (string, error)
	// requests is the number of HTTP requests the client has sent (nil
	// when it sends none).
	requests() int64
}

type client struct {
	name string
	s    store
}

// ---------------------------------------------------------------- Kite

type kiteStore struct {
	b   backend.Backend
	req *atomic.Int64
}

func (k kiteStore) put(ctx context.Context, key string, data []byte) error {
	_, err := k.b.Put(ctx, key, bytes.NewReader(data), backend.PutOptions{Size: int64(len(data))})
	return err
}

func (k kiteStore) get(ctx context.Context, key string, buf []byte) (int64, error) {
	rc, _, err := k.b.Get(ctx, key, backend.GetOptions{})
	if err != nil {
		return 0, err
	}
	n, err := drain(rc, buf)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return n, err
}

func (k kiteStore) stat(ctx context.Context, key string) error {
	_, err := k.b.Stat(ctx, key)
	return err
}

func (k kiteStore) presign(ctx context.Context, key string) (string, error) {
	p, err := k.b.PresignGet(ctx, key, backend.PresignOptions{Expires: presignT})
	if err != nil {
		return "", err
	}
	return p.URL, nil
}

func (k kiteStore) requests() int64 { return loadCount(k.req) }

func loadCount(c *atomic.Int64) int64 {
	if c == nil {
		return 0
	}
	return c.Load()
}

// ---------------------------------------------------------------- minio-go

type minioStore struct {
	c   *mc.Client
	req *atomic.Int64
}

func (m minioStore) put(ctx context.Context, key string, data []byte) error {
	_, err := m.c.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), mc.PutObjectOptions{})
	return err
}

func (m minioStore) get(ctx context.Context, key string, buf []byte) (int64, error) {
	o, err := m.c.GetObject(ctx, bucket, key, mc.GetObjectOptions{})
	if err != nil {
		return 0, err
	}
	n, err := drain(o, buf)
	if cerr := o.Close(); err == nil {
		err = cerr
	}
	return n, err
}

func (m minioStore) stat(ctx context.Context, key string) error {
	_, err := m.c.StatObject(ctx, bucket, key, mc.StatObjectOptions{})
	return err
}

func (m minioStore) presign(ctx context.Context, key string) (string, error) {
	u, err := m.c.PresignedGetObject(ctx, bucket, key, presignT, nil)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

func (m minioStore) requests() int64 { return loadCount(m.req) }

// ---------------------------------------------------------------- aws-sdk-go-v2

type awsStore struct {
	c   *awss3.Client
	ps  *awss3.PresignClient
	req *atomic.Int64
}

// put sends what the s3 driver's Put sends for the same object: with a
// Content-Type (the driver always stores one, as minio-go does by default).
func (a awsStore) put(ctx context.Context, key string, data []byte) error {
	_, err := a.c.PutObject(ctx, &awss3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key),
		Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
		ContentType: aws.String("application/octet-stream"),
	})
	return err
}

func (a awsStore) get(ctx context.Context, key string, buf []byte) (int64, error) {
	out, err := a.c.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return 0, err
	}
	n, err := drain(out.Body, buf)
	if cerr := out.Body.Close(); err == nil {
		err = cerr
	}
	return n, err
}

func (a awsStore) stat(ctx context.Context, key string) error {
	_, err := a.c.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	return err
}

func (a awsStore) presign(ctx context.Context, key string) (string, error) {
	p, err := a.ps.PresignGetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)},
		awss3.WithPresignExpires(presignT))
	if err != nil {
		return "", err
	}
	return p.URL, nil
}

func (a awsStore) requests() int64 { return loadCount(a.req) }

// ---------------------------------------------------------------- gocloud.dev/blob

type blobStore struct {
	b   *blob.Bucket
	req *atomic.Int64
}

func (g blobStore) put(ctx context.Context, key string, data []byte) error {
	return g.b.WriteAll(ctx, key, data, nil)
}

func (g blobStore) get(ctx context.Context, key string, buf []byte) (int64, error) {
	r, err := g.b.NewReader(ctx, key, nil)
	if err != nil {
		return 0, err
	}
	n, err := drain(r, buf)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	return n, err
}

func (g blobStore) stat(ctx context.Context, key string) error {
	_, err := g.b.Attributes(ctx, key)
	return err
}

func (g blobStore) presign(ctx context.Context, key string) (string, error) {
	return g.b.SignedURL(ctx, key, &blob.SignedURLOptions{Expiry: presignT})
}

func (g blobStore) requests() int64 { return loadCount(g.req) }

// ---------------------------------------------------------------- raw files

// rawStore is what a program without a library writes: a temporary file
// next to the target, renamed into place, no fsync; os.Open to read.
type rawStore struct{ dir string }

func (r rawStore) put(_ context.Context, key string, data []byte) error {
	f, err := os.CreateTemp(r.dir, ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), filepath.Join(r.dir, key))
}

func (r rawStore) get(_ context.Context, key string, buf []byte) (int64, error) {
	f, err := os.Open(filepath.Join(r.dir, key))
	if err != nil {
		return 0, err
	}
	n, err := drain(f, buf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

func (r rawStore) stat(_ context.Context, key string) error {
	_, err := os.Stat(filepath.Join(r.dir, key))
	return err
}

func (rawStore) presign(context.Context, string) (string, error) {
	return "", errors.ErrUnsupported
}

func (rawStore) requests() int64 { return 0 }

// ---------------------------------------------------------------- construction

// counting counts the requests an SDK sends, so that "presigning makes no
// network call" is measured, not assumed. Every SDK client gets one, so the
// (tiny) cost is the same on each side.
type countingRT struct {
	rt http.RoundTripper
	n  *atomic.Int64
}

func (c countingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

type countingDoer struct {
	d awss3.HTTPClient
	n *atomic.Int64
}

func (c countingDoer) Do(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.d.Do(r)
}

type serverEnv struct{ endpoint, access, secret string }

func minioEnv() (serverEnv, bool) {
	e := serverEnv{os.Getenv("KITE_MINIO_ENDPOINT"), os.Getenv("KITE_MINIO_ACCESS_KEY"), os.Getenv("KITE_MINIO_SECRET_KEY")}
	return e, e.endpoint != "" && e.access != "" && e.secret != ""
}

// newMinioClient returns a minio-go client as the minio driver's Open makes
// it (path style, region set, minio-go's default transport), each with its
// own connection pool.
func newMinioClient(e serverEnv) (*mc.Client, *atomic.Int64, error) {
	tr, err := mc.DefaultTransport(false)
	if err != nil {
		return nil, nil, err
	}
	return newMinioClientRT(e, tr)
}

func newMinioClientRT(e serverEnv, tr http.RoundTripper) (*mc.Client, *atomic.Int64, error) {
	n := new(atomic.Int64)
	c, err := mc.New(e.endpoint, &mc.Options{
		Creds:        mcreds.NewStaticV4(e.access, e.secret, ""),
		Secure:       false,
		Region:       region,
		BucketLookup: mc.BucketLookupPath,
		Transport:    countingRT{tr, n},
	})
	return c, n, err
}

// newAWSClient returns an aws-sdk-go-v2 S3 client for an S3-compatible
// server: path style, checksums only where required (what the s3 driver's
// Open sets), the SDK's default HTTP client, each with its own pool.
func newAWSClient(e serverEnv) (*awss3.Client, *atomic.Int64) {
	return newAWSClientDoer(e, awshttp.NewBuildableClient())
}

func newAWSClientDoer(e serverEnv, d awss3.HTTPClient) (*awss3.Client, *atomic.Int64) {
	n := new(atomic.Int64)
	c := awss3.New(awss3.Options{
		Region:                     region,
		Credentials:                credentials.NewStaticCredentialsProvider(e.access, e.secret, ""),
		BaseEndpoint:               aws.String("http://" + e.endpoint),
		UsePathStyle:               true,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		HTTPClient:                 countingDoer{d, n},
	})
	return c, n
}

// aaSuffix names the A/A control: a second, identical instance of a
// baseline client, each with its own connections, measured like any other
// client. Its ratio to the first instance shows how far two identical
// clients land apart in one run: the noise of the measurement.
const aaSuffix = " (A/A)"

// s3Clients returns the five MinIO clients of the comparison, in the order
// of the table, and with aa the A/A controls of minio-go and aws-sdk-go-v2.
func s3Clients(ctx context.Context, e serverEnv, aa bool) ([]client, error) {
	mk, mkN, err := newMinioClient(e)
	if err != nil {
		return nil, err
	}
	kmin, err := kminio.New(mk, bucket, kminio.Options{Region: region})
	if err != nil {
		return nil, err
	}
	mr, mrN, err := newMinioClient(e)
	if err != nil {
		return nil, err
	}
	ak, akN := newAWSClient(e)
	ks, err := ks3.New(ak, bucket, ks3.Options{})
	if err != nil {
		return nil, err
	}
	ar, arN := newAWSClient(e)
	ab, abN := newAWSClient(e)
	// The client's checksum setting does not reach the transfer manager
	// s3blob writes with: pass it in s3blob's own options too.
	sb, err := s3blob.OpenBucket(ctx, ab, bucket, &s3blob.Options{
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
	})
	if err != nil {
		return nil, err
	}
	cs := []client{
		{"kite minio", kiteStore{kmin, mkN}},
		{"minio-go", minioStore{mr, mrN}},
		{"kite s3", kiteStore{ks, akN}},
		{"aws-sdk-go-v2", awsStore{ar, awss3.NewPresignClient(ar), arN}},
		{"gocloud s3blob", blobStore{sb, abN}},
	}
	if aa {
		m2, m2N, err := newMinioClient(e)
		if err != nil {
			return nil, err
		}
		a2, a2N := newAWSClient(e)
		cs = append(cs,
			client{"minio-go" + aaSuffix, minioStore{m2, m2N}},
			client{"aws-sdk-go-v2" + aaSuffix, awsStore{a2, awss3.NewPresignClient(a2), a2N}})
	}
	return cs, nil
}

func ensureBucket(ctx context.Context, e serverEnv) error {
	c, _, err := newMinioClient(e)
	if err != nil {
		return err
	}
	ok, err := c.BucketExists(ctx, bucket)
	if err != nil {
		return fmt.Errorf("minio at %s: %w", e.endpoint, err)
	}
	if ok {
		return nil
	}
	return c.MakeBucket(ctx, bucket, mc.MakeBucketOptions{Region: region})
}

func newLocal(dir string) (*local.Backend, error) {
	return local.New(dir, local.Options{NoSync: true, CreateDir: true, BaseURL: baseURL, Secret: secret})
}

func newFileblob(dir string, meta bool) (*blob.Bucket, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	u, _ := url.Parse(baseURL)
	opts := &fileblob.Options{
		CreateDir: true,
		// Temporary files next to the target, like Kite's: the default
		// os.TempDir fails across mounts (tmpfs vs disk).
		NoTempDir: true,
		URLSigner: fileblob.NewURLSignerHMAC(u, []byte(secret)),
	}
	if !meta {
		opts.Metadata = fileblob.MetadataDontWrite
	}
	return fileblob.OpenBucket(dir, opts)
}

// localClients: Kite local (nosync) vs raw temp+rename vs fileblob, each in
// its own directory under parent; with aa also the A/A control of fileblob.
func localClients(parent string, aa bool) ([]client, error) {
	kd, rd, fd := filepath.Join(parent, "kite"), filepath.Join(parent, "raw"), filepath.Join(parent, "fileblob")
	kl, err := newLocal(kd)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(rd, 0o755); err != nil {
		return nil, err
	}
	fb, err := newFileblob(fd, true)
	if err != nil {
		return nil, err
	}
	cs := []client{
		{"kite local", kiteStore{b: kl}},
		{"raw temp+rename", rawStore{rd}},
		{"gocloud fileblob", blobStore{b: fb}},
	}
	if aa {
		fb2, err := newFileblob(filepath.Join(parent, "fileblob-aa"), true)
		if err != nil {
			return nil, err
		}
		cs = append(cs, client{"gocloud fileblob" + aaSuffix, blobStore{b: fb2}})
	}
	return cs, nil
}

func memoryClients() ([]client, error) {
	km, err := memory.New(memory.Options{BaseURL: baseURL, Secret: secret})
	if err != nil {
		return nil, err
	}
	return []client{
		{"kite memory", kiteStore{b: km}},
		{"gocloud memblob", blobStore{b: memblob.OpenBucket(nil)}},
	}, nil
}

var _ io.Reader = (*genReader)(nil)
