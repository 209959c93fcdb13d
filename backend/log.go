package backend

import (
	"context"
	"errors"
	"io"
	"iter"
	"log/slog"
	"maps"
	"slices"
	"sync/atomic"
	"time"
)

// logDriver is the Driver of the errors the log wrapper makes itself (a call
// after Close).
const logDriver = "log"

// LogOptions configure Log. The zero value logs at the levels of LogLevel
// and names the driver only when a failed call's *Error does.
type LogOptions struct {
	// Driver is logged as "driver" in every record, such as "s3"; "" takes
	// it from the *Error of a failed call, and leaves it out of the others.
	Driver string
	// Level, when set, picks the level of a record from the operation and its
	// error (nil for success) instead of LogLevel.
	Level func(op string, err error) slog.Level
}

// LogLevel is the level Log gives to a call that returned err:
//
//   - slog.LevelDebug: success, and ErrNotFound (an answer, not a failure:
//     Stat is how a caller asks whether a key exists);
//   - slog.LevelInfo: ErrExists and ErrPrecondition (a conditional write
//     refused, as designed) and a cancelled context (the caller gave up);
//   - slog.LevelWarn: ErrInvalidKey, ErrInvalidArgument, ErrUnsupported,
//     ErrClosed and a deadline exceeded (the caller's mistake or limit);
//   - slog.LevelError: everything else, such as ErrPermission or a store
//     that failed.
func LogLevel(err error) slog.Level {
	switch {
	case err == nil, errors.Is(err, ErrNotFound):
		return slog.LevelDebug
	case errors.Is(err, ErrExists), errors.Is(err, ErrPrecondition), errors.Is(err, context.Canceled):
		return slog.LevelInfo
	case errors.Is(err, ErrInvalidKey), errors.Is(err, ErrInvalidArgument), errors.Is(err, ErrUnsupported),
		errors.Is(err, ErrClosed), errors.Is(err, context.DeadlineExceeded):
		return slog.LevelWarn
	}
	return slog.LevelError
}

// Log returns a Backend that writes one record to logger (nil:
// slog.Default()) for every call of b, with the context of the call, the
// message "kite " and the operation ("kite Put"), and these attributes as
// they apply: op, driver, key, src (Copy), the sizes (declared_size of a Put,
// size of the object, offset and length of a ranged Get, objects yielded by
// a List), content_type, metadata_keys, the listing options, method and
// expires_at of a presigned request, duration, and error.
//
// A record never holds a secret or what a reader of the log need not see:
// of a presigned request only the method, key and expiry are logged, never
// the URL (its query is the signature) or its headers; of metadata only the
// keys, since values are user data; of a presigned GET's
// ContentDisposition only whether it is set, since it carries the human
// file name that document keys keep out. Keys are logged: they are what an
// operator searches for.
//
// Get is logged when it returns, before the body is read; List when the
// range loop over it ends, with the time the loop took. The attributes of a
// record below the logger's level are not built.
//
// The returned Backend does not own b: its Close closes nothing and makes
// its own later calls fail with ErrClosed. It is safe for concurrent use
// when b is. A nil b is a programmer error and panics.
func Log(b Backend, logger *slog.Logger, opts LogOptions) Backend {
	if b == nil {
		panic("backend.Log: nil Backend")
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &logged{b: b, l: logger, opts: opts}
}

type logged struct {
	b      Backend
	l      *slog.Logger
	opts   LogOptions
	closed atomic.Bool
}

func (g *logged) closedErr(op, key string) error {
	if g.closed.Load() {
		return &Error{Op: op, Driver: logDriver, Key: key, Err: ErrClosed}
	}
	return nil
}

// level returns the level of the record of op and whether the logger
// writes it.
func (g *logged) level(ctx context.Context, op string, err error) (slog.Level, bool) {
	lv := LogLevel(err)
	if g.opts.Level != nil {
		lv = g.opts.Level(op, err)
	}
	return lv, g.l.Enabled(ctx, lv)
}

// emit writes the record of op: the attributes of the call, then driver,
// duration and error.
func (g *logged) emit(ctx context.Context, lv slog.Level, op string, start time.Time, err error, attrs []slog.Attr) {
	all := make([]slog.Attr, 0, len(attrs)+4)
	all = append(all, slog.String("op", op))
	driver := g.opts.Driver
	var be *Error
	if driver == "" && errors.As(err, &be) {
		driver = be.Driver
	}
	if driver != "" {
		all = append(all, slog.String("driver", driver))
	}
	all = append(all, attrs...)
	all = append(all, slog.Duration("duration", time.Since(start)))
	if err != nil {
		all = append(all, slog.String("error", err.Error()))
	}
	g.l.LogAttrs(ctx, lv, "kite "+op, all...)
}

func metadataKeys(m map[string]string) slog.Attr {
	return slog.Any("metadata_keys", slices.Sorted(maps.Keys(m)))
}

func (g *logged) Put(ctx context.Context, key string, r io.Reader, opts PutOptions) (*Object, error) {
	start := time.Now()
	var obj *Object
	err := g.closedErr("Put", key)
	if err == nil {
		obj, err = g.b.Put(ctx, key, r, opts)
	}
	if lv, ok := g.level(ctx, "Put", err); ok {
		attrs := []slog.Attr{slog.String("key", key)}
		if opts.Size > 0 {
			attrs = append(attrs, slog.Int64("declared_size", opts.Size))
		}
		if opts.ContentType != "" {
			attrs = append(attrs, slog.String("content_type", opts.ContentType))
		}
		if len(opts.Metadata) > 0 {
			attrs = append(attrs, metadataKeys(opts.Metadata))
		}
		if opts.IfNotExists {
			attrs = append(attrs, slog.Bool("if_not_exists", true))
		}
		if opts.IfMatch != "" {
			attrs = append(attrs, slog.String("if_match", opts.IfMatch))
		}
		if err == nil && obj != nil {
			attrs = append(attrs, slog.Int64("size", obj.Size), slog.String("etag", obj.ETag))
		}
		g.emit(ctx, lv, "Put", start, err, attrs)
	}
	return obj, err
}

func (g *logged) Get(ctx context.Context, key string, opts GetOptions) (io.ReadCloser, *Object, error) {
	start := time.Now()
	var (
		rc  io.ReadCloser
		obj *Object
	)
	err := g.closedErr("Get", key)
	if err == nil {
		rc, obj, err = g.b.Get(ctx, key, opts)
	}
	if lv, ok := g.level(ctx, "Get", err); ok {
		attrs := []slog.Attr{slog.String("key", key)}
		if !opts.IsWhole() {
			attrs = append(attrs, slog.Int64("offset", opts.Offset), slog.Int64("length", opts.Length))
		}
		if err == nil && obj != nil {
			attrs = append(attrs, slog.Int64("size", obj.Size), slog.String("content_type", obj.ContentType))
		}
		g.emit(ctx, lv, "Get", start, err, attrs)
	}
	return rc, obj, err
}

func (g *logged) Stat(ctx context.Context, key string) (*Object, error) {
	start := time.Now()
	var obj *Object
	err := g.closedErr("Stat", key)
	if err == nil {
		obj, err = g.b.Stat(ctx, key)
	}
	if lv, ok := g.level(ctx, "Stat", err); ok {
		attrs := []slog.Attr{slog.String("key", key)}
		if err == nil && obj != nil {
			attrs = append(attrs, slog.Int64("size", obj.Size))
		}
		g.emit(ctx, lv, "Stat", start, err, attrs)
	}
	return obj, err
}

func (g *logged) Delete(ctx context.Context, key string) error {
	start := time.Now()
	err := g.closedErr("Delete", key)
	if err == nil {
		err = g.b.Delete(ctx, key)
	}
	if lv, ok := g.level(ctx, "Delete", err); ok {
		g.emit(ctx, lv, "Delete", start, err, []slog.Attr{slog.String("key", key)})
	}
	return err
}

func (g *logged) List(ctx context.Context, opts ListOptions) iter.Seq2[*Object, error] {
	return func(yield func(*Object, error) bool) {
		start := time.Now()
		n := 0
		err := g.closedErr("List", "")
		defer func() {
			if lv, ok := g.level(ctx, "List", err); ok {
				attrs := []slog.Attr{slog.String("prefix", opts.Prefix)}
				if opts.StartAfter != "" {
					attrs = append(attrs, slog.String("start_after", opts.StartAfter))
				}
				if opts.Delimiter != "" {
					attrs = append(attrs, slog.String("delimiter", opts.Delimiter))
				}
				attrs = append(attrs, slog.Int("objects", n))
				g.emit(ctx, lv, "List", start, err, attrs)
			}
		}()
		if err != nil {
			yield(nil, err)
			return
		}
		for o, e := range g.b.List(ctx, opts) {
			if e != nil {
				err = e
				yield(nil, e)
				return
			}
			n++
			if !yield(o, nil) {
				return
			}
		}
	}
}

func (g *logged) Copy(ctx context.Context, dst, src string) (*Object, error) {
	start := time.Now()
	var obj *Object
	err := g.closedErr("Copy", dst)
	if err == nil {
		obj, err = g.b.Copy(ctx, dst, src)
	}
	if lv, ok := g.level(ctx, "Copy", err); ok {
		attrs := []slog.Attr{slog.String("key", dst), slog.String("src", src)}
		if err == nil && obj != nil {
			attrs = append(attrs, slog.Int64("size", obj.Size))
		}
		g.emit(ctx, lv, "Copy", start, err, attrs)
	}
	return obj, err
}

func (g *logged) presign(ctx context.Context, op, key string, opts PresignOptions, call func() (*PresignedRequest, error)) (*PresignedRequest, error) {
	start := time.Now()
	var pr *PresignedRequest
	err := g.closedErr(op, key)
	if err == nil {
		pr, err = call()
	}
	if lv, ok := g.level(ctx, op, err); ok {
		attrs := []slog.Attr{slog.String("key", key)}
		if opts.Expires != 0 {
			attrs = append(attrs, slog.Duration("expires", opts.Expires))
		}
		if opts.ContentType != "" {
			attrs = append(attrs, slog.String("content_type", opts.ContentType))
		}
		if opts.Size != 0 {
			attrs = append(attrs, slog.Int64("declared_size", opts.Size))
		}
		if opts.ContentDisposition != "" {
			attrs = append(attrs, slog.Bool("content_disposition", true))
		}
		if err == nil && pr != nil {
			// Never the URL or the headers: the query is the signature.
			attrs = append(attrs, slog.String("method", pr.Method), slog.Time("expires_at", pr.Expires))
		}
		g.emit(ctx, lv, op, start, err, attrs)
	}
	return pr, err
}

func (g *logged) PresignGet(ctx context.Context, key string, opts PresignOptions) (*PresignedRequest, error) {
	return g.presign(ctx, "PresignGet", key, opts, func() (*PresignedRequest, error) { return g.b.PresignGet(ctx, key, opts) })
}

func (g *logged) PresignPut(ctx context.Context, key string, opts PresignOptions) (*PresignedRequest, error) {
	return g.presign(ctx, "PresignPut", key, opts, func() (*PresignedRequest, error) { return g.b.PresignPut(ctx, key, opts) })
}

func (g *logged) Health(ctx context.Context) error {
	start := time.Now()
	err := g.closedErr("Health", "")
	if err == nil {
		err = g.b.Health(ctx)
	}
	if lv, ok := g.level(ctx, "Health", err); ok {
		g.emit(ctx, lv, "Health", start, err, nil)
	}
	return err
}

// Close makes later calls fail with ErrClosed. It does not close the wrapped
// backend, which the wrapper does not own.
func (g *logged) Close() error {
	start := time.Now()
	g.closed.Store(true)
	if lv, ok := g.level(context.Background(), "Close", nil); ok {
		g.emit(context.Background(), lv, "Close", start, nil, nil)
	}
	return nil
}
