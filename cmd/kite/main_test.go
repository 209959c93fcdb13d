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

// kiteBin is the command built once for this test binary by TestMain.
var kiteBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kite-bin-")
	if err != nil {
		panic(err)
	}
	kiteBin = filepath.Join(dir, "kite")
	out, err := exec.Command("go", "build", "-o", kiteBin, ".").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		panic("building kite: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runKite runs the built command with args, stdin and extra environment
// variables ("K=V"), and returns its stdout, stderr and exit code.
func runKite(t *testing.T, stdin string, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(kiteBin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
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

func TestDemoAndUsage(t *testing.T) {
	runKite := func(args ...string) (string, string, int) { return runKite(t, "", nil, args...) }

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
