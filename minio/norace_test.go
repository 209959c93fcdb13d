//go:build !race

package minio_test

const raceEnabled = false
