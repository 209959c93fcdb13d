package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/kitehq/kite/backend"
)

// runDemo walks one document through its life on the local driver: the job
// Kite exists for, with nothing to install.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	dir := fs.String("dir", "", "directory to store in (default: a new temporary one)")
	keep := fs.Bool("keep", false, "keep the directory and the documents afterwards")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	step := func(format string, a ...any) { fmt.Fprintf(stdout, "• "+format+"\n", a...) }

	cleanup := "the directory stays"
	if *dir == "" {
		d, err := os.MkdirTemp("", "kite-demo-")
		if err != nil {
			return err
		}
		*dir = d
		if !*keep {
			defer os.RemoveAll(d)
			cleanup = "removed " + d
		}
	}

	// The signed-URL handler listens on loopback; presigned URLs point at it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	baseURL := "http://" + ln.Addr().String() + "/files/"
	var secret [32]byte
	_, _ = rand.Read(secret[:])
	storeURL := (&url.URL{Scheme: "file", Path: *dir, RawQuery: url.Values{
		"create_dir": {"true"},
		"base_url":   {baseURL},
		"secret":     {hex.EncodeToString(secret[:])},
	}.Encode()}).String()
	b, err := backend.Open(ctx, storeURL)
	if err != nil {
		ln.Close()
		return err
	}
	defer b.Close()
	step("opened %s", backend.RedactURL(storeURL))

	h, ok := b.(interface{ Handler() http.Handler })
	if !ok {
		ln.Close()
		return errors.New("local driver has no Handler")
	}
	mux := http.NewServeMux()
	mux.Handle("/files/", h.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	step("serving presigned URLs at %s", baseURL)

	const user, doc, filename = "alice", "contract-2026", "Contract March.PDF"
	content := []byte("%PDF-1.7\n% Kite demo document\n")
	obj, err := backend.PutDocument(ctx, b, user, doc, backend.ExtOf(filename), bytes.NewReader(content),
		backend.PutOptions{ContentType: "application/pdf", Metadata: map[string]string{"uploaded-by": "kite-demo"}})
	if err != nil {
		return err
	}
	step("stored %q (%d bytes) as %s: the file name is not in the key", filename, obj.Size, obj.Key)

	st, err := b.Stat(ctx, obj.Key)
	if err != nil {
		return err
	}
	step("stat: %d bytes, %s, ETag %s, metadata %v", st.Size, st.ContentType, st.ETag, st.Metadata)

	client := &http.Client{Timeout: 30 * time.Second}
	get, err := b.PresignGet(ctx, obj.Key, backend.PresignOptions{
		Expires:            5 * time.Minute,
		ContentDisposition: mime.FormatMediaType("attachment", map[string]string{"filename": filename}),
	})
	if err != nil {
		return err
	}
	step("presigned GET, valid until %s: %s", get.Expires.Format(time.TimeOnly), backend.RedactURL(get.URL))
	resp, body, err := fetch(ctx, client, http.MethodGet, get.URL, nil, nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, content) {
		return fmt.Errorf("presigned GET: status %d, %d bytes (want 200, %d bytes)", resp.StatusCode, len(body), len(content))
	}
	step("downloaded with net/http: %d %s, %d bytes, Content-Disposition: %s", resp.StatusCode, resp.Header.Get("Content-Type"), len(body), resp.Header.Get("Content-Disposition"))

	// Any change to what was signed is refused; here, the expiry moves a day on.
	tampered, _ := url.Parse(get.URL)
	q := tampered.Query()
	q.Set("X-Kite-Expires", fmt.Sprint(get.Expires.Add(24*time.Hour).Unix()))
	tampered.RawQuery = q.Encode()
	resp, _, err = fetch(ctx, client, http.MethodGet, tampered.String(), nil, nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusForbidden {
		return fmt.Errorf("tampered URL: status %d, want 403", resp.StatusCode)
	}
	step("the same URL with its expiry pushed a day on is refused: %d", resp.StatusCode)

	v2 := []byte("%PDF-1.7\n% Kite demo document, version 2, uploaded by a browser\n")
	key2, err := backend.NewDocumentKey(user, doc, backend.ExtOf(filename))
	if err != nil {
		return err
	}
	put, err := b.PresignPut(ctx, key2, backend.PresignOptions{ContentType: "application/pdf", Size: int64(len(v2))})
	if err != nil {
		return err
	}
	step("presigned PUT for a new version %s (Content-Type and size signed)", key2)
	resp, _, err = fetch(ctx, client, http.MethodPut, put.URL, put.Header, v2)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("presigned PUT: status %d", resp.StatusCode)
	}
	st2, err := b.Stat(ctx, key2)
	if err != nil {
		return err
	}
	step("uploaded with net/http: %d; stat says %d bytes, %s", resp.StatusCode, st2.Size, st2.ContentType)

	step("documents of %s:", user)
	for o, err := range b.List(ctx, backend.ListOptions{Prefix: user + "/"}) {
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "    %s  %d bytes  %s\n", o.Key, o.Size, o.LastModified.Local().Format(time.DateTime))
	}

	if *keep {
		step("kept the documents in %s", *dir)
		return nil
	}
	for _, k := range []string{obj.Key, key2} {
		if err := b.Delete(ctx, k); err != nil {
			return err
		}
	}
	n := 0
	for _, err := range b.List(ctx, backend.ListOptions{Prefix: user + "/"}) {
		if err != nil {
			return err
		}
		n++
	}
	step("deleted both versions; %d documents left; %s", n, cleanup)
	return nil
}

func fetch(ctx context.Context, c *http.Client, method, u string, hdr http.Header, body []byte) (*http.Response, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the URL, signature and all
		}
		return nil, nil, fmt.Errorf("%s %s: %w", method, backend.RedactURL(u), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp, data, err
}
