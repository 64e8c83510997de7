package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/clock"
)

// Lockout: MaxFailures wrong passwords in a row lock an account for
// LockoutDuration (a successful login resets the count; a new password
// unlocks at once).
const (
	MaxFailures     = 5
	LockoutDuration = 15 * time.Minute
	maxUserName     = 64
)

// Errors of the user store, for errors.Is.
var (
	ErrNoUser     = errors.New("no such user")
	ErrUserExists = errors.New("user already exists")
	ErrBadUser    = errors.New("invalid user")
)

// User is one account. Hash is the argon2id hash of the password; it
// never leaves the store in a List or a session.
type User struct {
	Name        string    `json:"name"`
	Role        string    `json:"role"`
	Hash        string    `json:"hash,omitempty"`
	Disabled    bool      `json:"disabled,omitempty"`
	Lang        string    `json:"lang,omitempty"` // the user's language choice; "" follows the browser
	Failures    int       `json:"failures,omitempty"`
	LockedUntil time.Time `json:"locked_until,omitzero"`
	CreatedAt   time.Time `json:"created_at"`
	PasswordAt  time.Time `json:"password_at"`
	LastLogin   time.Time `json:"last_login,omitzero"`
}

// Locked reports whether the account is locked at now.
func (u *User) Locked(now time.Time) bool { return now.Before(u.LockedUntil) }

// LoginResult is the outcome of Authenticate.
type LoginResult int

// Login results.
const (
	LoginOK        LoginResult = iota
	LoginWrong                 // unknown user or wrong password (not told apart)
	LoginLocked                // the account is locked (until User.LockedUntil)
	LoginNowLocked             // this wrong password locked the account
	LoginDisabled              // the account is disabled
)

// UserStore keeps accounts in a records namespace of the store
// (u/<name> → JSON User). Its methods are safe for concurrent use.
type UserStore struct {
	recs  *badgerstore.Records
	roles []string
	clock clock.Clock
	// mu serialises read-modify-write: the store runs Badger without
	// conflict detection.
	mu sync.Mutex
}

// NewUserStore returns the accounts kept in recs. roles are the roles an
// account may have (the console's); clock nil means the system clock.
func NewUserStore(recs *badgerstore.Records, roles []string, clk clock.Clock) *UserStore {
	return &UserStore{recs: recs, roles: slices.Clone(roles), clock: clock.OrSystem(clk)}
}

// Roles returns the roles an account may have.
func (s *UserStore) Roles() []string { return slices.Clone(s.roles) }

func userKey(name string) []byte { return []byte("u/" + name) }

// NormalizeUserName returns the stored form of a user name (lower case),
// or an error wrapping ErrBadUser naming what is wrong: 1 to 64 of a-z,
// 0-9, '.', '_', '-', starting with a letter or digit.
func NormalizeUserName(name string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" || len(n) > maxUserName {
		return "", fmt.Errorf("%w: a user name has 1 to %d characters", ErrBadUser, maxUserName)
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '.' || c == '_' || c == '-')
		if !ok {
			return "", fmt.Errorf("%w: user name %q: character %q at %d (use a-z, 0-9, '.', '_', '-')", ErrBadUser, name, c, i+1)
		}
	}
	return n, nil
}

// Add creates an account with a role and a password.
func (s *UserStore) Add(ctx context.Context, name, role, password string) (User, error) {
	n, err := NormalizeUserName(name)
	if err != nil {
		return User{}, err
	}
	if !slices.Contains(s.roles, role) {
		return User{}, fmt.Errorf("%w: role %q is not one of %s", ErrBadUser, role, strings.Join(s.roles, ", "))
	}
	if err := checkPassword(password); err != nil {
		return User{}, err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return User{}, err
	}
	now := s.clock.Now().UTC()
	u := User{Name: n, Role: role, Hash: hash, CreatedAt: now, PasswordAt: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	err = s.recs.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
		switch _, err := tx.Get(userKey(n)); {
		case err == nil:
			return fmt.Errorf("%w: %s", ErrUserExists, n)
		case !errors.Is(err, badgerstore.ErrRecordNotFound):
			return err
		}
		return putUser(tx, &u)
	})
	if err != nil {
		return User{}, fmt.Errorf("add user: %w", err)
	}
	u.Hash = ""
	return u, nil
}

func putUser(tx *badgerstore.RecordsTxn, u *User) error {
	b, err := json.Marshal(u)
	if err != nil {
		return err
	}
	return tx.Set(userKey(u.Name), b)
}

func getUser(tx *badgerstore.RecordsTxn, name string) (User, error) {
	var u User
	b, err := tx.Get(userKey(name))
	if errors.Is(err, badgerstore.ErrRecordNotFound) {
		return u, fmt.Errorf("%w: %s", ErrNoUser, name)
	}
	if err != nil {
		return u, err
	}
	if err := json.Unmarshal(b, &u); err != nil {
		return u, fmt.Errorf("user %s: decode: %w", name, err)
	}
	return u, nil
}

// modify applies fn to the stored account name in one transaction.
func (s *UserStore) modify(ctx context.Context, name string, fn func(u *User) error) (User, error) {
	n, err := NormalizeUserName(name)
	if err != nil {
		return User{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var u User
	err = s.recs.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
		var err error
		if u, err = getUser(tx, n); err != nil {
			return err
		}
		if err := fn(&u); err != nil {
			return err
		}
		return putUser(tx, &u)
	})
	u.Hash = ""
	return u, err
}

// SetPassword replaces an account's password and unlocks it.
func (s *UserStore) SetPassword(ctx context.Context, name, password string) (User, error) {
	if err := checkPassword(password); err != nil {
		return User{}, err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return User{}, err
	}
	u, err := s.modify(ctx, name, func(u *User) error {
		u.Hash, u.PasswordAt, u.Failures, u.LockedUntil = hash, s.clock.Now().UTC(), 0, time.Time{}
		return nil
	})
	if err != nil {
		return User{}, fmt.Errorf("set password: %w", err)
	}
	return u, nil
}

// SetDisabled disables (or enables again) an account. A disabled account
// cannot log in; its sessions end at their next request.
func (s *UserStore) SetDisabled(ctx context.Context, name string, disabled bool) (User, error) {
	u, err := s.modify(ctx, name, func(u *User) error { u.Disabled = disabled; return nil })
	if err != nil {
		return User{}, fmt.Errorf("disable user: %w", err)
	}
	return u, nil
}

// SetLang records an account's language choice ("" to follow the
// browser).
func (s *UserStore) SetLang(ctx context.Context, name, lang string) error {
	_, err := s.modify(ctx, name, func(u *User) error { u.Lang = lang; return nil })
	if err != nil {
		return fmt.Errorf("set language: %w", err)
	}
	return nil
}

// Get returns an account (without its hash), or ErrNoUser.
func (s *UserStore) Get(ctx context.Context, name string) (User, error) {
	n, err := NormalizeUserName(name)
	if err != nil {
		return User{}, err
	}
	var u User
	err = s.recs.View(ctx, func(tx *badgerstore.RecordsTxn) error {
		var err error
		u, err = getUser(tx, n)
		return err
	})
	u.Hash = ""
	return u, err
}

// List returns every account (without hashes), sorted by name.
func (s *UserStore) List(ctx context.Context) ([]User, error) {
	var out []User
	err := s.recs.View(ctx, func(tx *badgerstore.RecordsTxn) error {
		return tx.Iterate([]byte("u/"), func(key, v []byte) error {
			var u User
			if err := json.Unmarshal(v, &u); err != nil {
				return fmt.Errorf("user %s: decode: %w", key[2:], err)
			}
			u.Hash = ""
			out = append(out, u)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// Authenticate checks a name and password. It counts a wrong password
// against the account and locks it at MaxFailures; an unknown name costs
// the same time as a wrong password and is reported the same way. A
// locked or disabled account is refused whatever the password.
func (s *UserStore) Authenticate(ctx context.Context, name, password string) (User, LoginResult, error) {
	n, err := NormalizeUserName(name)
	if err != nil || len(password) > 4*MaxPasswordLength {
		_, _ = verifyPassword(dummyHash(), password)
		return User{}, LoginWrong, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var (
		u   User
		res LoginResult
	)
	err = s.recs.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
		var err error
		u, err = getUser(tx, n)
		if errors.Is(err, ErrNoUser) {
			_, _ = verifyPassword(dummyHash(), password)
			res = LoginWrong
			return nil
		}
		if err != nil {
			return err
		}
		now := s.clock.Now()
		switch {
		case u.Disabled:
			res = LoginDisabled
			return nil
		case u.Locked(now):
			res = LoginLocked
			return nil
		}
		ok, err := verifyPassword(u.Hash, password)
		if err != nil {
			return err
		}
		if ok {
			res = LoginOK
			u.Failures, u.LockedUntil, u.LastLogin = 0, time.Time{}, now.UTC()
		} else {
			res = LoginWrong
			u.Failures++
			if u.Failures >= MaxFailures {
				res = LoginNowLocked
				u.Failures, u.LockedUntil = 0, now.Add(LockoutDuration).UTC()
			}
		}
		return putUser(tx, &u)
	})
	if err != nil {
		return User{}, LoginWrong, fmt.Errorf("authenticate: %w", err)
	}
	u.Hash = ""
	return u, res, nil
}
