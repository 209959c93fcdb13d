package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	mc "github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/cors"

	"github.com/kitehq/kite/backend"
	_ "github.com/kitehq/kite/gcs"    // gs://
	_ "github.com/kitehq/kite/local"  // file://
	_ "github.com/kitehq/kite/memory" // mem://
	"github.com/kitehq/kite/minio"    // minio://
	_ "github.com/kitehq/kite/s3"     // s3://
)

// storageOptions say which store to open and for which app.
type storageOptions struct {
	// URL is the store's URL; "" means a local directory (Dir).
	URL string
	// Dir is the local directory when URL is ""; "" makes a new one under
	// os.TempDir.
	Dir string
	// Origin is the app's origin as browsers see it (http://127.0.0.1:8080):
	// the base of a local store's presigned URLs and the origin the store's
	// CORS rules must allow.
	Origin string
	// MaxSize is the largest upload; a local store refuses larger PUTs too.
	MaxSize int64
	// CreateBucket makes a missing MinIO bucket instead of failing.
	CreateBucket bool
	Log          *slog.Logger
}

// storage is an opened store and, for local and memory stores, the handler
// of their presigned URLs, to mount at filesPath.
type storage struct {
	backend.Backend
	Files http.Handler
	// Where is what to tell the user: the URL with every secret hidden, or
	// the directory.
	Where string
}

// openStorage opens the store of o and makes it usable from the app's
// pages: a file:// or mem:// URL without base_url and secret gets both (a
// new random HMAC secret, base_url on the app's own origin), a MinIO bucket
// gets a CORS rule for the app's origin, and any store whose URLs are on
// another origin is checked with a CORS preflight like a browser's.
func openStorage(ctx context.Context, o storageOptions) (*storage, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	raw, where := o.URL, backend.RedactURL(o.URL)
	if raw == "" {
		dir := o.Dir
		if dir == "" {
			var err error
			if dir, err = os.MkdirTemp("", "kite-webupload-"); err != nil {
				return nil, err
			}
		}
		dir, err := filepath.Abs(dir)
		if err != nil {
			return nil, err
		}
		raw = (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir), RawQuery: "create_dir=true"}).String()
		where = dir
	} else if o.Dir != "" {
		return nil, errors.New("give a storage URL or a directory, not both")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("storage URL %s: %w", backend.RedactURL(raw), errors.Unwrap(err))
	}
	serveHere := false
	if q := u.Query(); (u.Scheme == "file" || u.Scheme == "mem") && !q.Has("base_url") && !q.Has("secret") {
		q.Set("base_url", o.Origin+filesPath)
		q.Set("secret", newSecret())
		if !q.Has("max_upload_size") {
			q.Set("max_upload_size", strconv.FormatInt(o.MaxSize, 10))
		}
		u.RawQuery = q.Encode()
		serveHere = true
	}
	b, err := backend.Open(ctx, u.String())
	if err != nil {
		return nil, err // Open hides every query value and password
	}
	st := &storage{Backend: b, Where: where}
	fail := func(err error) (*storage, error) {
		b.Close()
		return nil, err
	}
	if serveHere {
		h, ok := b.(interface{ Handler() http.Handler })
		if !ok {
			return fail(fmt.Errorf("%s stores have no handler for their presigned URLs", u.Scheme))
		}
		st.Files = h.Handler()
	}
	mb, isMinIO := b.(*minio.Backend)
	if err := b.Health(ctx); err != nil {
		if !isMinIO || !o.CreateBucket || !errors.Is(err, backend.ErrNotFound) {
			return fail(err)
		}
		if err := mb.Client().MakeBucket(ctx, mb.Bucket(), mc.MakeBucketOptions{}); err != nil {
			return fail(fmt.Errorf("making bucket %q: %w", mb.Bucket(), err))
		}
		o.Log.Info("made the bucket", "bucket", mb.Bucket())
	}
	if isMinIO {
		if err := allowOrigin(ctx, mb, o.Origin, o.Log); err != nil {
			return fail(err)
		}
	}
	if !serveHere {
		if err := checkCORS(ctx, b, o.Origin, isMinIO, o.Log); err != nil {
			return fail(err)
		}
	}
	return st, nil
}

// newSecret returns a random HMAC key for a local store's presigned URLs:
// they stop working when the app restarts, which is fine for URLs that live
// minutes.
func newSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails
	return hex.EncodeToString(b[:])
}

// corsRuleID names the bucket CORS rule this app adds for origin, so that a
// restart finds and keeps it, and apps on other origins keep theirs.
func corsRuleID(origin string) string { return "kite-webupload " + origin }

// allowOrigin adds (or keeps) a CORS rule on the bucket that lets pages of
// origin PUT with a Content-Type and GET, keeping every other rule. MinIO
// itself has no per-bucket CORS (PutBucketCors is NotImplemented) and
// applies its server-wide api cors_allow_origin setting instead, which
// allows every origin unless configured otherwise: then checkCORS tells.
func allowOrigin(ctx context.Context, b *minio.Backend, origin string, log *slog.Logger) error {
	c, bucket := b.Client(), b.Bucket()
	want := cors.Rule{
		ID:            corsRuleID(origin),
		AllowedOrigin: []string{origin},
		AllowedMethod: []string{http.MethodGet, http.MethodHead, http.MethodPut},
		AllowedHeader: []string{"Content-Type"},
		ExposeHeader:  []string{"ETag", "Content-Length", "Content-Disposition"},
		MaxAgeSeconds: 600,
	}
	notImplemented := func(err error) bool { return mc.ToErrorResponse(err).Code == "NotImplemented" }
	serverWide := func() error {
		log.Info("the server has no per-bucket CORS rules: uploads rely on its server-wide rule (MinIO: api cors_allow_origin, MINIO_API_CORS_ALLOW_ORIGIN)",
			"bucket", bucket, "origin", origin)
		return nil
	}
	cur, err := c.GetBucketCors(ctx, bucket) // nil, nil when the bucket has none
	if err != nil {
		if notImplemented(err) {
			return serverWide()
		}
		return fmt.Errorf("reading the CORS rules of bucket %q: %w", bucket, err)
	}
	var rules []cors.Rule
	if cur != nil {
		for _, r := range cur.CORSRules {
			if r.ID != want.ID {
				rules = append(rules, r)
				continue
			}
			if slices.Equal(r.AllowedOrigin, want.AllowedOrigin) && slices.Equal(r.AllowedMethod, want.AllowedMethod) &&
				slices.Equal(r.AllowedHeader, want.AllowedHeader) && slices.Equal(r.ExposeHeader, want.ExposeHeader) {
				return nil // already there
			}
		}
	}
	rules = append(rules, want)
	if err := c.SetBucketCors(ctx, bucket, cors.NewConfig(rules)); err != nil {
		if notImplemented(err) {
			return serverWide()
		}
		return fmt.Errorf("setting the CORS rules of bucket %q: %w", bucket, err)
	}
	log.Info("bucket CORS rule set", "bucket", bucket, "origin", origin)
	return nil
}

// checkCORS sends the preflight a browser sends before the upload's PUT
// (a presigned URL that is never used) and fails when the store would refuse
// the upload from origin. A store the app cannot reach (its public endpoint
// may be visible to browsers only) is a warning.
func checkCORS(ctx context.Context, b backend.Backend, origin string, isMinIO bool, log *slog.Logger) error {
	p, err := b.PresignPut(ctx, probeKey, backend.PresignOptions{ContentType: "application/octet-stream", Size: 1})
	if err != nil {
		return err
	}
	storeOrigin, err := originOf(p.URL)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodOptions, p.URL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", http.MethodPut)
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL and its signature
		}
		log.Warn("could not check the store's CORS rules; uploads fail if they do not allow this origin",
			"store", storeOrigin, "origin", origin, "error", err.Error())
		return nil
	}
	resp.Body.Close()
	allowed := resp.Header.Get("Access-Control-Allow-Origin")
	methods := resp.Header.Get("Access-Control-Allow-Methods")
	if resp.StatusCode/100 == 2 && (allowed == origin || allowed == "*") &&
		(methods == "" || strings.Contains(strings.ToUpper(methods), http.MethodPut)) {
		log.Info("the store allows uploads from the app's pages", "store", storeOrigin, "origin", origin)
		return nil
	}
	hint := "add a CORS rule to the bucket that allows PUT with Content-Type from " + origin
	if isMinIO {
		hint = "MinIO has one server-wide rule: set MINIO_API_CORS_ALLOW_ORIGIN=" + origin +
			" or run `mc admin config set ALIAS api cors_allow_origin=" + origin + "`"
	}
	return fmt.Errorf("the store at %s refuses uploads from pages of %s (CORS preflight: %s, Access-Control-Allow-Origin %q): %s",
		storeOrigin, origin, resp.Status, allowed, hint)
}
