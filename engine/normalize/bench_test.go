package normalize_test

import (
	"testing"

	"github.com/watchpost/watchpost/engine/normalize"
)

var sink string

func BenchmarkLatinASCII(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"normalised", "MOHAMMED ABDUL RAHMAN AL HASSAN"},
		{"raw", "Mohammed Abdul-Rahman al-Hassan"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sink = normalize.Latin(bc.in)
			}
		})
	}
}

func BenchmarkLatinCyrillic(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sink = normalize.Latin("Владимир Владимирович Путин")
	}
}

func BenchmarkLatinArabic(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sink = normalize.Latin("أسامة بن محمد بن عوض بن لادن")
	}
}

func BenchmarkLatinDiacritics(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sink = normalize.Latin("José María Müller-Ørsted")
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
