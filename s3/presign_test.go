package s3

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/sigv4"
)

type staticProvider aws.Credentials

func (s staticProvider) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials(s), nil
}

// presignClients are the configurations sigv4 must reproduce: an
// S3-compatible server by URL, a public endpoint, AWS virtual-hosted and
// path-style, with and without a session token.
func presignClients(t *testing.T) map[string]*Backend {
	t.Helper()
	ctx := context.Background()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKOPEN")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "open+secret/x")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	out := map[string]*Backend{}
	opened, err := backend.Open(ctx, "s3://bucket?region=eu-west-3&endpoint=http://127.0.0.1:1")
	require.NoError(t, err)
	out["Open"] = opened.(*Backend)
	pub, err := backend.Open(ctx, "s3://bucket?endpoint=http://127.0.0.1:1&public_endpoint=https://files.example.com:443")
	require.NoError(t, err)
	out["Open public endpoint"] = pub.(*Backend)
	for name, o := range map[string]awss3.Options{
		"AWS virtual hosted": {Region: "eu-central-1", Credentials: staticProvider{AccessKeyID: "ASIATEMP", SecretAccessKey: "temp/secret", SessionToken: "tok+en/=="}},
		"AWS path style":     {Region: "ap-south-1", UsePathStyle: true, Credentials: staticProvider{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}},
	} {
		b, err := New(awss3.New(o), "my-bucket.with.dots", Options{})
		require.NoError(t, err)
		out[name] = b
	}
	for _, b := range out {
		t.Cleanup(func() { b.Close() })
	}
	return out
}

// TestPresignMatchesSDK: once probed, the driver signs with sigv4, and its
// URLs are the SDK presign client's byte for byte (each pair signed within
// one second, so that both carry the same X-Amz-Date).
func TestPresignMatchesSDK(t *testing.T) {
	ctx := context.Background()
	cd := `attachment; filename="R sum 2026.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%202026.pdf`
	for name, b := range presignClients(t) {
		for _, key := range []string{"user/doc/0f8fad5b-d9cb-469f-a165-70867728950e.pdf", "a b/100%/x+y&z=1", "ünï/日本/🙂", "q?x#y~"} {
			t.Run(name+" GET "+key, func(t *testing.T) {
				sameURL(t, func() (*backend.PresignedRequest, error) {
					return b.PresignGet(ctx, key, backend.PresignOptions{Expires: time.Hour, ContentDisposition: cd})
				}, func() (*backend.PresignedRequest, error) {
					req, err := b.sdkPresignGet(ctx, key, time.Hour, cd)
					if err != nil {
						return nil, err
					}
					return presigned(req, time.Hour), nil
				})
				assert.NotNil(t, b.fast.get.Load().signer, "GET is signed by sigv4")
			})
			t.Run(name+" PUT "+key, func(t *testing.T) {
				for _, size := range []int64{0, 2109497} {
					sameURL(t, func() (*backend.PresignedRequest, error) {
						return b.PresignPut(ctx, key, backend.PresignOptions{Expires: 15 * time.Minute, ContentType: "application/pdf", Size: size})
					}, func() (*backend.PresignedRequest, error) {
						req, err := b.sdkPresignPut(ctx, key, 15*time.Minute, "application/pdf", size)
						if err != nil {
							return nil, err
						}
						return presigned(req, 15*time.Minute), nil
					})
				}
				assert.NotNil(t, b.fast.put.Load().signer, "PUT is signed by sigv4")
			})
		}
	}
}

// sameURL asserts that kite and sdk return the same request, retrying when
// the two were signed in different seconds.
func sameURL(t *testing.T, kite, sdk func() (*backend.PresignedRequest, error)) {
	t.Helper()
	for range 5 {
		k, err := kite()
		require.NoError(t, err)
		s, err := sdk()
		require.NoError(t, err)
		_, kq, _ := strings.Cut(k.URL, "?")
		_, sq, _ := strings.Cut(s.URL, "?")
		kd, _ := sigv4.SigningTime(kq)
		sd, _ := sigv4.SigningTime(sq)
		if !kd.Equal(sd) {
			continue
		}
		assert.Equal(t, s, k)
		return
	}
	t.Fatal("could not sign both within one second in 5 tries")
}

// addQuery is an APIOptions step that adds a query parameter to every
// request, which sigv4 does not know of: the probe must see the difference
// and leave presigning to the SDK.
func addQuery(s *middleware.Stack) error {
	return s.Build.Add(middleware.BuildMiddlewareFunc("kite-test-add-query", func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
		if req, ok := in.Request.(*smithyhttp.Request); ok {
			q := req.URL.Query()
			q.Set("tenant", "t1")
			req.URL.RawQuery = q.Encode()
		}
		return next.HandleBuild(ctx, in)
	}), middleware.After)
}

// TestPresignFallsBackToSDK: configurations sigv4 does not write are
// signed by the SDK, as before.
func TestPresignFallsBackToSDK(t *testing.T) {
	ctx := context.Background()
	t.Run("an APIOptions step that changes the URL", func(t *testing.T) {
		b, err := New(awss3.New(awss3.Options{Region: "us-east-1", Credentials: staticProvider{AccessKeyID: "AK", SecretAccessKey: "SK"},
			APIOptions: []func(*middleware.Stack) error{addQuery}}), "bucket", Options{})
		require.NoError(t, err)
		for _, method := range []string{http.MethodGet, http.MethodPut} {
			var p *backend.PresignedRequest
			if method == http.MethodGet {
				p, err = b.PresignGet(ctx, "k", backend.PresignOptions{})
			} else {
				p, err = b.PresignPut(ctx, "k", backend.PresignOptions{})
			}
			require.NoError(t, err)
			u, err := url.Parse(p.URL)
			require.NoError(t, err)
			assert.Equal(t, "t1", u.Query().Get("tenant"), method)
			assert.NotEmpty(t, u.Query().Get("X-Amz-Signature"), method)
		}
		assert.Nil(t, b.fast.get.Load().signer)
		assert.Nil(t, b.fast.put.Load().signer)
	})
	t.Run("anonymous credentials", func(t *testing.T) {
		b, err := New(awss3.New(awss3.Options{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}}), "bucket", Options{})
		require.NoError(t, err)
		// The SDK refuses to presign without credentials, and so does
		// the driver, as it did before sigv4.
		_, err = b.PresignGet(ctx, "k", backend.PresignOptions{})
		require.Error(t, err)
		assert.Nil(t, b.fast.get.Load())
	})
}

// TestPresignProbeRetried: a probe that cannot get credentials is not
// remembered: the next presign probes again.
func TestPresignProbeRetried(t *testing.T) {
	fail := true
	prov := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		if fail {
			return aws.Credentials{}, assert.AnError
		}
		return aws.Credentials{AccessKeyID: "AK", SecretAccessKey: "SK"}, nil
	})
	b, err := New(awss3.New(awss3.Options{Region: "us-east-1", Credentials: prov}), "bucket", Options{})
	require.NoError(t, err)
	_, err = b.PresignGet(context.Background(), "k", backend.PresignOptions{})
	require.Error(t, err)
	assert.Nil(t, b.fast.get.Load())
	fail = false
	_, err = b.PresignGet(context.Background(), "k", backend.PresignOptions{})
	require.NoError(t, err)
	assert.NotNil(t, b.fast.get.Load().signer)
}

// TestPresignSigV4Live: the URLs sigv4 signs work on each test server: a
// GET returns the object, a PUT with the signed type and length stores it,
// and a PUT with another type is refused.
func TestPresignSigV4Live(t *testing.T) {
	eachServer(t, true, func(t *testing.T, s server) {
		ctx := context.Background()
		bucket := newBucket(t, s.client())
		b, err := New(s.client(), bucket, Options{})
		require.NoError(t, err)
		key := "user/doc/ünï code & 100%.txt"
		_, err = b.Put(ctx, key, strings.NewReader("hello"), backend.PutOptions{})
		require.NoError(t, err)

		get, err := b.PresignGet(ctx, key, backend.PresignOptions{ContentDisposition: `attachment; filename="a.txt"`})
		require.NoError(t, err)
		require.NotNil(t, b.fast.get.Load().signer, "signed by sigv4")
		resp, err := http.Get(get.URL)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		assert.Equal(t, "hello", string(body))
		assert.Equal(t, `attachment; filename="a.txt"`, resp.Header.Get("Content-Disposition"))

		put, err := b.PresignPut(ctx, "user/doc/new.pdf", backend.PresignOptions{ContentType: "application/pdf", Size: 4})
		require.NoError(t, err)
		require.NotNil(t, b.fast.put.Load().signer, "signed by sigv4")
		send := func(contentType string) int {
			req, err := http.NewRequest(http.MethodPut, put.URL, strings.NewReader("%PDF"))
			require.NoError(t, err)
			for k, v := range put.Header {
				req.Header[k] = v
			}
			req.Header.Set("Content-Type", contentType)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			return resp.StatusCode
		}
		assert.Equal(t, http.StatusForbidden, send("text/html"))
		assert.Equal(t, http.StatusOK, send("application/pdf"))
		obj, err := b.Stat(ctx, "user/doc/new.pdf")
		require.NoError(t, err)
		assert.Equal(t, "application/pdf", obj.ContentType)
		assert.Equal(t, int64(4), obj.Size)
	})
}
