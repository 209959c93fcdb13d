package main

// put, get and cp move bytes between a local file (or stdin/stdout) and a
// store, or between two stores. The syntax has no prefix to tell a key from a
// path: each argument's place says what it is.
//
//	kite put [flags] LOCAL|- KEY        a local file or stdin  -> store
//	kite get [flags] KEY LOCAL|-        store -> a local file or stdout
//	kite cp  [flags] SRCKEY DSTKEY      store -> store (--from, --to)
//
// "-" is stdin or stdout (a file named "-" is "./-"); a KEY ending in "/"
// takes the source's base name ("docs/" + "a.pdf"), and so does a LOCAL that
// is a directory or ends in "/". Flags may come before or after the
// arguments; "--" ends them (for a key that starts with "-").

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/kitehq/kite/backend"
)

func init() {
	register("put", "store a local file or stdin under a key", runPut)
	register("get", "write an object to a local file (atomically) or to stdout", runGet)
	register("cp", "copy an object within a store (server-side) or between stores (streamed)", runCp)
}

const putUsage = `  kite put [--store URL] [--content-type T] [--meta k=v]... [--quiet] LOCAL|- KEY

Stores the file LOCAL, or stdin for "-", under KEY (replacing any object
there). A KEY ending in "/" takes LOCAL's base name. Without --content-type
the type is guessed from LOCAL's extension (from KEY's for stdin); with no
guess the store keeps application/octet-stream. Prints nothing on success.
A progress bar is drawn on stderr when it is a terminal and the transfer is
over 1 MiB.
`

func runPut(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("put", stderr)
	setUsage(fs, stderr, putUsage)
	storeURL := storeFlag(fs)
	contentType := fs.String("content-type", "", "media type to store (default: guessed from the extension)")
	meta := metaFlag(fs)
	quiet := fs.Bool("quiet", false, "draw no progress bar")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 2, 2, "LOCAL|- KEY"); err != nil {
		return err
	}
	src, key := pos[0], pos[1]
	if strings.HasSuffix(key, "/") {
		if src == stdio {
			return fmt.Errorf("%w: KEY ends in \"/\" but stdin has no name to add", errUsage)
		}
		key = intoPrefix(key, filepath.Base(src))
	}
	if err := checkKey(key); err != nil {
		return err
	}

	r, size, closeSrc, err := openSource(src)
	if err != nil {
		return err
	}
	defer closeSrc()

	ct := *contentType
	if ct == "" {
		ct = guessType(src, key)
	}
	b, _, err := openStore(ctx, *storeURL)
	if err != nil {
		return err
	}
	defer b.Close()

	opts := backend.PutOptions{ContentType: ct, Metadata: meta}
	if size > 0 {
		opts.Size = size
	}
	p := newProgress(stderr, *quiet, size, "put "+key)
	_, err = b.Put(ctx, key, p.Reader(r), opts)
	p.Done(err)
	return err
}

// openSource opens the local source of put: a file, or stdin for "-". size
// is -1 when it is not known (a pipe).
func openSource(src string) (r io.Reader, size int64, closeFn func(), err error) {
	if src == stdio {
		return os.Stdin, regularSize(os.Stdin), func() {}, nil
	}
	f, err := os.Open(src)
	if err != nil {
		return nil, 0, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, nil, err
	}
	if st.IsDir() {
		f.Close()
		return nil, 0, nil, fmt.Errorf("%s is a directory", src)
	}
	return f, regularSize(f), func() { f.Close() }, nil
}

// regularSize returns the bytes left to read in f when it is a regular file
// (stdin redirected from a file, maybe partly read), else -1.
func regularSize(f *os.File) int64 {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return -1
	}
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil || off > st.Size() {
		return -1
	}
	return st.Size() - off
}

// guessType returns the media type of src's extension, or of key's when src
// is stdin, or "" when the extension is unknown.
func guessType(src, key string) string {
	name := src
	if src == stdio {
		name = key
	}
	return mime.TypeByExtension(path.Ext(filepath.ToSlash(name)))
}

const getUsage = `  kite get [--store URL] [--quiet] KEY LOCAL|-

Writes the object KEY to the file LOCAL, or to stdout for "-". A LOCAL that
is a directory or ends in "/" gets KEY's last segment as its name. The file is
written to a temporary file in the same directory and renamed into place when
complete, so an interrupted download leaves the old file (or none), never a
part; an existing file keeps its permissions. A device or pipe such as
/dev/null is written directly. A progress bar is drawn on stderr when it is a
terminal and the object is over 1 MiB.
`

func runGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("get", stderr)
	setUsage(fs, stderr, getUsage)
	storeURL := storeFlag(fs)
	quiet := fs.Bool("quiet", false, "draw no progress bar")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 2, 2, "KEY LOCAL|-"); err != nil {
		return err
	}
	key, dst := pos[0], pos[1]
	if err := checkKey(key); err != nil {
		return err
	}
	if dst != stdio {
		if st, err := os.Stat(dst); strings.HasSuffix(dst, "/") || (err == nil && st.IsDir()) {
			dst = filepath.Join(dst, path.Base(key))
		}
	}
	b, _, err := openStore(ctx, *storeURL)
	if err != nil {
		return err
	}
	defer b.Close()

	rc, obj, err := b.Get(ctx, key, backend.GetOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	p := newProgress(stderr, *quiet, obj.Size, "get "+key)
	if dst == stdio {
		err = copyExact(stdout, p.Reader(rc), obj.Size)
	} else {
		err = writeFileAtomic(dst, p.Reader(rc), obj.Size)
	}
	p.Done(err)
	return err
}

// copyExact copies r to w and fails unless exactly size bytes came: a short
// read is a truncated object, not a success.
func copyExact(w io.Writer, r io.Reader, size int64) error {
	n, err := io.Copy(w, r)
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("read %d bytes, the object has %d", n, size)
	}
	return nil
}

// writeFileAtomic writes the size bytes of r to dst through a temporary file
// in dst's directory, synced and renamed into place, so dst is the old file or
// the whole new one. The temporary file is removed on any failure. A dst that
// is a symbolic link is followed (the link stays); one that exists and is not
// a regular file (a device, a pipe) is written directly.
func writeFileAtomic(dst string, r io.Reader, size int64) (err error) {
	perm, keepMode := fs.FileMode(0o666), false // a new file: 0666 less the umask, as with any program
	if target, err := filepath.EvalSymlinks(dst); err == nil {
		dst = target
	}
	if st, err := os.Stat(dst); err == nil {
		if !st.Mode().IsRegular() {
			f, err := os.OpenFile(dst, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			if err := copyExact(f, r, size); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		}
		perm, keepMode = st.Mode().Perm(), true
	}

	f, tmp, err := createTemp(filepath.Dir(dst), filepath.Base(dst), perm)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if keepMode { // the replaced file's mode exactly, whatever the umask
		if err := f.Chmod(perm); err != nil {
			return err
		}
	}
	if err := copyExact(f, r, size); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// createTemp creates a new hidden file next to the target, named after it
// (".NAME.kite-RANDOM"), so a leftover from a killed process is recognisable.
func createTemp(dir, name string, perm fs.FileMode) (*os.File, string, error) {
	for range 100 {
		var rnd [6]byte
		_, _ = rand.Read(rnd[:])
		tmp := filepath.Join(dir, "."+name+".kite-"+hex.EncodeToString(rnd[:]))
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, tmp, err
	}
	return nil, "", fmt.Errorf("no free temporary name in %s", dir)
}

const cpUsage = `  kite cp [--from URL] [--to URL] [--quiet] SRCKEY DSTKEY

Copies the object SRCKEY of the store --from (default $KITE_STORE) to DSTKEY
of the store --to (default: the same store), keeping its content type and
metadata. A DSTKEY ending in "/" takes SRCKEY's last segment. Within one
store (no --to, or the same URL) the store copies server-side; between two
stores the object is streamed from one into the other, its size passed on,
with no temporary file. Prints nothing on success.
`

func runCp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("cp", stderr)
	setUsage(fs, stderr, cpUsage)
	from := fs.String("from", "", "source store URL (default $"+storeEnv+")")
	to := fs.String("to", "", "destination store URL (default: the source store)")
	quiet := fs.Bool("quiet", false, "draw no progress bar")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 2, 2, "SRCKEY DSTKEY"); err != nil {
		return err
	}
	srcKey, dstKey := pos[0], intoPrefix(pos[1], path.Base(pos[0]))
	for _, k := range []string{srcKey, dstKey} {
		if err := checkKey(k); err != nil {
			return err
		}
	}
	fromURL := *from
	if fromURL == "" {
		fromURL = os.Getenv(storeEnv)
	}
	src, _, err := openStore(ctx, fromURL)
	if err != nil {
		return err
	}
	defer src.Close()
	// One URL is one store, opened once: two Opens of mem:// would be two
	// different, empty stores.
	if *to == "" || *to == fromURL {
		_, err := src.Copy(ctx, dstKey, srcKey)
		return err
	}
	dst, _, err := openStore(ctx, *to)
	if err != nil {
		return err
	}
	defer dst.Close()

	rc, obj, err := src.Get(ctx, srcKey, backend.GetOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	p := newProgress(stderr, *quiet, obj.Size, "cp "+srcKey)
	_, err = dst.Put(ctx, dstKey, p.Reader(rc), backend.PutOptions{
		Size:        obj.Size,
		ContentType: obj.ContentType,
		Metadata:    obj.Metadata,
	})
	p.Done(err)
	return err
}
