// Command webupload is a small web app on Kite that uploads documents from
// the browser straight to storage and serves them back under their original
// names. It shows the flow Kite is built for:
//
//  1. The page sends the chosen file's name, size and type to
//     POST /api/uploads. The app validates them, makes a document key
//     "{user}/{doc}/{uuid}{ext}" (backend.NewDocumentKey: the human name
//     never enters the key), writes a small name record (see names.go) and
//     answers with a presigned PUT whose Content-Type and size are signed.
//  2. The page uploads the file with fetch() straight to the store: the
//     bytes never pass through the app.
//  3. POST /api/uploads/complete: the app Stats the object and refuses (and
//     deletes) an upload whose size or type is not the declared one.
//  4. The page lists the user's documents (List with the prefix "{user}/");
//     GET /download/{doc} redirects (303) to a presigned GET whose response
//     has Content-Disposition: attachment with the original name, encoded
//     per RFC 6266 and RFC 8187 so that any name arrives intact.
//
// The user is whoever the "user" query parameter (remembered in a cookie)
// says: a demo only, with no authentication at all. A real application
// takes the user ID from its login.
//
// Usage:
//
//	go run ./examples/webupload                      # a new directory under $TMPDIR
//	go run ./examples/webupload -dir /srv/documents  # a directory of your choice
//	go run ./examples/webupload -create-bucket \
//	    -storage 'minio://ACCESS:SECRET@127.0.0.1:9000/documents?secure=false'
//	STORAGE_URL='s3://bucket?region=eu-west-1' go run ./examples/webupload
//
// then open the printed URL. With the local driver (the default, or a
// file:// or mem:// URL without base_url) the app generates an HMAC secret at
// start and serves the presigned URLs itself under /files/. On MinIO it adds
// a bucket CORS rule for the app's origin where the server supports one, and
// checks with a browser-like preflight that uploads from the page are
// allowed. Flags:
//
//	-addr           address to listen on (default 127.0.0.1:8080)
//	-origin         the app's origin as browsers see it (default http://ADDR)
//	-storage        store URL (default $STORAGE_URL; empty: local directory)
//	-dir            local directory when no store URL is given
//	-max-size       largest upload, e.g. 100MiB (default 100MiB)
//	-create-bucket  make a missing MinIO bucket
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/kitehq/kite/backend"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log, os.Stderr, os.Args[1:]); err != nil {
		log.Error("webupload", "error", err.Error())
		os.Exit(1)
	}
}

// run is the program: it parses args (flag messages go to stderr), serves
// until SIGINT or SIGTERM, and returns why it stopped.
func run(log *slog.Logger, stderr io.Writer, args []string) error {
	fs := flag.NewFlagSet("webupload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	origin := fs.String("origin", "", "the app's origin as browsers see it (default http://ADDR)")
	storageURL := fs.String("storage", os.Getenv("STORAGE_URL"), "store URL (default $STORAGE_URL; empty: a local directory)")
	dir := fs.String("dir", "", "local directory when no store URL is given (default: a new one under the temporary directory)")
	maxSizeFlag := fs.String("max-size", "100MiB", "largest upload")
	createBucket := fs.Bool("create-bucket", false, "make a missing MinIO bucket")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	maxSize, err := backend.ParseSize(*maxSizeFlag)
	if err != nil || maxSize <= 0 {
		return fmt.Errorf("-max-size %q: want a positive size such as 100MiB", *maxSizeFlag)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if *origin == "" {
		*origin = defaultOrigin(ln.Addr().(*net.TCPAddr))
	}
	*origin = strings.TrimSuffix(*origin, "/")

	openCtx, cancel := context.WithTimeout(ctx, time.Minute)
	st, err := openStorage(openCtx, storageOptions{
		URL: *storageURL, Dir: *dir, Origin: *origin, MaxSize: maxSize, CreateBucket: *createBucket, Log: log,
	})
	cancel()
	if err != nil {
		return err
	}
	defer st.Close()
	h, err := newApp(ctx, st, config{MaxSize: maxSize, Files: st.Files, Origin: *origin, Log: log})
	if err != nil {
		return err
	}

	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No ReadTimeout or WriteTimeout: a local store's uploads and
		// downloads stream through this server and may take long.
	}
	log.Info("serving", "url", *origin+"/", "storage", st.Where, "max_size", formatSize(maxSize))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// defaultOrigin is where a browser on this machine reaches a listener:
// loopback when it listens on every address.
func defaultOrigin(a *net.TCPAddr) string {
	host := a.IP.String()
	if a.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(a.Port))
}
