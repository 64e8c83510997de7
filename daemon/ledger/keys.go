package ledger

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
)

// Key prefixes; see the package doc.
const (
	prefixScreening = "s/"
	prefixAudit     = "a/"
	prefixHit       = "h/"
	prefixHitIndex  = "hi/"
	prefixStatus    = "hs/"
	prefixBatch     = "b/"
	prefixBatchTime = "bt/"
	// The audit chain (chain.go).
	prefixChain      = "c/"
	prefixHole       = "ch/"
	prefixCheckpoint = "k/"
)

var keySchema = []byte("m/schema")

// idLen is the length of outbox.NewID ids.
const idLen = 26

// orderLen is the length of the <t><n> or <^t><^n> part of a key suffix,
// suffixLen that of the whole suffix (with the id).
const (
	orderLen  = 16
	suffixLen = orderLen + idLen
)

func nanos(t time.Time) uint64 { return uint64(max(t.UnixNano(), 0)) }

// timeID returns <t><n><id>.
func timeID(t time.Time, n uint64, id string) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, suffixLen), nanos(t))
	b = binary.BigEndian.AppendUint64(b, n)
	return append(b, id...)
}

// invTimeID returns <^t><^n><id>.
func invTimeID(t time.Time, n uint64, id string) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, suffixLen), ^nanos(t))
	b = binary.BigEndian.AppendUint64(b, ^n)
	return append(b, id...)
}

func timeKey(prefix string, t time.Time, n uint64, id string) []byte {
	return append([]byte(prefix), timeID(t, n, id)...)
}

func hitKey(id string) []byte { return append([]byte(prefixHit), id...) }

func statusPrefix(s Status) []byte { return []byte(prefixStatus + string(s) + "/") }

// validID reports whether id looks like an outbox.NewID id (26 Crockford
// base-32 characters), so that a caller's id never builds a strange key.
func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// encodeCursor turns a key suffix into a cursor.
func encodeCursor(suffix []byte) string {
	return hex.EncodeToString(suffix[:orderLen]) + string(suffix[orderLen:])
}

// decodeCursor is the inverse of encodeCursor; it returns the key just
// after the suffix (suffix + 0x00), where the next page starts.
func decodeCursor(c string) ([]byte, error) {
	const hexLen = 2 * orderLen
	if len(c) != hexLen+idLen || !validID(c[hexLen:]) {
		return nil, fmt.Errorf("%w: malformed cursor", ErrInvalid)
	}
	t, err := hex.DecodeString(c[:hexLen])
	if err != nil {
		return nil, fmt.Errorf("%w: malformed cursor", ErrInvalid)
	}
	return append(append(t, c[hexLen:]...), 0), nil
}

func pageLimit(n int) (int, error) {
	switch {
	case n < 0:
		return 0, fmt.Errorf("%w: negative limit", ErrInvalid)
	case n == 0:
		return DefaultPageLimit, nil
	case n > MaxPageLimit:
		return MaxPageLimit, nil
	}
	return n, nil
}
