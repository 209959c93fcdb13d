package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/kitehq/kite/backend"
)

func init() {
	register("serve", "serve the presigned URLs of a file:// or mem:// store over HTTP", runServe)
}

const serveUsage = `  kite serve [--store URL] [--addr 127.0.0.1:8080] [--shutdown-timeout 10s]

Serves the presigned URLs of a file:// or mem:// store (GET, HEAD, PUT and
CORS preflight) on --addr, mounted at the path of the store URL's base_url:
  kite serve --store 'file:///srv/docs?base_url=http://127.0.0.1:8080/files/&secret=…'
listens on 127.0.0.1:8080 and answers under /files/. URLs that "kite presign"
(or the application) signs with the same store URL work against it. A mem://
store lives as long as the server. Other stores serve their own URLs and are
refused.

Each request is logged on stderr (log/slog text): method, path (never the
query, where the signature is), status, bytes, duration. SIGINT or SIGTERM
stops accepting connections, lets requests in flight finish for up to
--shutdown-timeout, and exits with 0; a second signal stops at once.
`

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	setUsage(fs, stderr, serveUsage)
	storeURL := storeFlag(fs)
	addr := fs.String("addr", "127.0.0.1:8080", "host:port to listen on")
	grace := fs.Duration("shutdown-timeout", 10*time.Second, "how long requests in flight may take to finish on SIGINT/SIGTERM")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 0, 0, "no arguments"); err != nil {
		return err
	}
	raw := *storeURL
	if raw == "" {
		raw = os.Getenv(storeEnv)
	}
	mount, err := servePath(raw)
	if err != nil {
		return err
	}
	b, redacted, err := openStore(ctx, raw)
	if err != nil {
		return err
	}
	defer b.Close()
	h, ok := b.(interface{ Handler() http.Handler })
	if !ok {
		return fmt.Errorf("%w: the %T store has no Handler to serve", errUsage, b)
	}

	log := slog.New(slog.NewTextHandler(stderr, nil))
	srv := &http.Server{
		Handler:           accessLog(log, under(mount, h.Handler())),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	log.Info("listening", "addr", ln.Addr().String(), "path", mount, "store", redacted)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return err // never http.ErrServerClosed: only Shutdown below closes it
	case <-ctx.Done():
	}
	// A second SIGINT or SIGTERM now kills the process, as it would any other.
	signal.Reset(os.Interrupt, syscall.SIGTERM)
	log.Info("shutting down", "timeout", grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: requests still in flight after %s: %w", *grace, err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// servePath checks that raw is a store serve can run, before anything is
// opened, and returns the path of its base_url, ending in "/", to mount the
// handler at.
func servePath(raw string) (string, error) {
	if raw == "" {
		return "", fmt.Errorf("%w: no store: pass --store URL or set %s", errUsage, storeEnv)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: bad store URL %s", errUsage, backend.RedactURL(raw))
	}
	switch strings.ToLower(u.Scheme) {
	case "file", "mem":
	default:
		return "", fmt.Errorf("%w: serve runs the signed-URL handler of file:// and mem:// stores only; a %s:// store serves its own presigned URLs", errUsage, u.Scheme)
	}
	base := u.Query().Get("base_url")
	if base == "" || u.Query().Get("secret") == "" {
		return "", fmt.Errorf("%w: the store URL needs base_url and secret: presigned URLs start with base_url and are signed with secret", errUsage)
	}
	bu, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("%w: base_url does not parse", errUsage)
	}
	p := bu.Path
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p, nil
}

// under passes requests for paths under mount to h and answers 404 to the
// rest. A plain prefix test, not a ServeMux pattern: base_url's path may hold
// characters that patterns give a meaning to (spaces, braces).
func under(mount string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, mount) {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// accessLog logs each request after it is answered. The path is logged, the
// query never: it carries the signature.
func accessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &logRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", status),
			slog.Int64("bytes", rec.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", r.RemoteAddr),
		)
	})
}

// logRecorder notes the status and the number of body bytes written.
type logRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *logRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *logRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// ReadFrom keeps the connection's own ReadFrom (sendfile for a file body).
func (r *logRecorder) ReadFrom(src io.Reader) (int64, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := io.Copy(r.ResponseWriter, src)
	r.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *logRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Flush passes a flush on, for handlers that stream.
func (r *logRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
