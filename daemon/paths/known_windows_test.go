package paths

import (
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// TestDataDirFromKnownFolder runs on Windows (and under Wine in
// packaging/wine-test.sh): with %ProgramData% pointing elsewhere, as in a
// service under Wine, the data directory still follows the known folder.
func TestDataDirFromKnownFolder(t *testing.T) {
	t.Setenv(EnvDataDir, "")
	t.Setenv(EnvConfig, "")
	t.Setenv("ProgramData", `C:\users\Public`)
	pd, err := windows.KnownFolderPath(windows.FOLDERID_ProgramData, 0)
	if err != nil {
		t.Fatalf("KnownFolderPath: %v", err)
	}
	if strings.EqualFold(pd, `C:\users\Public`) {
		t.Fatalf("the known folder is %s itself: the test cannot tell the two apart", pd)
	}
	if got, want := DataDir(), pd+`\Watchpost\data`; got != want {
		t.Errorf("DataDir() = %q, want %q", got, want)
	}
	if got, want := DefaultConfigFile(), pd+`\Watchpost\watchpost.yaml`; got != want {
		t.Errorf("DefaultConfigFile() = %q, want %q", got, want)
	}
	if got := ProgramData(); got != pd {
		t.Errorf("ProgramData() = %q, want %q", got, pd)
	}
}
