package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// FileSystem is a read-only io/fs view of a Backend, made by FS. It
// implements fs.FS, fs.StatFS, fs.ReadDirFS, fs.ReadFileFS and fs.SubFS, and
// passes testing/fstest.TestFS, so http.FileServerFS, template.ParseFS,
// fs.WalkDir and fs.Glob work on any store.
//
// # Names
//
// A name is an fs.ValidPath and maps 1:1 to a key: file "a/b.txt" is the
// object "a/b.txt". "." is the root directory; it always exists, even when
// the store is empty. A name that fs.ValidPath refuses fails with an error
// matching fs.ErrInvalid. A valid path that no key can have (a backslash, a
// control character, more than MaxKeyLen bytes, a segment longer than
// MaxSegmentLen) fails with fs.ErrNotExist, the error's text saying why: no
// object can be stored under it, and http.FileServerFS answers 404, not 500.
//
// # Directories
//
// Directories are implied by keys: "a/b/c" makes directories "a" and "a/b".
// A directory exists while a key lies below it; it has no modification time,
// and mode fs.ModeDir|0o555. Stores such as memory and local can hold an
// object "a" beside keys "a/…": then the file wins: Open, Stat and ReadDir
// show "a" as that object (once, as a file), and the keys below it are not
// listed, though each can still be opened by its name. This is also what
// MinIO shows, which lists no key below an object of the same name.
//
// # Files
//
// A file has mode 0o444, the object's size, its LastModified in UTC to the
// second as ModTime (the precision that every store gives both in a listing
// and in a HEAD), and the *Object as Sys(). Open makes one Stat call, plus a
// List of one key when the name is not an object; reading starts with the
// first Read. Open files implement io.Seeker and io.ReaderAt with ranged
// Gets: a Seek moves the offset without I/O and the next Read reopens the
// object there; ReadAt reads exactly its range. A read that finds the object
// replaced since Open (another ETag or size) fails with an error matching
// ErrPrecondition instead of mixing two versions.
//
// # Context
//
// Every call uses the FileSystem's context: context.Background for FS(b);
// WithContext gives a view whose calls, and the reads of the files it opens,
// stop when ctx is done. For http.FileServerFS, use the request's context:
//
//	http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		http.FileServerFS(fsys.WithContext(r.Context())).ServeHTTP(w, r)
//	})
//
// Errors are *fs.PathError{Op, Path, Err} with the name as Path; the
// Backend's *Error stays reachable with errors.As, and errors.Is matches
// both the fs errors and this package's sentinels (a missing file matches
// fs.ErrNotExist and ErrNotFound). A FileSystem is safe for concurrent use,
// and so are the files it opens. It does not own b: nothing it does closes b.
type FileSystem struct {
	b    Backend
	ctx  context.Context
	root string // "" or a valid key followed by "/": the directory of a Sub
}

// FS returns the io/fs view of b, with context.Background for its calls
// (see WithContext).
func FS(b Backend) *FileSystem {
	return &FileSystem{b: b, ctx: context.Background()}
}

// WithContext returns a view of the same store whose calls, and the reads of
// the files it opens, use ctx. It panics if ctx is nil, like
// http.Request.WithContext.
func (f *FileSystem) WithContext(ctx context.Context) *FileSystem {
	if ctx == nil {
		panic("backend: FileSystem.WithContext with a nil context")
	}
	c := *f
	c.ctx = ctx
	return &c
}

var (
	_ fs.FS         = (*FileSystem)(nil)
	_ fs.StatFS     = (*FileSystem)(nil)
	_ fs.ReadDirFS  = (*FileSystem)(nil)
	_ fs.ReadFileFS = (*FileSystem)(nil)
	_ fs.SubFS      = (*FileSystem)(nil)

	_ fs.File        = (*fsFile)(nil)
	_ io.Seeker      = (*fsFile)(nil)
	_ io.ReaderAt    = (*fsFile)(nil)
	_ fs.ReadDirFile = (*fsDir)(nil)
)

var (
	errIsDir     = errors.New("is a directory")
	errNotDir    = errors.New("not a directory")
	errNoBackend = errors.New("nil backend")
)

// maxPrealloc caps the buffer ReadFile allocates from the size a store
// reports; beyond it the buffer grows with the bytes that actually arrive.
const maxPrealloc = 16 << 20

func pathErr(op, name string, err error) error {
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// key returns the key of name ("" for the root) after checking name.
func (f *FileSystem) key(op, name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", pathErr(op, name, fs.ErrInvalid)
	}
	if f.b == nil {
		return "", pathErr(op, name, errNoBackend)
	}
	if name == "." {
		return "", nil
	}
	key := f.root + name
	if err := ValidateKey(key); err != nil {
		// No object can be stored under this name, so none exists; the
		// key rule's message says why, without matching ErrInvalidKey.
		return "", pathErr(op, name, fmt.Errorf("%w (%v)", fs.ErrNotExist, err))
	}
	return key, nil
}

// dirPrefix is the List prefix of the directory whose key is key.
func (f *FileSystem) dirPrefix(key string) string {
	if key == "" {
		return f.root
	}
	return key + "/"
}

// hasKeysUnder reports whether any key starts with prefix.
func (f *FileSystem) hasKeysUnder(prefix string) (bool, error) {
	for _, err := range f.b.List(f.ctx, ListOptions{Prefix: prefix, PageSize: 1}) {
		if err != nil {
			return false, err
		}
		return true, nil
	}
	return false, nil
}

// lookup finds name: the object for a file, nil for a directory.
func (f *FileSystem) lookup(op, name string) (*Object, error) {
	key, err := f.key(op, name)
	if err != nil || key == "" {
		return nil, err
	}
	obj, err := f.b.Stat(f.ctx, key)
	if err == nil {
		return obj, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, pathErr(op, name, err)
	}
	dir, lerr := f.hasKeysUnder(key + "/")
	if lerr != nil {
		return nil, pathErr(op, name, lerr)
	}
	if !dir {
		return nil, pathErr(op, name, err) // Stat's ErrNotFound
	}
	return nil, nil
}

// Open opens the file or directory name. A file's content is read by its
// first Read; a directory is a fs.ReadDirFile.
func (f *FileSystem) Open(name string) (fs.File, error) {
	obj, err := f.lookup("open", name)
	if err != nil {
		return nil, err
	}
	if obj == nil {
		return f.openDir(name), nil
	}
	return &fsFile{fsys: f, name: name, key: f.root + name, info: objectInfo(path.Base(name), obj)}, nil
}

func (f *FileSystem) openDir(name string) *fsDir {
	key := ""
	if name != "." {
		key = f.root + name
	}
	return &fsDir{fsys: f, name: name, prefix: f.dirPrefix(key)}
}

// Stat returns the FileInfo of name, with the calls of Open.
func (f *FileSystem) Stat(name string) (fs.FileInfo, error) {
	obj, err := f.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	if obj == nil {
		return dirInfo(name), nil
	}
	return objectInfo(path.Base(name), obj), nil
}

// ReadDir returns the entries of directory name sorted by name, with one
// Stat (that name is not a file) and a List of the directory. On an error it
// returns the entries read before it.
func (f *FileSystem) ReadDir(name string) ([]fs.DirEntry, error) {
	key, err := f.key("readdir", name)
	if err != nil {
		return nil, err
	}
	var notFound error
	if key != "" {
		_, err := f.b.Stat(f.ctx, key)
		switch {
		case err == nil:
			return nil, pathErr("readdir", name, errNotDir)
		case !errors.Is(err, ErrNotFound):
			return nil, pathErr("readdir", name, err)
		}
		notFound = err
	}
	entries, err := f.openDir(name).ReadDir(-1)
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	if err != nil {
		return entries, err
	}
	if len(entries) == 0 && notFound != nil {
		return nil, pathErr("readdir", name, notFound)
	}
	return entries, nil
}

// ReadFile returns the content of file name in a new slice, with one Get.
// The size the store reports sizes the buffer (up to 16 MiB, then it grows
// as bytes arrive) and is checked against the bytes read: a shorter body is
// io.ErrUnexpectedEOF.
func (f *FileSystem) ReadFile(name string) ([]byte, error) {
	key, err := f.key("open", name)
	if err != nil {
		return nil, err
	}
	if key == "" {
		return nil, pathErr("read", name, errIsDir)
	}
	rc, obj, err := f.b.Get(f.ctx, key, GetOptions{})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			if dir, lerr := f.hasKeysUnder(key + "/"); lerr == nil && dir {
				return nil, pathErr("read", name, errIsDir)
			}
		}
		return nil, pathErr("open", name, err)
	}
	defer rc.Close()
	data, err := readSized(rc, obj.Size)
	if err != nil {
		return nil, pathErr("read", name, err)
	}
	return data, nil
}

// readSized reads r to the end and checks that it held size bytes.
func readSized(r io.Reader, size int64) ([]byte, error) {
	buf := make([]byte, 0, min(max(size, 0), maxPrealloc)+1) // +1: the read that sees EOF
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	switch n := int64(len(buf)); {
	case n < size:
		return nil, fmt.Errorf("read %d bytes of a %d-byte object: %w", n, size, io.ErrUnexpectedEOF)
	case n > size:
		return nil, fmt.Errorf("read %d bytes from a %d-byte object", n, size)
	}
	return buf, nil
}

// Sub returns the view of directory dir, sharing this one's context. Like
// fs.Sub it does not check that dir exists. A dir that no key can start
// with is fs.ErrNotExist.
func (f *FileSystem) Sub(dir string) (fs.FS, error) {
	key, err := f.key("sub", dir)
	if err != nil {
		return nil, err
	}
	if key == "" {
		return f, nil
	}
	c := *f
	c.root = key + "/"
	return &c, nil
}

// fileInfo is the fs.FileInfo of a file or a directory.
type fileInfo struct {
	name  string
	size  int64
	mode  fs.FileMode
	mtime time.Time
	obj   *Object // nil for a directory
}

func objectInfo(name string, o *Object) *fileInfo {
	return &fileInfo{name: name, size: o.Size, mode: 0o444, mtime: modTime(o.LastModified), obj: o}
}

func dirInfo(name string) *fileInfo {
	return &fileInfo{name: path.Base(name), mode: fs.ModeDir | 0o555}
}

// modTime drops what a HEAD does not carry, so that a listed entry and a
// Stat of it agree (S3 lists milliseconds, its Last-Modified header seconds).
func modTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Second)
}

func (i *fileInfo) Name() string       { return i.name }
func (i *fileInfo) Size() int64        { return i.size }
func (i *fileInfo) Mode() fs.FileMode  { return i.mode }
func (i *fileInfo) ModTime() time.Time { return i.mtime }
func (i *fileInfo) IsDir() bool        { return i.mode.IsDir() }
func (i *fileInfo) String() string     { return fs.FormatFileInfo(i) }

// Sys returns the *Object of a file (from Stat, or from List for a
// directory entry, which may lack ContentType and Metadata), nil for a
// directory.
func (i *fileInfo) Sys() any {
	if i.obj == nil {
		return nil
	}
	return i.obj
}

// fsFile is an open file. Its offset and body are guarded by mu; ReadAt
// shares neither, so parallel ReadAt calls are fine.
type fsFile struct {
	fsys *FileSystem
	name string
	key  string
	info *fileInfo

	mu     sync.Mutex
	pos    int64
	body   io.ReadCloser // open at pos, or nil
	closed bool
}

func (f *fsFile) Stat() (fs.FileInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, pathErr("stat", f.name, fs.ErrClosed)
	}
	return f.info, nil
}

// get opens the range [off, off+n) (n 0: to the end) of the object that
// was opened, and fails if it has been replaced since.
func (f *fsFile) get(off, n int64) (io.ReadCloser, error) {
	rc, obj, err := f.fsys.b.Get(f.fsys.ctx, f.key, GetOptions{Offset: off, Length: n})
	if err != nil {
		return nil, err
	}
	was := f.info.obj
	if obj.Size != was.Size || obj.ETag != "" && was.ETag != "" && obj.ETag != was.ETag {
		rc.Close()
		return nil, Errorf(ErrPrecondition, "the object changed since it was opened (ETag %q, size %d; now %q, %d)", was.ETag, was.Size, obj.ETag, obj.Size)
	}
	return rc, nil
}

func (f *fsFile) dropBody() {
	if f.body != nil {
		_ = f.body.Close()
		f.body = nil
	}
}

// Read reads from the offset, opening the object there (to its end) when
// no body is open.
func (f *fsFile) Read(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, pathErr("read", f.name, fs.ErrClosed)
	}
	size := f.info.size
	if f.pos >= size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if f.body == nil {
		rc, err := f.get(f.pos, 0)
		if err != nil {
			return 0, pathErr("read", f.name, err)
		}
		f.body = rc
	}
	if rest := size - f.pos; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := f.body.Read(p)
	f.pos += int64(n)
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF && f.pos == size:
		return n, io.EOF
	case err == io.EOF:
		err = fmt.Errorf("the object ended at byte %d of %d: %w", f.pos, size, io.ErrUnexpectedEOF)
	}
	// A later Read reopens the object at the offset reached.
	f.dropBody()
	return n, pathErr("read", f.name, err)
}

// Seek sets the offset without I/O; a body open elsewhere is closed and the
// next Read opens the object at the new offset. Offsets past the end are
// allowed (Read then returns io.EOF), negative ones are fs.ErrInvalid.
func (f *fsFile) Seek(offset int64, whence int) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, pathErr("seek", f.name, fs.ErrClosed)
	}
	var base int64
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		base = f.pos
	case io.SeekEnd:
		base = f.info.size
	default:
		return 0, pathErr("seek", f.name, fmt.Errorf("%w: whence %d", fs.ErrInvalid, whence))
	}
	if offset > 0 && base > math.MaxInt64-offset || base+offset < 0 {
		return 0, pathErr("seek", f.name, fmt.Errorf("%w: offset %d from %d", fs.ErrInvalid, offset, base))
	}
	if next := base + offset; next != f.pos {
		f.dropBody()
		f.pos = next
	}
	return f.pos, nil
}

// ReadAt reads len(p) bytes at off with one Get of exactly that range (cut
// at the end of the object, then it returns io.EOF). It neither uses nor
// moves the offset of Read and Seek.
func (f *fsFile) ReadAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	closed := f.closed
	f.mu.Unlock()
	if closed {
		return 0, pathErr("read", f.name, fs.ErrClosed)
	}
	if off < 0 {
		return 0, pathErr("read", f.name, fmt.Errorf("%w: negative offset %d", fs.ErrInvalid, off))
	}
	if len(p) == 0 {
		return 0, nil
	}
	size := f.info.size
	if off >= size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), size-off)
	rc, err := f.get(off, want)
	if err != nil {
		return 0, pathErr("read", f.name, err)
	}
	defer rc.Close()
	n, err := io.ReadFull(rc, p[:want])
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = fmt.Errorf("the object ended at byte %d of %d: %w", off+int64(n), size, io.ErrUnexpectedEOF)
		}
		return n, pathErr("read", f.name, err)
	}
	if want < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

// Close closes the body; later calls fail with fs.ErrClosed.
func (f *fsFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return pathErr("close", f.name, fs.ErrClosed)
	}
	f.closed = true
	if f.body != nil {
		err := f.body.Close()
		f.body = nil
		if err != nil {
			return pathErr("close", f.name, err)
		}
	}
	return nil
}

// fsDir is an open directory. ReadDir lists it with Delimiter "/" from where
// the last call stopped, so that no listing stays open between calls.
type fsDir struct {
	fsys   *FileSystem
	name   string
	prefix string // the keys of the entries start with it

	mu     sync.Mutex
	after  string // the last key read; the next List starts after it
	eof    bool
	closed bool
	// files holds the listed object keys that a later common prefix could
	// repeat as a directory: "a" until the listing passes "a/". They nest
	// ("a", "a-b", "a-b.c"), so the last one is always the first to pass.
	files []string
}

func (d *fsDir) Stat() (fs.FileInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, pathErr("stat", d.name, fs.ErrClosed)
	}
	return dirInfo(d.name), nil
}

func (d *fsDir) Read([]byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return 0, pathErr("read", d.name, fs.ErrClosed)
	}
	return 0, pathErr("read", d.name, errIsDir)
}

func (d *fsDir) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return pathErr("close", d.name, fs.ErrClosed)
	}
	d.closed = true
	return nil
}

// ReadDir returns the next n entries in key order (a directory "a" is where
// "a/" sorts), then an empty slice and io.EOF; for n <= 0 it returns all the
// remaining entries and a nil error. Each call with n > 0 makes a List with
// a PageSize of n that stops after n entries.
func (d *fsDir) ReadDir(n int) ([]fs.DirEntry, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, pathErr("readdir", d.name, fs.ErrClosed)
	}
	if d.eof {
		if n > 0 {
			return nil, io.EOF
		}
		return nil, nil
	}
	opts := ListOptions{Prefix: d.prefix, StartAfter: d.after, Delimiter: "/"}
	if n > 0 {
		opts.PageSize = min(n, 1000)
	}
	var out []fs.DirEntry
	for obj, err := range d.fsys.b.List(d.fsys.ctx, opts) {
		if err != nil {
			return out, pathErr("readdir", d.name, err)
		}
		e, err := d.entry(obj)
		if err != nil {
			return out, pathErr("readdir", d.name, err)
		}
		d.after = obj.Key
		if e == nil {
			continue
		}
		out = append(out, e)
		if n > 0 && len(out) == n {
			return out, nil
		}
	}
	d.eof = true
	if n > 0 && len(out) == 0 {
		return nil, io.EOF
	}
	return out, nil
}

// entry turns a listed object or common prefix into an entry, or nil for a
// common prefix that repeats a listed file's name.
func (d *fsDir) entry(o *Object) (fs.DirEntry, error) {
	rest, ok := strings.CutPrefix(o.Key, d.prefix)
	if !ok || rest == "" || o.Key <= d.after {
		return nil, fmt.Errorf("the backend listed %q in a listing of %q after %q", o.Key, d.prefix, d.after)
	}
	for len(d.files) > 0 && o.Key > d.files[len(d.files)-1]+"/" {
		d.files = d.files[:len(d.files)-1]
	}
	if o.IsPrefix {
		name, ok := strings.CutSuffix(rest, "/")
		if !ok || name == "" || strings.Contains(name, "/") {
			return nil, fmt.Errorf("the backend listed %q as a common prefix of %q", o.Key, d.prefix)
		}
		if last := len(d.files) - 1; last >= 0 && d.files[last]+"/" == o.Key {
			d.files = d.files[:last] // the file "name" wins
			return nil, nil
		}
		return fs.FileInfoToDirEntry(dirInfo(name)), nil
	}
	if strings.Contains(rest, "/") {
		return nil, fmt.Errorf("the backend listed %q, below a directory of %q, with Delimiter \"/\"", o.Key, d.prefix)
	}
	d.files = append(d.files, o.Key)
	return fs.FileInfoToDirEntry(objectInfo(rest, o)), nil
}
