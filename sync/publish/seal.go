package publish

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/sync/protocol"
)

// HQ's encryption keys: one X25519 key per signing key, made the first
// time HQ runs with that signing key, kept in KeysNamespace under
// seal/<signing key id> (the store is encrypted at rest when HQ has a
// store key), and announced by a seal-key statement that the signing key
// signs, published retained on protocol.SealKeyTopic. Keys of earlier
// signing keys stay, so records sealed to them during a rotation are
// still opened.

var prefixSeal = []byte("seal/")

const sealFormat = 1

// storedSealKey is one encryption key in KeysNamespace (JSON, format 1).
type storedSealKey struct {
	Format  int    `json:"format"`
	KeyID   string `json:"key_id"`
	Private []byte `json:"private"`
	// Statement is the signed seal-key statement as published.
	Statement []byte    `json:"statement"`
	CreatedAt time.Time `json:"created_at"`
}

func sealKey(id protocol.KeyID) []byte {
	return append(append([]byte(nil), prefixSeal...), id.String()...)
}

// SealKey returns the signed seal-key statement of signer's encryption
// key, making the key (and storing it) if HQ has none for signer yet.
func SealKey(ctx context.Context, st *badgerstore.Store, signer *protocol.Signer, now time.Time) ([]byte, error) {
	var out []byte
	err := st.Records(KeysNamespace).Update(ctx, func(tx *badgerstore.RecordsTxn) error {
		v, err := tx.Get(sealKey(signer.ID()))
		switch {
		case err == nil:
			var sk storedSealKey
			if err := json.Unmarshal(v, &sk); err != nil || sk.Format != sealFormat {
				return fmt.Errorf("stored encryption key of %s: format %d: %v", signer.ID(), sk.Format, err)
			}
			out = sk.Statement
			return nil
		case !errors.Is(err, badgerstore.ErrRecordNotFound):
			return err
		}
		k, err := protocol.GenerateSealKey(rand.Reader)
		if err != nil {
			return err
		}
		stmt, err := protocol.SealSealKey(signer, &protocol.SealKeyStatement{Public: k.Public(), IssuedAt: now.UTC().Truncate(time.Second)})
		if err != nil {
			return err
		}
		b, err := json.Marshal(storedSealKey{Format: sealFormat, KeyID: signer.ID().String(), Private: k.Bytes(), Statement: stmt, CreatedAt: now.UTC()})
		if err != nil {
			return err
		}
		out = stmt
		return tx.Set(sealKey(signer.ID()), b)
	})
	if err != nil {
		return nil, fmt.Errorf("encryption key of %s: %w", signer.ID(), err)
	}
	return out, nil
}

// SealKeys returns every encryption key HQ has made, by signing key id.
func SealKeys(ctx context.Context, st *badgerstore.Store) (map[protocol.KeyID]*protocol.SealPrivateKey, error) {
	out := map[protocol.KeyID]*protocol.SealPrivateKey{}
	err := st.Records(KeysNamespace).View(ctx, func(tx *badgerstore.RecordsTxn) error {
		return tx.Iterate(prefixSeal, func(key, v []byte) error {
			var sk storedSealKey
			if err := json.Unmarshal(v, &sk); err != nil || sk.Format != sealFormat {
				return fmt.Errorf("stored encryption key %q: format %d: %v", key, sk.Format, err)
			}
			id, err := protocol.ParseKeyID(sk.KeyID)
			if err != nil {
				return err
			}
			k, err := protocol.NewSealPrivateKey(sk.Private)
			if err != nil {
				return fmt.Errorf("stored encryption key of %s: %w", id, err)
			}
			out[id] = k
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read encryption keys: %w", err)
	}
	return out, nil
}

// publishSealKey publishes (retained) the statement of the publisher's
// signing key's encryption key, making the key first if needed. Called
// with p.mu held.
func (p *Publisher) publishSealKey(ctx context.Context) error {
	stmt, err := SealKey(ctx, p.cfg.Store, p.cfg.Signer, p.cfg.Clock.Now())
	if err != nil {
		return err
	}
	if err := p.cfg.Transport.Publish(ctx, protocol.SealKeyTopic(p.cfg.Signer.ID()), stmt, true); err != nil {
		return fmt.Errorf("publish encryption key of %s: %w", p.cfg.Signer.ID(), err)
	}
	return nil
}
