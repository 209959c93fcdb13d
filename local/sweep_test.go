//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package local_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/local"
)

// tempFiles returns the temporary files under dir, relative to it.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), `\t`) {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, rel)
		}
		return nil
	})
	require.NoError(t, err)
	return names
}

func TestSweep(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := local.New(dir, local.Options{NoSync: true, NoSweep: true})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	for _, key := range []string{"a/b/c", "x", "at"} {
		_, err := b.Put(ctx, key, strings.NewReader("data of "+key), backend.PutOptions{})
		require.NoError(t, err)
	}

	// What dead writers leave: files no one holds, with data or empty.
	dead := []string{filepath.Join("a", "b", `\t00dead`), `\t01dead`, filepath.Join("a", `\t02dead`)}
	for i, name := range dead {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), bytes.Repeat([]byte("x"), i*1000), 0o600))
	}
	// A live writer's file: held with flock.
	live := filepath.Join("a", `\t03live`)
	lf, err := os.OpenFile(filepath.Join(dir, live), os.O_CREATE|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	defer lf.Close()
	require.NoError(t, syscall.Flock(int(lf.Fd()), syscall.LOCK_EX))
	_, err = lf.WriteString("being written")
	require.NoError(t, err)

	n, err := b.Sweep(ctx)
	require.NoError(t, err)
	assert.Equal(t, len(dead), n, "removed")
	assert.Equal(t, []string{live}, tempFiles(t, dir), "left: only the live writer's file")

	var keys []string
	for obj, err := range b.List(ctx, backend.ListOptions{}) {
		require.NoError(t, err)
		keys = append(keys, obj.Key)
	}
	assert.Equal(t, []string{"a/b/c", "at", "x"}, keys, "objects are never swept")

	// Once its writer is gone, the file is swept too.
	require.NoError(t, lf.Close())
	n, err = b.Sweep(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Empty(t, tempFiles(t, dir))
}

func TestSweepAtNew(t *testing.T) {
	dir := t.TempDir()
	dead := filepath.Join(dir, `\t00dead`)
	require.NoError(t, os.WriteFile(dead, []byte("left by a killed writer"), 0o600))

	// NoSweep keeps it.
	b, err := local.New(dir, local.Options{NoSync: true, NoSweep: true})
	require.NoError(t, err)
	require.NoError(t, b.Close())
	assert.FileExists(t, dead)

	b, err = local.New(dir, local.Options{NoSync: true})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	assert.Eventually(t, func() bool {
		_, err := os.Stat(dead)
		return os.IsNotExist(err)
	}, 10e9, 5e6, "the background Sweep that New starts removes it")
}

// TestSweepWhileWriting sweeps in a loop while Puts, Copies and Health
// run: no write fails, none is lost, and nothing is left.
func TestSweepWhileWriting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := local.New(dir, local.Options{NoSync: true, NoSweep: true})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })

	stop := make(chan struct{})
	var sweeps sync.WaitGroup
	sweeps.Add(1)
	go func() {
		defer sweeps.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, err := b.Sweep(ctx)
			assert.NoError(t, err)
		}
	}()
	var g errgroup.Group
	for w := range 4 {
		g.Go(func() error {
			for i := range 100 {
				key := fmt.Sprintf("w%d/k%d", w, i%10)
				body := fmt.Sprintf("%s #%d", key, i)
				if _, err := b.Put(ctx, key, strings.NewReader(body), backend.PutOptions{}); err != nil {
					return err
				}
				if _, err := b.Copy(ctx, key+"-copy", key); err != nil {
					return err
				}
				if err := b.Health(ctx); err != nil {
					return err
				}
			}
			return nil
		})
	}
	err = g.Wait()
	close(stop)
	sweeps.Wait()
	require.NoError(t, err)
	for w := range 4 {
		for k := range 10 {
			key := fmt.Sprintf("w%d/k%d", w, k)
			rc, _, err := b.Get(ctx, key+"-copy", backend.GetOptions{})
			require.NoError(t, err)
			var buf bytes.Buffer
			_, err = buf.ReadFrom(rc)
			rc.Close()
			require.NoError(t, err)
			assert.Equal(t, fmt.Sprintf("%s #%d", key, 90+k), buf.String())
		}
	}
	assert.Empty(t, tempFiles(t, dir))
}
