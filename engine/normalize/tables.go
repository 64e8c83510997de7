package normalize

import "unicode"

// silent is the table value of a character that is written as nothing and
// does not break a word: the soft sign, ain inside a word, apostrophes.
const silent = "\x00"

// denseSize bounds the dense table: every rune below it (Latin-1, Latin
// Extended, Greek, Cyrillic, Hebrew, Arabic) is found by index.
const denseSize = 0x700

var (
	dense  [denseSize]string // rune → Latin, "" when the rune has no entry
	sparse map[rune]string   // the same for runes ≥ denseSize
)

// latinSpecial are the ICAO Doc 9303 Part 3 letters that are not plain
// diacritic variants, plus a few letters of African and Azerbaijani Latin
// alphabets that have no Unicode decomposition. Lower-case forms are added
// by init.
var latinSpecial = map[rune]string{
	'Ä': "AE", 'Ö': "OE", 'Ü': "UE", 'Å': "AA", 'Æ': "AE", 'Ø': "OE", 'Œ': "OE",
	'ß': "SS", 'ẞ': "SS", 'Þ': "TH", 'Ð': "D", 'Đ': "D", 'Ł': "L", 'Ĳ': "IJ",
	'ı': "I", 'Ŋ': "N", 'Ħ': "H", 'Ŧ': "T", 'Ŀ': "L", 'ĸ': "K",
	'Ə': "A", 'Ɛ': "E", 'Ɔ': "O", 'Ɓ': "B", 'Ɗ': "D", 'Ƙ': "K", 'Ƴ': "Y",
	'Ƒ': "F", 'Ɲ': "N", 'Ʒ': "Z", 'Ɩ': "I", 'Ʋ': "V", 'Ɣ': "G", 'Ɨ': "I",
}

// cyrillic is ICAO Doc 9303 Part 3 (Russian, Ukrainian, Belarusian,
// Serbian, Macedonian), plus common Central Asian letters.
var cyrillic = map[rune]string{
	'А': "A", 'Б': "B", 'В': "V", 'Г': "G", 'Д': "D", 'Е': "E", 'Ё': "E",
	'Ж': "ZH", 'З': "Z", 'И': "I", 'Й': "I", 'К': "K", 'Л': "L", 'М': "M",
	'Н': "N", 'О': "O", 'П': "P", 'Р': "R", 'С': "S", 'Т': "T", 'У': "U",
	'Ф': "F", 'Х': "KH", 'Ц': "TS", 'Ч': "CH", 'Ш': "SH", 'Щ': "SHCH",
	'Ъ': "IE", 'Ы': "Y", 'Ь': silent, 'Э': "E", 'Ю': "IU", 'Я': "IA",
	'Є': "IE", 'І': "I", 'Ї': "I", 'Ґ': "G", 'Ў': "U",
	'Ђ': "D", 'Ј': "J", 'Љ': "LJ", 'Њ': "NJ", 'Ћ': "C", 'Џ': "DZ",
	'Ѓ': "G", 'Ќ': "K", 'Ѕ': "DZ", 'Ѐ': "E", 'Ѝ': "I",
	'Ә': "A", 'Ғ': "G", 'Қ': "K", 'Ң': "N", 'Ө': "O", 'Ұ': "U", 'Ү': "U",
	'Һ': "H", 'Ҳ': "KH", 'Ҷ': "J", 'Ӣ': "I", 'Ӯ': "U", 'Ҙ': "Z", 'Ҡ': "K",
	'Ӏ': silent,
}

// greek is ICAO Doc 9303 Part 3 / ELOT 743. Accented and polytonic
// letters reach it through their canonical decomposition.
var greek = map[rune]string{
	'Α': "A", 'Β': "V", 'Γ': "G", 'Δ': "D", 'Ε': "E", 'Ζ': "Z", 'Η': "I",
	'Θ': "TH", 'Ι': "I", 'Κ': "K", 'Λ': "L", 'Μ': "M", 'Ν': "N", 'Ξ': "X",
	'Ο': "O", 'Π': "P", 'Ρ': "R", 'Σ': "S", 'Τ': "T", 'Υ': "Y", 'Φ': "F",
	'Χ': "CH", 'Ψ': "PS", 'Ω': "O", 'ς': "S",
}

// Arabic letters. Context-dependent ones (ain, waw, yeh) are resolved in
// arabic.go; the values here are their defaults.
const (
	arAlefHamzaAbove = '\u0623' // أ
	arAlefHamzaBelow = '\u0625' // إ
	arAlefMadda      = '\u0622' // آ
	arHamza          = '\u0621' // ء
	arAlef           = '\u0627' // ا
	arAlefWasla      = '\u0671' // ٱ
	arAlefMaksura    = '\u0649' // ى
	arTehMarbuta     = '\u0629' // ة
	arBeh            = '\u0628' // ب
	arDal            = '\u062F' // د
	arAin            = '\u0639' // ع
	arLam            = '\u0644' // ل
	arHeh            = '\u0647' // ه
	arWaw            = '\u0648' // و
	arYeh            = '\u064A' // ي
	faYeh            = '\u06CC' // ی (Persian yeh)
	faYehBarree      = '\u06D2' // ے (Urdu)
)

var arabic = map[rune]string{
	arHamza: "A", arAlefMadda: "A", arAlefHamzaAbove: "A", arAlefHamzaBelow: "A",
	'\u0624': "U", // ؤ waw with hamza
	'\u0626': "I", // ئ yeh with hamza
	arAlef:   "A", arAlefWasla: "A", arAlefMaksura: "A", arTehMarbuta: "A",
	arBeh:    "B",
	'\u062A': "T",  // ت
	'\u062B': "TH", // ث
	'\u062C': "J",  // ج
	'\u062D': "H",  // ح
	'\u062E': "KH", // خ
	arDal:    "D",
	'\u0630': "DH", // ذ
	'\u0631': "R",  // ر
	'\u0632': "Z",  // ز
	'\u0633': "S",  // س
	'\u0634': "SH", // ش
	'\u0635': "S",  // ص
	'\u0636': "D",  // ض
	'\u0637': "T",  // ط
	'\u0638': "Z",  // ظ
	arAin:    silent,
	'\u063A': "GH",   // غ
	'\u0640': silent, // tatweel
	'\u0641': "F",    // ف
	'\u0642': "Q",    // ق
	'\u0643': "K",    // ك
	arLam:    "L",
	'\u0645': "M", // م
	'\u0646': "N", // ن
	arHeh:    "H",
	arWaw:    "W",
	arYeh:    "Y",
	// Persian, Urdu and Maghrebi letters.
	'\u067E':    "P",  // پ
	'\u0686':    "CH", // چ
	'\u0698':    "ZH", // ژ
	'\u06A9':    "K",  // ک
	'\u06AF':    "G",  // گ
	faYeh:       "Y",
	'\u06C0':    "H", // ۀ
	'\u06D5':    "E", // ە
	'\u0679':    "T", // ٹ
	'\u0688':    "D", // ڈ
	'\u0691':    "R", // ڑ
	'\u06BA':    "N", // ں
	'\u06BE':    "H", // ھ
	'\u06C1':    "H", // ہ
	'\u06C3':    "A", // ۃ
	faYehBarree: "E",
	'\u06D3':    "E",    // ۓ
	'\u06A4':    "V",    // ڤ
	'\u06A8':    "G",    // ڨ
	'\u06AD':    "G",    // ڭ
	'\u0670':    silent, // superscript alef
}

// hebrew is a basic consonant table; vav and yod are resolved by position
// in latin.go.
var hebrew = map[rune]string{
	'א': "A", 'ב': "B", 'ג': "G", 'ד': "D", 'ה': "H", 'ו': "V", 'ז': "Z",
	'ח': "KH", 'ט': "T", 'י': "Y", 'כ': "K", 'ך': "K", 'ל': "L", 'מ': "M",
	'ם': "M", 'נ': "N", 'ן': "N", 'ס': "S", 'ע': silent, 'פ': "P", 'ף': "F",
	'צ': "TS", 'ץ': "TS", 'ק': "K", 'ר': "R", 'ש': "SH", 'ת': "T",
	'װ': "V", 'ױ': "OI", 'ײ': "EI",
}

// apostrophes are removed without breaking the word (O'NEILL → ONEILL).
// The ASCII ones are handled by the ASCII class table.
var apostrophes = []rune{
	'\u2019', '\u2018', '\u201B', '\u02BC', '\u02BB', '\u02BE', '\u02BF',
	'\u00B4', '\u2032', '\u02B9', '\u02BA', '\u05F3', '\u05F4', '\uFF07',
}

func init() {
	sparse = make(map[rune]string)
	set := func(r rune, v string) {
		if r < 0x80 {
			return
		}
		if r < denseSize {
			dense[r] = v
			return
		}
		sparse[r] = v
	}
	for _, m := range []map[rune]string{latinSpecial, cyrillic, greek} {
		for r, v := range m {
			set(r, v)
			if l := unicode.ToLower(r); l != r {
				set(l, v)
			}
		}
	}
	for _, m := range []map[rune]string{arabic, hebrew} {
		for r, v := range m {
			set(r, v)
		}
	}
	for _, r := range apostrophes {
		set(r, silent)
	}
}

// lookup returns the table value of a non-ASCII rune, "" when it has none.
func lookup(r rune) string {
	if r < denseSize {
		return dense[r]
	}
	return sparse[r]
}

// asciiClass maps every ASCII byte to its output: an upper-case letter or
// digit, ' ' for a word break, or 0 for a character dropped in place.
var asciiClass = func() (t [128]byte) {
	for c := 0; c < 128; c++ {
		switch {
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			t[c] = byte(c)
		case c >= 'a' && c <= 'z':
			t[c] = byte(c) - 'a' + 'A'
		case c == '\'' || c == '`':
			t[c] = 0
		default:
			t[c] = ' '
		}
	}
	return t
}()
