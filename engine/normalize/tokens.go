package normalize

import "strings"

// Tokens returns the words of Latin(s), with glued Arabic "Abd al-"
// compounds split into ABD and the name that follows:
//
//	ABDULRAHMAN, ABDURRAHMAN, ABDERRAHMANE → ABD RAHMAN(E)
//	ABDELKADER, ABDULKADIR                 → ABD KADER, ABD KADIR
//	ABDIRAHMAN, ABDUKARIM                  → ABD RAHMAN, ABD KARIM
//	ABDULLAH, ABDALLAH, ABDOULAYE          → ABD ALLAH
//	ABDUL, ABDEL, ABDOUL, ABDAL, ABDOL,
//	ABDUR, ABDER (standalone)              → ABD
//
// The usual abbreviations of MUHAMMAD (MOHD, MHD, MUHD, MOHMD) and the
// Burmese MG for MAUNG are written out.
//
// A glued compound splits only when the remaining name has at least three
// letters; a doubled assimilated consonant (ABDUR-RAHMAN) loses its first
// letter. Digit tokens are kept. No token is empty. The tokens share the
// memory of Latin(s).
func Tokens(s string) []string {
	l := Latin(s)
	if l == "" {
		return nil
	}
	out := make([]string, 0, strings.Count(l, " ")+2)
	for l != "" {
		var t string
		if i := strings.IndexByte(l, ' '); i >= 0 {
			t, l = l[:i], l[i+1:]
		} else {
			t, l = l, ""
		}
		t = expand(t)
		if head, rest, ok := splitAbd(t); ok {
			out = append(out, head)
			if rest != "" {
				out = append(out, rest)
			}
			continue
		}
		out = append(out, t)
	}
	return out
}

// expand writes out a name word that lists and documents shorten.
func expand(t string) string {
	switch t {
	case "MOHD", "MHD", "MUHD", "MOHMD", "MUHAMMD":
		return "MUHAMMAD"
	case "MG":
		return "MAUNG"
	}
	return t
}

// splitAbd splits a token starting with ABD + up to two vowels + a
// consonant into "ABD" and the rest (possibly "" for a standalone ABDUL).
func splitAbd(t string) (head, rest string, ok bool) {
	if len(t) < 4 || t[:3] != "ABD" {
		return "", "", false
	}
	j := 3
	for j < len(t) && j < 5 && isVowel(t[j]) {
		j++
	}
	if j == len(t) || !isConsonant(t[j]) {
		return "", "", false // ABDU, ABDOU, ABDI: names of their own
	}
	vowels := j > 3
	c := t[j]
	if c == 'L' && vowels {
		rest = t[j+1:]
		switch {
		case rest == "":
			return "ABD", "", true
		case rest == "LAH" || rest == "LA" || rest == "AH" || rest == "AYE" || rest == "AY":
			return "ABD", "ALLAH", true
		case len(rest) >= 3:
			return "ABD", rest, true
		}
		return "", "", false
	}
	if c == 'R' && vowels && j+1 == len(t) {
		return "ABD", "", true // ABDUR, ABDER, ABDOUR
	}
	rest = t[j:]
	if len(rest) > 1 && rest[1] == c {
		rest = rest[1:] // ABDUR-RAHMAN, ABDUS-SALAM, ABDEN-NOUR
	}
	if len(rest) >= 3 {
		return "ABD", rest, true
	}
	return "", "", false
}

func isVowel(c byte) bool {
	switch c {
	case 'A', 'E', 'I', 'O', 'U':
		return true
	}
	return false
}

func isConsonant(c byte) bool { return c >= 'A' && c <= 'Z' && !isVowel(c) }

// IsParticle reports whether tok (upper-case Latin) is a connective
// particle that carries almost no identity: Arabic articles and
// patronymic links (AL, EL, BIN, IBN, BINT, UMM, OULD…) and European
// nobiliary and linking particles (VAN, VON, DE, DA, DEL, LA, Y…).
// ABU and ABD are not particles: they are part of the name.
func IsParticle(tok string) bool {
	switch tok {
	case "AL", "EL", "UL", "AD", "AS", "AR", "AZ", "ASH", "AN", "AT",
		"BIN", "BEN", "IBN", "BINT", "BENT", "BINTI", "BINTE",
		"UMM", "UM", "OULD", "WALD",
		"VAN", "VON", "DER", "DEN", "TER", "TEN", "ZU",
		"DE", "DA", "DI", "DEL", "DELLA", "DELLE", "DEGLI", "DEI", "DES",
		"DOS", "DAS", "DO", "DU", "LA", "LE", "Y":
		return true
	}
	return false
}

// IsTitle reports whether tok (upper-case Latin) is an honorific, a
// religious or military title or a generational suffix that lists print
// with a name (HAJI, MULLAH, SHEIKH, DR, GENERAL, JR): it says little
// about who someone is and a traveller's passport rarely carries it.
func IsTitle(tok string) bool {
	switch tok {
	case "HAJI", "HAJJI", "HADJI", "ALHAJI", "ALHADJI",
		"QARI", "QAARI", "MAULAWI", "MAWLAWI", "MAULVI", "MOULVI", "MAWLAVI", "MAULANA", "MOULANA", "MAWLANA",
		"MULLAH", "MULLA", "MOLLA", "MOLLAH", "MULAH", "MUFTI", "IMAM",
		"SHEIKH", "SHAIKH", "SHAYKH", "SHEIK", "SHAYK", "SHEKH", "CHEIKH",
		"DR", "DOCTOR", "PROF", "PROFESSOR", "ENG", "ENGINEER",
		"GENERAL", "GEN", "COLONEL", "COL", "MAJOR", "CAPTAIN", "CAPT", "LIEUTENANT", "LT", "SGT",
		"MR", "MRS", "MS", "MISS", "SIR", "JR", "SR", "JNR", "SNR":
		return true
	}
	return false
}
