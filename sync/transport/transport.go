// Package transport is the sync code's own view of the link to HQ: a
// small, protocol-neutral publish/subscribe interface (Transport) and the
// delivery machinery every implementation shares (Router). Its one job is
// to say what the sync code may expect of a link, whatever carries it:
// sync/mqtt implements it with paho.mqtt.golang, sync/fake in memory, and
// transporttest holds the contract suite both must pass.
//
// # Semantics every implementation keeps
//
//   - Publish is QoS 1 ("at least once" per hop). It returns nil when the
//     broker acknowledged the message (PUBACK), and an error when the
//     transport is closed, not connected, or ctx ended first. An error does
//     not mean the message was not delivered, and nil does not mean HQ
//     processed it: callers that need delivery (the hit outbox) wait for
//     HQ's application-level acknowledgement and resend with the same id.
//     Publish never waits for a connection: while the link is down it fails
//     at once with ErrNotConnected, so the only queue of unsent data is the
//     caller's durable one.
//   - Subscribe registers a handler for an MQTT topic filter ("+" and "#"
//     wildcards). The subscription is remembered and restored on every
//     (re)connect; a broker that forgot it (restart without persistence,
//     expired session) is told again.
//   - Handlers never run on the transport's own goroutines. Each
//     subscription has a bounded queue (QueueLen messages) drained by one
//     goroutine that calls the handler, so a slow handler delays only its
//     own subscription. When a queue is full the new message is dropped,
//     counted (DropCounter) and logged: the sync protocol tolerates a lost
//     message (a delta gap leads to a fetch or snapshot, a lost ack to a
//     resend), whereas blocking would stall the client's keep-alive and
//     acknowledgements for every subscription.
//   - Messages may arrive more than once and out of order; ordering is
//     carried by version numbers in the payloads, never by the transport.
//   - Close is idempotent, stops the subscription goroutines and returns
//     once they have exited (or ctx ended).
package transport

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Message is one application message as delivered to a Handler. Payload
// is the handler's own copy.
type Message struct {
	Topic   string
	Payload []byte
	// Retained is true when the broker sent a stored retained message
	// because of a new subscription (MQTT 3.1.1 §3.3.1.3); live messages
	// have it false even if they were published retained.
	Retained bool
}

// Handler receives messages for a subscription. It runs on the
// subscription's own goroutine, one message at a time; it may block (only
// its own subscription waits) and may call Publish.
type Handler func(Message)

// Transport is the link to HQ as the sync code uses it.
type Transport interface {
	// Publish sends payload to topic with QoS 1 and returns when the
	// broker acknowledged it or ctx ended. It fails at once when the
	// transport is closed or not connected.
	Publish(ctx context.Context, topic string, payload []byte, retained bool) error
	// Subscribe registers h for the topic filter; the subscription is
	// restored on every (re)connect. A filter may be subscribed once.
	Subscribe(filter string, h Handler) error
	// Connected reports whether the link is up and the subscriptions are
	// in place at the broker.
	Connected() bool
	// Close disconnects and stops the handler goroutines. It is
	// idempotent.
	Close(ctx context.Context) error
}

// DropCounter is implemented by transports that count messages dropped
// because a subscription's queue was full.
type DropCounter interface {
	Dropped() uint64
}

// DefaultQueueLen is the default number of messages a subscription's
// queue holds before new messages are dropped.
const DefaultQueueLen = 256

// Errors returned by every implementation (wrapped with the operation).
var (
	// ErrClosed: the transport was closed.
	ErrClosed = errors.New("transport closed")
	// ErrNotConnected: the link to the broker is down; nothing was queued.
	ErrNotConnected = errors.New("not connected to the broker")
	// ErrInvalidTopic: a topic or filter is empty, too long, not UTF-8,
	// holds NUL, or uses wildcards where they are not allowed.
	ErrInvalidTopic = errors.New("invalid topic")
	// ErrDuplicateSubscription: the filter is already subscribed.
	ErrDuplicateSubscription = errors.New("filter already subscribed")
)

// maxTopicLen is MQTT's limit on a UTF-8 encoded string.
const maxTopicLen = 65535

func checkString(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: empty", ErrInvalidTopic)
	case len(s) > maxTopicLen:
		return fmt.Errorf("%w: %d bytes, limit %d", ErrInvalidTopic, len(s), maxTopicLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: not UTF-8", ErrInvalidTopic)
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%w: contains NUL", ErrInvalidTopic)
	}
	return nil
}

// ValidTopic reports whether topic can be published to: a non-empty
// UTF-8 string without NUL or wildcards.
func ValidTopic(topic string) error {
	if err := checkString(topic); err != nil {
		return err
	}
	if strings.ContainsAny(topic, "+#") {
		return fmt.Errorf("%w: %q has a wildcard", ErrInvalidTopic, topic)
	}
	return nil
}

// ValidFilter reports whether filter is a valid MQTT topic filter: "+"
// only as a whole level, "#" only as the whole last level.
func ValidFilter(filter string) error {
	if err := checkString(filter); err != nil {
		return err
	}
	levels := strings.Split(filter, "/")
	for i, l := range levels {
		if strings.Contains(l, "#") && (l != "#" || i != len(levels)-1) {
			return fmt.Errorf("%w: %q: '#' must be the whole last level", ErrInvalidTopic, filter)
		}
		if strings.Contains(l, "+") && l != "+" {
			return fmt.Errorf("%w: %q: '+' must be a whole level", ErrInvalidTopic, filter)
		}
	}
	return nil
}

// Match reports whether topic matches the (valid) filter, with MQTT's
// rules: "+" matches one level, a trailing "#" matches the parent and any
// number of levels, and wildcards at the first level do not match topics
// starting with "$".
func Match(filter, topic string) bool {
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	for {
		f, frest, fmore := strings.Cut(filter, "/")
		if f == "#" {
			return true
		}
		t, trest, tmore := strings.Cut(topic, "/")
		if f != "+" && f != t {
			return false
		}
		switch {
		case !fmore && !tmore:
			return true
		case !tmore:
			// "a/#" matches "a".
			return frest == "#"
		case !fmore:
			return false
		}
		filter, topic = frest, trest
	}
}
