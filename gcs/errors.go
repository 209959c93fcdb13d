package gcs

import (
	"errors"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/provider"
	"github.com/kitehq/kite/internal/xio"
)

// classify marks a provider error with the backend sentinel it means,
// keeping it reachable with errors.As (*googleapi.Error) and errors.Is
// (storage.ErrObjectNotExist). Context errors and errors that already carry
// a kind pass through; an error no sentinel describes is returned as is.
func classify(err error) error {
	switch {
	case err == nil, xio.IsContext(err):
		return err
	case errors.Is(err, storage.ErrObjectNotExist), errors.Is(err, storage.ErrBucketNotExist):
		return backend.Mark(backend.ErrNotFound, err)
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		// GCS's reasons ("notFound", "conditionNotMet", "forbidden") say no
		// more than the status, which KindOf maps.
		if kind := provider.KindOf(ge.Code, ""); kind != nil {
			return backend.Mark(kind, err)
		}
	}
	return err
}

// kinds are the sentinels classify can attach.
var kinds = []error{
	backend.ErrNotFound, backend.ErrExists, backend.ErrPrecondition, backend.ErrInvalidKey,
	backend.ErrInvalidArgument, backend.ErrPermission, backend.ErrUnsupported, backend.ErrClosed,
}

// hasKind reports whether err matches one of the backend sentinels.
func hasKind(err error) bool {
	for _, k := range kinds {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}
