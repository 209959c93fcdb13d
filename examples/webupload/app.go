package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kitehq/kite/backend"
)

//go:embed templates/index.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

const (
	// filesPath is where the handler of a local or memory store is mounted
	// and what its base_url points at.
	filesPath = "/files/"

	// userCookie names the demo user. DEMO ONLY: anyone can claim any user;
	// a real application takes the user from its authentication.
	userCookie  = "demo_user"
	defaultUser = "demo"

	// putExpiry is the life of a presigned PUT: the upload must start within it.
	putExpiry = 15 * time.Minute
	// getExpiry is the life of a presigned GET; the app makes a new one for
	// every click on a download link, so it can be short.
	getExpiry = 5 * time.Minute

	maxNameLen     = 255     // bytes of a file name (what most file systems allow)
	maxTypeLen     = 255     // bytes of a media type
	maxJSONBody    = 4 << 10 // an API request body
	maxRecordBytes = 8 << 10 // a name record read back from the store
	maxListed      = 200     // documents shown per user
)

var (
	// userIDPattern is stricter than backend's document-ID rule (no dot), so
	// that a user ID is always a plain path segment.
	userIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	// docIDPattern is what newDocumentID makes.
	docIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// config is what newApp needs besides the store.
type config struct {
	// MaxSize is the largest upload accepted, in bytes.
	MaxSize int64
	// Files serves the presigned URLs of a local or memory store at
	// filesPath; nil when the store serves its own (MinIO, S3, GCS).
	Files http.Handler
	// Origin is the app's origin as browsers see it; POSTs from it are
	// trusted even when a proxy changes the Host header. "" = same host.
	Origin string
	// Log receives one line per failed request; never a secret or a
	// presigned URL.
	Log *slog.Logger
}

// app is the web application: the page, its JSON API and the downloads.
// It keeps no state of its own besides the store, so several instances can
// serve the same store.
type app struct {
	store   backend.Backend
	maxSize int64
	log     *slog.Logger
	page    *template.Template
	csp     string
}

// newApp returns the application's handler over store. It presigns once
// (no network call) to learn the storage origin the page may connect to,
// so a store that cannot presign fails here rather than at the first upload.
func newApp(ctx context.Context, store backend.Backend, cfg config) (http.Handler, error) {
	if cfg.MaxSize <= 0 {
		return nil, errors.New("max size must be positive")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	page, err := template.New("index.html").Funcs(template.FuncMap{"size": formatSize}).ParseFS(templateFS, "templates/index.html")
	if err != nil {
		return nil, err
	}
	probe, err := store.PresignPut(ctx, probeKey, backend.PresignOptions{ContentType: "application/octet-stream", Size: 1})
	if err != nil {
		return nil, fmt.Errorf("the store cannot make presigned URLs, which this app needs: %w", err)
	}
	storageOrigin, err := originOf(probe.URL)
	if err != nil {
		return nil, err
	}
	a := &app{
		store:   store,
		maxSize: cfg.MaxSize,
		log:     cfg.Log,
		page:    page,
		// No inline script or style, and fetch() may reach the app and the
		// store only.
		csp: "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
			"connect-src 'self' " + storageOrigin + "; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
	}

	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.index)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /api/documents", a.listDocuments)
	mux.HandleFunc("POST /api/uploads", a.createUpload)
	mux.HandleFunc("POST /api/uploads/complete", a.completeUpload)
	mux.HandleFunc("GET /download/{doc}", a.download)
	mux.HandleFunc("GET /healthz", a.health)

	// Refuses cross-origin POSTs from browsers (CSRF): the demo user is a
	// cookie, which a browser would send along.
	csrf := http.NewCrossOriginProtection()
	if cfg.Origin != "" {
		// Behind a proxy the Host header may not be the origin's host.
		if err := csrf.AddTrustedOrigin(cfg.Origin); err != nil {
			return nil, fmt.Errorf("origin %q: %w", cfg.Origin, err)
		}
	}
	root := http.NewServeMux()
	root.Handle("/", csrf.Handler(mux))
	if cfg.Files != nil {
		// Presigned URLs are their own authorisation (and may be used
		// cross-origin where CORS allows): no CSRF check there.
		root.Handle(filesPath, cfg.Files)
	}
	return securityHeaders(root), nil
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		h.ServeHTTP(w, r)
	})
}

// originOf returns the scheme://host[:port] of an absolute URL.
func originOf(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("the store made a presigned URL that is not absolute http(s)")
	}
	return u.Scheme + "://" + u.Host, nil
}

// apiError is an error with the status and the message the client gets.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// fail answers err as JSON. An *apiError is shown as it is; any other error
// is logged (backend errors carry no secret) and shown as a fixed text.
func (a *app) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		switch {
		case errors.Is(err, context.Canceled):
			ae = &apiError{http.StatusServiceUnavailable, "request cancelled"}
		default:
			a.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
				slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("error", err.Error()))
			ae = &apiError{http.StatusInternalServerError, "storage error"}
		}
	}
	writeJSON(w, ae.status, map[string]string{"error": ae.msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// readJSON decodes a small JSON request body into v, refusing another
// content type, unknown fields and trailing data.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &apiError{http.StatusUnsupportedMediaType, "want Content-Type: application/json"}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &apiError{http.StatusRequestEntityTooLarge, "request body too large"}
		}
		return badRequest("malformed JSON request")
	}
	if dec.Decode(&struct{}{}) != io.EOF {
		return badRequest("malformed JSON request: trailing data")
	}
	return nil
}

// user returns the demo user of r: the "user" query parameter of the page
// (which index remembers in a cookie), else the cookie, else "demo".
func (a *app) user(r *http.Request) (string, error) {
	id := defaultUser
	if c, err := r.Cookie(userCookie); err == nil {
		id = c.Value
	}
	if !userIDPattern.MatchString(id) {
		return "", badRequest("invalid user: want 1 to 64 of A-Z a-z 0-9 _ -")
	}
	return id, nil
}

// document is a complete upload as the page shows it.
type document struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Size     int64     `json:"size"`
	Type     string    `json:"type"`
	Uploaded time.Time `json:"uploaded"`
	URL      string    `json:"url"` // the app's download link, not a presigned URL
}

func (a *app) index(w http.ResponseWriter, r *http.Request) {
	if q := r.URL.Query(); q.Has("user") {
		id := q.Get("user")
		if !userIDPattern.MatchString(id) {
			http.Error(w, "invalid user: want 1 to 64 of A-Z a-z 0-9 _ -", http.StatusBadRequest)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: userCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	user, err := a.user(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	docs, err := a.documents(r.Context(), user)
	if err != nil {
		a.storageError(w, r, err)
		return
	}
	w.Header().Set("Content-Security-Policy", a.csp)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	err = a.page.Execute(w, map[string]any{"User": user, "Documents": docs, "MaxSize": a.maxSize})
	if err != nil {
		a.log.LogAttrs(r.Context(), slog.LevelError, "rendering the page", slog.String("error", err.Error()))
	}
}

func (a *app) listDocuments(w http.ResponseWriter, r *http.Request) {
	user, err := a.user(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	docs, err := a.documents(r.Context(), user)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": user, "documents": docs})
}

// documents lists the complete uploads of user, newest first: the objects
// under "{user}/" that have a name record of the same key and size. An
// object without one is an upload that was never confirmed (or was
// refused), and is not shown.
func (a *app) documents(ctx context.Context, user string) ([]document, error) {
	docs := []document{}
	for obj, err := range a.store.List(ctx, backend.ListOptions{Prefix: user + "/"}) {
		if err != nil {
			return nil, err
		}
		dk, err := backend.ParseDocumentKey(obj.Key)
		if err != nil || dk.UserID != user || !docIDPattern.MatchString(dk.DocumentID) {
			continue // not a document of this app
		}
		rec, err := a.loadRecord(ctx, user, dk.DocumentID)
		if errors.Is(err, backend.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if rec.Key != obj.Key || rec.Size != obj.Size {
			continue
		}
		docs = append(docs, document{
			ID: dk.DocumentID, Name: rec.Name, Size: obj.Size, Type: obj.ContentType,
			Uploaded: obj.LastModified, URL: "/download/" + dk.DocumentID,
		})
		if len(docs) == maxListed {
			break
		}
	}
	slices.SortFunc(docs, func(x, y document) int {
		if c := y.Uploaded.Compare(x.Uploaded); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return docs, nil
}

type createRequest struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	Type string `json:"type"`
}

type createResponse struct {
	Document string            `json:"document"`
	Method   string            `json:"method"`
	URL      string            `json:"url"`
	Headers  map[string]string `json:"headers"`
	Expires  time.Time         `json:"expires"`
}

// createUpload validates the file's name, size and type, makes a new
// document key (the name never enters it), records the name and returns a
// presigned PUT with the type and the exact size signed.
func (a *app) createUpload(w http.ResponseWriter, r *http.Request) {
	user, err := a.user(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req createRequest
	if err := readJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	name, err := cleanName(req.Name)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ctype, err := cleanType(req.Type)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	switch {
	case req.Size <= 0:
		// Size 0 would mean "any length" to PresignPut.
		a.fail(w, r, badRequest("empty files are not accepted"))
		return
	case req.Size > a.maxSize:
		a.fail(w, r, &apiError{http.StatusRequestEntityTooLarge, "file too large: at most " + formatSize(a.maxSize)})
		return
	}
	docID := newDocumentID()
	key, err := backend.NewDocumentKey(user, docID, backend.ExtOf(name))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// Presign first: it is local, and a failure leaves nothing behind.
	p, err := a.store.PresignPut(r.Context(), key, backend.PresignOptions{Expires: putExpiry, ContentType: ctype, Size: req.Size})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	rec := record{Version: 1, Key: key, Name: name, Size: req.Size, Type: ctype, Created: time.Now().UTC()}
	if err := a.saveRecord(r.Context(), user, docID, rec); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, createResponse{
		Document: docID, Method: p.Method, URL: p.URL, Headers: browserHeaders(p.Header), Expires: p.Expires,
	})
}

// browserHeaders returns the headers fetch() must send. Content-Length is
// left out: a browser refuses to set it and sends the body's own length,
// which the signature then checks against the size signed.
func browserHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for name, v := range h {
		if len(v) == 0 || strings.EqualFold(name, "Content-Length") || strings.EqualFold(name, "Host") {
			continue
		}
		out[name] = v[0]
	}
	return out
}

type completeRequest struct {
	Document string `json:"document"`
}

// completeUpload checks the upload against what was declared, with the
// store's own size and type (Stat), and refuses (deleting the object) one
// that differs: not every provider enforces a signed size or type.
func (a *app) completeUpload(w http.ResponseWriter, r *http.Request) {
	user, err := a.user(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req completeRequest
	if err := readJSON(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if !docIDPattern.MatchString(req.Document) {
		a.fail(w, r, badRequest("invalid document ID"))
		return
	}
	rec, err := a.loadRecord(r.Context(), user, req.Document)
	if errors.Is(err, backend.ErrNotFound) {
		a.fail(w, r, &apiError{http.StatusNotFound, "no such upload"})
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	obj, err := a.store.Stat(r.Context(), rec.Key)
	if errors.Is(err, backend.ErrNotFound) {
		a.fail(w, r, &apiError{http.StatusConflict, "the file has not reached the store"})
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if obj.Size != rec.Size || obj.ContentType != rec.Type {
		if err := a.store.Delete(r.Context(), rec.Key); err != nil {
			a.fail(w, r, err)
			return
		}
		a.fail(w, r, &apiError{http.StatusUnprocessableEntity, fmt.Sprintf(
			"the stored file (%d bytes, %s) is not the one declared (%d bytes, %s): refused and deleted",
			obj.Size, obj.ContentType, rec.Size, rec.Type)})
		return
	}
	writeJSON(w, http.StatusOK, document{
		ID: req.Document, Name: rec.Name, Size: obj.Size, Type: obj.ContentType,
		Uploaded: obj.LastModified, URL: "/download/" + req.Document,
	})
}

// download redirects to a presigned GET whose response carries the
// original file name in Content-Disposition.
func (a *app) download(w http.ResponseWriter, r *http.Request) {
	user, err := a.user(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	docID := r.PathValue("doc")
	if !docIDPattern.MatchString(docID) {
		http.Error(w, "invalid document ID", http.StatusBadRequest)
		return
	}
	rec, err := a.loadRecord(r.Context(), user, docID)
	var obj *backend.Object
	if err == nil {
		obj, err = a.store.Stat(r.Context(), rec.Key)
	}
	switch {
	case errors.Is(err, backend.ErrNotFound), err == nil && obj.Size != rec.Size:
		http.Error(w, "no such document", http.StatusNotFound)
		return
	case err != nil:
		a.storageError(w, r, err)
		return
	}
	p, err := a.store.PresignGet(r.Context(), rec.Key, backend.PresignOptions{
		Expires: getExpiry, ContentDisposition: contentDisposition(rec.Name),
	})
	if err != nil {
		a.storageError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, p.URL, http.StatusSeeOther)
}

// storageError answers a failure of the store on a page (not API) request.
func (a *app) storageError(w http.ResponseWriter, r *http.Request, err error) {
	a.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	http.Error(w, "storage error", http.StatusInternalServerError)
}

func (a *app) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := a.store.Health(ctx); err != nil {
		a.log.LogAttrs(r.Context(), slog.LevelError, "health check failed", slog.String("error", err.Error()))
		http.Error(w, "storage unavailable", http.StatusServiceUnavailable)
		return
	}
	_, _ = io.WriteString(w, "ok\n")
}

// newDocumentID returns 128 random bits in hex.
func newDocumentID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails
	return hex.EncodeToString(b[:])
}

// cleanType returns the media type the upload must be sent with: the
// browser's (File.type, from the name's extension) in canonical form, or
// application/octet-stream when it has none.
func cleanType(t string) (string, error) {
	if t == "" {
		return "application/octet-stream", nil
	}
	if len(t) > maxTypeLen {
		return "", badRequest("media type longer than %d bytes", maxTypeLen)
	}
	mt, params, err := mime.ParseMediaType(t)
	if err != nil {
		return "", badRequest("invalid media type")
	}
	out := mime.FormatMediaType(mt, params)
	if out == "" || !strings.Contains(mt, "/") {
		return "", badRequest("invalid media type")
	}
	return out, nil
}

func formatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
