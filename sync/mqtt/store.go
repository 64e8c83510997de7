package mqtt

import (
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// copyStore is paho's MemoryStore holding private copies of PUBLISH
// packets. paho v1.5.1's resume() sets Dup on the packet it gets from the
// store while the writer of the new connection may still be writing the
// same packet object, queued before the connection dropped (a data race
// the race detector reports; paho issue #703). With a copy per Put and
// per Get, resume mutates a packet no one else holds.
//
// Memory, not paho's FileStore: durability belongs to the Badger outbox
// (resend by hit id until HQ's application ack), and the FileStore does
// not fsync. A restart loses at most the in-flight
// window, which the outbox resends.
type copyStore struct{ paho.Store }

func newCopyStore() paho.Store { return copyStore{paho.NewMemoryStore()} }

func clonePacket(p packets.ControlPacket) packets.ControlPacket {
	if pub, ok := p.(*packets.PublishPacket); ok && pub != nil {
		c := *pub
		return &c
	}
	return p
}

func (s copyStore) Put(key string, p packets.ControlPacket) { s.Store.Put(key, clonePacket(p)) }

func (s copyStore) Get(key string) packets.ControlPacket { return clonePacket(s.Store.Get(key)) }
