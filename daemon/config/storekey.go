package config

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
)

// StoreKeyLen is the length of a store encryption key: 32 bytes, AES-256.
const StoreKeyLen = 32

// ParseStoreKey decodes a store encryption key written as 64 hex digits
// (`openssl rand -hex 32`) or as the base64 of 32 bytes (`openssl rand
// -base64 32`), surrounding white space ignored. Its errors never quote
// the text.
func ParseStoreKey(text string) ([]byte, error) {
	s := strings.TrimSpace(text)
	if s == "" {
		return nil, errors.New("the key is empty")
	}
	if isHex(s) {
		if len(s) != 2*StoreKeyLen {
			return nil, fmt.Errorf("the key is %d hex digits; want %d (AES-256): make one with `watchpost config new-store-key FILE` or `openssl rand -hex 32`", len(s), 2*StoreKeyLen)
		}
		return hex.DecodeString(s)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != StoreKeyLen {
				return nil, fmt.Errorf("the key decodes (base64) to %d bytes; want %d (AES-256): make one with `watchpost config new-store-key FILE` or `openssl rand -hex 32`", len(b), StoreKeyLen)
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("the key (%d characters) is neither 64 hex digits nor the base64 of %d bytes: make one with `watchpost config new-store-key FILE` or `openssl rand -hex 32`", len(s), StoreKeyLen)
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// secretModeTooOpen reports whether a secret file's mode lets others
// than its owner read it (not checked on Windows, where ACLs decide).
func secretModeTooOpen(fi fs.FileInfo) bool {
	return runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0
}

// ReadStoreKeyFile reads a store encryption key file (see ParseStoreKey),
// for the commands that open the store without the configuration. warn is
// non-empty when the file is readable by others than its owner.
func ReadStoreKeyFile(path string) (key []byte, warn string, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, "", fmt.Errorf("store key file: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Size() > 4096 {
		return nil, "", fmt.Errorf("store key file %s: want a small file holding one line", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("store key file: %w", err)
	}
	if key, err = ParseStoreKey(string(b)); err != nil {
		return nil, "", fmt.Errorf("store key file %s: %w", path, err)
	}
	if secretModeTooOpen(fi) {
		warn = fmt.Sprintf("store key file %s is readable by other users (mode %04o); chmod 600 it", path, fi.Mode().Perm())
	}
	return key, warn, nil
}

// WriteStoreKeyFile writes a fresh random key to path as 64 hex digits
// and a newline, mode 0600 (on Windows the file inherits its folder's
// ACL). It refuses to overwrite an existing file: that key may be the
// only way into a store.
func WriteStoreKeyFile(path string) error {
	key := make([]byte, StoreKeyLen)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("new store key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("new store key: %s exists; refusing to overwrite it (a store may need that key: keep it, or remove it yourself)", path)
	}
	if err != nil {
		return fmt.Errorf("new store key: %w", err)
	}
	_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
	if werr == nil {
		werr = f.Sync()
	}
	if err := errors.Join(werr, f.Close()); err != nil {
		os.Remove(path)
		return fmt.Errorf("new store key %s: %w", path, err)
	}
	return nil
}
