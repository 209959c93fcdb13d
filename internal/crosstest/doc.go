// Package crosstest holds tests that use several drivers at once, such as
// portability between the minio and s3 drivers on one bucket. It has no code
// of its own.
package crosstest
