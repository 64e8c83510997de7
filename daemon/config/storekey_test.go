package config

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

var rawStoreKey = bytes.Repeat([]byte{0xab}, StoreKeyLen)

func TestStoreKey(t *testing.T) {
	hexKey := hex.EncodeToString(rawStoreKey)
	b64Key := base64.StdEncoding.EncodeToString(rawStoreKey)
	for _, tc := range []struct {
		name     string
		file     string // contents of store.key; "" for no file
		mode     os.FileMode
		env      string // WATCHPOST_STORE_ENCRYPTION_KEY
		wantKey  bool
		wantProb string // a problem's text, "" for none
	}{
		{name: "NoKey"},
		{name: "Hex", file: hexKey + "\n", mode: 0o600, wantKey: true},
		{name: "HexCRLF", file: strings.ToUpper(hexKey) + "\r\n", mode: 0o600, wantKey: true},
		{name: "Base64", file: b64Key + "\n", mode: 0o600, wantKey: true},
		{name: "Short", file: hexKey[:40] + "\n", mode: 0o600, wantProb: "store.encryption_key_file: " + "DIR/store.key: the key is 40 hex digits; want 64"},
		{name: "Base64Of16", file: base64.StdEncoding.EncodeToString(rawStoreKey[:16]), mode: 0o600, wantProb: "decodes (base64) to 16 bytes; want 32"},
		{name: "Empty", file: "\n", mode: 0o600, wantProb: "store.encryption_key_file: DIR/store.key: the key is empty"},
		{name: "GroupReadable", file: hexKey, mode: 0o640, wantKey: true, wantProb: "store.encryption_key_file: warning: DIR/store.key is readable by other users (mode 0640)"},
		{name: "Env", env: b64Key, wantKey: true},
		{name: "EnvWinsOverFile", file: "junk\n", mode: 0o600, env: hexKey, wantKey: true},
		{name: "EnvBad", env: "0123", wantProb: "env WATCHPOST_STORE_ENCRYPTION_KEY: store.encryption_key: the key is 4 hex digits"}, {name: "EnvNotAKey", env: "not a key!", wantProb: "the key (10 characters) is neither 64 hex digits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := minimal
			if tc.file != "" {
				text += "store:\n  encryption_key_file: store.key\n"
			}
			path := writeConfig(t, text)
			dir := filepath.Dir(path)
			if tc.file != "" {
				writeFile(t, filepath.Join(dir, "store.key"), tc.file, tc.mode)
			}
			cfg, problems := Check(path, Options{Env: mapEnv(map[string]string{EnvStoreEncryptionKey: tc.env})})
			var all []string
			for _, p := range problems {
				all = append(all, strings.ReplaceAll(p.Error(), dir, "DIR"))
			}
			joined := strings.Join(all, "\n")
			if tc.wantProb == "" && len(problems) > 0 || tc.wantProb != "" && !strings.Contains(joined, tc.wantProb) {
				if runtime.GOOS != "windows" || !strings.Contains(tc.wantProb, "readable") {
					t.Errorf("problems:\n%s\nwant %q", joined, tc.wantProb)
				}
			}
			if got := cfg.Store.Key(); tc.wantKey != (got != nil) || got != nil && !bytes.Equal(got, rawStoreKey) {
				t.Errorf("key = %x, want set = %v", got, tc.wantKey)
			}
			// The key never shows: not in problems, not in config show.
			shown := joined + fmt.Sprint(cfg.Settings()) + fmt.Sprintf("%v %+v %#v", cfg.Store, cfg.Store, cfg.Store)
			for _, s := range []string{hexKey, strings.ToUpper(hexKey), b64Key, string(rawStoreKey), "junk"} {
				if strings.Contains(shown, s) {
					t.Errorf("the key shows: %s", shown)
				}
			}
			for _, s := range cfg.Settings() {
				if s.Key == "store.encryption_key" && tc.wantKey && s.Value != "[redacted] (AES-256)" {
					t.Errorf("config show: %s = %q", s.Key, s.Value)
				}
			}
		})
	}
}

func TestStoreKeyNotInYAML(t *testing.T) {
	path := writeConfig(t, minimal+"store:\n  encryption_key: 00ff\n")
	_, problems := Check(path, Options{})
	if len(problems) != 1 || !strings.Contains(problems[0].Error(), "store.encryption_key: the store encryption key is never written in this file") || strings.Contains(problems[0].Error(), "00ff") {
		t.Errorf("problems: %v", problems)
	}
}

func TestWriteStoreKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.key")
	if err := WriteStoreKeyFile(path); err != nil {
		t.Fatal(err)
	}
	key, warn, err := ReadStoreKeyFile(path)
	if err != nil || warn != "" || len(key) != StoreKeyLen {
		t.Fatalf("ReadStoreKeyFile = %d bytes, %q, %v", len(key), warn, err)
	}
	if fi, err := os.Stat(path); err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v; want 0600", fi.Mode(), err)
	}
	before, _ := os.ReadFile(path)
	if err := WriteStoreKeyFile(path); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Errorf("second write: %v, want a refusal", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the existing key was changed")
	}
	other := filepath.Join(t.TempDir(), "other.key")
	if err := WriteStoreKeyFile(other); err != nil {
		t.Fatal(err)
	}
	if k2, _, _ := ReadStoreKeyFile(other); bytes.Equal(k2, key) {
		t.Error("two keys are equal")
	}
}
