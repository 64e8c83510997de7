package protocol

import (
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Kind is the kind of a signed message. The signature covers
// "watchpost/v1/<kind>\n" followed by the payload, so a signature made for
// one kind never verifies as another.
type Kind uint8

// Message kinds. Values are part of the wire format.
const (
	KindDelta    Kind = 1
	KindHead     Kind = 2
	KindRotation Kind = 3
	KindSnapshot Kind = 4
	// KindSealKey: HQ's encryption key statement (EncodeSealKey).
	KindSealKey Kind = 5
	// KindDocDelta and KindDocSnapshot: a delta and a snapshot header of a
	// documents list (EncodeDelta with Delta.Kind documents, a
	// SnapshotHeader of Kind documents).
	KindDocDelta    Kind = 6
	KindDocSnapshot Kind = 7
)

// String returns the kind's name as used in the signing domain.
func (k Kind) String() string { return enumName(kindNames[:], uint8(k), "kind") }

var kindNames = [...]string{
	KindDelta: "delta", KindHead: "head", KindRotation: "key-rotation", KindSnapshot: "snapshot",
	KindSealKey: "seal-key", KindDocDelta: "doc-delta", KindDocSnapshot: "doc-snapshot",
}

// enumName returns names[v], or prefix-v when v has no name: the String
// of the package's small enums.
func enumName(names []string, v uint8, prefix string) string {
	if int(v) < len(names) && names[v] != "" {
		return names[v]
	}
	return fmt.Sprintf("%s-%d", prefix, v)
}

func (k Kind) known() bool { return k >= KindDelta && k <= KindDocSnapshot }

// Domain returns the signing domain of the kind: "watchpost/v1/<kind>\n".
func (k Kind) Domain() string { return "watchpost/v1/" + k.String() + "\n" }

// Envelope layout, v1 (all integers big-endian):
//
//	offset  size  field
//	0       2     magic "WP"
//	2       1     version (1)
//	3       1     kind (Kind)
//	4       8     key id (KeyID of the signing key)
//	12      64    Ed25519 signature over Kind.Domain() || payload
//	76      4     payload length n (1 .. MaxEnvelopeSize-80)
//	80      n     payload; the envelope ends exactly here
const (
	envelopeVersion    = 1
	EnvelopeHeaderSize = 80
	offKind            = 3
	offKeyID           = 4
	offSig             = 12
	offLen             = 76
)

// Envelope is a decoded, not yet verified, signed message.
type Envelope struct {
	Kind      Kind
	KeyID     KeyID
	Signature [ed25519.SignatureSize]byte
	Payload   []byte // aliases the decoded buffer
}

func signedMessage(kind Kind, payload []byte) []byte {
	dom := kind.Domain()
	m := make([]byte, 0, len(dom)+len(payload))
	m = append(m, dom...)
	return append(m, payload...)
}

// Seal signs payload as kind and returns the envelope bytes.
func Seal(s *Signer, kind Kind, payload []byte) ([]byte, error) {
	if !kind.known() {
		return nil, fmt.Errorf("seal: unknown kind %d", kind)
	}
	if len(payload) == 0 || len(payload) > MaxEnvelopeSize-EnvelopeHeaderSize {
		return nil, fmt.Errorf("seal %s: payload of %d bytes, want 1 to %d", kind, len(payload), MaxEnvelopeSize-EnvelopeHeaderSize)
	}
	sig := ed25519.Sign(s.key, signedMessage(kind, payload))
	b := make([]byte, EnvelopeHeaderSize, EnvelopeHeaderSize+len(payload))
	b[0], b[1], b[2], b[offKind] = 'W', 'P', envelopeVersion, byte(kind)
	copy(b[offKeyID:], s.id[:])
	copy(b[offSig:], sig)
	binary.BigEndian.PutUint32(b[offLen:], uint32(len(payload)))
	return append(b, payload...), nil
}

// DecodeEnvelope reads the envelope structure. It checks no signature:
// use KeySet.Open for that.
func DecodeEnvelope(b []byte) (*Envelope, error) {
	fail := func(field string, off int, err error) (*Envelope, error) {
		return nil, &DecodeError{Message: "envelope", Field: field, Offset: int64(off), Err: err}
	}
	if len(b) > MaxEnvelopeSize {
		return fail("length", 0, fmt.Errorf("%d bytes exceeds the limit of %d", len(b), MaxEnvelopeSize))
	}
	if len(b) < 2 || b[0] != 'W' || b[1] != 'P' {
		return fail("magic", 0, fmt.Errorf("%w: not a signed watchpost envelope (want magic \"WP\")", ErrUnsigned))
	}
	if len(b) < EnvelopeHeaderSize {
		return fail("header", len(b), fmt.Errorf("truncated: %d bytes, the header alone is %d", len(b), EnvelopeHeaderSize))
	}
	if b[2] != envelopeVersion {
		return fail("version", 2, fmt.Errorf("unsupported envelope version %d (want %d)", b[2], envelopeVersion))
	}
	e := &Envelope{Kind: Kind(b[offKind])}
	if !e.Kind.known() {
		return fail("kind", offKind, fmt.Errorf("unknown kind %d", b[offKind]))
	}
	copy(e.KeyID[:], b[offKeyID:])
	copy(e.Signature[:], b[offSig:])
	n := binary.BigEndian.Uint32(b[offLen:])
	have := len(b) - EnvelopeHeaderSize
	switch {
	case n == 0:
		return fail("payload length", offLen, errors.New("empty payload"))
	case uint64(n) > uint64(have):
		return fail("payload", len(b), fmt.Errorf("truncated: length says %d bytes, %d present", n, have))
	case uint64(n) < uint64(have):
		return fail("payload", EnvelopeHeaderSize+int(n), fmt.Errorf("%d bytes after the payload", have-int(n)))
	}
	e.Payload = b[EnvelopeHeaderSize:]
	return e, nil
}

// Open verifies a signed message of kind want at time now and returns its
// payload (aliasing b) and the signing key's id. Nothing of the payload is
// parsed. The order of checks: structure, kind, an empty signature
// (ErrUnsigned), a trusted key (ErrUnknownKey), the key's window at now
// (ErrKeyNotValid), the signature (ErrBadSignature). A post passes its
// floored clock (ListState.Clock) as now.
func (ks *KeySet) Open(b []byte, want Kind, now time.Time) ([]byte, KeyID, error) {
	e, err := DecodeEnvelope(b)
	if err != nil {
		return nil, KeyID{}, err
	}
	if e.Kind != want {
		return nil, e.KeyID, fmt.Errorf("open %s: %w: envelope holds a %s", want, ErrWrongKind, e.Kind)
	}
	if e.Signature == ([ed25519.SignatureSize]byte{}) {
		return nil, e.KeyID, fmt.Errorf("open %s: %w: empty signature", want, ErrUnsigned)
	}
	k, ok := ks.Lookup(e.KeyID)
	if !ok {
		return nil, e.KeyID, fmt.Errorf("open %s: %w %s", want, ErrUnknownKey, e.KeyID)
	}
	if err := k.ValidAt(now); err != nil {
		return nil, e.KeyID, fmt.Errorf("open %s: %w", want, err)
	}
	if !ed25519.Verify(k.Public, signedMessage(want, e.Payload), e.Signature[:]) {
		return nil, e.KeyID, fmt.Errorf("open %s: %w (key %s)", want, ErrBadSignature, e.KeyID)
	}
	return e.Payload, e.KeyID, nil
}
