//go:build !linux

package local

import (
	"io/fs"
	"os"
)

// openFile opens name, slash-separated and relative to the root, for reading.
func (b *Backend) openFile(name string) (*os.File, error) { return b.root.Open(name) }

// openDirFile returns nil: openFile needs no descriptor of its own here.
func openDirFile(*os.Root) (*os.File, error) { return nil, nil }

// loadFile opens name, a regular file, and reads it whole into buf when it
// fits (data, a prefix of buf; f is nil); a larger one is returned open (f).
func (b *Backend) loadFile(name string, buf []byte) (data []byte, f *os.File, size int64, err error) {
	return b.loadFileRoot(name, buf)
}

// openDirHandle opens directory dir for the steps of one write.
func (b *Backend) openDirHandle(dir string) (dirHandle, error) { return openDir(b.root, dir) }

// sameFile reports whether two FileInfos are of the same file.
func sameFile(a, b fs.FileInfo) bool { return os.SameFile(a, b) }
