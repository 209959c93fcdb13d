package local

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"sync/atomic"
	"unicode/utf8"
)

// The trailer is JSON, so that it stays readable and any JSON library can
// decode it. encoding/json costs more than the rest of a 4 KiB Get, so
// encodeAttrs and decodeAttrs handle the exact form json.Marshal gives an
// attrs whose strings need no escaping, and leave every other trailer to
// encoding/json: the bytes on disk are the same either way.

// encodeAttrs appends a's JSON to b, byte for byte what json.Marshal makes.
func encodeAttrs(b []byte, a *attrs) []byte {
	if !plainJSON(a.Key) || !plainJSON(a.ContentType) || !plainJSON(a.ETag) {
		return marshalAttrs(b, a)
	}
	for k, v := range a.Metadata {
		if !plainJSON(k) || !plainJSON(v) {
			return marshalAttrs(b, a)
		}
	}
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(a.V), 10)
	b = appendField(b, `,"key":`, a.Key)
	b = appendField(b, `,"content_type":`, a.ContentType)
	if len(a.Metadata) > 0 {
		b = append(b, `,"metadata":{`...)
		for i, k := range slices.Sorted(maps.Keys(a.Metadata)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, k...)
			b = append(b, `":"`...)
			b = append(b, a.Metadata[k]...)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	b = appendField(b, `,"etag":`, a.ETag)
	b = append(b, `,"mtime":`...)
	b = strconv.AppendInt(b, a.MTime, 10)
	return append(b, '}')
}

func appendField(b []byte, name, s string) []byte {
	b = append(b, name...)
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func marshalAttrs(b []byte, a *attrs) []byte {
	j, err := json.Marshal(a)
	if err != nil {
		panic("local: marshal trailer: " + err.Error()) // strings and an int64 always marshal
	}
	return append(b, j...)
}

// plainJSON reports whether json.Marshal writes s as it is between quotes:
// valid UTF-8 with no control character, quote, backslash, <, >, & (which
// it escapes for HTML), U+2028 or U+2029.
func plainJSON(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || r == '\u2028' || r == '\u2029' {
			return false
		}
		i += n
	}
	return true
}

// decodeAttrs decodes a trailer. It takes the form encodeAttrs writes
// without escapes itself and gives everything else to encoding/json.
// key, when not "", is the key the caller expects: a trailer holding it
// shares the string instead of allocating one.
func decodeAttrs(j []byte, a *attrs, key string) error {
	if d := (attrDecoder{j: j, key: key}); d.decode(a) {
		return nil
	}
	*a = attrs{}
	return json.Unmarshal(j, a)
}

// attrDecoder reads the plain form; any surprise makes decode report false.
type attrDecoder struct {
	j   []byte
	key string
	ok  bool
}

// lastContentType is the content type decoded last, shared by the next
// trailer with the same one (most stores hold a few types).
var lastContentType atomic.Pointer[string]

func (d *attrDecoder) decode(a *attrs) bool {
	d.ok = true
	d.lit(`{"v":`)
	a.V = int(d.int())
	d.lit(`,"key":`)
	if k := d.raw(); string(k) == d.key {
		a.Key = d.key
	} else {
		a.Key = string(k)
	}
	d.lit(`,"content_type":`)
	ct := d.raw()
	if p := lastContentType.Load(); p != nil && string(ct) == *p {
		a.ContentType = *p
	} else {
		s := string(ct)
		a.ContentType = s
		lastContentType.Store(&s) // a pointer to s, not to a's field
	}
	if d.ok && len(d.j) > 0 && string(d.j[:min(len(d.j), 13)]) == `,"metadata":{` {
		d.j = d.j[13:]
		a.Metadata = map[string]string{}
		for first := true; d.ok && len(d.j) > 0 && d.j[0] != '}'; first = false {
			if !first {
				d.lit(",")
			}
			k := d.str()
			d.lit(":")
			a.Metadata[k] = d.str()
		}
		d.lit("}")
	}
	a.ETag = d.field(`,"etag":`)
	d.lit(`,"mtime":`)
	a.MTime = d.int()
	d.lit("}")
	return d.ok && len(d.j) == 0
}

func (d *attrDecoder) lit(s string) {
	if !d.ok || len(d.j) < len(s) || string(d.j[:len(s)]) != s {
		d.ok = false
		return
	}
	d.j = d.j[len(s):]
}

func (d *attrDecoder) field(name string) string {
	d.lit(name)
	return d.str()
}

// str reads a string with no escape in it.
func (d *attrDecoder) str() string { return string(d.raw()) }

// raw reads a string with no escape in it and returns its bytes (nil after
// a surprise).
func (d *attrDecoder) raw() []byte {
	d.lit(`"`)
	if !d.ok {
		return nil
	}
	for i, c := range d.j {
		if c == '"' {
			if s := d.j[:i]; utf8.Valid(s) {
				d.j = d.j[i+1:]
				return s
			}
			break
		}
		if c == '\\' || c < 0x20 {
			break
		}
	}
	d.ok = false
	return nil
}

// int reads an integer as json.Marshal writes one: no sign but "-", no
// leading zero.
func (d *attrDecoder) int() int64 {
	i := 0
	if i < len(d.j) && d.j[i] == '-' {
		i++
	}
	start := i
	for i < len(d.j) && d.j[i] >= '0' && d.j[i] <= '9' {
		i++
	}
	if !d.ok || i == start || d.j[start] == '0' && i-start > 1 {
		d.ok = false
		return 0
	}
	n, err := strconv.ParseInt(string(d.j[:i]), 10, 64)
	if err != nil {
		d.ok = false
		return 0
	}
	d.j = d.j[i:]
	return n
}
