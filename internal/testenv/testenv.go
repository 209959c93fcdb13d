// Package testenv gives tests the real servers that scripts/servers.sh starts
// (MinIO, versitygw, fake-gcs-server) through environment variables.
//
// When a server is not configured the test is skipped with a message saying
// how to run it; with KITE_REQUIRE_SERVERS=1 (set by .ci/run) it fails
// instead, so that CI cannot pass by skipping. It is test-support code: import
// it only from _test.go files.
package testenv

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// Environment variables read by this package; scripts/servers.sh sets all but
// RequireEnv.
const (
	RequireEnv = "KITE_REQUIRE_SERVERS"

	MinIOEndpointEnv  = "KITE_MINIO_ENDPOINT"
	MinIOAccessKeyEnv = "KITE_MINIO_ACCESS_KEY"
	MinIOSecretKeyEnv = "KITE_MINIO_SECRET_KEY"

	VersityGWEndpointEnv  = "KITE_VERSITYGW_ENDPOINT"
	VersityGWAccessKeyEnv = "KITE_VERSITYGW_ACCESS_KEY"
	VersityGWSecretKeyEnv = "KITE_VERSITYGW_SECRET_KEY"

	// GCSEndpointEnv is host:port, the form STORAGE_EMULATOR_HOST takes.
	GCSEndpointEnv = "KITE_GCS_ENDPOINT"
)

// S3Server is an S3-compatible test server: Endpoint is host:port (plain
// http, use path-style addressing).
type S3Server struct {
	Endpoint, AccessKey, SecretKey string
}

// MinIO returns the MinIO test server from the environment, or skips the test
// with a message saying how to run it (`make test` starts it), or, when
// KITE_REQUIRE_SERVERS=1, fails it instead.
func MinIO(t testing.TB) S3Server {
	t.Helper()
	return s3Server(t, "MinIO", MinIOEndpointEnv, MinIOAccessKeyEnv, MinIOSecretKeyEnv)
}

// VersityGW returns the versitygw test server from the environment, or skips
// the test with a message saying how to run it (`make test` starts it), or,
// when KITE_REQUIRE_SERVERS=1, fails it instead.
func VersityGW(t testing.TB) S3Server {
	t.Helper()
	return s3Server(t, "versitygw", VersityGWEndpointEnv, VersityGWAccessKeyEnv, VersityGWSecretKeyEnv)
}

// GCSEmulator returns the host:port of the fake-gcs-server test server (what
// STORAGE_EMULATOR_HOST wants) from the environment, or skips the test with a
// message saying how to run it (`make test` starts it), or, when
// KITE_REQUIRE_SERVERS=1, fails it instead.
func GCSEmulator(t testing.TB) (endpoint string) {
	t.Helper()
	endpoint = os.Getenv(GCSEndpointEnv)
	if endpoint == "" {
		missing(t, "fake-gcs-server", GCSEndpointEnv)
		return ""
	}
	return endpoint
}

// RequireServers reports whether KITE_REQUIRE_SERVERS asks for every server:
// "1", "true" and the other strconv.ParseBool truths do; unset, empty, "0",
// "false" and the other falsehoods do not. Any other value counts as true,
// so that a typo in CI fails loudly rather than letting tests skip.
func RequireServers() bool {
	v := strings.TrimSpace(os.Getenv(RequireEnv))
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	return err != nil || b
}

func s3Server(t testing.TB, name, endpointEnv, accessEnv, secretEnv string) S3Server {
	t.Helper()
	s := S3Server{
		Endpoint:  os.Getenv(endpointEnv),
		AccessKey: os.Getenv(accessEnv),
		SecretKey: os.Getenv(secretEnv),
	}
	if s.Endpoint == "" {
		missing(t, name, endpointEnv, accessEnv, secretEnv)
		return S3Server{}
	}
	// An endpoint without credentials is a broken setup, not an absent
	// server: fail even without KITE_REQUIRE_SERVERS.
	var unset []string
	if s.AccessKey == "" {
		unset = append(unset, accessEnv)
	}
	if s.SecretKey == "" {
		unset = append(unset, secretEnv)
	}
	if len(unset) > 0 {
		t.Fatalf("%s test server: %s is set but %s is not", name, endpointEnv, strings.Join(unset, " and "))
		return S3Server{}
	}
	return s
}

// missing skips t, or fails it under KITE_REQUIRE_SERVERS, saying how to get
// the server.
func missing(t testing.TB, name string, envs ...string) {
	t.Helper()
	msg := howToRun(name, envs)
	if RequireServers() {
		t.Fatalf("%s (%s=%s: a missing server is a failure)", msg, RequireEnv, os.Getenv(RequireEnv))
		return
	}
	t.Skip(msg)
}

func howToRun(name string, envs []string) string {
	return name + " test server not configured (" + envs[0] + " is unset): " +
		"run `make test` or `./scripts/test.sh`, which build and start the servers, " +
		"or `./scripts/servers.sh go test ...`; or point " + strings.Join(envs, ", ") + " at a running server"
}
