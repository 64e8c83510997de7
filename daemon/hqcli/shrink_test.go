package hqcli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/daemon/web"
	"github.com/watchpost/watchpost/engine/importer"
)

// checkShrinkAudited checks that HQ's audit trail in data records one
// confirmed shrink, by an actor starting with actor.
func checkShrinkAudited(t *testing.T, data, actor string) {
	t.Helper()
	h, err := daemon.NewHQ(daemon.HQConfig{DataDir: data})
	if err == nil {
		err = h.Open(context.Background())
	}
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var got []web.Event
	err = daemon.HQEvents(h.Store(), nil).Each(context.Background(), time.Time{}, time.Now().Add(time.Hour), func(e web.Event) bool {
		if e.Action == web.ActionShrinkConfirmed {
			got = append(got, e)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !strings.HasPrefix(got[0].Actor, actor) || got[0].Subject != "national" || !strings.Contains(got[0].Detail, "1 removed") {
		t.Errorf("confirmed shrinks in HQ's audit trail: %+v, want one by %s", got, actor)
	}
}

// TestEditionBodyFileForFolderFormat: a plain file given for ofac-csv is
// refused before the upload, saying what was given and what is wanted.
func TestEditionBodyFileForFolderFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sdn.csv")
	if err := os.WriteFile(path, []byte(`1,"X",individual,"SDGT",-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := editionBody(importer.FormatOFACCSV, path)
	if err == nil {
		t.Fatal("a CSV file was accepted for ofac-csv")
	}
	for _, want := range []string{path, "is a file but not a zip archive", "the OFAC folder", "sdn.csv, alt.csv"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
}
