package provider

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
)

func TestKindOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		code   string
		want   error
	}{
		{404, "", backend.ErrNotFound},
		{404, "NoSuchKey", backend.ErrNotFound},
		{400, "NoSuchBucket", backend.ErrNotFound},
		{412, "PreconditionFailed", backend.ErrPrecondition},
		{409, "ConditionalRequestConflict", backend.ErrPrecondition},
		{403, "", backend.ErrPermission},
		{403, "SignatureDoesNotMatch", backend.ErrPermission},
		{400, "InvalidAccessKeyId", backend.ErrPermission},
		{404, "XAdminUserNotFound", backend.ErrPermission},
		{416, "", backend.ErrInvalidArgument},
		{501, "", backend.ErrUnsupported},
		{500, "InternalError", nil},
		{503, "SlowDown", nil},
	}
	for _, tt := range tests {
		got := KindOf(tt.status, tt.code)
		assert.True(t, errors.Is(got, tt.want) && (got == nil) == (tt.want == nil), "%d %s: got %v want %v", tt.status, tt.code, got, tt.want)
	}
}

func TestParseEndpoint(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"localhost:9000":            "http://localhost:9000",
		"https://files.example.com": "https://files.example.com",
		"http://127.0.0.1:9000/":    "http://127.0.0.1:9000",
		// A default port is left out, as browsers leave it out.
		"https://files.example.com:443": "https://files.example.com",
		"http://files.example.com:80":   "http://files.example.com",
		"https://[::1]:443":             "https://[::1]",
		"http://files.example.com:443":  "http://files.example.com:443",
		"localhost:80":                  "http://localhost",
	} {
		u, err := ParseEndpoint(in, false)
		require.NoError(t, err, in)
		assert.Equal(t, want, u.String())
	}
	u, err := ParseEndpoint("files.example.com", true)
	require.NoError(t, err)
	assert.Equal(t, "https://files.example.com", u.String())
	for _, bad := range []string{"", "ftp://h", "http://h/path", "http://u:p@h", "http://h?x=1", "http://"} {
		_, err := ParseEndpoint(bad, false)
		assert.ErrorIs(t, err, backend.ErrInvalidArgument, bad)
	}
}

func TestListRange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prefix, after          string
		wantPrefix, wantAfter  string
		wantFilter, wantListed bool
	}{
		{"", "", "", "", false, true},
		{"a/", "a/b", "a/", "a/b", false, true},
		{".", "", "", "-", true, true},
		{"dir/..", "", "dir/", "dir/-", true, true},
		{"dir/.", "dir/.x", "dir/", "dir/.x", true, true},
		{"./x", "", "", "", false, false},
		{"", "a/./b", "", "a/-", false, true},
		{"", "..", "", "-", false, true},
	}
	for _, tt := range tests {
		p, a, f, ok := ListRange(tt.prefix, tt.after)
		assert.Equal(t, tt.wantListed, ok, "%+v", tt)
		if ok {
			assert.Equal(t, []any{tt.wantPrefix, tt.wantAfter, tt.wantFilter}, []any{p, a, f}, "%+v", tt)
		}
	}
}
