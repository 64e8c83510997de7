package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/watchpost/watchpost/daemon/config"
	"github.com/watchpost/watchpost/daemon/sample"
)

func TestEncryptedStoreCommands(t *testing.T) {
	t.Setenv(config.EnvStoreEncryptionKey, "")
	t.Setenv(config.EnvStoreEncryptionKey+"_FILE", "")
	keyFile := filepath.Join(t.TempDir(), "store.key")
	code, out, errs := runCLI(t, "", "config", "new-store-key", keyFile)
	if code != ExitOK || !strings.Contains(out, "wrote a new store encryption key to "+keyFile) {
		t.Fatalf("new-store-key: exit %d, %q %q", code, out, errs)
	}
	keyText, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, "", "config", "new-store-key", keyFile); code != ExitFailure || !strings.Contains(errs, "refusing to overwrite") {
		t.Errorf("new-store-key over an existing file: exit %d, %q", code, errs)
	}
	if after, _ := os.ReadFile(keyFile); string(after) != string(keyText) {
		t.Error("the key file changed")
	}

	dir := t.TempDir()
	un := filepath.Join(t.TempDir(), "un.xml")
	if err := os.WriteFile(un, sample.UNList, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, "", "import", "--data-dir", dir, "--store-key-file", keyFile, "--list", "un", "--format", "un-xml", un); code != ExitOK {
		t.Fatalf("import: exit %d: %s", code, errs)
	}
	// Without the key: a clear refusal, naming where the key comes from.
	code, _, errs = runCLI(t, "", "lists", "--data-dir", dir)
	if code != ExitFailure || !strings.Contains(errs, "encrypted and no key was given") || !strings.Contains(errs, "--store-key-file") {
		t.Errorf("lists without the key: exit %d, %q", code, errs)
	}
	// The key itself in the variable, or the file the variable names.
	t.Setenv(config.EnvStoreEncryptionKey, strings.TrimSpace(string(keyText)))
	if code, out, errs := runCLI(t, "", "lists", "--data-dir", dir); code != ExitOK || !strings.Contains(out, "un ") {
		t.Errorf("lists with %s: exit %d, %q %q", config.EnvStoreEncryptionKey, code, out, errs)
	}
	t.Setenv(config.EnvStoreEncryptionKey, "")
	t.Setenv(config.EnvStoreEncryptionKey+"_FILE", keyFile)
	in := `{"id":"a","name":"Saadi Gaddafi","birth_date":"1973-05-27"}` + "\n"
	if code, out, errs := runCLI(t, in, "screen", "--data-dir", dir); code != ExitOK || !strings.Contains(out, "LYi.015") {
		t.Errorf("screen with %s_FILE: exit %d, %q %q", config.EnvStoreEncryptionKey, code, out, errs)
	}
	t.Setenv(config.EnvStoreEncryptionKey+"_FILE", "")
	// A bad key file is refused before the store is touched.
	bad := filepath.Join(t.TempDir(), "bad.key")
	if err := os.WriteFile(bad, []byte("0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI(t, "", "lists", "--data-dir", dir, "--store-key-file", bad); code != ExitFailure || !strings.Contains(errs, "4 hex digits; want 64") {
		t.Errorf("bad key file: exit %d, %q", code, errs)
	}
	if strings.Contains(errs, "0123") {
		t.Errorf("the bad key shows: %q", errs)
	}
}
