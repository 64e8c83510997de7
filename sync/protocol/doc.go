// Package protocol is Watchpost's wire: everything the posts and HQ say to
// each other, and the post's rules for trusting what HQ says. Its one job
// is to define the contract both sides meet in, so that no post package
// needs an HQ package and no HQ package a post package: the topics and the
// broker's access table (topics.go), HQ's HTTPS paths and file names
// (paths.go), the identities (ids.go), the post → HQ records and HQ's
// acknowledgements (records.go, fleet.go), and the signed HQ → post
// messages with the rules that decide, purely and deterministically from
// the post's persisted list state and an injected clock, what the post
// does with each one: apply, drop, fetch a snapshot, or reject.
//
// It signs and verifies Ed25519 envelopes with domain separation per
// message kind (see Kind), encodes and decodes deltas, heads, key
// rotations and snapshot files with strict size limits, and computes list
// hashes exactly as engine/badgerstore does. It performs no I/O beyond
// the io.Reader and io.Writer it is handed: no MQTT, no network, no
// Badger. ../PROTOCOL.md is the specification; the wire layouts below are
// its normative part.
//
// # Trust order
//
// A message is verified before its payload is parsed: DecodeEnvelope
// reads only the fixed header, KeySet.Open checks the kind, the key and
// the signature, and only then does DecodeDelta (or DecodeHead, …) look at
// the payload. Decide and DecideHead take verified messages only.
//
// # Errors
//
// Every decoding failure is a *DecodeError naming the message, the field
// and the byte offset; it matches ErrMalformed with errors.Is. Trust and
// decision failures wrap one of the sentinel errors in errors.go, so a
// caller can classify them (alarm, ignore, re-snapshot) without parsing
// strings.
package protocol
