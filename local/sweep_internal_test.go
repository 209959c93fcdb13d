package local

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLockedTemp checks the writer's side of the race with Sweep: a
// temporary file swept between its create and its lock is noticed.
func TestLockedTemp(t *testing.T) {
	d, err := os.OpenRoot(t.TempDir())
	require.NoError(t, err)
	defer d.Close()
	create := func(name string) *os.File {
		f, err := d.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, filePerm)
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		return f
	}

	f := create(`\tkept`)
	mine, err := lockedTemp(f)
	require.NoError(t, err)
	assert.True(t, mine, "a file still at its name")

	f = create(`\tswept`)
	require.NoError(t, d.Remove(`\tswept`))
	mine, err = lockedTemp(f)
	require.NoError(t, err)
	assert.False(t, mine, "a file removed before the lock")
}
