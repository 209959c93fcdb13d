//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package local

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive flock on f, waiting for it. The lock belongs to
// the open file description, so it excludes other goroutines of this process
// as well as other processes; closing f releases it.
func lockFile(f *os.File) error {
	sc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	err = sc.Control(func(fd uintptr) {
		for {
			lerr = syscall.Flock(int(fd), syscall.LOCK_EX)
			if lerr != syscall.EINTR {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	if lerr != nil {
		return &os.SyscallError{Syscall: "flock", Err: lerr}
	}
	return nil
}

// tryLockFile takes an exclusive flock on f if no one holds one, without
// waiting. It reports false, and no error, when another open file holds it.
func tryLockFile(f *os.File) (bool, error) {
	sc, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	var lerr error
	err = sc.Control(func(fd uintptr) {
		for {
			lerr = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB)
			if lerr != syscall.EINTR {
				return
			}
		}
	})
	if err != nil {
		return false, err
	}
	if lerr == syscall.EWOULDBLOCK {
		return false, nil
	}
	if lerr != nil {
		return false, &os.SyscallError{Syscall: "flock", Err: lerr}
	}
	return true, nil
}

// linked reports whether f still has a name (a link count above 0).
func linked(f *os.File) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return !ok || st.Nlink > 0, nil
}
