//go:build !linux

package local

import "os"

// openFile opens name, slash-separated and relative to the root, for reading.
func (b *Backend) openFile(name string) (*os.File, error) { return b.root.Open(name) }

// openDirFile returns nil: openFile needs no descriptor of its own here.
func openDirFile(*os.Root) (*os.File, error) { return nil, nil }
