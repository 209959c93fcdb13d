package testenv

// Smoke tests of the servers scripts/servers.sh starts: each answers its
// health check on loopback, the S3 servers accept the exported credentials
// (and refuse others), and fake-gcs-server serves object reads on the paths
// the GCS client uses. `KITE_REQUIRE_SERVERS=1 make test` thereby proves the
// servers were up.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// client never uses a proxy: the servers are on loopback only.
var client = &http.Client{
	Timeout:   10 * time.Second,
	Transport: &http.Transport{Proxy: nil},
}

func requireLoopback(t *testing.T, endpoint string) {
	t.Helper()
	host, _, err := net.SplitHostPort(endpoint)
	if err != nil {
		t.Fatalf("endpoint %q is not host:port: %v", endpoint, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		t.Fatalf("endpoint %q is not a loopback IP address", endpoint)
	}
}

func get(t *testing.T, rawURL string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	return resp.StatusCode, string(body)
}

func TestServersHealthy(t *testing.T) {
	for _, tc := range []struct {
		name     string
		endpoint func(*testing.T) string
		path     string
	}{
		{"MinIO", func(t *testing.T) string { return MinIO(t).Endpoint }, "/minio/health/ready"},
		{"versitygw", func(t *testing.T) string { return VersityGW(t).Endpoint }, "/health"},
		{"fake-gcs-server", func(t *testing.T) string { return GCSEmulator(t) }, "/_internal/healthcheck"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ep := tc.endpoint(t)
			requireLoopback(t, ep)
			if code, body := get(t, "http://"+ep+tc.path, nil); code != http.StatusOK {
				t.Fatalf("GET %s: %d %s", tc.path, code, body)
			}
		})
	}
}

// signV4 adds an AWS Signature Version 4 header for an empty-bodied request
// (enough for ListBuckets) to req.
func signV4(req *http.Request, accessKey, secretKey string, now time.Time) {
	const region, service = "us-east-1", "s3"
	emptySHA := sha256.Sum256(nil)
	payload := hex.EncodeToString(emptySHA[:])
	amzDate := now.UTC().Format("20060102T150405Z")
	day := amzDate[:8]
	req.Header.Set("X-Amz-Date", amzDate)
	req.Header.Set("X-Amz-Content-Sha256", payload)

	signed := "host;x-amz-content-sha256;x-amz-date"
	canonical := strings.Join([]string{
		req.Method, req.URL.EscapedPath(), req.URL.RawQuery,
		"host:" + req.URL.Host + "\nx-amz-content-sha256:" + payload + "\nx-amz-date:" + amzDate + "\n",
		signed, payload,
	}, "\n")
	scope := day + "/" + region + "/" + service + "/aws4_request"
	crSHA := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(crSHA[:])

	mac := func(key []byte, s string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(s))
		return h.Sum(nil)
	}
	key := mac(mac(mac(mac([]byte("AWS4"+secretKey), day), region), service), "aws4_request")
	req.Header.Set("Authorization", fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		accessKey, scope, signed, hex.EncodeToString(mac(key, toSign))))
}

// The S3 servers accept the exported credentials and check signatures.
func TestS3ServersCredentials(t *testing.T) {
	for name, server := range map[string]func(testing.TB) S3Server{"MinIO": MinIO, "versitygw": VersityGW} {
		t.Run(name, func(t *testing.T) {
			s := server(t)
			requireLoopback(t, s.Endpoint)
			listBuckets := func(secret string) (int, string) {
				req, err := http.NewRequest(http.MethodGet, "http://"+s.Endpoint+"/", nil)
				if err != nil {
					t.Fatal(err)
				}
				signV4(req, s.AccessKey, secret, time.Now())
				return do(t, req)
			}
			if code, body := listBuckets(s.SecretKey); code != http.StatusOK || !strings.Contains(body, "ListAllMyBucketsResult") {
				t.Fatalf("ListBuckets with the exported credentials: %d %s", code, body)
			}
			if code, body := listBuckets(s.SecretKey + "x"); code != http.StatusForbidden {
				t.Fatalf("ListBuckets with a wrong secret: %d %s, want 403", code, body)
			}
		})
	}
}

// fake-gcs-server serves object reads both through the JSON API and the
// XML-style path storage.Reader uses under STORAGE_EMULATOR_HOST
// (http://HOST/BUCKET/OBJECT), which 404s unless -public-host matches.
func TestGCSEmulatorObjectRead(t *testing.T) {
	ep := GCSEmulator(t)
	requireLoopback(t, ep)
	base := "http://" + ep
	bucket := fmt.Sprintf("testenv-%d", time.Now().UnixNano())
	const object, content = "dir/hello.txt", "hello, kite"

	req, err := http.NewRequest(http.MethodPost, base+"/storage/v1/b?project=test",
		strings.NewReader(`{"name":"`+bucket+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if code, body := do(t, req); code != http.StatusOK {
		t.Fatalf("create bucket: %d %s", code, body)
	}

	req, err = http.NewRequest(http.MethodPost,
		base+"/upload/storage/v1/b/"+bucket+"/o?uploadType=media&name="+url.QueryEscape(object),
		strings.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/plain")
	if code, body := do(t, req); code != http.StatusOK {
		t.Fatalf("upload: %d %s", code, body)
	}

	for _, path := range []string{
		"/storage/v1/b/" + bucket + "/o/" + url.PathEscape(object) + "?alt=media",
		"/" + bucket + "/" + object,
	} {
		if code, body := get(t, base+path, nil); code != http.StatusOK || body != content {
			t.Errorf("GET %s: %d %q, want 200 %q", path, code, body, content)
		}
	}
	// A range read through the XML path, as storage.Reader does for NewRangeReader.
	if code, body := get(t, base+"/"+bucket+"/"+object, http.Header{"Range": {"bytes=7-"}}); code != http.StatusPartialContent || body != "kite" {
		t.Errorf("ranged GET: %d %q, want 206 %q", code, body, "kite")
	}
}
