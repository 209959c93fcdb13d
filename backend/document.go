package backend

import (
	"context"
	"io"
	"path"
	"strings"

	"github.com/google/uuid"
)

// DocumentKey is a parsed document key "{UserID}/{DocumentID}/{ID}{Ext}".
type DocumentKey struct {
	UserID     string
	DocumentID string
	ID         string // a version 4 UUID in canonical form
	Ext        string // "" or "." and 1 to 16 of [a-z0-9]
}

// String returns the key.
func (d DocumentKey) String() string {
	return d.UserID + "/" + d.DocumentID + "/" + d.ID + d.Ext
}

const (
	maxDocIDLen = 128
	maxExtLen   = 16 // after the dot
)

// NewDocumentKey returns "{userID}/{documentID}/{uuid}{ext}" with a new random
// (version 4) UUID. userID and documentID are 1 to 128 characters of
// [A-Za-z0-9_.-], not "." or ".."; ext is "" or "." and 1 to 16 of [a-z0-9],
// upper case lowered. Anything else is an error matching ErrInvalidKey.
// The human file name never enters the key: pass ExtOf(name) as ext.
func NewDocumentKey(userID, documentID, ext string) (string, error) {
	if err := checkDocID("user ID", userID); err != nil {
		return "", err
	}
	if err := checkDocID("document ID", documentID); err != nil {
		return "", err
	}
	ext, err := normExt(ext)
	if err != nil {
		return "", err
	}
	id, err := uuid.NewRandom()
	if err != nil {
		return "", err
	}
	return userID + "/" + documentID + "/" + id.String() + ext, nil
}

// ParseDocumentKey parses a key made by NewDocumentKey. A key of another form,
// an upper-case extension or a UUID that is not canonical version 4 is an
// error matching ErrInvalidKey.
func ParseDocumentKey(key string) (DocumentKey, error) {
	parts := strings.Split(key, "/")
	if len(parts) != 3 {
		return DocumentKey{}, Errorf(ErrInvalidKey, "invalid document key: want user/document/uuid.ext, got %d segments", len(parts))
	}
	if err := checkDocID("user ID", parts[0]); err != nil {
		return DocumentKey{}, err
	}
	if err := checkDocID("document ID", parts[1]); err != nil {
		return DocumentKey{}, err
	}
	last := parts[2]
	if len(last) < 36 {
		return DocumentKey{}, Errorf(ErrInvalidKey, "invalid document key: no UUID")
	}
	id, ext := last[:36], last[36:]
	u, err := uuid.Parse(id)
	if err != nil || u.String() != id || u.Version() != 4 || u.Variant() != uuid.RFC4122 {
		return DocumentKey{}, Errorf(ErrInvalidKey, "invalid document key: not a canonical version 4 UUID")
	}
	if ext != "" {
		if n, err := normExt(ext); err != nil || n != ext {
			return DocumentKey{}, Errorf(ErrInvalidKey, "invalid document key: bad extension")
		}
	}
	return DocumentKey{UserID: parts[0], DocumentID: parts[1], ID: id, Ext: ext}, nil
}

// ExtOf returns the normalised extension of a file name ("Report.PDF" ->
// ".pdf"), or "" when the name has none that NewDocumentKey would accept.
func ExtOf(filename string) string {
	// Both separators: the name may come from a browser on any system.
	if i := strings.LastIndexAny(filename, `/\`); i >= 0 {
		filename = filename[i+1:]
	}
	ext := path.Ext(filename)
	if ext == filename { // ".bashrc" is a name, not an extension
		return ""
	}
	n, err := normExt(ext)
	if err != nil {
		return ""
	}
	return n
}

// PutDocument stores r under a new document key (see NewDocumentKey) and
// returns the object with its Key set. It always creates: opts.IfNotExists is
// forced on, so an existing document is never overwritten.
func PutDocument(ctx context.Context, b Backend, userID, documentID, ext string, r io.Reader, opts PutOptions) (*Object, error) {
	key, err := NewDocumentKey(userID, documentID, ext)
	if err != nil {
		return nil, err
	}
	opts.IfNotExists = true
	opts.IfMatch = ""
	return b.Put(ctx, key, r, opts)
}

func checkDocID(what, s string) error {
	if s == "" || len(s) > maxDocIDLen {
		return Errorf(ErrInvalidKey, "invalid %s: want 1 to %d characters, got %d", what, maxDocIDLen, len(s))
	}
	if s == "." || s == ".." {
		return Errorf(ErrInvalidKey, "invalid %s: %q", what, s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return Errorf(ErrInvalidKey, "invalid %s: character %q not in [A-Za-z0-9_.-]", what, c)
		}
	}
	return nil
}

// normExt lowers ext and checks it is "" or "." and 1 to 16 of [a-z0-9].
func normExt(ext string) (string, error) {
	if ext == "" {
		return "", nil
	}
	if ext[0] != '.' || len(ext) < 2 || len(ext) > 1+maxExtLen {
		return "", Errorf(ErrInvalidKey, "invalid extension: want \".\" and 1 to %d of [a-z0-9]", maxExtLen)
	}
	b := []byte(ext)
	for i := 1; i < len(b); i++ {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
			b[i] = c
		}
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return "", Errorf(ErrInvalidKey, "invalid extension: want \".\" and 1 to %d of [a-z0-9]", maxExtLen)
		}
	}
	return string(b), nil
}
