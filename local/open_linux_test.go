//go:build linux

package local

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/kitehq/kite/backend"
)

// TestOpenat2Used checks that reads take the one-call openat2 path where
// the kernel has it, rather than falling back to os.Root unnoticed.
func TestOpenat2Used(t *testing.T) {
	if _, err := unix.Openat2(unix.AT_FDCWD, ".", &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC}); err == unix.ENOSYS || err == unix.EPERM {
		t.Skipf("openat2 unavailable here (%v): reads use os.Root", err)
	}
	ctx := context.Background()
	b, err := New(t.TempDir(), Options{NoSync: true, NoSweep: true})
	require.NoError(t, err)
	defer b.Close()
	_, err = b.Put(ctx, "a/b", strings.NewReader("data"), backend.PutOptions{})
	require.NoError(t, err)

	f, err := b.openFile(`a/b\`)
	require.NoError(t, err)
	data, err := io.ReadAll(f)
	f.Close()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(data), "data"))
	_, err = b.openFile(`a/missing\`)
	assert.ErrorIs(t, err, unix.ENOENT)
	_, err = b.openFile(`../x`)
	assert.ErrorIs(t, err, errEscapes)
	assert.False(t, noOpenat2.Load(), "openat2 was given up")

	require.NoError(t, b.Close())
	_, err = b.openFile(`a/b\`)
	assert.Error(t, err, "after Close")
}
