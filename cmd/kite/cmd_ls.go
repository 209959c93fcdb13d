package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/kitehq/kite/backend"
)

func init() {
	register("ls", "list the objects under a prefix", runLs)
	register("stat", "show an object's size, content type, ETag, time and metadata", runStat)
}

const lsUsage = `  kite ls [--store URL] [-l] [--delimiter D] [--json] [PREFIX]

Lists the keys under PREFIX (all keys without one), one a line, in byte-wise
order. PREFIX is matched as bytes: "docs/" lists under the folder docs,
"docs" also lists "docs.txt". With --delimiter D (usually "/") the listing
stops at the next D after PREFIX and shows each deeper level once, as a
common prefix that ends with D.

-l shows, per line, the size in bytes, the last modification time (RFC 3339,
UTC) and the key; a common prefix shows PRE instead of a size.

--json prints JSON lines, one object per line (streamed, not an array):
  {"key":"a/b.pdf","size":123,"etag":"…","last_modified":"2026-03-01T10:00:00.123Z"}
  {"key":"a/c/","prefix":true}
content_type and metadata appear only when the store's listing carries them;
use "kite stat" for them.
`

// lsEntry is one line of "kite ls --json".
type lsEntry struct {
	Key          string            `json:"key"`
	Prefix       bool              `json:"prefix,omitempty"`
	Size         *int64            `json:"size,omitempty"`
	ContentType  string            `json:"content_type,omitempty"`
	ETag         string            `json:"etag,omitempty"`
	LastModified string            `json:"last_modified,omitempty"`
	Metadata     map[string]string `json:"metadata,omitempty"`
}

func runLs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ls", stderr)
	setUsage(fs, stderr, lsUsage)
	storeURL := storeFlag(fs)
	long := fs.Bool("l", false, "long listing: size, time, key")
	delim := fs.String("delimiter", "", "group keys by this delimiter after the prefix (usually /)")
	asJSON := fs.Bool("json", false, "JSON lines, one object per line")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, 1, "at most one PREFIX"); err != nil {
		return err
	}
	if *long && *asJSON {
		return fmt.Errorf("%w: -l and --json exclude each other", errUsage)
	}
	opts := backend.ListOptions{Delimiter: *delim}
	if len(pos) == 1 {
		opts.Prefix = pos[0]
	}
	b, _, err := openStore(ctx, *storeURL)
	if err != nil {
		return err
	}
	defer b.Close()

	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	for o, err := range b.List(ctx, opts) {
		if err != nil {
			return err
		}
		switch {
		case *asJSON:
			e := lsEntry{Key: o.Key, Prefix: o.IsPrefix}
			if !o.IsPrefix {
				e.Size = &o.Size
				e.ContentType, e.ETag, e.LastModified = o.ContentType, o.ETag, jsonTime(o.LastModified)
				if len(o.Metadata) > 0 {
					e.Metadata = o.Metadata
				}
			}
			err = enc.Encode(e)
		case *long && o.IsPrefix:
			_, err = fmt.Fprintf(stdout, "%12s  %-20s  %s\n", "PRE", "", o.Key)
		case *long:
			_, err = fmt.Fprintf(stdout, "%12d  %-20s  %s\n", o.Size, textTime(o.LastModified), o.Key)
		default:
			_, err = fmt.Fprintln(stdout, o.Key)
		}
		if err != nil {
			return err // stdout closed (| head): stop listing
		}
	}
	return nil
}

// textTime is t in RFC 3339 UTC to the second, or "-" when the store gave none.
func textTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// jsonTime is t in RFC 3339 UTC with its fraction of a second, or "".
func jsonTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

const statUsage = `  kite stat [--store URL] [--json] KEY

Shows the object's attributes, one "name: value" a line: key, size (bytes),
content-type, etag, last-modified (RFC 3339, UTC), then each metadata entry
as "meta.NAME: value", sorted. With --json, one object:
  {"key":…,"size":…,"content_type":…,"etag":…,"last_modified":…,"metadata":{…}}
A missing key fails (exit 1).
`

// statJSON is the output of "kite stat --json": every field is always there.
type statJSON struct {
	Key          string            `json:"key"`
	Size         int64             `json:"size"`
	ContentType  string            `json:"content_type"`
	ETag         string            `json:"etag"`
	LastModified string            `json:"last_modified"`
	Metadata     map[string]string `json:"metadata"`
}

func runStat(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("stat", stderr)
	setUsage(fs, stderr, statUsage)
	storeURL := storeFlag(fs)
	asJSON := fs.Bool("json", false, "print one JSON object")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, 1, "KEY"); err != nil {
		return err
	}
	if err := checkKey(pos[0]); err != nil {
		return err
	}
	b, _, err := openStore(ctx, *storeURL)
	if err != nil {
		return err
	}
	defer b.Close()
	o, err := b.Stat(ctx, pos[0])
	if err != nil {
		return err
	}
	key := o.Key
	if key == "" {
		key = pos[0]
	}
	if *asJSON {
		meta := o.Metadata
		if meta == nil {
			meta = map[string]string{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(statJSON{Key: key, Size: o.Size, ContentType: o.ContentType, ETag: o.ETag,
			LastModified: jsonTime(o.LastModified), Metadata: meta})
	}
	fmt.Fprintf(stdout, "key: %s\nsize: %d\ncontent-type: %s\netag: %s\nlast-modified: %s\n",
		key, o.Size, o.ContentType, o.ETag, textTime(o.LastModified))
	for _, k := range slices.Sorted(maps.Keys(o.Metadata)) {
		fmt.Fprintf(stdout, "meta.%s: %s\n", k, o.Metadata[k])
	}
	return nil
}
