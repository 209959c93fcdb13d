// Package backend defines Kite's object-storage contract: the Backend
// interface, its options and Object, the errors every driver returns, the key
// rules, the document key schema, and the URL registry that opens a driver by
// scheme.
//
// An application imports the drivers it wants for their side effect and
// opens a store by URL, so that changing provider is changing a URL:
//
//	import (
//		"github.com/kitehq/kite/backend"
//		_ "github.com/kitehq/kite/local"
//		_ "github.com/kitehq/kite/s3"
//	)
//
//	b, err := backend.Open(ctx, os.Getenv("STORAGE_URL"))
//
// # Errors
//
// Every error a driver returns for an object is, or wraps, a *Error and
// matches with errors.Is at most one of ErrNotFound (also fs.ErrNotExist),
// ErrExists (fs.ErrExist), ErrPrecondition, ErrInvalidKey (fs.ErrInvalid),
// ErrInvalidArgument (fs.ErrInvalid), ErrPermission (fs.ErrPermission) or
// ErrUnsupported (errors.ErrUnsupported). The provider's own error stays
// reachable with errors.As. No message contains a secret.
//
// # Keys
//
// ValidateKey is the one key rule of every driver. Documents are stored under
// "{userID}/{documentID}/{uuid}{ext}" keys made by NewDocumentKey, so that the
// human file name never enters a key; PutDocument stores one.
//
// # Wrappers
//
// A wrapper takes a Backend and returns one that keeps every method, so that
// wrappers stack like net/http middleware and nothing is lost beneath them.
// None owns what it wraps: its Close closes nothing and only makes its own
// later calls fail with ErrClosed; the caller closes the Backend beneath.
// Each one is run through the conformance suite over memory (ReadOnly through
// its read paths).
//
//   - WithPrefix(b, "tenant-7/") keeps every object of b under a prefix, as if
//     it were a bucket of its own: keys, listings, errors and presigned URLs
//     agree. A prefix that is not a valid key followed by "/" is an error.
//   - ReadOnly(b) passes the reads through and refuses Put, Delete, Copy and
//     PresignPut with ErrPermission before any I/O.
//   - Mirror(primary, secondary, MirrorOptions{...}) writes to both stores and
//     reads from the primary, reporting a secondary left behind through
//     MirrorOptions.OnDivergence (or failing the call with Strict): with
//     kite sync, the zero-downtime move from one provider to another.
//   - Log(b, logger, LogOptions{...}) writes one slog record per call, at the
//     level LogLevel gives its outcome (not-found is Debug, not an error),
//     never with a secret, a URL, a metadata value or a file name.
//   - kiteotel.Instrument(b, kiteotel.Options{...}), in package
//     github.com/kitehq/kite/backend/kiteotel (so that only its importers
//     depend on OpenTelemetry), traces every call and measures calls,
//     errors, bytes and latency.
//
// Wrap the value Open returns; keep that value to reach driver methods such
// as Handler. A tenant's read-only, logged view of a store:
//
//	tenant, err := backend.WithPrefix(b, "tenant-7/")
//	if err != nil {
//		return err
//	}
//	view := backend.Log(backend.ReadOnly(tenant), slog.Default(), backend.LogOptions{Driver: "s3"})
//
// # io/fs
//
// FS(b) is a read-only io/fs view of any Backend: a *FileSystem that
// implements fs.FS, fs.StatFS, fs.ReadDirFS, fs.ReadFileFS and fs.SubFS and
// passes testing/fstest.TestFS, so that http.FileServerFS, template.ParseFS,
// fs.WalkDir and fs.Glob work on any store. A file name is its key
// ("docs/a.txt"), directories are implied by the keys below them, and open
// files are seekable (io.Seeker, io.ReaderAt) through ranged Gets. Errors are
// *fs.PathError values that match both the fs errors and this package's
// sentinels. Its calls use context.Background; WithContext gives a view whose
// calls use another context, such as a request's:
//
//	http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		http.FileServerFS(backend.FS(b).WithContext(r.Context())).ServeHTTP(w, r)
//	})
//
// # Writing a driver
//
// A driver calls CheckPut, CheckGet, CheckList and CheckPresign before any
// I/O, wraps every error in a *Error, reads its URL's query with NewParams,
// registers its scheme with Register in init, and proves itself with
// conformance.Run from its tests.
package backend
