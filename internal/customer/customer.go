// Package customer keeps the people a shop serves: their identities on
// every channel (email, phone, WeChat id), language, member tier, birthday,
// tags, notes and whether they are blocked, and merges two records of the
// same person.
package customer

import (
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/kefu-desk/kefu"
)

// Identity kinds.
const (
	Email  = "email"
	Phone  = "phone"
	WeChat = "wechat"
)

// Customer is one person, however many addresses they write from.
type Customer struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	Language      string     `json:"language"`
	Tier          string     `json:"tier"`
	Birthday      string     `json:"birthday"`
	Note          string     `json:"note"`
	Blocked       bool       `json:"blocked"`
	BlockedReason string     `json:"blocked_reason"`
	Tags          []string   `json:"tags"`
	Identities    []Identity `json:"identities"`
	MergedInto    string     `json:"merged_into,omitempty"`
	Version       int        `json:"version"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// Identity is one address a customer is reached at.
type Identity struct {
	ID      string `json:"id"`
	Kind    string `json:"kind" enum:"email,phone,wechat"`
	Value   string `json:"value"`
	Failing bool   `json:"failing"`
}

// Normalize returns the form an identity is matched by, or an error
// message for the user. Emails compare case-insensitively; phones by
// their digits with an optional leading +; WeChat ids case-insensitively.
func Normalize(kind, value string) (string, string) {
	v := strings.TrimSpace(value)
	switch kind {
	case Email:
		a, err := mail.ParseAddress(v)
		if err != nil || a.Name != "" || !strings.Contains(a.Address, "@") {
			return "", "is not an email address"
		}
		return strings.ToLower(a.Address), ""
	case Phone:
		return NormalizePhone(v)
	case WeChat:
		if !wechatID.MatchString(v) {
			return "", "is not a WeChat id (6–20 letters, digits, _ or -, starting with a letter)"
		}
		return strings.ToLower(v), ""
	default:
		return "", "must be one of email, phone, wechat"
	}
}

var wechatID = regexp.MustCompile(`^[A-Za-z][-_A-Za-z0-9]{5,19}$`)

// NormalizePhone keeps the digits of a phone number and a leading +
// (00 becomes +), so "+86 138-0013-8000" and "+8613800138000" match.
func NormalizePhone(v string) (string, string) {
	var b strings.Builder
	for i, r := range strings.TrimSpace(v) {
		switch {
		case unicode.IsDigit(r) && r < 128:
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return "", "may hold only digits, spaces, dashes, brackets and a leading +"
		}
	}
	s := b.String()
	if strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	if n := len(strings.TrimPrefix(s, "+")); n < 5 || n > 15 {
		return "", "must have 5 to 15 digits"
	}
	return s, ""
}

// Languages a customer may be served in.
var Languages = []string{"", "en", "zh-CN"}

func validateProfile(fs *kefu.Fields, prefix string, name, language, birthday *string, tags []string) {
	if name != nil && len(*name) > 200 {
		fs.Add(prefix+"name", "must be at most 200 characters")
	}
	if language != nil && !slices.Contains(Languages, *language) {
		fs.Add(prefix+"language", "must be en or zh-CN")
	}
	if birthday != nil && *birthday != "" {
		if _, err := time.Parse(time.DateOnly, *birthday); err != nil {
			fs.Add(prefix+"birthday", "must be a date like 1990-05-17")
		}
	}
	for i, t := range tags {
		if msg := CheckTag(t); msg != "" {
			fs.Add(prefix+"tags["+strconv.Itoa(i)+"]", "%s", msg)
		}
	}
}

// CheckTag returns why t is not a usable tag, or "".
func CheckTag(t string) string {
	switch {
	case strings.TrimSpace(t) != t || t == "":
		return "must be non-empty with no surrounding spaces"
	case len(t) > 64:
		return "must be at most 64 bytes"
	case strings.ContainsAny(t, ",\n\t"):
		return "must not contain commas, tabs or line breaks"
	}
	return ""
}

// ETagVersion is the version an ETag of the customer names.
func (c *Customer) ETagVersion() int { return c.Version }
