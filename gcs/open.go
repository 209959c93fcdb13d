package gcs

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"strings"

	"cloud.google.com/go/storage"
	"google.golang.org/api/option"

	"github.com/kitehq/kite/backend"
	"github.com/kitehq/kite/internal/provider"
)

func init() {
	backend.Register("gs", open)
}

// config is what a gs:// URL says.
type config struct {
	bucket    string
	endpoint  string // JSON API endpoint for option.WithEndpoint, "" = the SDK's
	anonymous bool
	opts      Options
}

func open(ctx context.Context, u *url.URL) (backend.Backend, error) {
	cfg, err := parseURL(u)
	if err != nil {
		return nil, wrap("Open", "", err)
	}
	var copts []option.ClientOption
	if cfg.endpoint != "" {
		copts = append(copts, option.WithEndpoint(cfg.endpoint))
	}
	if cfg.anonymous {
		copts = append(copts, option.WithoutAuthentication())
	}
	// The client outlives Open's ctx (credentials may keep the context
	// they were made with for token refreshes).
	client, err := storage.NewClient(context.WithoutCancel(ctx), copts...)
	if err != nil {
		return nil, wrap("Open", "", err)
	}
	b, err := newBackend(client, cfg.bucket, cfg.opts)
	if err != nil {
		client.Close()
		return nil, wrap("Open", "", err)
	}
	b.ownsClient = true
	return b, nil
}

// parseURL reads a gs:// URL strictly, loading the signing key file it names.
func parseURL(u *url.URL) (*config, error) {
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return nil, backend.Errorf(backend.ErrInvalidArgument, "gs URL: want gs://bucket?options, without user, path or fragment")
	}
	if u.Host == "" {
		return nil, backend.Errorf(backend.ErrInvalidArgument, "gs URL: no bucket; want gs://bucket")
	}
	p := backend.NewParams(u)
	endpoint := p.String("endpoint", "")
	public := p.String("public_endpoint", "")
	accessID := p.String("access_id", "")
	keyPath := p.String("private_key_path", "")
	chunk := p.Int("chunk_size", DefaultChunkSize)
	anonymous := p.Bool("anonymous", false)
	if err := p.Err(); err != nil {
		return nil, err
	}
	cfg := &config{bucket: u.Host, anonymous: anonymous}
	if chunk <= 0 || chunk > MaxChunkSize || chunk%MinChunkSize != 0 {
		return nil, backend.Errorf(backend.ErrInvalidArgument, "query parameter \"chunk_size\": want a multiple of 256KiB from 256KiB to 1GiB")
	}
	cfg.opts.ChunkSize = int(chunk)
	if endpoint != "" {
		// The JSON API lives under /storage/v1/; the SDK reads objects
		// through the XML API at the same host.
		ep, err := provider.ParseEndpoint(strings.TrimSuffix(strings.TrimSuffix(endpoint, "/"), "/storage/v1"), true)
		if err != nil {
			return nil, backend.Errorf(backend.ErrInvalidArgument, "query parameter \"endpoint\": want http(s)://host[:port] or host[:port]")
		}
		cfg.endpoint = ep.String() + "/storage/v1/"
		if public == "" {
			public = ep.String()
		}
	}
	if public != "" {
		ep, err := provider.ParseEndpoint(public, true)
		if err != nil {
			return nil, backend.Errorf(backend.ErrInvalidArgument, "query parameter \"public_endpoint\": want http(s)://host[:port] or host[:port]")
		}
		cfg.opts.PublicEndpoint = ep.String()
	}
	switch {
	case keyPath != "":
		key, err := os.ReadFile(keyPath)
		if err != nil {
			// The path is not secret; the error of ReadFile names it.
			return nil, backend.Mark(backend.ErrInvalidArgument, err)
		}
		id, _, err := parseSigningKey(key)
		if err != nil {
			return nil, backend.Errorf(backend.ErrInvalidArgument, "private_key_path %q: %v", keyPath, err)
		}
		if accessID == "" && id == "" {
			return nil, backend.Errorf(backend.ErrInvalidArgument, "private_key_path %q is a bare RSA key: set access_id, the service account e-mail", keyPath)
		}
		cfg.opts.GoogleAccessID, cfg.opts.PrivateKey = accessID, key
	case accessID != "":
		return nil, backend.Errorf(backend.ErrInvalidArgument, "access_id without private_key_path cannot sign URLs")
	case !anonymous && os.Getenv("STORAGE_EMULATOR_HOST") == "":
		cfg.opts.GoogleAccessID, cfg.opts.PrivateKey = adcSigningKey()
	}
	return cfg, nil
}

// adcSigningKey returns the signing key of the Application Default
// Credentials when GOOGLE_APPLICATION_CREDENTIALS names a service-account
// key file, which is the only ADC form that carries one; nothing otherwise.
// It reads one local file and makes no network call.
func adcSigningKey() (string, []byte) {
	path := os.Getenv("GOOGLE_APPLICATION_CREDENTIALS")
	if path == "" {
		return "", nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil
	}
	var sa struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(data, &sa) != nil || sa.Type != "service_account" {
		return "", nil
	}
	if _, _, err := parseSigningKey(data); err != nil {
		return "", nil
	}
	return "", data
}
