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
// a 4 KiB Get makes 5 system calls instead of 11. The root directory's own
// descriptor is used under SyscallConn.Control, so Close cannot free it for
// reuse during the call.
func (b *Backend) openFile(name string) (*os.File, error) {
	if noOpenat2.Load() || b.dirFile == nil {
		return b.root.Open(name)
	}
	sc, err := b.dirFile.SyscallConn()
	if err != nil {
		return b.root.Open(name)
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
		return nil, cerr // the root is closed
	case oerr == nil:
		return os.NewFile(uintptr(fd), name), nil
	case oerr == unix.ENOSYS || oerr == unix.EPERM || oerr == unix.EINVAL:
		noOpenat2.Store(true)
		return b.root.Open(name)
	case oerr == unix.EAGAIN: // a rename raced with the lookup
		return b.root.Open(name)
	case oerr == unix.EXDEV:
		return nil, &fs.PathError{Op: "openat", Path: name, Err: errEscapes}
	}
	return nil, &fs.PathError{Op: "openat", Path: name, Err: oerr}
}

// openDirFile opens the root directory itself, through root (so it is the
// same directory), for openFile.
func openDirFile(root *os.Root) (*os.File, error) { return root.Open(".") }
