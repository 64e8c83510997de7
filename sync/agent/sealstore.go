package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/sync/protocol"
)

// sealKeyPrefix keys, in the agent's records namespace, the last accepted
// seal-key statement of each HQ signing key: "seal/<key id>" holds the
// signed statement as HQ published it. A restarted post loads them and
// seals at once, without waiting for the broker to deliver HQ's retained
// statement again (a broker that lost it, or a subscription that was not
// answered, would hold every hit and decision back until HQ republishes).
const sealKeyPrefix = "seal/"

func sealStoreKey(id protocol.KeyID) []byte { return []byte(sealKeyPrefix + id.String()) }

// loadSealKeys accepts the statements kept in the store as if they had
// just come from HQ: each is verified again with the trusted keys at now.
// One that no longer verifies (its signing key expired or is no longer
// trusted, or the bytes are damaged) is deleted and logged.
func (a *Agent) loadSealKeys(ctx context.Context) error {
	recs := a.cfg.Store.Records(bootNamespace)
	type kept struct{ key, stmt []byte }
	var all []kept
	err := recs.View(ctx, func(tx *badgerstore.RecordsTxn) error {
		return tx.Iterate([]byte(sealKeyPrefix), func(k, v []byte) error {
			all = append(all, kept{append([]byte(nil), k...), append([]byte(nil), v...)})
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("agent: read kept encryption keys: %w", err)
	}
	var stale [][]byte
	for _, s := range all {
		id, err := a.seals.Accept(a.cfg.Keys, s.stmt, a.cfg.Clock.Now())
		switch {
		case err == nil, errors.Is(err, protocol.ErrDuplicate):
			a.log.Info("kept HQ encryption key loaded", logkey.KeyID, id.String())
			continue
		}
		a.log.Warn("kept HQ encryption key dropped", logkey.Error, fmt.Errorf("record %q: %w", s.key, err))
		stale = append(stale, s.key)
	}
	if len(stale) == 0 {
		return nil
	}
	err = recs.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
		for _, k := range stale {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("agent: drop kept encryption keys: %w", err)
	}
	return nil
}

// saveSealKey keeps stmt, accepted for signing key id, in the store.
func (a *Agent) saveSealKey(ctx context.Context, id protocol.KeyID, stmt []byte) error {
	return a.cfg.Store.Records(bootNamespace).Update(ctx, func(tx *badgerstore.RecordsTxn) error {
		return tx.Set(sealStoreKey(id), stmt)
	})
}
