package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/kitehq/kite/backend"
)

// storeEnv names the store when --store is not given.
const storeEnv = "KITE_STORE"

// storeFlag adds --store to fs.
func storeFlag(fs *flag.FlagSet) *string {
	return fs.String("store", "", "store URL (default $"+storeEnv+")")
}

// openStore opens the store named by flagValue, or by $KITE_STORE when it is
// empty. A missing URL is a usage error. Errors never show the URL unredacted.
func openStore(ctx context.Context, flagValue string) (backend.Backend, string, error) {
	raw := flagValue
	if raw == "" {
		raw = os.Getenv(storeEnv)
	}
	if raw == "" {
		return nil, "", fmt.Errorf("%w: no store: pass --store URL or set %s", errUsage, storeEnv)
	}
	b, err := backend.Open(ctx, raw)
	if err != nil {
		return nil, "", err
	}
	return b, backend.RedactURL(raw), nil
}
