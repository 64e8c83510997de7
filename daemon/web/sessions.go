package web

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"

	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/option"
)

// Session lifetimes.
const (
	// DefaultIdleTimeout ends a session after 15 minutes without a
	// request: a workstation left unlocked at a border post must not stay
	// open for long.
	DefaultIdleTimeout = 15 * time.Minute
	// MaxSessionAge ends a session 12 hours after login whatever its use
	// (a long shift), so a stolen cookie is not good for ever.
	MaxSessionAge = 12 * time.Hour
	tokenBytes    = 32
)

// Session is one logged-in user's state, held in memory on the server.
// Scratch data (a console's last screening result) lives here and goes
// with the session; it is never written to disk.
type Session struct {
	User string
	Role string
	// Lang is the user's language choice ("" follows the browser).
	Lang      string
	CSRF      string
	Created   time.Time
	LastSeen  time.Time
	tokenHash [sha256.Size]byte

	mu      sync.Mutex
	scratch map[string]any
}

// Put keeps v in the session under key (replacing what was there).
func (s *Session) Put(key string, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.scratch == nil {
		s.scratch = map[string]any{}
	}
	s.scratch[key] = v
}

// Get returns what Put kept under key, or nil.
func (s *Session) Get(key string) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scratch[key]
}

// SessionState says what Sessions.Lookup found.
type SessionState int

// Session states.
const (
	SessionNone    SessionState = iota // no cookie, or an unknown token
	SessionOK                          // valid; LastSeen was moved to now
	SessionExpired                     // it existed but timed out (now removed)
)

// Sessions holds the live sessions, keyed by the SHA-256 of their token
// (so a memory dump does not hand out cookies).
type Sessions struct {
	idle  time.Duration
	clock clock.Clock

	mu sync.Mutex
	m  map[[sha256.Size]byte]*Session
}

// NewSessions returns an empty session table with the given idle timeout
// (DefaultIdleTimeout when 0).
func NewSessions(idle time.Duration, clk clock.Clock) *Sessions {
	idle = option.Positive(idle, DefaultIdleTimeout)
	return &Sessions{idle: idle, clock: clock.OrSystem(clk), m: map[[sha256.Size]byte]*Session{}}
}

// IdleTimeout returns the idle timeout.
func (t *Sessions) IdleTimeout() time.Duration { return t.idle }

func randomToken() string {
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported systems
	return base64.RawURLEncoding.EncodeToString(b)
}

// New starts a session for u and returns its token (the cookie value).
func (t *Sessions) New(u User) (string, *Session) {
	token := randomToken()
	now := t.clock.Now()
	s := &Session{User: u.Name, Role: u.Role, Lang: u.Lang, CSRF: randomToken(), Created: now, LastSeen: now,
		tokenHash: sha256.Sum256([]byte(token))}
	t.mu.Lock()
	defer t.mu.Unlock()
	for h, old := range t.m { // sweep: the table stays as small as the staff
		if t.expired(old, now) {
			delete(t.m, h)
		}
	}
	t.m[s.tokenHash] = s
	return token, s
}

func (t *Sessions) expired(s *Session, now time.Time) bool {
	return now.Sub(s.LastSeen) >= t.idle || now.Sub(s.Created) >= MaxSessionAge
}

// Lookup finds the session of token and, if it is still valid, moves its
// LastSeen to now.
func (t *Sessions) Lookup(token string) (*Session, SessionState) {
	if token == "" {
		return nil, SessionNone
	}
	h := sha256.Sum256([]byte(token))
	now := t.clock.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[h]
	switch {
	case s == nil:
		return nil, SessionNone
	case t.expired(s, now):
		delete(t.m, h)
		return s, SessionExpired
	}
	s.LastSeen = now
	return s, SessionOK
}

// End removes a session (logout).
func (t *Sessions) End(s *Session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, s.tokenHash)
}

// Count returns the number of sessions held (expired ones not yet swept
// included).
func (t *Sessions) Count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}
