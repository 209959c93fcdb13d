package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kitehq/kite/backend"
)

func init() {
	register("presign", "print a presigned GET or PUT URL for a key", runPresign)
}

const presignUsage = `  kite presign [--store URL] [--expires 15m] [--filename NAME] [--json] get KEY
  kite presign [--store URL] [--expires 15m] [--content-type T] [--size N] [--json] put KEY

Prints a URL that downloads (get) or uploads (put) KEY with a plain HTTP
request and no credentials until it expires. The URL carries its signature:
treat the output as a secret. Presigning makes no network call and does not
check that KEY exists.

Output: the URL on the first line, then one line per header the request must
send, curl-style and shell-quoted:
  https://…/KEY?…
  -H 'Content-Type: application/pdf'
so that, in a shell,
  { read -r url; hdrs=$(tr "\n" " "); } < <(kite presign put --content-type application/pdf KEY)
  eval "curl -fsS -T file.pdf $hdrs \"\$url\""
A presigned GET usually needs no header and prints the URL alone.
--json prints one object instead:
  {"method":"PUT","url":"…","headers":{"Content-Type":"…"},"expires":"2026-03-01T10:15:00Z"}

--expires is a Go duration (90s, 15m, 2h) or whole days (7d, the most).
--filename (get) makes browsers save the download under NAME
(Content-Disposition: attachment; any characters, non-ASCII too).
--content-type and --size (put) are signed: the upload must send exactly that
Content-Type and exactly that many bytes (--size takes 1048576 or 1MiB).
`

// presignJSON is the output of "kite presign --json".
type presignJSON struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Expires string            `json:"expires"`
}

func runPresign(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("presign", stderr)
	setUsage(fs, stderr, presignUsage)
	storeURL := storeFlag(fs)
	expires := fs.String("expires", "15m", "how long the URL works: a duration (15m, 2h) or days (7d)")
	contentType := fs.String("content-type", "", "put: the Content-Type the upload must send (signed)")
	size := fs.String("size", "", "put: the exact size of the upload in bytes, e.g. 1048576 or 1MiB (signed)")
	filename := fs.String("filename", "", "get: the file name a browser saves the download as")
	asJSON := fs.Bool("json", false, "print one JSON object: method, url, headers, expires")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 2, 2, "get|put KEY"); err != nil {
		return err
	}
	method, key := strings.ToUpper(pos[0]), pos[1]
	if method != "GET" && method != "PUT" {
		return fmt.Errorf("%w: want get or put, got %q", errUsage, pos[0])
	}
	if err := checkKey(key); err != nil {
		return err
	}
	var opts backend.PresignOptions
	if opts.Expires, err = parseExpires(*expires); err != nil {
		return err
	}
	switch method {
	case "GET":
		if *contentType != "" || *size != "" {
			return fmt.Errorf("%w: --content-type and --size go with put", errUsage)
		}
		if *filename != "" {
			opts.ContentDisposition = mime.FormatMediaType("attachment", map[string]string{"filename": *filename})
			if opts.ContentDisposition == "" {
				return fmt.Errorf("%w: --filename %q cannot be put in a Content-Disposition", errUsage, *filename)
			}
		}
	case "PUT":
		if *filename != "" {
			return fmt.Errorf("%w: --filename goes with get", errUsage)
		}
		opts.ContentType = *contentType
		if *size != "" {
			n, err := backend.ParseSize(*size)
			if err != nil || n == 0 {
				return fmt.Errorf("%w: --size: want a positive number of bytes, got %q", errUsage, *size)
			}
			opts.Size = n
		}
	}

	b, _, err := openStore(ctx, *storeURL)
	if err != nil {
		return err
	}
	defer b.Close()
	var req *backend.PresignedRequest
	if method == "GET" {
		req, err = b.PresignGet(ctx, key, opts)
	} else {
		req, err = b.PresignPut(ctx, key, opts)
	}
	if err != nil {
		return err
	}

	names := slices.Sorted(maps.Keys(req.Header))
	if *asJSON {
		out := presignJSON{Method: req.Method, URL: req.URL, Headers: map[string]string{},
			Expires: req.Expires.UTC().Format(time.RFC3339)}
		for _, k := range names {
			out.Headers[k] = strings.Join(req.Header.Values(k), ", ")
		}
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(out)
	}
	var sb strings.Builder
	sb.WriteString(req.URL + "\n")
	for _, k := range names {
		for _, v := range req.Header.Values(k) {
			sb.WriteString("-H " + shellQuote(k+": "+v) + "\n")
		}
	}
	_, err = io.WriteString(stdout, sb.String())
	return err
}

// parseExpires reads a Go duration or a whole number of days ("7d").
func parseExpires(s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		if n > 100000 { // no overflow; the store refuses more than 7 days anyway
			n = 100000
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%w: --expires: want a positive duration such as 15m, 2h or 7d, got %q", errUsage, s)
	}
	return d, nil
}

// shellQuote quotes s for a POSIX shell: in single quotes, each quote in s
// closed, backslash-escaped and reopened.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
