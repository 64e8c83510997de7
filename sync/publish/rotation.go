package publish

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/sync/protocol"
)

// KeysNamespace is the records namespace of HQ's store that keeps the
// rotation statements AnnounceKey published, one per announced key, so
// that RepublishHeads can publish them again.
const KeysNamespace = "hq-keys"

// prefixRotation starts the key of a stored rotation: "rot/<key id hex>".
var prefixRotation = []byte("rot/")

// ErrBadRotation: AnnounceKey refused the request (own key, a window that
// has ended or is empty, a key announced before with other dates). The
// caller's input is at fault; nothing was published.
var ErrBadRotation = errors.New("bad key rotation")

// AnnounceResult says what AnnounceKey published.
type AnnounceResult struct {
	// KeyID is the new key's id; SignerID the id of the key that signed
	// the statement (the publisher's current key).
	KeyID, SignerID protocol.KeyID
	PublicKey       ed25519.PublicKey
	// NotBefore, NotAfter: the new key's window; IssuedAt: the statement's.
	NotBefore, NotAfter, IssuedAt time.Time
	// Topic is the retained topic the statement went to; Bytes its size.
	Topic string
	Bytes int
	// Republished: the key had been announced before with the same
	// window; the stored statement was published again unchanged.
	Republished bool
}

// storedRotation is a published rotation statement in KeysNamespace
// (JSON, format 1).
type storedRotation struct {
	Format    int       `json:"format"`
	KeyID     string    `json:"key_id"`
	SignerID  string    `json:"signer_id"`
	PublicKey string    `json:"public_key"` // protocol.FormatPublicKey
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	IssuedAt  time.Time `json:"issued_at"`
	// Statement is the sealed envelope as published.
	Statement []byte `json:"statement"`
}

const rotationFormat = 1

func rotationKey(id protocol.KeyID) []byte {
	return append(append([]byte(nil), prefixRotation...), id.String()...)
}

func (r storedRotation) result() (AnnounceResult, error) {
	pub, err := protocol.ParsePublicKey(r.PublicKey)
	if err != nil {
		return AnnounceResult{}, fmt.Errorf("stored rotation %s: %w", r.KeyID, err)
	}
	env, err := protocol.DecodeEnvelope(r.Statement)
	if err != nil {
		return AnnounceResult{}, fmt.Errorf("stored rotation %s: %w", r.KeyID, err)
	}
	id := protocol.KeyIDOf(pub)
	return AnnounceResult{
		KeyID: id, SignerID: env.KeyID, PublicKey: pub,
		NotBefore: r.NotBefore, NotAfter: r.NotAfter, IssuedAt: r.IssuedAt,
		Topic: protocol.KeyTopic(id), Bytes: len(r.Statement),
	}, nil
}

// AnnounceKey introduces newPub to the posts: it signs a
// protocol.KeyRotation (newPub trusted from notBefore until notAfter)
// with the publisher's current signer, publishes it retained with QoS 1
// on protocol.KeyTopic of the new key, and records it in HQ's store
// (KeysNamespace) so that RepublishHeads publishes it again while its
// window lasts (a broker that lost its retained messages gets it back).
//
// A zero notBefore means now. Times are protocol times: whole seconds,
// UTC. It refuses (ErrBadRotation) the signer's own key (a key cannot
// extend its own life), notAfter not after notBefore, a window that has
// already ended, and a key announced before with another window (posts
// that accepted the first would reject it as a conflict). A key announced
// before with the same window is published again from the stored
// statement (Republished).
//
// The statement is recorded only after the broker acknowledged it; a
// failed publish leaves nothing stored and may be retried.
func (p *Publisher) AnnounceKey(ctx context.Context, newPub ed25519.PublicKey, notBefore, notAfter time.Time) (AnnounceResult, error) {
	fail := func(err error) (AnnounceResult, error) { return AnnounceResult{}, fmt.Errorf("announce key: %w", err) }
	bad := func(format string, args ...any) (AnnounceResult, error) {
		return fail(fmt.Errorf("%w: "+format, append([]any{ErrBadRotation}, args...)...))
	}
	if len(newPub) != ed25519.PublicKeySize {
		return bad("public key is %d bytes, want %d", len(newPub), ed25519.PublicKeySize)
	}
	now := p.cfg.Clock.Now().UTC().Truncate(time.Second)
	if notBefore.IsZero() {
		notBefore = now
	}
	notBefore, notAfter = notBefore.UTC().Truncate(time.Second), notAfter.UTC().Truncate(time.Second)
	id, signer := protocol.KeyIDOf(newPub), p.cfg.Signer.ID()
	switch {
	case id == signer || bytes.Equal(newPub, p.cfg.Signer.Public()):
		return bad("key %s is the key HQ signs with now: announce the next key, not this one", id)
	case notAfter.IsZero():
		return bad("not-after is required")
	case !notAfter.After(notBefore):
		return bad("not-after %s is not after not-before %s", notAfter.Format(time.RFC3339), notBefore.Format(time.RFC3339))
	case !notAfter.After(now):
		return bad("the window ended at %s, now is %s", notAfter.Format(time.RFC3339), now.Format(time.RFC3339))
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	rec := p.cfg.Store.Records(KeysNamespace)
	old, found, err := loadRotation(ctx, rec, id)
	if err != nil {
		return fail(err)
	}
	if found {
		if !old.NotBefore.Equal(notBefore) || !old.NotAfter.Equal(notAfter) {
			return bad("key %s was announced already, valid %s to %s: posts that accepted it would reject other dates (announce a new key instead)",
				id, old.NotBefore.Format(time.RFC3339), old.NotAfter.Format(time.RFC3339))
		}
		if err := p.cfg.Transport.Publish(ctx, protocol.KeyTopic(id), old.Statement, true); err != nil {
			return fail(fmt.Errorf("publish rotation to key %s: %w", id, err))
		}
		res, err := old.result()
		if err != nil {
			return fail(err)
		}
		res.Republished = true
		p.log.Info("Published a key rotation again", logkey.KeyID, id.String(), logkey.SignerID, res.SignerID.String())
		return res, nil
	}

	r := &protocol.KeyRotation{NewKey: slices.Clone(newPub), NotBefore: notBefore, NotAfter: notAfter, IssuedAt: now}
	msg, err := protocol.SealKeyRotation(p.cfg.Signer, r)
	if err != nil {
		return fail(fmt.Errorf("%w: %w", ErrBadRotation, err))
	}
	if err := p.cfg.Transport.Publish(ctx, protocol.KeyTopic(id), msg, true); err != nil {
		return fail(fmt.Errorf("publish rotation to key %s: %w", id, err))
	}
	st := storedRotation{
		Format: rotationFormat, KeyID: id.String(), SignerID: signer.String(), PublicKey: protocol.FormatPublicKey(newPub),
		NotBefore: notBefore, NotAfter: notAfter, IssuedAt: now, Statement: msg,
	}
	b, err := json.Marshal(st)
	if err != nil {
		return fail(err)
	}
	if err := rec.Update(ctx, func(tx *badgerstore.RecordsTxn) error { return tx.Set(rotationKey(id), b) }); err != nil {
		return fail(fmt.Errorf("rotation published, not recorded (announce it again to record it): %w", err))
	}
	p.log.Info("Announced a new signing key", logkey.KeyID, id.String(), logkey.SignerID, signer.String(),
		logkey.NotBefore, notBefore, logkey.NotAfter, notAfter)
	res, err := st.result()
	if err != nil {
		return fail(err)
	}
	return res, nil
}

func loadRotation(ctx context.Context, rec *badgerstore.Records, id protocol.KeyID) (storedRotation, bool, error) {
	var st storedRotation
	found := false
	err := rec.View(ctx, func(tx *badgerstore.RecordsTxn) error {
		b, err := tx.Get(rotationKey(id))
		if errors.Is(err, badgerstore.ErrRecordNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		return decodeRotation(b, &st)
	})
	if err != nil {
		return st, false, fmt.Errorf("read stored rotation of key %s: %w", id, err)
	}
	return st, found, nil
}

func decodeRotation(b []byte, st *storedRotation) error {
	if err := json.Unmarshal(b, st); err != nil {
		return fmt.Errorf("stored rotation: %w", err)
	}
	if st.Format != rotationFormat {
		return fmt.Errorf("stored rotation of key %s: format %d, this program reads format %d", st.KeyID, st.Format, rotationFormat)
	}
	return nil
}

// Rotations returns the rotation statements HQ's store holds (announced
// by AnnounceKey), sorted by key id, expired ones included.
func Rotations(ctx context.Context, st *badgerstore.Store) ([]AnnounceResult, error) {
	var out []AnnounceResult
	err := st.Records(KeysNamespace).View(ctx, func(tx *badgerstore.RecordsTxn) error {
		return tx.Iterate(prefixRotation, func(_, value []byte) error {
			var sr storedRotation
			if err := decodeRotation(value, &sr); err != nil {
				return err
			}
			r, err := sr.result()
			if err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read key rotations: %w", err)
	}
	return out, nil
}

// republishKeys publishes again (retained) the stored rotation statements
// whose window has not ended. Called with p.mu held. Statements of ended
// windows stay in the store (a record of what HQ announced) and are not
// published: posts would refuse them (ErrExpired).
func (p *Publisher) republishKeys(ctx context.Context) (int, error) {
	now := p.cfg.Clock.Now()
	var due []storedRotation
	err := p.cfg.Store.Records(KeysNamespace).View(ctx, func(tx *badgerstore.RecordsTxn) error {
		return tx.Iterate(prefixRotation, func(_, value []byte) error {
			var sr storedRotation
			if err := decodeRotation(value, &sr); err != nil {
				return err
			}
			if now.Before(sr.NotAfter) {
				due = append(due, sr)
			}
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("republish key rotations: %w", err)
	}
	var errs []error
	n := 0
	for _, sr := range due {
		r, err := sr.result()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := p.cfg.Transport.Publish(ctx, r.Topic, sr.Statement, true); err != nil {
			errs = append(errs, fmt.Errorf("republish rotation to key %s: %w", sr.KeyID, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
