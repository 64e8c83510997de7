package publish

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/watchpost/watchpost/sync/protocol"
)

// File names Keygen writes.
const (
	PrivateKeyFile = "hq.key"
	PublicKeyFile  = "hq.pub"
)

// ErrKeyExists is returned by Keygen when dir already holds a key file.
var ErrKeyExists = errors.New("key file already exists")

// Keygen makes a new HQ signing key pair and writes it to dir (created
// with mode 0700 if needed): hq.key, mode 0600, the private key's text form
// (protocol.Signer.FormatPrivateKey), and hq.pub, a key set line that posts
// add to their trusted keys (protocol.ParseKeySet). It refuses to
// overwrite either file (ErrKeyExists). Both files are fsynced.
func Keygen(dir string) (*protocol.Signer, error) {
	fail := func(err error) (*protocol.Signer, error) { return nil, fmt.Errorf("keygen in %s: %w", dir, err) }
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail(err)
	}
	priv, pub := filepath.Join(dir, PrivateKeyFile), filepath.Join(dir, PublicKeyFile)
	for _, p := range []string{priv, pub} {
		if _, err := os.Lstat(p); err == nil {
			return fail(fmt.Errorf("%w: %s (move it away to make a new key)", ErrKeyExists, p))
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fail(err)
		}
	}
	s, err := protocol.GenerateSigner(rand.Reader)
	if err != nil {
		return fail(err)
	}
	if err := writeNew(priv, 0o600, s.FormatPrivateKey()+"\n"); err != nil {
		return fail(err)
	}
	line := fmt.Sprintf("# Watchpost HQ signing key %s: add this line to each post's trusted keys\n%s\n",
		s.ID(), protocol.FormatPublicKey(s.Public()))
	if err := writeNew(pub, 0o644, line); err != nil {
		_ = os.Remove(priv)
		return fail(err)
	}
	if err := syncDir(dir); err != nil {
		return fail(err)
	}
	return s, nil
}

// writeNew creates path (failing if it exists), writes text and fsyncs it.
func writeNew(path string, mode os.FileMode, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %s", ErrKeyExists, path)
		}
		return err
	}
	_, err = f.WriteString(text)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
	}
	return err
}

// LoadSigner reads a private key file written by Keygen. On Unix it
// refuses a file that group or others may read (like ssh): whoever reads
// it can sign watchlists for every post.
func LoadSigner(path string) (*protocol.Signer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load signing key: %w", err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("load signing key %s: mode %v lets others read it; chmod 600 it", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load signing key: %w", err)
	}
	s, err := protocol.ParsePrivateKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("load signing key %s: %w", path, err)
	}
	return s, nil
}
