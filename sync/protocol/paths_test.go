package protocol

import "testing"

func TestFileNames(t *testing.T) {
	for name, want := range map[string]bool{
		"un-1-3.snap": true, "ofac_sdn-12-345.snap": true, "a-b-1-2.snap": true,
		"un-0-3.snap": false, "un-1-.snap": false, "-1-3.snap": false, "un-1-3.snapx": false, "un-1-3": false,
		"un-01-3.snap": false, "UN-1-3.snap": false, "un-1-18446744073709551616.snap": false,
	} {
		list, e, v, ok := ParseSnapshotFileName(name)
		if ok != want {
			t.Errorf("ParseSnapshotFileName(%q) ok = %v", name, ok)
		}
		if ok && SnapshotFileName(list, e, v) != name {
			t.Errorf("ParseSnapshotFileName(%q) = %s %d %d, which names %s", name, list, e, v, SnapshotFileName(list, e, v))
		}
	}
	for name, want := range map[string]bool{
		"1-3.delta": true, "12-18446744073709551615.delta": true,
		"01-3.delta": false, "1-3": false, "-3.delta": false, "1-.delta": false, "1-18446744073709551616.delta": false, "1-3.delta/x": false,
	} {
		e, v, ok := ParseDeltaFileName(name)
		if ok != want {
			t.Errorf("ParseDeltaFileName(%q) ok = %v", name, ok)
		}
		if ok && DeltaFileName(e, v) != name {
			t.Errorf("ParseDeltaFileName(%q) = %d %d, which names %s", name, e, v, DeltaFileName(e, v))
		}
	}
}

func TestURLs(t *testing.T) {
	if got, want := DeltaURL("https://hq.example:8443/", "un", 1, 7), "https://hq.example:8443/deltas/un/1-7.delta"; got != want {
		t.Errorf("DeltaURL = %s, want %s", got, want)
	}
	if got, want := SnapshotsURL("https://hq.example:8443"), "https://hq.example:8443/snapshots"; got != want {
		t.Errorf("SnapshotsURL = %s, want %s", got, want)
	}
	if got, want := EditionsPath("national"), "/v1/lists/national/editions"; got != want {
		t.Errorf("EditionsPath = %s, want %s", got, want)
	}
}
