package normalize_test

import (
	"testing"

	"github.com/watchpost/watchpost/engine/normalize"
)

func FuzzLatin(f *testing.F) {
	for _, s := range []string{
		"", "john smith-jones", "O'Neill", "Müller", "Mu\u0308ller", "Ørsted", "Þór",
		"Абу Бакр аль-Багдади", "Ἀλέξανδρος", "Αλέξης Τσίπρας", "أسامة بن لادن",
		"عبدالرحمن", "ﻣﺤﻤﺪ", "משה", "李小龍 Bruce", "Paral·lel", "١٢٣", "\xff\xfe", "ABDURRAHMAN",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l := normalize.Latin(s)
		for i := 0; i < len(l); i++ {
			c := l[i]
			switch {
			case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			case c == ' ' && i > 0 && i < len(l)-1 && l[i-1] != ' ':
			default:
				t.Fatalf("Latin(%q) = %q: bad byte %q at %d", s, l, c, i)
			}
		}
		if again := normalize.Latin(l); again != l {
			t.Fatalf("Latin not idempotent on %q: %q then %q", s, l, again)
		}
		for _, tok := range normalize.Tokens(s) {
			if tok == "" {
				t.Fatalf("Tokens(%q) has an empty token", s)
			}
			sk := normalize.Skeleton(tok)
			if sk == "" {
				t.Fatalf("Skeleton(%q) is empty", tok)
			}
		}
		normalize.Deletes(s, func(d string) {
			if len(d) >= len(s) {
				t.Fatalf("Deletes(%q) gave %q", s, d)
			}
		})
	})
}
