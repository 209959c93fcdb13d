// Command kite does with any Kite store what the library does in code.
//
// Usage:
//
//	kite demo [--dir DIR] [--keep]   a document's whole life on the local driver, no server
//	kite help                        this text
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

	_ "github.com/kitehq/kite/local"
	_ "github.com/kitehq/kite/memory"
)

const usage = `kite: object storage from the command line

Usage:
  kite demo [--dir DIR] [--keep]   store, presign, download, upload, list and delete a
                                   document on the local driver, printing each step
  kite help                        show this text

Run "kite CMD --help" for a command's flags.
`

// errUsage marks an error the user can fix by changing the command line (exit 2).
var errUsage = errors.New("usage")

type command struct {
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	short string
}

var commands = map[string]command{
	"demo": {runDemo, "a document's whole life on the local driver"},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
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
