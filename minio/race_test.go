//go:build race

package minio_test

// raceEnabled: the race detector multiplies memory use, so RSS is not measured.
const raceEnabled = true
