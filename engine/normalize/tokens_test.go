package normalize_test

import (
	"slices"
	"testing"

	"github.com/watchpost/watchpost/engine/normalize"
)

func TestTokens(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" - ", nil},
		{"john smith-jones", []string{"JOHN", "SMITH", "JONES"}},
		{"Abdulrahman", []string{"ABD", "RAHMAN"}},
		{"ABDURRAHMAN", []string{"ABD", "RAHMAN"}},
		{"Abderrahmane", []string{"ABD", "RAHMANE"}},
		{"ABDURAHMAN", []string{"ABD", "RAHMAN"}},
		{"Abdelkader", []string{"ABD", "KADER"}},
		{"ABDOULKARIM", []string{"ABD", "KARIM"}},
		{"ABDALRAZZAQ", []string{"ABD", "RAZZAQ"}},
		{"ABDOLHOSSEIN", []string{"ABD", "HOSSEIN"}},
		{"ABDUSSALAM", []string{"ABD", "SALAM"}},
		{"ABDIRAHMAN", []string{"ABD", "RAHMAN"}},
		{"ABDULAZIZ", []string{"ABD", "AZIZ"}},
		{"Abdullah", []string{"ABD", "ALLAH"}},
		{"ABDALLAH", []string{"ABD", "ALLAH"}},
		{"ABDOULAYE", []string{"ABD", "ALLAH"}},
		{"Abdul Rahman", []string{"ABD", "RAHMAN"}},
		{"ABDEL KADER", []string{"ABD", "KADER"}},
		{"ABDOUL ABDAL ABDOL ABDUR ABDER", []string{"ABD", "ABD", "ABD", "ABD", "ABD"}},
		{"ABD AL RAHMAN", []string{"ABD", "AL", "RAHMAN"}},
		{"ABDU ABDOU ABDI ABDO", []string{"ABDU", "ABDOU", "ABDI", "ABDO"}},
		{"ABDIN ABDULA", []string{"ABDIN", "ABDULA"}},
		{"ABD", []string{"ABD"}},
		{"عبدالرحمن", []string{"ABD", "AL", "RHMN"}},
		{"Agent 007", []string{"AGENT", "007"}},
		{"Mohd. Yusof, Mhd Amer, U Mg Mg", []string{"MUHAMMAD", "YUSOF", "MUHAMMAD", "AMER", "U", "MAUNG", "MAUNG"}},
		{"Владимир Путин", []string{"VLADIMIR", "PUTIN"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := normalize.Tokens(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("Tokens(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestIsParticle(t *testing.T) {
	yes := []string{"AL", "EL", "UL", "AD", "AS", "AR", "AZ", "ASH", "AN", "AT",
		"BIN", "BEN", "IBN", "BINT", "BENT", "BINTI", "BINTE", "UMM", "UM", "OULD", "WALD",
		"VAN", "VON", "DER", "DEN", "DE", "DA", "DI", "DEL", "DELLA", "DOS", "DAS", "DO", "DU", "LA", "LE", "Y"}
	no := []string{"ABU", "ABD", "MAC", "MC", "MOHAMMED", "ALI", "", "al", "BINLADEN", "O"}
	for _, tok := range yes {
		if !normalize.IsParticle(tok) {
			t.Errorf("IsParticle(%q) = false, want true", tok)
		}
	}
	for _, tok := range no {
		if normalize.IsParticle(tok) {
			t.Errorf("IsParticle(%q) = true, want false", tok)
		}
	}
}

func TestIsTitle(t *testing.T) {
	for _, tok := range []string{"HAJI", "MULLAH", "SHEIKH", "DR", "GENERAL", "JR"} {
		if !normalize.IsTitle(tok) {
			t.Errorf("IsTitle(%q) = false", tok)
		}
	}
	// Names that titles resemble, and family names some titles are
	// (AL-HAJJ), are not titles.
	for _, tok := range []string{"HAJJ", "AMIR", "HAFIZ", "SAYYID", "MOHAMMED", "AL"} {
		if normalize.IsTitle(tok) {
			t.Errorf("IsTitle(%q) = true", tok)
		}
	}
}
