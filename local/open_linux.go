//go:build linux

package local

import (
	"errors"
	"io/fs"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// noOpenat2 is set once openat2 turns out to be missing (Linux before 5.6)
// or forbidden (a seccomp filter): every open then goes through os.Root.
var noOpenat2 atomic.Bool

// errEscapes is what os.Root reports for a path that leaves the root.
var errEscapes = errors.New("path escapes from parent")

// openFile opens name, slash-separated and relative to the root, for
// reading. One openat2 with RESOLVE_BENEATH resolves the whole path in the
// kernel, which refuses any step (a symbolic link, "..") out of the root,
// as os.Root does with one system call per path segment and a few more:
// a 4 KiB Get makes 4 system calls (see loadFile) instead of 11. The root directory's own
// descriptor is used under SyscallConn.Control, so Close cannot free it for
// reuse during the call.
func (b *Backend) openFile(name string) (*os.File, error) {
	fd, err := b.openat2(name)
	if err == errNoOpenat2 {
		return b.root.Open(name)
	}
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// errNoOpenat2 asks for os.Root instead.
var errNoOpenat2 = errors.New("use os.Root")

// openat2 opens name for reading beneath the root, or returns errNoOpenat2.
func (b *Backend) openat2(name string) (int, error) { return b.openat2Flags(name, unix.O_RDONLY) }

// openat2Flags is openat2 with other open flags.
func (b *Backend) openat2Flags(name string, flags int) (int, error) {
	if noOpenat2.Load() || b.dirFile == nil {
		return -1, errNoOpenat2
	}
	sc, err := b.dirFile.SyscallConn()
	if err != nil {
		return -1, errNoOpenat2
	}
	fd := -1
	var oerr error
	cerr := sc.Control(func(dirfd uintptr) {
		how := unix.OpenHow{
			Flags:   uint64(flags | unix.O_CLOEXEC),
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
		}
		for {
			fd, oerr = unix.Openat2(int(dirfd), name, &how)
			if oerr != unix.EINTR {
				return
			}
		}
	})
	switch {
	case cerr != nil:
		return -1, cerr // the root is closed
	case oerr == nil:
		return fd, nil
	case oerr == unix.ENOSYS || oerr == unix.EPERM || oerr == unix.EINVAL:
		noOpenat2.Store(true)
		return -1, errNoOpenat2
	case oerr == unix.EAGAIN: // a rename raced with the lookup
		return -1, errNoOpenat2
	case oerr == unix.EXDEV:
		return -1, &fs.PathError{Op: "openat", Path: name, Err: errEscapes}
	}
	return -1, &fs.PathError{Op: "openat", Path: name, Err: oerr}
}

// loadFile opens name, a regular file, and reads it whole into buf when it
// fits (data, a prefix of buf; f is nil); a larger one is returned open (f).
// A small file costs four system calls (openat2, fstat, pread, close) and
// no *os.File.
func (b *Backend) loadFile(name string, buf []byte) (data []byte, f *os.File, size int64, err error) {
	fd, err := b.openat2(name)
	if err == errNoOpenat2 {
		return b.loadFileRoot(name, buf)
	}
	if err != nil {
		return nil, nil, 0, err
	}
	var st unix.Stat_t
	if err := ignoringEINTR(func() error { return unix.Fstat(fd, &st) }); err != nil {
		unix.Close(fd)
		return nil, nil, 0, &fs.PathError{Op: "fstat", Path: name, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, nil, 0, errCorrupt
	}
	if size = st.Size; size > int64(len(buf)) {
		return nil, os.NewFile(uintptr(fd), name), size, nil
	}
	data = buf[:size]
	for off := 0; off < len(data); {
		var n int
		err := ignoringEINTR(func() (err error) {
			n, err = unix.Pread(fd, data[off:], int64(off))
			return err
		})
		if err != nil {
			unix.Close(fd)
			return nil, nil, 0, &fs.PathError{Op: "pread", Path: name, Err: err}
		}
		if n == 0 {
			unix.Close(fd)
			return nil, nil, 0, errCorrupt // the file shrank: not one of ours
		}
		off += n
	}
	unix.Close(fd)
	return data, nil, size, nil
}

func ignoringEINTR(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}

// openDirFile opens the root directory itself, through root (so it is the
// same directory), for openFile.
func openDirFile(root *os.Root) (*os.File, error) { return root.Open(".") }

// openDirHandle opens directory dir (slash-separated, relative to the root)
// for the steps of one write: a rawDir from one openat2, or an *os.Root.
// A name that is not a directory gives ENOTDIR, which isMissing sees.
func (b *Backend) openDirHandle(dir string) (dirHandle, error) {
	fd, err := b.openat2Flags(dir, unix.O_RDONLY|unix.O_DIRECTORY)
	if err == errNoOpenat2 {
		return openDir(b.root, dir)
	}
	if err != nil {
		return nil, err
	}
	return rawDir(fd), nil
}

// rawDir is a directory descriptor whose methods act on a name in it with
// one system call each (os.Root adds a few fcntl and epoll calls to every
// open). Names are single path elements made by the driver; no method
// follows a symbolic link, so none can leave the directory: an object file
// that is a symbolic link is refused (ELOOP) for replacing and deleting.
type rawDir int

func (d rawDir) OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Openat(int(d), name, flag|unix.O_CLOEXEC|unix.O_NOFOLLOW, uint32(perm.Perm()))
		return err
	})
	if err != nil {
		return nil, &fs.PathError{Op: "openat", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}

func (d rawDir) Open(name string) (*os.File, error) { return d.OpenFile(name, os.O_RDONLY, 0) }

func (d rawDir) Stat(name string) (fs.FileInfo, error) {
	var st unix.Stat_t
	if err := ignoringEINTR(func() error { return unix.Fstatat(int(d), name, &st, unix.AT_SYMLINK_NOFOLLOW) }); err != nil {
		return nil, &fs.PathError{Op: "fstatat", Path: name, Err: err}
	}
	return statInfo{name: name, st: st}, nil
}

func (d rawDir) Link(oldname, newname string) error {
	if err := unix.Linkat(int(d), oldname, int(d), newname, 0); err != nil {
		return &os.LinkError{Op: "linkat", Old: oldname, New: newname, Err: err}
	}
	return nil
}

func (d rawDir) Rename(oldname, newname string) error {
	if err := unix.Renameat(int(d), oldname, int(d), newname); err != nil {
		return &os.LinkError{Op: "renameat", Old: oldname, New: newname, Err: err}
	}
	return nil
}

func (d rawDir) Remove(name string) error {
	if err := unix.Unlinkat(int(d), name, 0); err != nil {
		return &fs.PathError{Op: "unlinkat", Path: name, Err: err}
	}
	return nil
}

func (d rawDir) Close() error { return unix.Close(int(d)) }

// statInfo is the fs.FileInfo of rawDir.Stat, enough for sameFile.
type statInfo struct {
	name string
	st   unix.Stat_t
}

func (s statInfo) Name() string       { return s.name }
func (s statInfo) Size() int64        { return s.st.Size }
func (s statInfo) Mode() fs.FileMode  { return fs.FileMode(s.st.Mode & 0o777) }
func (s statInfo) ModTime() time.Time { return time.Unix(s.st.Mtim.Unix()) }
func (s statInfo) IsDir() bool        { return s.st.Mode&unix.S_IFMT == unix.S_IFDIR }
func (s statInfo) Sys() any           { return &s.st }

// sameFile reports whether two FileInfos, from os or from rawDir, are of
// the same file.
func sameFile(a, b fs.FileInfo) bool {
	da, ia, ok1 := devIno(a)
	db, ib, ok2 := devIno(b)
	if !ok1 || !ok2 {
		return os.SameFile(a, b)
	}
	return da == db && ia == ib
}

func devIno(fi fs.FileInfo) (dev, ino uint64, ok bool) {
	switch st := fi.Sys().(type) {
	case *syscall.Stat_t:
		return st.Dev, st.Ino, true
	case *unix.Stat_t:
		return st.Dev, st.Ino, true
	}
	return 0, 0, false
}
