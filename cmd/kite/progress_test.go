package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIsTerminal(t *testing.T) {
	t.Parallel()
	assert.False(t, isTerminal(&bytes.Buffer{}))
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	assert.False(t, isTerminal(w), "a pipe is not a terminal")
	f, err := os.CreateTemp(t.TempDir(), "f")
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, isTerminal(f), "a file is not a terminal")
}

func TestProgress(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 2*progressMin)
	for _, c := range []struct {
		name     string
		on       bool
		size     int64
		data     string
		err      error
		wantDraw bool
	}{
		{"terminal, large", true, int64(len(big)), big, nil, true},
		{"terminal, unknown size, large", true, -1, big, nil, true},
		{"terminal, small", true, 1000, strings.Repeat("x", 1000), nil, false},
		{"terminal, unknown size, small", true, -1, strings.Repeat("x", 1000), nil, false},
		{"terminal, exactly the threshold", true, progressMin, big[:progressMin], nil, false},
		{"not a terminal, large", false, int64(len(big)), big, nil, false},
		{"terminal, large, failed", true, int64(len(big)), big, errors.New("boom"), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			p := newProgressOn(&out, c.on, c.size, "get doc.pdf")
			r := p.Reader(strings.NewReader(c.data))
			if !c.on {
				assert.IsType(t, &strings.Reader{}, r, "no counting reader without a terminal")
			}
			n, err := io.Copy(io.Discard, r)
			require.NoError(t, err)
			assert.Equal(t, int64(len(c.data)), n)
			p.Done(c.err)
			if !c.wantDraw {
				assert.Empty(t, out.String())
				return
			}
			assert.Contains(t, out.String(), "get doc.pdf")
			if c.err == nil {
				assert.True(t, strings.HasSuffix(out.String(), "\n"), "a finished bar ends its line")
			} else {
				assert.False(t, strings.HasSuffix(out.String(), "\n"), "a failed bar is cleared, not ended")
			}
		})
	}

	t.Run("--quiet", func(t *testing.T) {
		t.Parallel()
		p := newProgress(os.Stderr, true, int64(len(big)), "x")
		assert.False(t, p.on)
	})
}
