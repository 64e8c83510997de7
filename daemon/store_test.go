package daemon

import (
	"errors"
	"strings"
	"testing"
)

// A store held by another process is refused with ErrStoreInUse and a
// message that names the store once and says what to do, without
// Badger's own "open store …" text repeated after it.
func TestOpenStoreInUse(t *testing.T) {
	dir := t.TempDir()
	st, err := OpenStore(dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = OpenStore(dir, nil, nil)
	if !errors.Is(err, ErrStoreInUse) {
		t.Fatalf("second OpenStore: %v, want ErrStoreInUse", err)
	}
	msg := err.Error()
	if n := strings.Count(msg, StoreDir(dir)); n != 1 || strings.Contains(msg, "open store") || !strings.Contains(msg, "watchpost status") {
		t.Errorf("error %q: want the store named once, no repeated \"open store\", and what to do", msg)
	}
}
