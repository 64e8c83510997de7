package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password rules and the argon2id cost (RFC 9106's second recommended
// setting, with the parallelism of a small post machine).
const (
	MinPasswordLength = 10  // characters
	MaxPasswordLength = 256 // characters; longer is refused, not cut
	argonTime         = 3
	argonMemoryKiB    = 64 * 1024
	argonThreads      = 2
	argonKeyLen       = 32
	argonSaltLen      = 16
)

// ErrWeakPassword: a password is too short, too long or not text.
var ErrWeakPassword = errors.New("password refused")

// checkPassword enforces the length rules.
func checkPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw):
		return fmt.Errorf("%w: not valid text", ErrWeakPassword)
	case n < MinPasswordLength:
		return fmt.Errorf("%w: shorter than %d characters", ErrWeakPassword, MinPasswordLength)
	case n > MaxPasswordLength:
		return fmt.Errorf("%w: longer than %d characters", ErrWeakPassword, MaxPasswordLength)
	}
	return nil
}

// hashPassword returns the argon2id hash of pw in the PHC string format:
// $argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash>.
func hashPassword(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verifyPassword reports whether pw matches hash (made by hashPassword,
// with whatever parameters it records), in constant time.
func verifyPassword(hash, pw string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("verify password: not an argon2id hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, fmt.Errorf("verify password: argon2 version %q", parts[2])
	}
	var mem uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &t, &p); err != nil || mem == 0 || t == 0 || p == 0 || mem > 1<<22 || t > 64 {
		return false, fmt.Errorf("verify password: parameters %q", parts[3])
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 128 {
		return false, errors.New("verify password: malformed salt or key")
	}
	got := argon2.IDKey([]byte(pw), salt, t, mem, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is verified against when a login names no known user, so that
// the answer takes as long as for a wrong password.
var dummyHash = sync.OnceValue(func() string {
	h, err := hashPassword("no user has this password")
	if err != nil {
		panic(err)
	}
	return h
})
