package local

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
)

// An object file holds the object's bytes, then a JSON trailer with its
// attributes, then a fixed footer: the trailer's length as a little-endian
// uint32 and the magic "KIT1". Data and attributes live in one file so that
// one rename commits both: a reader never sees new bytes with old attributes.
const (
	footerLen     = 8
	magic         = "KIT1"
	formatVersion = 1
	// maxTrailer bounds what a reader trusts from a footer. A real trailer
	// is at most a few KiB: a 1 KiB key and 2 KiB of metadata, JSON-escaped.
	maxTrailer = 64 << 10
	// tailRead is how much of a file's end Stat reads in one pread, enough
	// for the footer and nearly every trailer.
	tailRead = 4 << 10
)

// errCorrupt reports a file that is not an object written by this driver.
var errCorrupt = errors.New("corrupt object file: bad trailer")

// attrs is the trailer.
type attrs struct {
	V           int               `json:"v"`
	Key         string            `json:"key"`
	ContentType string            `json:"content_type"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	ETag        string            `json:"etag"`
	MTime       int64             `json:"mtime"` // Unix nanoseconds
}

// appendTrailer appends a's trailer and the footer to b.
func appendTrailer(b []byte, a *attrs) []byte {
	a.V = formatVersion
	start := len(b)
	b = encodeAttrs(b, a)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(b)-start))
	return append(b, magic...)
}

// parseTail parses the attributes from tail, the last bytes of a file of
// fileSize bytes, and returns them with the size of the data section. When
// tail is too short to hold the trailer, need is the number of bytes to read
// from the end instead, and a is nil. key is the key expected, or "".
func parseTail(tail []byte, fileSize int64, key string) (a *attrs, dataSize int64, need int, err error) {
	if len(tail) < footerLen || string(tail[len(tail)-4:]) != magic {
		return nil, 0, 0, errCorrupt
	}
	n := int64(binary.LittleEndian.Uint32(tail[len(tail)-footerLen:]))
	if n > maxTrailer || n+footerLen > fileSize {
		return nil, 0, 0, errCorrupt
	}
	whole := int(n) + footerLen
	if whole > len(tail) {
		return nil, 0, whole, nil
	}
	a = new(attrs)
	if err := decodeAttrs(tail[len(tail)-whole:len(tail)-footerLen], a, key); err != nil || a.V != formatVersion {
		return nil, 0, 0, errCorrupt
	}
	return a, fileSize - int64(whole), 0, nil
}

// readAttrs reads the attributes of the open object file f of size bytes
// with one pread (two for an unusually large trailer).
func readAttrs(f *os.File, size int64) (*attrs, int64, error) {
	buf := make([]byte, min(size, tailRead))
	for {
		if _, err := f.ReadAt(buf, size-int64(len(buf))); err != nil {
			if err == io.EOF {
				err = errCorrupt // the file shrank: not one of ours
			}
			return nil, 0, err
		}
		a, dataSize, need, err := parseTail(buf, size, "")
		if err != nil || a != nil {
			return a, dataSize, err
		}
		buf = make([]byte, need)
	}
}
