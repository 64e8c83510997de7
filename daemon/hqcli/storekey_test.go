package hqcli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/watchpost/watchpost/daemon/config"
	"github.com/watchpost/watchpost/sync/publish"
)

func TestEncryptedHQStore(t *testing.T) {
	t.Setenv(EnvStoreEncryptionKey, "")
	url, _ := startBroker(t)
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	if code, out, stderr := runCmd(t, "keygen", "--dir", keys); code != ExitOK {
		t.Fatalf("keygen: exit %d, %s%s", code, out, stderr)
	}
	storeKey := filepath.Join(dir, "store.key")
	if err := config.WriteStoreKeyFile(storeKey); err != nil {
		t.Fatal(err)
	}
	edition := filepath.Join(dir, "national.csv")
	writeFile(t, edition, "id,name\nN1,Ivan Petrov\n")
	data := filepath.Join(dir, "hq")
	publishCmd := []string{"publish", "--single-person", "--data-dir", data, "--store-key-file", storeKey, "--key", filepath.Join(keys, publish.PrivateKeyFile),
		"--broker", url, "--list", "national", "--format", "csv", edition}
	if code, out, stderr := runCmd(t, publishCmd...); code != ExitOK || !strings.Contains(out, "national: published version 1") {
		t.Fatalf("publish: exit %d, %s%s", code, out, stderr)
	}
	code, _, stderr := runCmd(t, "lists", "--data-dir", data)
	if code != ExitFailure || !strings.Contains(stderr, "encrypted and no key was given") || !strings.Contains(stderr, EnvStoreEncryptionKey) {
		t.Errorf("lists without the key: exit %d, %s", code, stderr)
	}
	if code, out, stderr := runCmd(t, "lists", "--data-dir", data, "--store-key-file", storeKey); code != ExitOK || !strings.Contains(out, "national") {
		t.Errorf("lists with --store-key-file: exit %d, %s%s", code, out, stderr)
	}
	b, err := os.ReadFile(storeKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvStoreEncryptionKey, strings.TrimSpace(string(b)))
	if code, out, stderr := runCmd(t, "posts", "--data-dir", data); code != ExitOK {
		t.Errorf("posts with %s: exit %d, %s%s", EnvStoreEncryptionKey, code, out, stderr)
	}
}
