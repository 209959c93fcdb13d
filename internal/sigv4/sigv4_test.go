package sigv4_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	mc "github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/internal/sigv4"
)

// The example of AWS's "Authenticating Requests: Using Query Parameters
// (AWS Signature Version 4)": a GET of test.txt in examplebucket.
func TestAWSExample(t *testing.T) {
	u, _ := url.Parse("https://examplebucket.s3.amazonaws.com")
	p, err := sigv4.New(sigv4.Endpoint{URL: u, Region: "us-east-1", Service: "s3"})
	require.NoError(t, err)
	got, at, err := p.Presign(sigv4.Credentials{AccessKey: "AKIAIOSFODNN7EXAMPLE", SecretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
		sigv4.Request{Method: "GET", Key: "test.txt", Expires: 86400 * time.Second, Time: time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	assert.Equal(t, "https://examplebucket.s3.amazonaws.com/test.txt"+
		"?X-Amz-Algorithm=AWS4-HMAC-SHA256"+
		"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"+
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"+
		"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404", got)
	assert.Equal(t, time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC), at)
}

// keys the SDKs' escaping must agree with ours on.
var keys = []string{
	"user/doc/0f8fad5b-d9cb-469f-a165-70867728950e.pdf",
	"a b", "100%", "x+y", "a&b=c", "q?x", "h#f", "tilde~_-.", "semi;colon,comma", "paren(1)!*'",
	"ünïcödé/日本語/файл", "emoji/🙂", "dir//double", "trailing/", "$@:[]{}|^`\"<>\\",
}

var creds = []sigv4.Credentials{
	{AccessKey: "AKIDEXAMPLE", SecretKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
	{AccessKey: "ASIATEMP", SecretKey: "s3cr3t/with+chars=", SessionToken: "FwoGZXIvYXdzE+/token==with/odd&chars"},
}

// TestMatchesMinioGo: for every key, query, header and credential set, the
// URL is minio-go's byte for byte (signed at minio-go's own time).
func TestMatchesMinioGo(t *testing.T) {
	ctx := context.Background()
	for _, endpoint := range []string{"http://127.0.0.1:9000", "https://files.example.com", "https://files.example.com:8443"} {
		for _, c := range creds {
			eu, _ := url.Parse(endpoint)
			client, err := mc.New(eu.Host, &mc.Options{Creds: credentials.NewStaticV4(c.AccessKey, c.SecretKey, c.SessionToken),
				Secure: eu.Scheme == "https", Region: "eu-west-3", BucketLookup: mc.BucketLookupPath})
			require.NoError(t, err)
			p, err := sigv4.New(sigv4.Endpoint{URL: eu.JoinPath("my-bucket"), Region: "eu-west-3", Service: "s3"})
			require.NoError(t, err)
			for _, key := range keys {
				t.Run("GET "+key, func(t *testing.T) {
					u, err := client.PresignHeader(ctx, "GET", "my-bucket", key, 15*time.Minute, nil, nil)
					require.NoError(t, err)
					assert.NoError(t, p.Verify(u.String(), c, sigv4.Request{Method: "GET", Key: key, Expires: 15 * time.Minute}))
				})
				t.Run("GET disposition "+key, func(t *testing.T) {
					cd := `attachment; filename="R sum .pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%202026.pdf`
					u, err := client.PresignHeader(ctx, "GET", "my-bucket", key, time.Hour, url.Values{"response-content-disposition": {cd}}, nil)
					require.NoError(t, err)
					assert.NoError(t, p.Verify(u.String(), c, sigv4.Request{Method: "GET", Key: key, Expires: time.Hour,
						Query: [][2]string{{"response-content-disposition", cd}}}))
				})
				t.Run("PUT "+key, func(t *testing.T) {
					h := map[string][]string{"Content-Type": {"application/pdf; charset=binary"}, "Content-Length": {"2109497"}}
					u, err := client.PresignHeader(ctx, "PUT", "my-bucket", key, 7*24*time.Hour, nil, h)
					require.NoError(t, err)
					assert.NoError(t, p.Verify(u.String(), c, sigv4.Request{Method: "PUT", Key: key, Expires: 7 * 24 * time.Hour,
						Headers: [][2]string{{"Content-Type", "application/pdf; charset=binary"}, {"Content-Length", "2109497"}}}))
				})
			}
		}
	}
}

// TestMatchesAWSSDK: the same against aws-sdk-go-v2's presign client, path
// style and virtual-hosted, with its x-id parameter.
func TestMatchesAWSSDK(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		base      *string
		pathStyle bool
		prefix    string // the endpoint URL of the bucket
	}{
		{"path style", aws.String("http://127.0.0.1:9000"), true, "http://127.0.0.1:9000/my-bucket"},
		{"public https", aws.String("https://files.example.com"), true, "https://files.example.com/my-bucket"},
		{"aws virtual hosted", nil, false, "https://my-bucket.s3.eu-west-3.amazonaws.com"},
		{"aws path style", nil, true, "https://s3.eu-west-3.amazonaws.com/my-bucket"},
	} {
		for _, c := range creds {
			client := awss3.New(awss3.Options{
				Region:       "eu-west-3",
				BaseEndpoint: tc.base,
				UsePathStyle: tc.pathStyle,
				Credentials:  aws.NewCredentialsCache(staticCreds(c)),
			})
			ps := awss3.NewPresignClient(client)
			eu, _ := url.Parse(tc.prefix)
			p, err := sigv4.New(sigv4.Endpoint{URL: eu, Region: "eu-west-3", Service: "s3"})
			require.NoError(t, err)
			for _, key := range keys {
				t.Run(tc.name+" GET "+key, func(t *testing.T) {
					cd := `attachment; filename*=UTF-8''%E6%97%A5.txt`
					r, err := ps.PresignGetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("my-bucket"), Key: aws.String(key), ResponseContentDisposition: &cd},
						awss3.WithPresignExpires(15*time.Minute))
					require.NoError(t, err)
					assert.NoError(t, p.Verify(r.URL, c, sigv4.Request{Method: "GET", Key: key, Expires: 15 * time.Minute,
						Query: [][2]string{{"x-id", "GetObject"}, {"response-content-disposition", cd}}}))
				})
				t.Run(tc.name+" PUT "+key, func(t *testing.T) {
					r, err := ps.PresignPutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String("my-bucket"), Key: aws.String(key),
						ContentType: aws.String("text/plain"), ContentLength: aws.Int64(12)}, awss3.WithPresignExpires(time.Hour))
					require.NoError(t, err)
					assert.NoError(t, p.Verify(r.URL, c, sigv4.Request{Method: "PUT", Key: key, Expires: time.Hour,
						Query:   [][2]string{{"x-id", "PutObject"}},
						Headers: [][2]string{{"Content-Type", "text/plain"}, {"Content-Length", "12"}}}))
				})
			}
		}
	}
}

type staticCreds sigv4.Credentials

func (s staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey, SessionToken: s.SessionToken, Source: "test"}, nil
}

func TestVerifySaysWhere(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:9000/b")
	p, err := sigv4.New(sigv4.Endpoint{URL: u, Region: "us-east-1", Service: "s3"})
	require.NoError(t, err)
	c := creds[0]
	r := sigv4.Request{Method: "GET", Key: "k", Expires: time.Minute, Time: time.Date(2026, 12, 4, 1, 2, 3, 0, time.UTC)}
	good, _, err := p.Presign(c, r)
	require.NoError(t, err)
	require.NoError(t, p.Verify(good, c, r))
	for name, bad := range map[string]string{
		"the scheme, host or path": strings.Replace(good, "/b/k", "/b/K", 1),
		"the query":                strings.Replace(good, "X-Amz-Expires=60", "X-Amz-Expires=61", 1),
		"the signature":            good[:len(good)-1] + "x",
	} {
		err := p.Verify(bad, c, r)
		require.Error(t, err)
		assert.Contains(t, err.Error(), name)
		assert.NotContains(t, err.Error(), c.SecretKey)
		assert.NotContains(t, err.Error(), good[strings.Index(good, "Signature=")+10:])
	}
	assert.ErrorContains(t, p.Verify("http://127.0.0.1:9000/b/k", c, r), "no X-Amz-Date")
}

func TestRefuses(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:9000/b")
	p, err := sigv4.New(sigv4.Endpoint{URL: u, Region: "us-east-1", Service: "s3"})
	require.NoError(t, err)
	c := creds[0]
	for name, tc := range map[string]struct {
		c sigv4.Credentials
		r sigv4.Request
	}{
		"no credentials":    {sigv4.Credentials{}, sigv4.Request{Method: "GET", Key: "k", Expires: time.Minute}},
		"no secret":         {sigv4.Credentials{AccessKey: "a"}, sigv4.Request{Method: "GET", Key: "k", Expires: time.Minute}},
		"zero expiry":       {c, sigv4.Request{Method: "GET", Key: "k"}},
		"over 7 days":       {c, sigv4.Request{Method: "GET", Key: "k", Expires: sigv4.MaxExpires + time.Second}},
		"no method":         {c, sigv4.Request{Key: "k", Expires: time.Minute}},
		"host header":       {c, sigv4.Request{Method: "PUT", Key: "k", Expires: time.Minute, Headers: [][2]string{{"Host", "evil"}}}},
		"header twice":      {c, sigv4.Request{Method: "PUT", Key: "k", Expires: time.Minute, Headers: [][2]string{{"Content-Type", "a"}, {"content-type", "b"}}}},
		"x-amz query":       {c, sigv4.Request{Method: "GET", Key: "k", Expires: time.Minute, Query: [][2]string{{"X-Amz-Expires", "99999999"}}}},
		"colon header name": {c, sigv4.Request{Method: "PUT", Key: "k", Expires: time.Minute, Headers: [][2]string{{"a:b", "c"}}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := p.Presign(tc.c, tc.r)
			require.Error(t, err)
			if tc.c.SecretKey != "" {
				assert.NotContains(t, err.Error(), tc.c.SecretKey)
			}
		})
	}
	for _, e := range []string{"ftp://h/b", "http:///b", "http://h/b?x=1", "http://u:p@h/b"} {
		eu, _ := url.Parse(e)
		_, err := sigv4.New(sigv4.Endpoint{URL: eu, Region: "us-east-1", Service: "s3"})
		assert.Error(t, err, e)
	}
	_, err = sigv4.New(sigv4.Endpoint{URL: u, Region: "us/east", Service: "s3"})
	assert.Error(t, err)
}

func TestDefaultPortDropped(t *testing.T) {
	for in, want := range map[string]string{
		"https://files.example.com:443/b": "https://files.example.com/b/k?",
		"http://files.example.com:80/b":   "http://files.example.com/b/k?",
		"http://files.example.com:443/b":  "http://files.example.com:443/b/k?",
		"https://[::1]:443/b":             "https://[::1]/b/k?",
		"http://127.0.0.1:9000/":          "http://127.0.0.1:9000/k?",
	} {
		u, _ := url.Parse(in)
		p, err := sigv4.New(sigv4.Endpoint{URL: u, Region: "us-east-1", Service: "s3"})
		require.NoError(t, err)
		got, _, err := p.Presign(creds[0], sigv4.Request{Method: "GET", Key: "k", Expires: time.Minute})
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(got, want), "%s: %s", in, got)
	}
}

// The signing key is cached per day and secret: a new secret or a new day
// signs with its own key.
func TestKeyCache(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:9000/b")
	p, err := sigv4.New(sigv4.Endpoint{URL: u, Region: "us-east-1", Service: "s3"})
	require.NoError(t, err)
	fresh := func(c sigv4.Credentials, r sigv4.Request) string {
		q, err := sigv4.New(sigv4.Endpoint{URL: u, Region: "us-east-1", Service: "s3"})
		require.NoError(t, err)
		s, _, err := q.Presign(c, r)
		require.NoError(t, err)
		return s
	}
	day1 := sigv4.Request{Method: "GET", Key: "k", Expires: time.Minute, Time: time.Date(2026, 12, 4, 23, 59, 59, 0, time.UTC)}
	day2 := day1
	day2.Time = day1.Time.Add(time.Second)
	other := sigv4.Credentials{AccessKey: creds[0].AccessKey, SecretKey: "another-secret"}
	for _, step := range []struct {
		c sigv4.Credentials
		r sigv4.Request
	}{{creds[0], day1}, {creds[0], day2}, {other, day2}, {creds[0], day2}, {creds[0], day1}} {
		got, _, err := p.Presign(step.c, step.r)
		require.NoError(t, err)
		assert.Equal(t, fresh(step.c, step.r), got)
	}
}

func BenchmarkPresign(b *testing.B) {
	u, _ := url.Parse("http://127.0.0.1:9000/bucket")
	p, err := sigv4.New(sigv4.Endpoint{URL: u, Region: "us-east-1", Service: "s3"})
	require.NoError(b, err)
	r := sigv4.Request{Method: "GET", Key: "user/doc/0f8fad5b-d9cb-469f-a165-70867728950e.pdf", Expires: 15 * time.Minute}
	for b.Loop() {
		if _, _, err := p.Presign(creds[0], r); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSigningTime(t *testing.T) {
	at := time.Date(2026, 12, 4, 19, 2, 0, 0, time.UTC)
	for q, ok := range map[string]bool{
		"X-Amz-Date=20261204T190200Z":                                true,
		"a=1&X-Amz-Date=20261204T190200Z&b=X-Amz-Date%3D1":           true,
		"response-content-disposition=X-Amz-Date%3D20261204T190200Z": false,
		"X-Amz-Date=2026-12-04":                                      false,
		"":                                                           false,
	} {
		got, found := sigv4.SigningTime(q)
		assert.Equal(t, ok, found, q)
		if ok {
			assert.Equal(t, at, got, q)
		}
	}
}
