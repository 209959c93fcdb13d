// Package cluster starts a distributed MinIO cluster on loopback for tests:
// several MinIO server processes on 127.0.0.1, one drive each, erasure coded,
// that a test can kill with SIGKILL and restart on the same drive and port.
//
// It is test-support code: import it only from _test.go files. Its own test,
// TestStressCluster (make stress), drives the minio and s3 drivers on two
// such clusters: one node killed under a mixed load and restarted, and two
// nodes down (no write quorum, read quorum kept).
package cluster
