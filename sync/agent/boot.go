package agent

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/sync/mqtt"
	"github.com/watchpost/watchpost/sync/protocol"
)

// bootNamespace and bootKey hold the post's boot counter in its store.
const (
	bootNamespace = "agent"
	bootKey       = "boot"
)

// NextBoot increments and returns the post's boot counter, kept in the
// store (durable when it returns). Presence and status records carry it so
// that HQ can order records of different process lifetimes.
func NextBoot(ctx context.Context, st *badgerstore.Store) (uint64, error) {
	var n uint64
	err := st.Records(bootNamespace).Update(ctx, func(tx *badgerstore.RecordsTxn) error {
		b, err := tx.Get([]byte(bootKey))
		switch {
		case errors.Is(err, badgerstore.ErrRecordNotFound):
		case err != nil:
			return err
		case len(b) != 8:
			return fmt.Errorf("boot counter is %d bytes, want 8", len(b))
		default:
			n = binary.BigEndian.Uint64(b)
		}
		n++
		return tx.Set([]byte(bootKey), binary.BigEndian.AppendUint64(nil, n))
	})
	if err != nil {
		return 0, fmt.Errorf("agent: boot counter: %w", err)
	}
	return n, nil
}

// Presence returns the post's presence records for mqtt.Options.Presence:
// online after every connect, offline as the MQTT will.
func Presence(post string, boot uint64) (*mqtt.Presence, error) {
	on, err := json.Marshal(protocol.PresenceRecord{Post: post, State: protocol.Online, Boot: boot})
	if err != nil {
		return nil, err
	}
	off, err := json.Marshal(protocol.PresenceRecord{Post: post, State: protocol.Offline, Boot: boot})
	if err != nil {
		return nil, err
	}
	return &mqtt.Presence{Topic: protocol.PresenceTopic(post), Online: on, Offline: off}, nil
}
