package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/signurl"
	"github.com/kitehq/kite/internal/xio"
)

func init() {
	backend.Register("file", open)
}

// Tuning.
const (
	// copyBufSize is the buffer Put writes through: few write syscalls for
	// large objects, and small enough to pool.
	copyBufSize = 256 << 10
	// smallFile is the largest file Get reads whole in one pread and serves
	// from memory, closing the file at once.
	smallFile = 64 << 10
	// copyChunk is how much Copy lets the kernel copy (copy_file_range)
	// between two checks of the context.
	copyChunk = 8 << 20
	// mkdirAttempts bounds the retries of Put when a concurrent Delete
	// removes the empty directory it is about to write in.
	mkdirAttempts = 100

	dirPerm  = 0o750
	filePerm = 0o640
)

// Options configure a Backend. The zero value fsyncs every write, requires
// the directory to exist and disables presigned URLs.
type Options struct {
	// NoSync skips every fsync: faster, but a crash of the machine may lose
	// or tear recent writes (never the atomicity seen by readers).
	NoSync bool
	// CreateDir creates the directory and its parents when missing.
	CreateDir bool
	// BaseURL is the absolute http or https URL where Handler is mounted;
	// presigned URLs start with it. Presigning needs BaseURL and Secret.
	BaseURL string
	// Secret is the HMAC key of presigned URLs, at least 32 characters.
	Secret string
	// MaxUploadSize is the largest presigned PUT Handler accepts; 0 = 5 GiB.
	MaxUploadSize int64
	// NoSweep skips the background Sweep that New starts, which removes the
	// temporary files of writers that died mid-write.
	NoSweep bool
	// CORSOrigins are the origins (scheme://host[:port], or "*") browsers may
	// use presigned URLs from.
	CORSOrigins []string
}

// Backend stores objects as files under one directory. It implements
// backend.Backend and is safe for concurrent use, also by several processes
// (and several Backends) on the same directory.
type Backend struct {
	dir    string
	root   *os.Root
	nosync bool
	signer *signurl.Signer // nil: presigning disabled
	closed atomic.Bool
	bufs   sync.Pool // *[]byte of copyBufSize
	small  sync.Pool // *[]byte of smallFile: the whole small objects Get reads

	stopSweep func()   // cancels the background Sweep and waits; nil: none
	dirFile   *os.File // the root directory, for openFile; nil: not used
}

var _ backend.Backend = (*Backend)(nil)

// New returns a Backend storing objects under dir, which must be a directory
// (created with its parents when opts.CreateDir is set). Errors match
// backend.ErrNotFound for a missing directory and backend.ErrInvalidArgument
// for bad options; they never contain dir or the secret.
func New(dir string, opts Options) (*Backend, error) {
	if runtime.GOOS == "windows" {
		return nil, openErr(backend.Errorf(backend.ErrUnsupported, "the file driver does not run on Windows"))
	}
	if dir == "" {
		return nil, openErr(backend.Errorf(backend.ErrInvalidArgument, "empty directory"))
	}
	signer, err := signurl.New(signurl.Config{
		BaseURL:     opts.BaseURL,
		Secret:      opts.Secret,
		MaxUpload:   opts.MaxUploadSize,
		CORSOrigins: opts.CORSOrigins,
	})
	if err != nil {
		return nil, openErr(err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, openErr(err)
	}
	if opts.CreateDir {
		if err := os.MkdirAll(abs, dirPerm); err != nil {
			return nil, openErr(err)
		}
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, openErr(err)
	}
	if !fi.IsDir() {
		return nil, openErr(backend.Errorf(backend.ErrInvalidArgument, "not a directory"))
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, openErr(err)
	}
	dirFile, err := openDirFile(root)
	if err != nil {
		root.Close()
		return nil, openErr(err)
	}
	b := &Backend{dir: abs, root: root, nosync: opts.NoSync, signer: signer, dirFile: dirFile}
	b.bufs.New = func() any {
		buf := make([]byte, copyBufSize)
		return &buf
	}
	if !opts.NoSweep {
		b.startSweep()
	}
	return b, nil
}

func openErr(err error) error { return wrap("Open", "", err) }

// open is the Opener of the file scheme.
func open(_ context.Context, u *url.URL) (backend.Backend, error) {
	p := backend.NewParams(u)
	opts := Options{
		CreateDir: p.Bool("create_dir", false),
		NoSync:    p.Bool("nosync", false),
	}
	cfg := signurl.FromParams(p)
	if err := p.Err(); err != nil {
		return nil, openErr(err)
	}
	if u.User != nil {
		return nil, openErr(backend.Errorf(backend.ErrInvalidArgument, "file URL with user information"))
	}
	if u.Host != "" && u.Host != "localhost" {
		return nil, openErr(backend.Errorf(backend.ErrInvalidArgument, "file URL host must be empty or localhost: want file:///absolute/path"))
	}
	if u.Opaque != "" || !path.IsAbs(u.Path) {
		return nil, openErr(backend.Errorf(backend.ErrInvalidArgument, "file URL needs an absolute path: want file:///absolute/path"))
	}
	opts.BaseURL, opts.Secret = cfg.BaseURL, cfg.Secret
	opts.MaxUploadSize, opts.CORSOrigins = cfg.MaxUpload, cfg.CORSOrigins
	b, err := New(filepath.FromSlash(u.Path), opts)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return b, nil
}

// Dir returns the absolute path of the directory the objects live in.
func (b *Backend) Dir() string { return b.dir }

// Handler serves the presigned URLs of this backend (GET with Range and
// Content-Disposition, HEAD, PUT with the size limit, CORS). Mount it at the
// path of Options.BaseURL. Without presigning configured it refuses every
// request.
func (b *Backend) Handler() http.Handler { return b.signer.Handler(b) }

// ready reports ErrClosed after Close, and a done context.
func (b *Backend) ready(ctx context.Context) error {
	if b.closed.Load() {
		return backend.ErrClosed
	}
	return ctx.Err()
}

func (b *Backend) getBuf() *[]byte  { return b.bufs.Get().(*[]byte) }
func (b *Backend) putBuf(p *[]byte) { b.bufs.Put(p) }

// newETag returns 16 random bytes in hex: an ETag changes on every write,
// also when the bytes are the same, and costs no hashing.
func newETag() string {
	var r [16]byte
	rand.Read(r[:])
	return hex.EncodeToString(r[:])
}

func randomName(prefix string) string {
	var r [8]byte
	rand.Read(r[:])
	return prefix + hex.EncodeToString(r[:])
}

// Put stores r under key, atomically; see backend.Backend. A failed or
// cancelled Put leaves the old object (or none) and no temporary file.
func (b *Backend) Put(ctx context.Context, key string, r io.Reader, opts backend.PutOptions) (*backend.Object, error) {
	if err := backend.CheckPut(key, r, opts); err != nil {
		return nil, wrap("Put", key, err)
	}
	if err := b.ready(ctx); err != nil {
		return nil, wrap("Put", key, err)
	}
	ct := opts.ContentType
	if ct == "" {
		ct = backend.DefaultContentType
	}
	a := &attrs{Key: key, ContentType: ct, Metadata: maps.Clone(opts.Metadata), ETag: newETag()}
	src := xio.Context(ctx, r)
	if opts.Size > 0 {
		src = xio.Exact(src, opts.Size)
	}
	fill := func(f *os.File) (int64, error) { return b.writeFrom(f, src, a) }
	obj, err := b.store(ctx, key, a, fill, commitMode{ifNotExists: opts.IfNotExists, ifMatch: opts.IfMatch})
	if err != nil {
		return nil, wrap("Put", key, err)
	}
	return obj, nil
}

// writeFrom copies src and then a's trailer into f through a pooled buffer,
// so that a small object and its trailer take one write.
func (b *Backend) writeFrom(f *os.File, src io.Reader, a *attrs) (int64, error) {
	bp := b.getBuf()
	defer b.putBuf(bp)
	buf := *bp
	var size int64
	n := 0 // bytes of buf not yet written
	for {
		m, err := src.Read(buf[n:])
		n += m
		size += int64(m)
		if n == len(buf) {
			if _, werr := f.Write(buf); werr != nil {
				return size, werr
			}
			n = 0
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return size, err
		}
	}
	a.MTime = time.Now().UnixNano()
	_, err := f.Write(appendTrailer(buf[:n], a))
	return size, err
}

// commitMode is the precondition of a write.
type commitMode struct {
	ifNotExists bool
	ifMatch     string
}

// store writes a new object file for key with fill (which writes the data
// and the trailer and returns the data size) into a temporary file next to
// the target, syncs it and commits it with mode. On any failure the temporary
// file is removed and the old object stays.
func (b *Backend) store(ctx context.Context, key string, a *attrs, fill func(*os.File) (int64, error), mode commitMode) (*backend.Object, error) {
	dir, name, err := keyPath(key)
	if err != nil {
		return nil, err
	}
	// Every step works in dir opened once: one path walk per write
	// instead of one per system call.
	d, f, tmp, err := b.createTemp(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	committed := false
	defer func() {
		if !committed {
			f.Close()
			d.Remove(tmp)
		}
	}()
	size, err := fill(f)
	if err != nil {
		return nil, err
	}
	if !b.nosync {
		if err := f.Sync(); err != nil {
			return nil, err
		}
	}
	// A cancellation that arrived after the last read still stops the write.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := commit(ctx, d, tmp, name, mode); err != nil {
		return nil, err
	}
	committed = true
	// f stays open, and locked, until the commit: an unlocked temporary
	// file is one Sweep may remove. Its data is synced already (or nosync
	// asked not to), so a late error here is the rare delayed write error
	// of nosync; the object is in place, and the error is reported.
	if err := f.Close(); err != nil {
		return nil, err
	}
	if !b.nosync {
		if err := syncDir(d, "."); err != nil {
			return nil, err
		}
	}
	return a.object(size), nil
}

// object returns the Object described by a trailer and a data size.
func (a *attrs) object(size int64) *backend.Object {
	return &backend.Object{
		Key:          a.Key,
		Size:         size,
		ContentType:  a.ContentType,
		ETag:         a.ETag,
		LastModified: time.Unix(0, a.MTime).UTC(),
		Metadata:     a.Metadata,
	}
}

// createTemp creates a new temporary file in dir, creating dir when missing.
// It returns dir opened (see dirHandle), the file and its name in dir.
func (b *Backend) createTemp(dir string) (dirHandle, *os.File, string, error) {
	for attempt := 0; ; attempt++ {
		d, err := b.openDirHandle(dir)
		if err == nil {
			tmp := randomName(tempPrefix)
			var f *os.File
			f, err = d.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, filePerm)
			if err == nil {
				// Held until the commit, so that Sweep knows the
				// file is being written. Sweep may have taken the
				// file in the moment before the lock, and removed
				// it: then make another.
				var mine bool
				if mine, err = lockedTemp(f); mine {
					return d, f, tmp, nil
				}
				f.Close()
				if err != nil {
					d.Remove(tmp)
					d.Close()
					return nil, nil, "", err
				}
				err = fs.ErrExist // try another name
			}
			d.Close()
		}
		if attempt >= mkdirAttempts {
			return nil, nil, "", err
		}
		switch {
		case errors.Is(err, fs.ErrExist):
			continue // a random name taken: try another
		case !errors.Is(err, fs.ErrNotExist) || dir == ".":
			return nil, nil, "", err
		}
		// The directory is missing, never made or just removed by a Delete
		// cleaning up empty parents (creating in a removed directory also
		// fails with ENOENT): (re)make it and try again. MkdirAll itself
		// fails with ENOENT when a parent it just made is removed, or EEXIST
		// when one it found is removed before it can use it: that is the
		// same race, so retry it too.
		if err := b.mkdirAll(dir); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrExist) {
			return nil, nil, "", err
		}
	}
}

// dirHandle is a directory of the store opened for the steps of one write,
// each on a name in it: an *os.Root, or on Linux a rawDir, which does the
// same with one system call per step.
type dirHandle interface {
	OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error)
	Open(name string) (*os.File, error)
	Stat(name string) (fs.FileInfo, error)
	Link(oldname, newname string) error
	Rename(oldname, newname string) error
	Remove(name string) error
	Close() error
}

// lockedTemp locks f, a new temporary file, and reports whether its name
// still names it once locked (false: Sweep removed it meanwhile). A
// temporary file has one name, never reused, so it is still in place while
// it has a link.
func lockedTemp(f *os.File) (bool, error) {
	if err := lockFile(f); err != nil {
		return false, err
	}
	return linked(f)
}

// mkdirAll makes dir and its parents and, unless nosync, makes the new
// directory entries durable by syncing every parent up to the root.
func (b *Backend) mkdirAll(dir string) error {
	if err := b.root.MkdirAll(dir, dirPerm); err != nil {
		return err
	}
	if b.nosync {
		return nil
	}
	for d := path.Dir(dir); ; d = path.Dir(d) {
		if err := syncDir(b.root, d); err != nil {
			return err
		}
		if d == "." {
			return nil
		}
	}
}

// syncDir fsyncs directory name of r, making the renames and links in it durable.
func syncDir(r dirHandle, name string) error {
	d, err := r.Open(name)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// commit moves the finished temporary file tmp in directory d to target
// (a name in d) under mode.
//
// IfNotExists links tmp to target: link refuses to replace, atomically, also
// against other processes. Every other replacement (IfMatch, plain Put,
// Delete) first locks the file currently at target (lockCurrent), so that
// whoever holds the lock on the file at a path is the only one who may
// replace it: an IfMatch check and its rename cannot be split by another
// write. Creating where nothing exists is also a link, so that it cannot
// slip between another writer's check and rename either.
func commit(ctx context.Context, d dirHandle, tmp, target string, mode commitMode) error {
	if mode.ifNotExists {
		err := d.Link(tmp, target)
		if err != nil {
			if errors.Is(err, fs.ErrExist) {
				return backend.Errorf(backend.ErrExists, "object already exists")
			}
			return err
		}
		d.Remove(tmp)
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		cur, err := lockCurrent(d, target)
		if err != nil {
			return err
		}
		if cur == nil {
			if mode.ifMatch != "" {
				return backend.Errorf(backend.ErrPrecondition, "precondition failed: object does not exist")
			}
			err := d.Link(tmp, target)
			if errors.Is(err, fs.ErrExist) {
				continue // created meanwhile: replace it under its lock
			}
			if err != nil {
				return err
			}
			d.Remove(tmp)
			return nil
		}
		if mode.ifMatch != "" {
			fi, err := cur.Stat()
			var a *attrs
			if err == nil {
				a, _, err = readAttrs(cur, fi.Size())
			}
			if err != nil {
				cur.Close()
				return err
			}
			if a.ETag != mode.ifMatch {
				cur.Close()
				return backend.Errorf(backend.ErrPrecondition, "precondition failed: ETag does not match")
			}
		}
		err = d.Rename(tmp, target)
		cur.Close() // releases the lock, after the rename
		return err
	}
}

// lockCurrent opens and flocks the file at target in d and returns it once it is
// sure the file is still the one at target (not replaced or removed while it
// waited for the lock). It returns nil and no error when there is no file at
// target. Closing the file releases the lock.
func lockCurrent(d dirHandle, target string) (*os.File, error) {
	for {
		f, err := d.Open(target)
		if err != nil {
			if isMissing(err) {
				return nil, nil
			}
			return nil, err
		}
		if err := lockFile(f); err != nil {
			f.Close()
			return nil, err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		// Stat, not Lstat, matches what Open followed (a symbolic link
		// inside the root), so the check cannot fail forever.
		now, err := d.Stat(target)
		if err != nil {
			f.Close()
			if isMissing(err) {
				return nil, nil
			}
			return nil, err
		}
		if sameFile(fi, now) {
			return f, nil
		}
		f.Close()
	}
}

// openObject opens key's object file and reads its attributes. A missing
// file, a missing parent or a parent that is a file match backend.ErrNotFound.
func (b *Backend) openObject(key string) (f *os.File, size int64, err error) {
	dir, name, err := keyPath(key)
	if err != nil {
		return nil, 0, err
	}
	f, err = b.openFile(joinPath(dir, name))
	if err != nil {
		return nil, 0, notFound(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, errCorrupt
	}
	return f, fi.Size(), nil
}

// loadFileRoot is loadFile through os.Root.
func (b *Backend) loadFileRoot(name string, buf []byte) (data []byte, f *os.File, size int64, err error) {
	f, err = b.root.Open(name)
	if err != nil {
		return nil, nil, 0, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errCorrupt
	}
	if err != nil {
		f.Close()
		return nil, nil, 0, err
	}
	if size = fi.Size(); size > int64(len(buf)) {
		return nil, f, size, nil
	}
	data = buf[:size]
	_, err = f.ReadAt(data, 0)
	f.Close()
	if err == io.EOF {
		err = errCorrupt // the file shrank: not one of ours
	}
	if err != nil {
		return nil, nil, 0, err
	}
	return data, nil, size, nil
}

// openAttrs opens key's object file and reads and checks its attributes;
// the caller closes f.
func (b *Backend) openAttrs(key string) (f *os.File, a *attrs, dataSize int64, err error) {
	f, size, err := b.openObject(key)
	if err != nil {
		return nil, nil, 0, err
	}
	if a, dataSize, err = keyAttrs(f, size, key); err != nil {
		f.Close()
		return nil, nil, 0, err
	}
	return f, a, dataSize, nil
}

// keyAttrs reads the attributes of f, key's object file of size bytes, and
// checks the key in them.
func keyAttrs(f *os.File, size int64, key string) (*attrs, int64, error) {
	a, dataSize, err := readAttrs(f, size)
	if err == nil {
		err = checkKey(a, key)
	}
	return a, dataSize, err
}

// checkKey verifies the key in a trailer. For a long last segment the file
// name is a hash and the trailer is the only record of the key.
func checkKey(a *attrs, key string) error {
	last := key[strings.LastIndexByte(key, '/')+1:]
	if a.Key != key && len(last) >= backend.MaxSegmentLen {
		return backend.Errorf(backend.ErrNotFound, "object not found")
	}
	a.Key = key // the path is authoritative for other keys
	return nil
}

// Get opens key's object, or the byte range of opts; see backend.Backend.
// The reader is an io.ReadSeeker over the range and stops with ctx's error
// once ctx is done.
func (b *Backend) Get(ctx context.Context, key string, opts backend.GetOptions) (io.ReadCloser, *backend.Object, error) {
	if err := backend.CheckGet(key, opts); err != nil {
		return nil, nil, wrap("Get", key, err)
	}
	if err := b.ready(ctx); err != nil {
		return nil, nil, wrap("Get", key, err)
	}
	rc, obj, err := b.get(ctx, key, opts)
	if err != nil {
		return nil, nil, wrap("Get", key, err)
	}
	return rc, obj, nil
}

func (b *Backend) get(ctx context.Context, key string, opts backend.GetOptions) (io.ReadCloser, *backend.Object, error) {
	dir, name, err := keyPath(key)
	if err != nil {
		return nil, nil, err
	}
	// A small file is read whole, data and trailer, into a pooled buffer
	// and closed at once; the reader returns the buffer at Close.
	bp := b.smallBuf()
	buf, f, size, err := b.loadFile(joinPath(dir, name), (*bp)[:smallFile])
	if f != nil || err != nil {
		b.small.Put(bp)
	}
	if err != nil {
		return nil, nil, notFound(err)
	}
	if f == nil {
		a, dataSize, _, err := parseTail(buf, size, key)
		if err == nil {
			err = checkKey(a, key)
		}
		var off, n int64
		if err == nil {
			off, n, err = opts.Range(dataSize)
		}
		if err != nil {
			b.small.Put(bp)
			return nil, nil, err
		}
		return &reader{ctx: ctx, rs: bytes.NewReader(buf[off : off+n]), b: b, pooled: bp}, a.object(dataSize), nil
	}
	a, dataSize, err := keyAttrs(f, size, key)
	var off, n int64
	if err == nil {
		off, n, err = opts.Range(dataSize)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return &reader{ctx: ctx, rs: io.NewSectionReader(f, off, n), c: f, b: b}, a.object(dataSize), nil
}

// reader is the ReadCloser of Get. It keeps io.Seeker (the signed-URL
// handler serves ranges with http.ServeContent when it can seek), checks the
// context before every read, and copies through a large pooled buffer in
// WriteTo.
type reader struct {
	ctx    context.Context
	rs     io.ReadSeeker
	c      io.Closer // the file, or nil for an object read into memory
	b      *Backend  // buffer pools
	pooled *[]byte   // the buffer of an object read into memory, returned at Close
}

// smallBuf returns a buffer of smallFile bytes from the pool.
func (b *Backend) smallBuf() *[]byte {
	if p, ok := b.small.Get().(*[]byte); ok {
		return p
	}
	buf := make([]byte, smallFile)
	return &buf
}

// closedReader is a reader after Close: its buffer is back in the pool.
type closedReader struct{}

func (closedReader) Read([]byte) (int, error)       { return 0, os.ErrClosed }
func (closedReader) Seek(int64, int) (int64, error) { return 0, os.ErrClosed }

// Read reads from the object, failing with the context's error once it is done.
func (r *reader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.rs.Read(p)
}

// Seek sets the offset of the next Read within the requested range.
func (r *reader) Seek(offset int64, whence int) (int64, error) {
	return r.rs.Seek(offset, whence)
}

// WriteTo copies the rest of the object to w (io.Copy uses it).
func (r *reader) WriteTo(w io.Writer) (int64, error) {
	if br, ok := r.rs.(*bytes.Reader); ok {
		if err := r.ctx.Err(); err != nil {
			return 0, err
		}
		return br.WriteTo(w)
	}
	bp := r.b.getBuf()
	defer r.b.putBuf(bp)
	return io.CopyBuffer(w, struct{ io.Reader }{r}, *bp)
}

// Close releases the file or the buffer; later calls fail with os.ErrClosed.
func (r *reader) Close() error {
	if r.pooled != nil {
		r.rs = closedReader{}
		r.b.small.Put(r.pooled)
		r.pooled = nil
		return nil
	}
	if r.c == nil {
		return nil
	}
	return r.c.Close()
}

// Stat returns key's attributes without reading its bytes.
func (b *Backend) Stat(ctx context.Context, key string) (*backend.Object, error) {
	if err := backend.ValidateKey(key); err != nil {
		return nil, wrap("Stat", key, err)
	}
	if err := b.ready(ctx); err != nil {
		return nil, wrap("Stat", key, err)
	}
	f, a, dataSize, err := b.openAttrs(key)
	if err != nil {
		return nil, wrap("Stat", key, err)
	}
	f.Close()
	return a.object(dataSize), nil
}

// Delete removes key, then the directories it leaves empty. Deleting a
// missing key is not an error. Delete is atomic against IfMatch and Put on
// the same key, also in other processes.
func (b *Backend) Delete(ctx context.Context, key string) error {
	dir, name, err := keyPath(key)
	if err != nil {
		return wrap("Delete", key, err)
	}
	if err := b.ready(ctx); err != nil {
		return wrap("Delete", key, err)
	}
	d, err := b.openDirHandle(dir)
	if err != nil {
		if isMissing(err) {
			return nil
		}
		return wrap("Delete", key, err)
	}
	err = b.remove(d, name)
	d.Close()
	if err != nil {
		return wrap("Delete", key, err)
	}
	// Best effort: the first directory that is not empty (or is being
	// written into) stops the climb. A Put racing with this recreates it.
	for d := dir; d != "."; d = path.Dir(d) {
		if b.root.Remove(d) != nil {
			break
		}
	}
	return nil
}

// remove removes the object file name from d under its lock.
func (b *Backend) remove(d dirHandle, name string) error {
	cur, err := lockCurrent(d, name)
	if err != nil || cur == nil {
		return err
	}
	err = d.Remove(name)
	cur.Close()
	if err != nil {
		if isMissing(err) {
			return nil
		}
		return err
	}
	if !b.nosync {
		return syncDir(d, ".")
	}
	return nil
}

// Copy copies src's bytes, content type and metadata to dst, with a new
// ETag. The kernel copies the bytes where it can (copy_file_range). A missing
// src matches backend.ErrNotFound.
func (b *Backend) Copy(ctx context.Context, dst, src string) (*backend.Object, error) {
	if key, err := backend.CheckCopy(dst, src); err != nil {
		return nil, wrap("Copy", key, err)
	}
	if err := b.ready(ctx); err != nil {
		return nil, wrap("Copy", dst, err)
	}
	in, sa, dataSize, err := b.openAttrs(src)
	if err != nil {
		return nil, wrap("Copy", src, err)
	}
	defer in.Close()
	a := &attrs{Key: dst, ContentType: sa.ContentType, Metadata: sa.Metadata, ETag: newETag()}
	fill := func(f *os.File) (int64, error) {
		// in's offset is 0: it was only read with pread.
		for left := dataSize; left > 0; {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			n, err := io.CopyN(f, in, min(left, copyChunk))
			left -= n
			if err != nil {
				if err == io.EOF {
					err = errCorrupt
				}
				return 0, err
			}
		}
		a.MTime = time.Now().UnixNano()
		_, err := f.Write(appendTrailer(nil, a))
		return dataSize, err
	}
	obj, err := b.store(ctx, dst, a, fill, commitMode{})
	if err != nil {
		return nil, wrap("Copy", dst, err)
	}
	return obj, nil
}

// PresignGet returns a signed URL that downloads key from Handler until it
// expires; backend.ErrUnsupported without base URL and secret.
func (b *Backend) PresignGet(ctx context.Context, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	return b.presign("PresignGet", http.MethodGet, key, opts)
}

// PresignPut returns a signed URL that uploads key through Handler until it
// expires; backend.ErrUnsupported without base URL and secret.
func (b *Backend) PresignPut(ctx context.Context, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	return b.presign("PresignPut", http.MethodPut, key, opts)
}

func (b *Backend) presign(op, method, key string, opts backend.PresignOptions) (*backend.PresignedRequest, error) {
	if b.closed.Load() {
		return nil, wrap(op, key, backend.ErrClosed)
	}
	req, err := b.signer.Presign(method, key, opts)
	if err != nil {
		return nil, wrap(op, key, err)
	}
	return req, nil
}

// Health reports whether the directory is still a directory and writable,
// by creating and removing a temporary file in it.
func (b *Backend) Health(ctx context.Context) error {
	if err := b.ready(ctx); err != nil {
		return wrap("Health", "", err)
	}
	fi, err := b.root.Stat(".")
	if err != nil {
		return wrap("Health", "", err)
	}
	if !fi.IsDir() {
		return wrap("Health", "", errors.New("root is not a directory"))
	}
	name := randomName(tempPrefix + "health-")
	f, err := b.root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, filePerm)
	if err != nil {
		return wrap("Health", "", err)
	}
	err = f.Close()
	// A Sweep may remove the (unlocked) file first.
	if rerr := b.root.Remove(name); err == nil && !isMissing(rerr) {
		err = rerr
	}
	return wrap("Health", "", err)
}

// Close closes the directory. Calls after Close, and a second Close, fail
// with an error matching backend.ErrClosed. Readers from Get stay usable.
func (b *Backend) Close() error {
	if b.closed.Swap(true) {
		return wrap("Close", "", backend.ErrClosed)
	}
	if b.stopSweep != nil {
		b.stopSweep()
	}
	if b.dirFile != nil {
		b.dirFile.Close()
	}
	return wrap("Close", "", b.root.Close())
}
