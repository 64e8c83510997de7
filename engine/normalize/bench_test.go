package normalize_test

import (
	"testing"

	"github.com/watchpost/watchpost/engine/normalize"
)

var sink string

// BenchmarkLatin folds names already in capitals (normalised), in mixed
// case with punctuation (raw), and in other scripts or with diacritics.
func BenchmarkLatin(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"ascii/normalised", "MOHAMMED ABDUL RAHMAN AL HASSAN"},
		{"ascii/raw", "Mohammed Abdul-Rahman al-Hassan"},
		{"cyrillic", "Владимир Владимирович Путин"},
		{"arabic", "أسامة بن محمد بن عوض بن لادن"},
		{"diacritics", "José María Müller-Ørsted"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = normalize.Latin(bc.in)
			}
		})
	}
}

func BenchmarkTokens(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		toks := normalize.Tokens("Mohammed Abdulrahman al-Hassan")
		sink = toks[0]
	}
}

func BenchmarkSkeleton(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sink = normalize.Skeleton("MOHAMMED")
	}
}

func BenchmarkDeletes(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		normalize.Deletes("MHMD", func(s string) { sink = s })
	}
}
