package testenv

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that records Skip and Fatal instead of stopping
// the goroutine, so the messages can be checked. The embedded nil TB supplies
// the unexported method; calling anything not overridden here panics.
type recorder struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Skip(args ...any) {
	r.skipped, r.msg = true, fmt.Sprint(args...)
}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped, r.msg = true, fmt.Sprintf(format, args...)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
}

// clearEnv unsets every variable the package reads, for this test only.
func clearEnv(t *testing.T) {
	for _, k := range []string{RequireEnv,
		MinIOEndpointEnv, MinIOAccessKeyEnv, MinIOSecretKeyEnv,
		VersityGWEndpointEnv, VersityGWAccessKeyEnv, VersityGWSecretKeyEnv,
		GCSEndpointEnv} {
		t.Setenv(k, "")
	}
}

func TestRequireServers(t *testing.T) {
	for v, want := range map[string]bool{
		"": false, " ": false, "0": false, "false": false, "FALSE": false, "f": false,
		"1": true, "true": true, "True": true, "t": true, " 1 ": true,
		"yes": true, "2": true, "on": true, // unparsable: fail loudly in CI
	} {
		t.Run(fmt.Sprintf("%q", v), func(t *testing.T) {
			t.Setenv(RequireEnv, v)
			if got := RequireServers(); got != want {
				t.Errorf("RequireServers() with %s=%q = %v, want %v", RequireEnv, v, got, want)
			}
		})
	}
}

func TestMissingServerSkips(t *testing.T) {
	for _, tc := range []struct {
		name string
		get  func(testing.TB)
		envs []string
	}{
		{"MinIO", func(tb testing.TB) { MinIO(tb) }, []string{MinIOEndpointEnv, MinIOAccessKeyEnv, MinIOSecretKeyEnv}},
		{"versitygw", func(tb testing.TB) { VersityGW(tb) }, []string{VersityGWEndpointEnv, VersityGWAccessKeyEnv, VersityGWSecretKeyEnv}},
		{"fake-gcs-server", func(tb testing.TB) { GCSEmulator(tb) }, []string{GCSEndpointEnv}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			r := &recorder{}
			tc.get(r)
			if !r.skipped || r.failed {
				t.Fatalf("skipped=%v failed=%v, want a skip", r.skipped, r.failed)
			}
			for _, want := range append([]string{tc.name, "make test", "scripts/servers.sh"}, tc.envs...) {
				if !strings.Contains(r.msg, want) {
					t.Errorf("skip message %q does not mention %q", r.msg, want)
				}
			}
		})
	}
}

func TestMissingServerFailsWhenRequired(t *testing.T) {
	clearEnv(t)
	t.Setenv(RequireEnv, "1")
	for name, get := range map[string]func(testing.TB){
		"MinIO":           func(tb testing.TB) { MinIO(tb) },
		"versitygw":       func(tb testing.TB) { VersityGW(tb) },
		"fake-gcs-server": func(tb testing.TB) { GCSEmulator(tb) },
	} {
		r := &recorder{}
		get(r)
		if !r.failed || r.skipped {
			t.Errorf("%s: skipped=%v failed=%v, want a failure", name, r.skipped, r.failed)
		}
		for _, want := range []string{name, "make test", RequireEnv + "=1"} {
			if !strings.Contains(r.msg, want) {
				t.Errorf("%s: failure message %q does not mention %q", name, r.msg, want)
			}
		}
	}
}

func TestConfiguredServers(t *testing.T) {
	clearEnv(t)
	t.Setenv(RequireEnv, "1")
	t.Setenv(MinIOEndpointEnv, "127.0.0.1:1")
	t.Setenv(MinIOAccessKeyEnv, "ak")
	t.Setenv(MinIOSecretKeyEnv, "sk")
	t.Setenv(VersityGWEndpointEnv, "127.0.0.1:2")
	t.Setenv(VersityGWAccessKeyEnv, "ak2")
	t.Setenv(VersityGWSecretKeyEnv, "sk2")
	t.Setenv(GCSEndpointEnv, "127.0.0.1:3")

	r := &recorder{}
	if got, want := MinIO(r), (S3Server{"127.0.0.1:1", "ak", "sk"}); got != want {
		t.Errorf("MinIO = %+v, want %+v", got, want)
	}
	if got, want := VersityGW(r), (S3Server{"127.0.0.1:2", "ak2", "sk2"}); got != want {
		t.Errorf("VersityGW = %+v, want %+v", got, want)
	}
	if got := GCSEmulator(r); got != "127.0.0.1:3" {
		t.Errorf("GCSEmulator = %q, want 127.0.0.1:3", got)
	}
	if r.skipped || r.failed {
		t.Errorf("configured servers: skipped=%v failed=%v (%s)", r.skipped, r.failed, r.msg)
	}
}

// An endpoint without its credentials is a broken setup: a failure even when
// servers are optional, naming the missing variable.
func TestEndpointWithoutCredentialsFails(t *testing.T) {
	clearEnv(t)
	t.Setenv(MinIOEndpointEnv, "127.0.0.1:1")
	t.Setenv(MinIOAccessKeyEnv, "ak")
	r := &recorder{}
	if got := MinIO(r); got != (S3Server{}) {
		t.Errorf("MinIO = %+v, want the zero value", got)
	}
	if !r.failed || !strings.Contains(r.msg, MinIOSecretKeyEnv) || strings.Contains(r.msg, MinIOAccessKeyEnv+" ") {
		t.Errorf("failed=%v msg=%q, want a failure naming only %s", r.failed, r.msg, MinIOSecretKeyEnv)
	}
}

// A real *testing.T is skipped (not failed) when a server is absent.
func TestRealSkip(t *testing.T) {
	clearEnv(t)
	var ran bool
	sub := t.Run("absent", func(t *testing.T) {
		GCSEmulator(t)
		ran = true // not reached: Skip stops the subtest
	})
	if !sub {
		t.Fatal("subtest failed, want skipped")
	}
	if ran {
		t.Fatal("GCSEmulator returned instead of skipping")
	}
}
