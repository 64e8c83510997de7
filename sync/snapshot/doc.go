// Package snapshot is the post's HTTPS client for HQ's files. Its one
// job is to bring them to the post intact over a thin link that drops
// often. A snapshot named by a verified protocol.Head becomes a file on
// local disk whose size and SHA-256 are the head's: it downloads into a
// part file, resumes with Range requests after every interruption (also
// across process restarts), and renames the part file to its final name
// only after fsyncing it and checking its size and hash against the head.
//
// It does not parse the file: the caller streams the result through
// protocol.NewSnapshotReader, which checks the signature and the records.
//
// A small file (a sealed delta) comes whole into memory through the same
// Fetcher (Get), bounded in size, with the same TLS, timeouts, retries and
// back-off as a snapshot, without the part file and the resume.
//
// # Retries
//
// Two layers, because go-retryablehttp retries only until response
// headers arrive (hashicorp/go-retryablehttp#152): once
// Do has returned a response, a broken body is the caller's problem and a
// new Do would start at byte 0.
//
//   - retryablehttp.Client.Do gets a usable response: it retries connection
//     errors, 408, 429 and 5xx (not 501) with a jittered backoff that
//     honours Retry-After up to MaxBackoff (checkRetry, Fetcher.wait).
//     Nothing is written to the part file between those inner retries, so
//     the Range header they carry is still right; PrepareRetry recomputes
//     it from the part file's size anyway, so the header always describes
//     the file at send time.
//   - Fetch's own loop reads the body into the part file and, when the body
//     breaks, stalls (IdleTimeout) or ends short, issues a new Do with
//     Range: bytes=<part size>-. A 206 must carry a Content-Range starting
//     exactly there; a 200 means the server ignored the Range, so the part
//     file is truncated and the body written from byte 0 (never appended).
//
// MaxAttempts bounds consecutive attempts, across both layers, that add no
// byte to the part file: a download that keeps making progress is never
// abandoned, a dead link or server gives up after MaxAttempts requests.
//
// # Errors
//
// Every error Fetch returns is an *Error naming the URL (without user
// information or query) and the byte offset reached. It wraps a sentinel
// (ErrHashMismatch, ErrTooLarge, ErrBadResponse, ErrRetriesExhausted), a
// *StatusError, or the context's error; Error.Retryable says whether a
// later Fetch of the same head may succeed.
package snapshot
