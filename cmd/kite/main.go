// Command kite does with any Kite store what the library does in code: it
// stores, reads, lists and presigns objects on any store URL, serves the
// signed URLs of the local and memory drivers, migrates between providers,
// and runs the conformance suite and a benchmark against a live endpoint.
//
// Usage:
//
//	kite help
//	kite CMD --help
//
// A store is named by URL (file:///dir, mem://, minio://…, s3://…, gs://…),
// with --store or the KITE_STORE environment variable. Secrets in URLs are
// redacted in all output.
//
// Exit codes: 0 success, 1 the operation failed, 2 usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"sort"
	"strings"

	_ "github.com/kitehq/kite/gcs"
	_ "github.com/kitehq/kite/local"
	_ "github.com/kitehq/kite/memory"
	_ "github.com/kitehq/kite/minio"
	_ "github.com/kitehq/kite/s3"
)

// usage is the text of "kite help"; the command list is added from the registry.
const usage = `kite: object storage from the command line

Usage: kite CMD [flags] [args]

Commands:
%s
A store is a URL (file:///dir, mem://, minio://…, s3://…, gs://…) given with
--store or KITE_STORE. Run "kite CMD --help" for a command's flags.
Exit codes: 0 success, 1 the operation failed, 2 usage error.
`

// errUsage marks an error the user can fix by changing the command line (exit 2).
var errUsage = errors.New("usage")

// command is one subcommand. Each lives in its own file and registers itself
// from init with register.
type command struct {
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	short string // one line for "kite help"
}

var commands = map[string]command{}

// register adds a subcommand; a duplicate name is a programmer error.
func register(name, short string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	if _, dup := commands[name]; dup {
		panic("kite: command registered twice: " + name)
	}
	commands[name] = command{run: run, short: short}
}

func init() {
	register("demo", "a document's whole life on the local driver: store, presign, download, upload, list, delete", runDemo)
}

func helpText() string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "  %-12s %s\n", n, commands[n].short)
	}
	return fmt.Sprintf(usage, b.String())
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, helpText())
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "kite: unknown command %q; run \"kite help\"\n", args[0])
		return 2
	}
	err := cmd.run(ctx, args[1:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "kite %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(stderr, "kite %s: %v\n", args[0], err)
		return 1
	}
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("kite "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args, turning a bad flag into a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}
