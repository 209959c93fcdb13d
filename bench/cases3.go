package main

import (
	"context"
	"net/http"

	kminio "github.com/kitehq/kite/minio"
	ks3 "github.com/kitehq/kite/s3"

	"github.com/kitehq/kite/internal/s3canned"
)

// caseClientCPU measures client CPU per 4 KiB put, get and stat of the
// minio and s3 drivers beside their SDKs without a server: every client
// talks to s3canned, an http.RoundTripper that answers in process. On the
// MinIO cases the server shares the two cores with the client, and one
// window's CPU per op varies by 10-15 % (see their A/A controls); here
// nothing else runs, so the ratio's interval is tighter, though the
// machine itself still varies from window to window (the A/A again).
func caseClientCPU(ctx context.Context, cfg *config, rep *report) error {
	e := serverEnv{endpoint: "127.0.0.1:1", access: "AKBENCHCANNED", secret: "bench-canned-secret"}
	body := pattern(smallSize)
	canned := func() *s3canned.Transport { return &s3canned.Transport{Body: body} }
	var cs []client
	mk, _, err := newMinioClientRT(e, canned())
	if err != nil {
		return err
	}
	kmin, err := kminio.New(mk, bucket, kminio.Options{Region: region})
	if err != nil {
		return err
	}
	cs = append(cs, client{"kite minio", kiteStore{b: kmin}})
	for _, name := range []string{"minio-go", "minio-go" + aaSuffix} {
		m, _, err := newMinioClientRT(e, canned())
		if err != nil {
			return err
		}
		cs = append(cs, client{name, minioStore{c: m}})
	}
	ak, _ := newAWSClientDoer(e, &http.Client{Transport: canned()})
	ks, err := ks3.New(ak, bucket, ks3.Options{})
	if err != nil {
		return err
	}
	cs = append(cs, client{"kite s3", kiteStore{b: ks}})
	for _, name := range []string{"aws-sdk-go-v2", "aws-sdk-go-v2" + aaSuffix} {
		a, _ := newAWSClientDoer(e, &http.Client{Transport: canned()})
		cs = append(cs, client{name, awsStore{c: a}})
	}
	return runSpec(ctx, cfg, rep, spec{
		cs: "client-cpu", clients: cs, ops: []string{"put", "get", "stat"}, concs: []int{1},
		data: body, bufSize: 32 << 10, window: cfg.window / 2, unit: "ops/s", cpu: true, prepared: true, paired: true,
	})
}
