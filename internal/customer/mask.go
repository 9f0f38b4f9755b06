package customer

import (
	"strings"
	"unicode/utf8"
)

// Mask hides most of an identity's value, leaving enough to recognise
// it: w•••@example.cn, +86•••••8000, wx•••••23. Pages show it to people
// who need to tell customers apart but not to contact them.
func Mask(kind, value string) string {
	if kind == Email {
		local, domain, _ := strings.Cut(value, "@")
		r := []rune(local)
		if len(r) == 0 {
			return "•••@" + domain
		}
		return string(r[:1]) + "•••@" + domain
	}
	keep := 4
	if len(value) <= keep+2 {
		keep = 2
	}
	if len(value) <= keep {
		return strings.Repeat("•", len(value))
	}
	head := ""
	if strings.HasPrefix(value, "+") && len(value) > keep+3 {
		head = value[:3]
	}
	return head + strings.Repeat("•", len(value)-len(head)-keep) + value[len(value)-keep:]
}

// MaskName keeps a name's first character: 王•• for 王小明, O•••• for
// Olivia Smith.
func MaskName(name string) string {
	name = strings.TrimSpace(name)
	if name == "" {
		return ""
	}
	first, size := utf8.DecodeRuneInString(name)
	n := utf8.RuneCountInString(name[size:])
	return string(first) + strings.Repeat("•", min(max(n, 2), 4))
}
