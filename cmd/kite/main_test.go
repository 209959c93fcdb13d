package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kiteBinary builds the command once per test binary run.
func kiteBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kite")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

func TestBinary(t *testing.T) {
	bin := kiteBinary(t)
	runKite := func(args ...string) (string, string, int) {
		cmd := exec.Command(bin, args...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			require.NoError(t, err)
		}
		return stdout.String(), stderr.String(), code
	}

	t.Run("demo", func(t *testing.T) {
		out, errOut, code := runKite("demo")
		require.Equal(t, 0, code, "stderr: %s", errOut)
		for _, want := range []string{
			"stored \"Contract March.PDF\"", "the file name is not in the key",
			"downloaded with net/http: 200 application/pdf",
			`Content-Disposition: attachment; filename="Contract March.PDF"`,
			"is refused: 403", "uploaded with net/http: 200", "0 documents left",
		} {
			assert.Contains(t, out, want)
		}
		assert.NotContains(t, out, "X-Kite-Signature=0", "signature printed")
		assert.Regexp(t, `secret=REDACTED`, out)
	})

	t.Run("demo keeps its directory with --keep", func(t *testing.T) {
		dir := t.TempDir()
		out, errOut, code := runKite("demo", "--dir", dir, "--keep")
		require.Equal(t, 0, code, "stderr: %s", errOut)
		assert.Contains(t, out, "kept the documents")
		entries, err := os.ReadDir(filepath.Join(dir, "alice"))
		require.NoError(t, err)
		assert.NotEmpty(t, entries)
	})

	t.Run("usage", func(t *testing.T) {
		out, _, code := runKite("help")
		assert.Equal(t, 0, code)
		assert.Contains(t, out, "  demo ")
		_, errOut, code := runKite("nosuch")
		assert.Equal(t, 2, code)
		assert.Contains(t, errOut, "unknown command")
		_, _, code = runKite("demo", "--bogus")
		assert.Equal(t, 2, code)
	})
}
