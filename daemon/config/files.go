package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/watchpost/watchpost/sync/protocol"
)

// MinTokenLen is the shortest API token accepted.
const MinTokenLen = 16

// maxFileSize bounds the files the configuration names.
const maxFileSize = 1 << 20

// readFile reads the file key names. A secret file readable by others
// draws a warning. Problems name the key; the contents never appear.
func (l *loader) readFile(key, path string, secret bool) ([]byte, bool) {
	fi, err := os.Stat(path)
	if err == nil && fi.IsDir() {
		l.errorf(key, "%s is a directory, want a file", path)
		return nil, false
	}
	if err == nil && fi.Size() > maxFileSize {
		l.errorf(key, "%s is %d bytes; want at most %d", path, fi.Size(), maxFileSize)
		return nil, false
	}
	var b []byte
	if err == nil {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		l.errorf(key, "cannot read %s: %v", path, err)
		return nil, false
	}
	if secret && runtime.GOOS != "windows" && fi.Mode().Perm()&0o007 != 0 {
		l.warnf(key, "%s is readable by other users (mode %04o); chmod 600 it (or 640 with the service's group)", path, fi.Mode().Perm())
	}
	return b, true
}

// readSecrets fills Store.EncryptionKey, HQ.Password and API.Tokens, from
// the environment if set there, else from the files named.
func (l *loader) readSecrets() {
	l.readStoreKey()
	h, a := &l.cfg.HQ, &l.cfg.API
	if v := l.env(EnvHQPassword); v != "" {
		h.Password = Secret(v)
		l.set("hq.password", Source{Env: EnvHQPassword})
	} else if h.PasswordFile != "" && !l.opts.SkipFiles {
		if b, ok := l.readFile("hq.password_file", h.PasswordFile, true); ok {
			pw := strings.TrimRight(string(b), "\r\n")
			if pw == "" {
				l.errorf("hq.password_file", "%s is empty", h.PasswordFile)
			} else {
				h.Password = Secret(pw)
				l.set("hq.password", Source{File: h.PasswordFile})
			}
		}
	}

	if v := l.env(EnvAPITokens); v != "" {
		at := Source{Env: EnvAPITokens}
		l.set("api.tokens", at)
		tp := newTokenParser()
		for i, item := range splitList(v) {
			key := fmt.Sprintf("api.tokens[%d]", i)
			if err := tp.add(item); err != nil {
				l.add(at, key, false, "%v", err)
			}
		}
		a.Tokens, a.TokenNames = tp.tokens, tp.names
	} else if a.TokensFile != "" && !l.opts.SkipFiles {
		if b, ok := l.readFile("api.tokens_file", a.TokensFile, true); ok {
			tp := newTokenParser()
			sc := bufio.NewScanner(bytes.NewReader(b))
			for n := 1; sc.Scan(); n++ {
				line := strings.TrimSpace(sc.Text())
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				if err := tp.add(line); err != nil {
					l.add(Source{File: a.TokensFile, Line: n}, "api.tokens_file", false, "%v", err)
				}
			}
			if len(tp.tokens) == 0 && !l.hasProblem("api.tokens_file") {
				l.warnf("api.tokens_file", "%s holds no tokens", a.TokensFile)
			}
			a.Tokens, a.TokenNames = tp.tokens, tp.names
			l.set("api.tokens", Source{File: a.TokensFile})
		}
	}
}

// readStoreKey fills Store.EncryptionKey from WATCHPOST_STORE_ENCRYPTION_KEY
// or store.encryption_key_file. The key file is held to a stricter mode
// than the other secrets: readable by its owner only.
func (l *loader) readStoreKey() {
	st := &l.cfg.Store
	if v := l.env(EnvStoreEncryptionKey); v != "" {
		at := Source{Env: EnvStoreEncryptionKey}
		l.set("store.encryption_key", at)
		key, err := ParseStoreKey(v)
		if err != nil {
			l.add(at, "store.encryption_key", false, "%v", err)
			return
		}
		st.EncryptionKey = Secret(key)
		return
	}
	if st.EncryptionKeyFile == "" || l.opts.SkipFiles {
		return
	}
	const k = "store.encryption_key_file"
	b, ok := l.readFile(k, st.EncryptionKeyFile, false)
	if !ok {
		return
	}
	key, err := ParseStoreKey(string(b))
	if err != nil {
		l.errorf(k, "%s: %v", st.EncryptionKeyFile, err)
		return
	}
	if fi, err := os.Stat(st.EncryptionKeyFile); err == nil && secretModeTooOpen(fi) {
		l.warnf(k, "%s is readable by other users (mode %04o); chmod 600 it and chown it to the service user", st.EncryptionKeyFile, fi.Mode().Perm())
	}
	st.EncryptionKey = Secret(key)
	l.set("store.encryption_key", Source{File: st.EncryptionKeyFile})
}

func (l *loader) hasProblem(key string) bool {
	for _, p := range l.problems {
		if p.Key == key {
			return true
		}
	}
	return false
}

// tokenParser checks "name:token" entries. Its errors name the entry by
// its name, never by its token.
type tokenParser struct {
	tokens []Secret
	names  []string
	seen   map[string]string // token -> name
}

func newTokenParser() *tokenParser { return &tokenParser{seen: map[string]string{}} }

func (tp *tokenParser) add(entry string) error {
	name, tok, ok := strings.Cut(entry, ":")
	name, tok = strings.TrimSpace(name), strings.TrimSpace(tok)
	if !ok || name == "" || tok == "" {
		return errors.New(`want "name:token" (the name says whose token it is, e.g. "reader-gate2:…")`)
	}
	if err := validTokenName(name); err != nil {
		return err
	}
	for _, n := range tp.names {
		if n == name {
			return fmt.Errorf("token name %q appears twice", name)
		}
	}
	if len(tok) < MinTokenLen {
		return fmt.Errorf("token %q is %d characters; want at least %d (e.g. from `openssl rand -hex 24`)", name, len(tok), MinTokenLen)
	}
	if strings.ContainsAny(tok, " \t") {
		return fmt.Errorf("token %q contains a space", name)
	}
	if other, dup := tp.seen[tok]; dup {
		return fmt.Errorf("token %q is the same as token %q; give each client its own", name, other)
	}
	tp.seen[tok] = name
	tp.tokens = append(tp.tokens, Secret(tok))
	tp.names = append(tp.names, name)
	return nil
}

func validTokenName(name string) error {
	if len(name) > 64 {
		return fmt.Errorf("token name %q: want at most 64 characters", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("token name %q: only letters, digits, '-', '_' and '.' are allowed", name)
		}
	}
	return nil
}

// readKeys parses hq.keys_file and hq.keys into HQ.KeySet, reporting every
// bad line (ParseKeySet stops at the first).
func (l *loader) readKeys() {
	h := &l.cfg.HQ
	var good []string
	check := func(at Source, key, line string) {
		if _, err := protocol.ParseKeySet(strings.NewReader(line)); err != nil {
			l.add(at, key, false, "%s", keyError(err))
			return
		}
		good = append(good, line)
	}
	if h.KeysFile != "" && !l.opts.SkipFiles {
		if b, ok := l.readFile("hq.keys_file", h.KeysFile, false); ok {
			before := len(good)
			sc := bufio.NewScanner(bytes.NewReader(b))
			sc.Buffer(nil, maxFileSize)
			for n := 1; sc.Scan(); n++ {
				line := sc.Text()
				if i := strings.IndexByte(line, '#'); i >= 0 {
					line = line[:i]
				}
				if strings.TrimSpace(line) == "" {
					continue
				}
				check(Source{File: h.KeysFile, Line: n}, "hq.keys_file", line)
			}
			if len(good) == before && !l.hasProblem("hq.keys_file") {
				l.errorf("hq.keys_file", "%s holds no keys (want lines of ed25519:<base64> [not-before=…] [not-after=…])", h.KeysFile)
			}
		}
	}
	for i, k := range h.Keys {
		key := fmt.Sprintf("hq.keys[%d]", i)
		check(l.at(key), key, k)
	}
	if len(good) == 0 {
		return
	}
	ks, err := protocol.ParseKeySet(strings.NewReader(strings.Join(good, "\n")))
	if err != nil {
		key := "hq.keys"
		if h.KeysFile != "" {
			key = "hq.keys_file"
		}
		l.errorf(key, "%s", keyError(err))
		return
	}
	h.KeySet = ks
}

// keyError strips ParseKeySet's framing ("decode key set: field line 1 at
// offset 0: ") since the problem carries the location.
func keyError(err error) string {
	var de *protocol.DecodeError
	if errors.As(err, &de) && de.Err != nil {
		return de.Err.Error()
	}
	return err.Error()
}
