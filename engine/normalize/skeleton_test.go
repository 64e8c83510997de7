package normalize_test

import (
	"slices"
	"testing"

	"github.com/watchpost/watchpost/engine/normalize"
)

func TestSkeleton(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"AI", "A"},
		{"Y", "Y"},
		{"AH", "A"},
		{"MOHAMMED", "MHMD"},
		{"AHMED", "HMD"},
		{"ABDULLAH", "BDL"},
		{"ALLAH", "L"},
		{"CHERIF", "SRF"},
		{"CHRISTOS", "KRSTS"},
		{"PHILIP", "FLP"},
		{"XAVIER", "KSVR"},
		{"CECILIA", "SL"},
		{"CK", "K"},
		{"WALID", "VLD"},
		{"SCHMIDT", "SMD"},
		{"ZHUKOV", "JKV"},
		{"DJAMEL", "JML"},
		{"DZHOKHAR", "JKR"},
		{"TSCHETSCHENKO", "SNK"},
		{"007", "007"},
		{"1100", "1100"},
		{"mohammed", "MHMD"},
		{"O'NEILL", "NL"},
	}
	for _, tt := range tests {
		if got := normalize.Skeleton(tt.in); got != tt.want {
			t.Errorf("Skeleton(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSkeletonEquivalence(t *testing.T) {
	groups := [][]string{
		{"MOHAMMED", "MUHAMMAD", "MOHAMAD", "MOHAMED", "MUHAMED", "MOHAMMAD", "MOHAMMET", "MEHMET", "MEHMED", "MHMD"},
		{"HUSSEIN", "HUSAIN", "HOSSEIN", "HUSAYN", "HUSEIN", "HSIN"},
		{"YUSUF", "YOUSEF", "YOUSSEF", "YOSEF", "YUSF"},
		{"QADHAFI", "GADDAFI", "KADAFI", "QADDAFI", "GHADDAFI", "QDHAFI"},
		{"ZAWAHIRI", "ZAWAHRI", "ZWAHRI"},
		{"AHMED", "AHMAD", "AHMET"},
		{"OSAMA", "USAMA", "OUSSAMA", "ASAMA"},
		{"LADEN", "LADIN", "LADN"},
		{"CHERIF", "SHARIF", "SHERIF"},
		{"ABDULLAH", "ABDULLA", "ABDALLAH"},
		{"FATIMA", "FATIMAH", "FATEMEH"},
		{"RAHMAN", "RAHMANE", "RHMN"},
		{"MAHMOUD", "MAHMUD", "MAHMOOD", "MHMUD"},
	}
	for _, g := range groups {
		want := normalize.Skeleton(g[0])
		for _, tok := range g[1:] {
			if got := normalize.Skeleton(tok); got != want {
				t.Errorf("Skeleton(%q) = %q, want %q like %q", tok, got, want, g[0])
			}
		}
	}
}

// TestSkeletonAcrossScripts checks that the tokens of a name in Arabic,
// Cyrillic or Greek script have the skeletons of its Latin spelling.
func TestSkeletonAcrossScripts(t *testing.T) {
	tests := []struct {
		script string
		latin  []string
	}{
		{"أسامة بن لادن", []string{"OSAMA BIN LADEN", "USAMA BIN LADIN"}},
		{"محمد", []string{"MOHAMMED", "MUHAMMAD"}},
		{"حسين", []string{"HUSSEIN", "HUSAYN"}},
		{"يوسف", []string{"YOUSSEF", "YUSUF"}},
		{"معمر القذافي", []string{"MUAMMAR AL QADHAFI", "MOAMMAR EL GADDAFI"}},
		{"أيمن الظواهري", []string{"AYMAN AL ZAWAHIRI", "AIMAN AZ ZAWAHRI"}},
		{"عبدالرحمن", []string{"ABD AL RAHMAN", "ABDEL RAHMAN"}},
		{"عبدالله", []string{"ABDULLAH", "ABDALLAH"}},
		{"ممدوح", []string{"MAMDOUH", "MAMDUH"}},
		{"Владимир Путин", []string{"VLADIMIR PUTIN", "WLADIMIR PUTIN"}},
		{"Αλέξης Τσίπρας", []string{"ALEXIS TSIPRAS", "ALEKSIS TSIPRAS"}},
	}
	for _, tt := range tests {
		want := keys(tt.script)
		for _, l := range tt.latin {
			if got := keys(l); !slices.Equal(got, want) {
				t.Errorf("skeletons of %q = %q, want %q (from %q)", l, got, want, tt.script)
			}
		}
	}
}

// keys returns the skeletons of the name's non-particle tokens.
func keys(name string) []string {
	var out []string
	for _, tok := range normalize.Tokens(name) {
		if !normalize.IsParticle(tok) {
			out = append(out, normalize.Skeleton(tok))
		}
	}
	return out
}

func TestDeletes(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"A", []string{""}},
		{"ABC", []string{"BC", "AC", "AB"}},
		{"MHMMD", []string{"HMMD", "MMMD", "MHMD", "MHMM"}},
		{"ÅB", []string{"B", "Å"}},
	}
	for _, tt := range tests {
		var got []string
		normalize.Deletes(tt.in, func(s string) { got = append(got, s) })
		if !slices.Equal(got, tt.want) {
			t.Errorf("Deletes(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
