package sigv4_test

import (
	"context"
	"net/url"
	"testing"
	"time"
	"unicode/utf8"

	mc "github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/kitehq/kite/internal/sigv4"
)

// FuzzMatchesMinioGo: for any valid UTF-8 key and Content-Disposition,
// the URL is the one minio-go writes.
func FuzzMatchesMinioGo(f *testing.F) {
	for _, k := range keys {
		f.Add(k, `attachment; filename*=UTF-8''a%20b.pdf`)
	}
	f.Add("a", "")
	c := creds[1]
	client, err := mc.New("files.example.com", &mc.Options{Creds: credentials.NewStaticV4(c.AccessKey, c.SecretKey, c.SessionToken),
		Secure: true, Region: "us-east-1", BucketLookup: mc.BucketLookupPath})
	if err != nil {
		f.Fatal(err)
	}
	u, _ := url.Parse("https://files.example.com/bucket")
	p, err := sigv4.New(sigv4.Endpoint{URL: u, Region: "us-east-1", Service: "s3"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, key, disposition string) {
		if key == "" || !utf8.ValidString(key) || !utf8.ValidString(disposition) {
			return // refused before presigning (backend.ValidateKey, checkHeaderValue)
		}
		var params url.Values
		r := sigv4.Request{Method: "GET", Key: key, Expires: time.Hour}
		if disposition != "" {
			params = url.Values{"response-content-disposition": {disposition}}
			r.Query = [][2]string{{"response-content-disposition", disposition}}
		}
		sdk, err := client.PresignHeader(context.Background(), "GET", "bucket", key, time.Hour, params, nil)
		if err != nil {
			t.Skip(err)
		}
		if err := p.Verify(sdk.String(), c, r); err != nil {
			t.Fatalf("key %q disposition %q: %v\nsdk %s", key, disposition, err, sdk)
		}
	})
}
