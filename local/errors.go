package local

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"github.com/kitehq/kite/backend"
)

// driverName is the Driver of every *backend.Error this package returns.
const driverName = "file"

// osError is an *fs.PathError or *os.LinkError without its paths. The root
// directory's path is private (it may name a user or a secret mount), and
// *os.File names carry it, so no error of this package may show a path.
type osError struct {
	op  string
	err error
}

func (e *osError) Error() string { return e.op + ": " + e.err.Error() }
func (e *osError) Unwrap() error { return e.err }

// stripPath removes the paths from err's outer *fs.PathError or *os.LinkError
// layers, keeping the operation and the underlying (syscall) error.
func stripPath(err error) error {
	switch e := err.(type) {
	case *fs.PathError:
		return &osError{op: e.Op, err: stripPath(e.Err)}
	case *os.LinkError:
		return &osError{op: e.Op, err: stripPath(e.Err)}
	case *os.SyscallError:
		return &osError{op: e.Syscall, err: stripPath(e.Err)}
	}
	return err
}

var kinds = []error{
	backend.ErrNotFound, backend.ErrExists, backend.ErrPrecondition,
	backend.ErrInvalidKey, backend.ErrInvalidArgument, backend.ErrPermission,
	backend.ErrUnsupported, backend.ErrClosed,
}

func hasKind(err error) bool {
	for _, k := range kinds {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// wrap returns err as a *backend.Error for op and key, with paths stripped
// and os errors classified: not-exist as backend.ErrNotFound, permission as
// backend.ErrPermission, closed as backend.ErrClosed. The os error stays
// reachable with errors.Is and errors.As.
func wrap(op, key string, err error) error {
	if err == nil {
		return nil
	}
	if be, ok := err.(*backend.Error); ok {
		return be
	}
	err = stripPath(err)
	if !hasKind(err) {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			err = backend.Mark(backend.ErrNotFound, err)
		case errors.Is(err, fs.ErrPermission):
			err = backend.Mark(backend.ErrPermission, err)
		case errors.Is(err, fs.ErrClosed):
			err = backend.Mark(backend.ErrClosed, err)
		}
	}
	return &backend.Error{Op: op, Driver: driverName, Key: key, Err: err}
}

// isMissing reports whether err means that a path does not lead to a file:
// it does not exist, or one of its parents is not a directory.
func isMissing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// notFound turns a missing-file error from reading an object into one
// matching backend.ErrNotFound: a parent that is a file is also "no such key".
func notFound(err error) error {
	if errors.Is(err, syscall.ENOTDIR) && !errors.Is(err, backend.ErrNotFound) {
		return backend.Mark(backend.ErrNotFound, stripPath(err))
	}
	return err
}

// openDir opens directory name of r as a Root. os.Root reports a name that is
// not a directory with an error of its own; openDir reports ENOTDIR instead,
// so that isMissing sees it (a key below a file is a key that does not exist).
func openDir(r *os.Root, name string) (*os.Root, error) {
	d, err := r.OpenRoot(name)
	if err != nil && !isMissing(err) {
		if fi, serr := r.Lstat(name); serr == nil && !fi.IsDir() && fi.Mode()&fs.ModeSymlink == 0 {
			return nil, &fs.PathError{Op: "openat", Path: name, Err: syscall.ENOTDIR}
		}
	}
	return d, err
}
