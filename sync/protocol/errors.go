package protocol

import (
	"errors"
	"fmt"
)

// Errors that say why a message was not accepted. Decode failures match
// ErrMalformed; trust failures match ErrUnsigned, ErrUnknownKey,
// ErrKeyNotValid, ErrBadSignature or ErrWrongKind; decision outcomes match
// the rest. All are wrapped with details (versions, times, key ids).
var (
	// ErrMalformed: the bytes do not decode (truncated, padded, a count
	// or length beyond its limit, an invalid field).
	ErrMalformed = errors.New("malformed message")
	// ErrUnsigned: the message is not a signed envelope, or its signature
	// is empty.
	ErrUnsigned = errors.New("message is not signed")
	// ErrUnknownKey: the envelope names a key the post does not trust.
	ErrUnknownKey = errors.New("signed by an unknown key")
	// ErrKeyNotValid: the key is trusted only outside the current time.
	ErrKeyNotValid = errors.New("signing key not valid at this time")
	// ErrBadSignature: the signature does not verify for this kind and payload.
	ErrBadSignature = errors.New("bad signature")
	// ErrWrongKind: the envelope holds another kind of message than expected.
	ErrWrongKind = errors.New("wrong message kind")

	// ErrWrongList: a valid message for another list.
	ErrWrongList = errors.New("message for another list")
	// ErrDuplicate: the post already holds what the message brings.
	ErrDuplicate = errors.New("duplicate")
	// ErrReplay: an older message than one already accepted.
	ErrReplay = errors.New("replay of an older message")
	// ErrRollback: the message would take the post back to an older epoch
	// or version than HQ has already signed for.
	ErrRollback = errors.New("rollback")
	// ErrFastForward: the message claims a version (or epoch) further
	// ahead than the policy allows in one step.
	ErrFastForward = errors.New("fast-forward beyond the allowed step")
	// ErrExpired: the message's valid-until time has passed.
	ErrExpired = errors.New("expired")
	// ErrStaleBranch: a delta issued before the last verified head that
	// goes beyond the version that head names: HQ's log at the head's
	// time did not contain it.
	ErrStaleBranch = errors.New("delta not in the log of a newer head")
	// ErrConflict: two different signed statements where one is allowed
	// (two heads with the same issue time, a key re-announced with other
	// dates).
	ErrConflict = errors.New("conflicting signed statements")

	// ErrGap: one or more versions between the held one and the delta are missing.
	ErrGap = errors.New("gap in the version log")
	// ErrBacklog: the post is further behind than HQ keeps deltas for.
	ErrBacklog = errors.New("backlog larger than the delta window")
	// ErrNewEpoch: HQ started a new epoch; only a snapshot leads into it.
	ErrNewEpoch = errors.New("new epoch")
	// ErrNoBase: the post holds no version of the list yet.
	ErrNoBase = errors.New("no base version held")
	// ErrDiverged: the post's list hash differs from HQ's at the same
	// version (or after applying a delta).
	ErrDiverged = errors.New("list hash diverged from HQ")
)

// DecodeError is a decoding failure: which message, which field, at
// which byte offset (from the start of the decoded buffer: the payload for
// messages, the envelope for the envelope, the file for snapshots).
type DecodeError struct {
	Message string // "envelope", "delta", "head", "key rotation", "snapshot", "key set"
	Field   string
	Offset  int64
	Err     error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("decode %s: field %s at offset %d: %v", e.Message, e.Field, e.Offset, e.Err)
}

// Unwrap makes a DecodeError match ErrMalformed and its cause.
func (e *DecodeError) Unwrap() []error { return []error{ErrMalformed, e.Err} }
