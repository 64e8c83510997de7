package normalize

import "unicode/utf8"

// isArabicLetter reports letters of the Arabic block (Arabic, Persian,
// Urdu) that start or continue an Arabic word.
func isArabicLetter(r rune) bool {
	return (r >= 0x0620 && r <= 0x064A && r != 0x0640) ||
		(r >= 0x066E && r <= 0x06D3 && r != 0x0670) || r == 0x06D5
}

// isArabicMark reports characters inside an Arabic word that are not
// written: harakat, shadda, sukun, Quranic marks, tatweel, joiners.
func isArabicMark(r rune) bool {
	return (r >= 0x064B && r <= 0x065F) || r == 0x0670 || r == 0x0640 ||
		(r >= 0x06D6 && r <= 0x06ED) || r == 0x200C || r == 0x200D
}

// alefLike reports letters that carry a long A or a glottal stop; waw and
// yeh next to them are consonants (W, Y) rather than vowels (U, I).
func alefLike(r rune) bool {
	switch r {
	case arAlef, arAlefHamzaAbove, arAlefHamzaBelow, arAlefMadda, arAlefWasla,
		arHamza, arAlefMaksura, arTehMarbuta:
		return true
	}
	return false
}

// arabicWords are whole words spelled the way names conventionally are,
// so that they read (and tokenise) like their Latin counterparts.
var arabicWords = []struct {
	word []rune
	latn string
}{
	{[]rune("بن"), "BIN"},
	{[]rune("ابن"), "IBN"},
	{[]rune("إبن"), "IBN"},
	{[]rune("بنت"), "BINT"},
	{[]rune("ابو"), "ABU"},
	{[]rune("أبو"), "ABU"},
	{[]rune("ابي"), "ABI"},
	{[]rune("أبي"), "ABI"},
	{[]rune("عبد"), "ABD"},
	{[]rune("الله"), "ALLAH"},
	{[]rune("ال"), "AL"},
	{[]rune("آل"), "AL"},
	{[]rune("أم"), "UMM"},
	{[]rune("ام"), "UMM"},
	{[]rune("ولد"), "OULD"},
}

// arabicWord transliterates the Arabic word starting at s[i] and returns
// the index just after it.
func (w *writer) arabicWord(s string, i int) int {
	var buf [48]rune
	letters := buf[:0]
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if isArabicMark(r) {
			i += size
			continue
		}
		if !isArabicLetter(r) {
			break
		}
		letters = append(letters, r)
		i += size
	}
	w.arabicLetters(letters)
	return i
}

// arabicLetters transliterates the letters of one Arabic word.
func (w *writer) arabicLetters(l []rune) {
	if w.b.Len() > 0 {
		w.brk() // an Arabic word never continues a word of another script
	}
	for _, sw := range arabicWords {
		if equalRunes(l, sw.word) {
			w.letters(sw.latn)
			return
		}
	}
	// Glued عبد + article: عبدالرحمن → ABD AL RHMN, عبدالله → ABD ALLAH.
	if len(l) >= 7 && l[0] == arAin && l[1] == arBeh && l[2] == arDal && l[3] == arAlef && l[4] == arLam {
		w.letters("ABD")
		w.arabicLetters(l[3:])
		return
	}
	// Definite article: الزواهري → AL ZWAHRI.
	if len(l) >= 4 && (l[0] == arAlef || l[0] == arAlefWasla) && l[1] == arLam {
		w.letters("AL")
		w.arabicLetters(l[2:])
		return
	}
	for k, c := range l {
		var prev, next rune
		if k > 0 {
			prev = l[k-1]
		}
		if k+1 < len(l) {
			next = l[k+1]
		}
		switch c {
		case arAin:
			if k == 0 {
				w.letters("A") // the vowel an initial ain carries
			}
		case arWaw:
			if k == 0 || alefLike(prev) || alefLike(next) {
				w.letters("W")
			} else {
				w.letters("U")
			}
		case arYeh, faYeh:
			if k == 0 || alefLike(prev) || alefLike(next) {
				w.letters("Y")
			} else {
				w.letters("I")
			}
		default:
			if v := lookup(c); v != "" && v != silent {
				w.letters(v)
			}
		}
	}
}

func equalRunes(a, b []rune) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
