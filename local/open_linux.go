//go:build linux

package local

import (
	"errors"
	"io/fs"
	"os"
	"sync/atomic"

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
func (b *Backend) openat2(name string) (int, error) {
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
			Flags:   unix.O_RDONLY | unix.O_CLOEXEC,
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
