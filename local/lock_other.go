//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package local

import "os"

// lockFile does nothing where flock is missing: IfMatch, plain Put and Delete
// are then not atomic against each other (IfNotExists still is).
func lockFile(*os.File) error { return nil }

// tryLockFile cannot tell a live writer's temporary file from a dead one's
// where flock is missing, so it reports every file as held: Sweep removes
// nothing there.
func tryLockFile(*os.File) (bool, error) { return false, nil }

// linked reports true: without flock, Sweep removes nothing.
func linked(*os.File) (bool, error) { return true, nil }
