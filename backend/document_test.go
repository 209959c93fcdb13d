package backend_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kitehq/kite/backend"
)

var docKeyRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}/[A-Za-z0-9_.-]{1,128}/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}(\.[a-z0-9]{1,16})?$`)

func TestNewDocumentKey(t *testing.T) {
	t.Parallel()
	k, err := backend.NewDocumentKey("user-1", "doc_2.x", ".PDF")
	require.NoError(t, err)
	assert.Regexp(t, docKeyRE, k)
	assert.True(t, strings.HasSuffix(k, ".pdf"), k)
	require.NoError(t, backend.ValidateKey(k))

	d, err := backend.ParseDocumentKey(k)
	require.NoError(t, err)
	assert.Equal(t, "user-1", d.UserID)
	assert.Equal(t, "doc_2.x", d.DocumentID)
	assert.Equal(t, ".pdf", d.Ext)
	assert.Equal(t, k, d.String())
	u, err := uuid.Parse(d.ID)
	require.NoError(t, err)
	assert.Equal(t, uuid.Version(4), u.Version())

	k2, err := backend.NewDocumentKey("user-1", "doc_2.x", ".pdf")
	require.NoError(t, err)
	assert.NotEqual(t, k, k2)

	k3, err := backend.NewDocumentKey("u", "d", "")
	require.NoError(t, err)
	assert.Regexp(t, docKeyRE, k3)

	bad := [][3]string{
		{"", "d", ""}, {"u", "", ""}, {".", "d", ""}, {"u", "..", ""}, {"u/x", "d", ""}, {"u", "d d", ""},
		{strings.Repeat("u", 129), "d", ""}, {"u", "d", "pdf"}, {"u", "d", "."}, {"u", "d", ".p-f"},
		{"u", "d", "." + strings.Repeat("a", 17)}, {"u", "d", ".pdf/x"}, {"ü", "d", ""},
	}
	for _, b := range bad {
		_, err := backend.NewDocumentKey(b[0], b[1], b[2])
		assert.ErrorIs(t, err, backend.ErrInvalidKey, "%q", b)
	}
}

func TestParseDocumentKeyRejects(t *testing.T) {
	t.Parallel()
	id := uuid.NewString()
	for _, k := range []string{
		"u/d", "u/d/" + id + "/x", "u/d/notauuid", "u/d/" + strings.ToUpper(id),
		"u/d/" + id + ".PDF", "u/d/" + id + "pdf", "u/d/" + id[:35],
		"u/d/" + uuid.NewMD5(uuid.NameSpaceDNS, []byte("x")).String(), // version 3
		"./d/" + id, "u/../" + id,
	} {
		_, err := backend.ParseDocumentKey(k)
		assert.ErrorIs(t, err, backend.ErrInvalidKey, "%q", k)
	}
}

func TestExtOf(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"Report.PDF": ".pdf", "a.tar.gz": ".gz", "noext": "", ".bashrc": "", "dir.d/file": "",
		`C:\Users\x\photo.JPEG`: ".jpeg", "a.": "", "a.p-f": "", "a." + strings.Repeat("x", 17): "",
		"résumé.docx": ".docx", "": "", "x.7z": ".7z",
	}
	for in, want := range tests {
		assert.Equal(t, want, backend.ExtOf(in), "%q", in)
	}
}

func FuzzParseDocumentKey(f *testing.F) {
	f.Add("u/d/" + uuid.NewString() + ".pdf")
	f.Add("u/d/" + uuid.NewString())
	f.Add("a/b/c")
	f.Add("")
	f.Fuzz(func(t *testing.T, key string) {
		d, err := backend.ParseDocumentKey(key)
		if err != nil {
			assert.ErrorIs(t, err, backend.ErrInvalidKey)
			return
		}
		// A parsed key is a valid key, of the schema, and prints back as itself.
		if d.String() != key || !docKeyRE.MatchString(key) || backend.ValidateKey(key) != nil {
			t.Fatalf("%q parsed as %+v", key, d)
		}
	})
}
