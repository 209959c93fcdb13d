package backend_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/memory"
)

func TestRegisterDuplicatePanics(t *testing.T) {
	open := func(context.Context, *url.URL) (backend.Backend, error) { return memory.New(memory.Options{}) }
	backend.Register("dup-test", open)
	assert.Panics(t, func() { backend.Register("dup-test", open) })
	assert.Panics(t, func() { backend.Register("Upper", open) })
	assert.Panics(t, func() { backend.Register("nil-test", nil) })
	assert.Contains(t, backend.Schemes(), "dup-test")
	assert.Contains(t, backend.Schemes(), "mem")
}

func TestOpenUnknownScheme(t *testing.T) {
	t.Parallel()
	_, err := backend.Open(context.Background(), "gs://AKID:SECRETKEY@bucket?secret=hunter2hunter2")
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, `import _ "github.com/kitehq/kite/gcs"`)
	assert.Contains(t, msg, "mem") // names what is registered
	assert.ErrorIs(t, err, backend.ErrUnsupported)
	for _, secret := range []string{"AKID", "SECRETKEY", "hunter2"} {
		assert.NotContains(t, msg, secret)
	}

	_, err = backend.Open(context.Background(), "nosuch://x")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "import _")
}

func TestOpenBadURLHidesSecret(t *testing.T) {
	t.Parallel()
	_, err := backend.Open(context.Background(), "minio://AK:se cret%zz@host:9000/b")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "se cret")
	assert.NotContains(t, err.Error(), "AK:")
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := map[string][]string{
		"minio://ACCESS:SECRET@host:9000/bucket?secure=false":         {"ACCESS", "SECRET"},
		"file:///d?base_url=http://x/&secret=topsecretvalue":          {"topsecretvalue"},
		"https://h/k?X-Amz-Signature=abc123&X-Amz-Credential=AKIA%2F": {"abc123", "AKIA"},
		"gs://b?private_key=PEMDATA&token=xyzzy":                      {"PEMDATA", "xyzzy"},
	}
	for raw, secrets := range tests {
		got := backend.RedactURL(raw)
		for _, s := range secrets {
			assert.NotContains(t, got, s, raw)
		}
		assert.Contains(t, got, "REDACTED", raw)
	}
	assert.Contains(t, backend.RedactURL("gs://b?private_key_path=/etc/key.json"), "key.json")
	assert.Equal(t, "<unparseable URL>", backend.RedactURL("s3://a b:c%zz@h"))
	for in, want := range map[string]string{
		"mem://":                              "mem://",
		"mem://?base_url=http://x/&secret=s3": "mem://?base_url=http%3A%2F%2Fx%2F&secret=REDACTED",
		"file:///tmp/docs":                    "file:///tmp/docs",
		"gs://bucket":                         "gs://bucket",
	} {
		assert.Equal(t, want, backend.RedactURL(in), in)
	}
}

func TestParams(t *testing.T) {
	t.Parallel()
	u, _ := url.Parse("x://h?n=16MiB&b=true&d=30s&s=v")
	p := backend.NewParams(u)
	assert.Equal(t, int64(16<<20), p.Int("n", 0))
	assert.True(t, p.Bool("b", false))
	assert.Equal(t, 30*time.Second, p.Duration("d", 0))
	assert.Equal(t, "v", p.String("s", ""))
	assert.Equal(t, "def", p.String("absent", "def"))
	require.NoError(t, p.Err())

	u, _ = url.Parse("x://h?known=1&typo=2")
	p = backend.NewParams(u)
	p.String("known", "")
	err := p.Err()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"typo"`)
	assert.ErrorIs(t, err, backend.ErrInvalidArgument)

	u, _ = url.Parse("x://h?b=maybe")
	p = backend.NewParams(u)
	p.Bool("b", false)
	assert.ErrorIs(t, p.Err(), backend.ErrInvalidArgument)

	u, _ = url.Parse("x://h?s=1&s=2")
	p = backend.NewParams(u)
	p.String("s", "")
	assert.ErrorIs(t, p.Err(), backend.ErrInvalidArgument)
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"0": 0, "512": 512, "16MiB": 16 << 20, "1GiB": 1 << 30, "5MB": 5e6, "10B": 10} {
		got, err := backend.ParseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "-1", "1.5MiB", "MiB", "99999999999TiB"} {
		_, err := backend.ParseSize(in)
		assert.Error(t, err, in)
	}
}

func TestCheckPresign(t *testing.T) {
	t.Parallel()
	exp, err := backend.CheckPresign("GET", "k", backend.PresignOptions{})
	require.NoError(t, err)
	assert.Equal(t, 15*time.Minute, exp)
	for _, o := range []backend.PresignOptions{
		{Expires: 7*24*time.Hour + time.Second}, {Expires: -time.Second}, {ContentType: "text/plain"}, {Size: 3},
		{ContentDisposition: "attachment\r\nX-Evil: 1"},
	} {
		_, err := backend.CheckPresign("GET", "k", o)
		assert.ErrorIs(t, err, backend.ErrInvalidArgument, "%+v", o)
	}
	_, err = backend.CheckPresign("PUT", "k", backend.PresignOptions{ContentDisposition: "inline"})
	assert.ErrorIs(t, err, backend.ErrInvalidArgument)
	_, err = backend.CheckPresign("PUT", "k", backend.PresignOptions{ContentType: "text/plain\n"})
	assert.ErrorIs(t, err, backend.ErrInvalidArgument)
	_, err = backend.CheckPresign("PUT", "/k", backend.PresignOptions{})
	assert.ErrorIs(t, err, backend.ErrInvalidKey)
	exp, err = backend.CheckPresign("PUT", "k", backend.PresignOptions{Expires: 7 * 24 * time.Hour, ContentType: "text/plain", Size: 9})
	require.NoError(t, err)
	assert.Equal(t, 7*24*time.Hour, exp)
}

func TestCheckPut(t *testing.T) {
	t.Parallel()
	r := strings.NewReader("")
	require.NoError(t, backend.CheckPut("k", r, backend.PutOptions{Metadata: map[string]string{"a-1": "Value ok!"}}))
	bad := []backend.PutOptions{
		{Size: -1},
		{IfNotExists: true, IfMatch: "x"},
		{Metadata: map[string]string{"Upper": "v"}},
		{Metadata: map[string]string{"under_score": "v"}},
		{Metadata: map[string]string{"k": "naïve"}},
		{Metadata: map[string]string{"k": "a\nb"}},
		{Metadata: map[string]string{"k": " padded"}},
		{Metadata: map[string]string{"": "v"}},
		{Metadata: map[string]string{"k": strings.Repeat("v", 2048)}},
		{ContentType: "text/plain\r\nX: y"},
	}
	for _, o := range bad {
		assert.ErrorIs(t, backend.CheckPut("k", r, o), backend.ErrInvalidArgument, "%+v", o)
	}
	assert.ErrorIs(t, backend.CheckPut("k", nil, backend.PutOptions{}), backend.ErrInvalidArgument)
	assert.ErrorIs(t, backend.CheckPut("a//b", r, backend.PutOptions{}), backend.ErrInvalidKey)
}
