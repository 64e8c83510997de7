package broker

import (
	"bufio"
	"bytes"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Password hashing in Mosquitto's password_file format, so one file
// (made with mosquitto_passwd or HashPassword) serves both brokers:
//
//	user:$7$<iterations>$<base64 salt>$<base64 PBKDF2-HMAC-SHA512>
//	user:$6$<base64 salt>$<base64 SHA-512(password || salt)>
//
// $6$ is Mosquitto 1.x's format, read for old files; HashPassword writes
// $7$.
const (
	hashIterations = 101 // mosquitto_passwd 2.0's default
	hashSaltLen    = 12
	hashLen        = 64
)

// ErrPasswordFile is wrapped by every error about a password file's
// content.
var ErrPasswordFile = errors.New("invalid password file")

// verifier checks one account's password.
type verifier func(password []byte) bool

func plainVerifier(want string) verifier {
	return func(pw []byte) bool {
		return subtle.ConstantTimeCompare(pw, []byte(want)) == 1
	}
}

// HashPassword returns password hashed in Mosquitto's $7$ form (PBKDF2
// with SHA-512, a random 12-byte salt, 101 iterations like
// mosquitto_passwd); a password file line is "user:" + the result.
func HashPassword(password string) (string, error) {
	salt := make([]byte, hashSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	sum, err := pbkdf2.Key(sha512.New, password, salt, hashIterations, hashLen)
	if err != nil {
		return "", err
	}
	enc := base64.StdEncoding
	return fmt.Sprintf("$7$%d$%s$%s", hashIterations, enc.EncodeToString(salt), enc.EncodeToString(sum)), nil
}

// parseHash returns a verifier for one hashed password.
func parseHash(h string) (verifier, error) {
	parts := strings.Split(h, "$")
	enc := base64.StdEncoding
	switch {
	case len(parts) == 4 && parts[0] == "" && parts[1] == "6":
		salt, err1 := enc.DecodeString(parts[2])
		want, err2 := enc.DecodeString(parts[3])
		if err1 != nil || err2 != nil || len(want) != sha512.Size {
			return nil, errors.New("malformed $6$ hash")
		}
		return func(pw []byte) bool {
			d := sha512.New()
			d.Write(pw)
			d.Write(salt)
			return subtle.ConstantTimeCompare(d.Sum(nil), want) == 1
		}, nil
	case len(parts) == 5 && parts[0] == "" && parts[1] == "7":
		iter, err := strconv.Atoi(parts[2])
		if err != nil || iter < 1 || iter > 10_000_000 {
			return nil, errors.New("malformed $7$ iteration count")
		}
		salt, err1 := enc.DecodeString(parts[3])
		want, err2 := enc.DecodeString(parts[4])
		if err1 != nil || err2 != nil || len(want) == 0 {
			return nil, errors.New("malformed $7$ hash")
		}
		return func(pw []byte) bool {
			got, err := pbkdf2.Key(sha512.New, string(pw), salt, iter, len(want))
			return err == nil && subtle.ConstantTimeCompare(got, want) == 1
		}, nil
	}
	return nil, errors.New("not a $6$ or $7$ hash (plain-text passwords are refused)")
}

// readPasswordFile reads a Mosquitto password file: "user:hash" lines;
// blank lines and lines starting with '#' are skipped.
func readPasswordFile(path string) (map[string]verifier, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("password file: %w", err)
	}
	defer f.Close()
	m, err := parsePasswords(f)
	if err != nil {
		return nil, fmt.Errorf("password file %s: %w", path, err)
	}
	return m, nil
}

func parsePasswords(r io.Reader) (map[string]verifier, error) {
	m := map[string]verifier{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		user, hash, ok := strings.Cut(string(line), ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("%w: line %d: want user:hash", ErrPasswordFile, n)
		}
		v, err := parseHash(hash)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d (user %q): %v", ErrPasswordFile, n, user, err)
		}
		if _, dup := m[user]; dup {
			return nil, fmt.Errorf("%w: line %d: user %q listed twice", ErrPasswordFile, n, user)
		}
		m[user] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return m, nil
}
