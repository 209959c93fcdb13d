// Package local is Kite's directory driver: each object is one file under a
// root directory, written to a temporary file next to its target, fsynced,
// renamed into place and made durable with an fsync of the directory. Every
// access is confined to the directory, through an os.Root or, on Linux, an
// openat2 with RESOLVE_BENEATH and *at system calls that follow no symbolic
// link, so nothing outside the directory is ever read or written, even
// through a symbolic link planted inside it. Presigned URLs are HMAC-signed
// and served by the backend's own Handler.
//
// # URLs
//
//	file:///var/lib/app/objects?create_dir=true&base_url=https://files.example.com/files/&secret=…
//
// The path must be absolute; the host must be empty or "localhost".
// Parameters (all optional; any other is an error):
//
//   - create_dir: true creates the directory and its parents when missing
//     (default false: a missing directory is an error).
//   - nosync: true skips every fsync (default false). Faster, but a crash of
//     the machine may lose recent writes; for tests and caches.
//   - base_url: absolute http or https URL where Handler is mounted;
//     presigned URLs start with it.
//   - secret: HMAC key of presigned URLs, at least 32 characters; needed with
//     base_url. Never shown in an error.
//   - max_upload_size: largest presigned PUT, e.g. 100MiB (default 5GiB).
//   - cors_origins: comma-separated origins allowed to use presigned URLs
//     from a browser, e.g. https://a.example,https://b.example, or * for
//     any (default: none).
//
// Without base_url and secret, PresignGet and PresignPut fail with
// backend.ErrUnsupported.
//
// # On disk
//
// Key "a/b/c" is the file "a/b/c\" (the last segment followed by a
// backslash) in the directory "a/b". A last segment of 255 bytes, which has
// no room for the backslash, is stored as `\h` + hex(sha256(segment)) and its
// key is read back from the file. Keys never contain a backslash, so these
// names cannot collide with a key, and "a" and "a/b" coexist as on S3.
// Temporary files are named `\t…` and are never listed; a writer holds an
// flock on its own until the commit, so the temporary file of a writer that
// died (a killed process) is the one nobody holds, and Backend.Sweep removes
// it. New starts one Sweep in the background (Options.NoSweep: not).
// Each file holds the
// object's bytes followed by a JSON trailer (key, content type, metadata,
// ETag, modification time) and an 8-byte footer, so one rename commits data
// and attributes together, and a new Backend on the same directory sees the
// same objects with the same attributes.
//
// Conditional writes are atomic across processes sharing the directory:
// IfNotExists creates with a hard link, which refuses to replace, and
// IfMatch, plain Put and Delete take an flock on the file they replace.
// The driver needs a file system that is case-sensitive and does not
// normalise Unicode names (as ext4, XFS and tmpfs are), with hard links and
// flock; it does not run on Windows, where the backslash is a separator.
package local
