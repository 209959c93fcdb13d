// Package backend defines Kite's object-storage contract: the Backend
// interface, its options and Object, the errors every driver returns, the key
// rules, the document key schema, and the URL registry that opens a driver by
// scheme.
//
// An application imports the drivers it wants for their side effect and
// opens a store by URL, so that changing provider is changing a URL:
//
//	import (
//		"github.com/kitehq/kite/backend"
//		_ "github.com/kitehq/kite/local"
//		_ "github.com/kitehq/kite/s3"
//	)
//
//	b, err := backend.Open(ctx, os.Getenv("STORAGE_URL"))
//
// # Errors
//
// Every error a driver returns for an object is, or wraps, a *Error and
// matches with errors.Is at most one of ErrNotFound (also fs.ErrNotExist),
// ErrExists (fs.ErrExist), ErrPrecondition, ErrInvalidKey (fs.ErrInvalid),
// ErrInvalidArgument (fs.ErrInvalid), ErrPermission (fs.ErrPermission) or
// ErrUnsupported (errors.ErrUnsupported). The provider's own error stays
// reachable with errors.As. No message contains a secret.
//
// # Keys
//
// ValidateKey is the one key rule of every driver. Documents are stored under
// "{userID}/{documentID}/{uuid}{ext}" keys made by NewDocumentKey, so that the
// human file name never enters a key; PutDocument stores one.
//
// # Writing a driver
//
// A driver calls CheckPut, CheckGet, CheckList and CheckPresign before any
// I/O, wraps every error in a *Error, reads its URL's query with NewParams,
// registers its scheme with Register in init, and proves itself with
// conformance.Run from its tests.
package backend
