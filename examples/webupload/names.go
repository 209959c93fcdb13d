package main

// Where the original file name lives, and how it goes back to the browser.
//
// The name never enters a key: the document is "{user}/{doc}/{uuid}{ext}".
// A presigned PUT cannot carry user metadata on every provider (a browser
// would have to send signed x-amz-meta-* headers, and local and memory sign
// none), and an in-memory index is lost on restart. So the app writes a small
// JSON record per document into the same store, under its own prefix
// "~webupload/names/{user}/{doc}.json". A user ID cannot contain "~", so the
// records never mix with any user's documents: List with Prefix "{user}/"
// still yields one key per document. A record is written once (IfNotExists)
// before the upload starts, and never changed; a document is shown only when
// its object exists with the record's key and size, so a record whose upload
// never happened (or was refused) is simply not listed.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kitehq/kite/backend"
)

const (
	// appPrefix holds what the app keeps for itself; "~" is never in a user ID.
	appPrefix    = "~webupload/"
	recordPrefix = appPrefix + "names/"
	// probeKey is presigned (never written) to learn the store's origin
	// and to check its CORS rules.
	probeKey = appPrefix + "cors-probe"
)

// record is what the app knows about a document beyond its object.
type record struct {
	Version int       `json:"v"`
	Key     string    `json:"key"`  // the document key
	Name    string    `json:"name"` // the original file name
	Size    int64     `json:"size"` // declared, and signed into the PUT
	Type    string    `json:"type"` // declared, and signed into the PUT
	Created time.Time `json:"created"`
}

func recordKey(user, docID string) string {
	return recordPrefix + user + "/" + docID + ".json"
}

// saveRecord stores rec for a new document; it never replaces one.
func (a *app) saveRecord(ctx context.Context, user, docID string, rec record) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	_, err = a.store.Put(ctx, recordKey(user, docID), bytes.NewReader(data), backend.PutOptions{
		Size: int64(len(data)), ContentType: "application/json", IfNotExists: true,
	})
	return err
}

// loadRecord reads the record of a document of user. A missing one matches
// backend.ErrNotFound; one that does not belong to that document is an error.
func (a *app) loadRecord(ctx context.Context, user, docID string) (record, error) {
	var rec record
	rc, _, err := a.store.Get(ctx, recordKey(user, docID), backend.GetOptions{})
	if err != nil {
		return rec, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxRecordBytes+1))
	if err != nil {
		return rec, err
	}
	if len(data) > maxRecordBytes {
		return rec, fmt.Errorf("name record of document %s: larger than %d bytes", docID, maxRecordBytes)
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return rec, fmt.Errorf("name record of document %s: %w", docID, err)
	}
	dk, err := backend.ParseDocumentKey(rec.Key)
	if rec.Version != 1 || err != nil || dk.UserID != user || dk.DocumentID != docID {
		return rec, fmt.Errorf("name record of document %s: not a record of this document", docID)
	}
	return rec, nil
}

// cleanName returns the file name to keep: the last path element (old
// browsers sent a whole path), 1 to 255 bytes of valid UTF-8 without
// control characters or bidirectional overrides (which can disguise
// "cod.exe" as "exe.doc").
func cleanName(name string) (string, error) {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSpace(name)
	switch {
	case name == "" || name == "." || name == "..":
		return "", badRequest("missing file name")
	case len(name) > maxNameLen:
		return "", badRequest("file name longer than %d bytes", maxNameLen)
	case !utf8.ValidString(name):
		return "", badRequest("file name is not valid UTF-8")
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return "", badRequest("file name contains a control character")
		}
	}
	return name, nil
}

// contentDisposition returns an attachment header carrying name (RFC 6266):
// a quoted ASCII filename for old clients and, when that had to change the
// name, filename* with the exact name in UTF-8 (RFC 8187), which browsers
// prefer. Quotes, backslashes and percent signs never reach the quoted form,
// so no name can end the parameter or be decoded twice; control characters
// were refused by cleanName. The result is at most 1024 bytes of printable
// ASCII, what PresignOptions accepts, for any name cleanName accepts.
func contentDisposition(name string) string {
	const (
		head = `attachment; filename="`
		mid  = `"; filename*=UTF-8''`
		max  = 1024
	)
	var fb strings.Builder
	for _, r := range name {
		if r >= 0x20 && r < 0x7f && r != '"' && r != '\\' && r != '%' {
			fb.WriteRune(r)
		} else {
			fb.WriteByte('_')
		}
	}
	fallback := fb.String()
	if fallback == name {
		return head + name + `"`
	}
	enc := encodeExtValue(name)
	if room := max - len(head) - len(mid) - len(enc); len(fallback) > room {
		ext := path.Ext(fallback)
		if len(ext) > room/2 {
			ext = ""
		}
		fallback = fallback[:room-len(ext)] + ext
	}
	return head + fallback + mid + enc
}

// encodeExtValue percent-encodes s as the value-chars of RFC 8187: every
// byte but ALPHA, DIGIT and !#$&+-.^_`|~ .
func encodeExtValue(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}
