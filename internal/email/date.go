package email

import (
	"net/mail"
	"regexp"
	"strings"
	"time"
)

// dateLayouts are formats seen from broken mailers that net/mail rejects.
var dateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04 -0700",
	"2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 06 15:04:05 -0700",
	"Mon, 2 January 2006 15:04:05 -0700",
	"Mon Jan 2 15:04:05 2006",
	"Mon Jan 2 15:04:05 MST 2006",
	"Mon Jan 2 15:04:05 -0700 2006",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05",
	"2006/01/02 15:04:05",
	time.RFC3339,
	"Mon, 2 Jan 2006 15:04:05",
	"Mon, 2 Jan 2006",
}

var (
	dateComment = regexp.MustCompile(`\([^)]*\)`)
	// "GMT+0800", "UTC+08:00", "+08:00": offsets net/mail does not read.
	dateZone = regexp.MustCompile(`(?i)\s*(?:GMT|UTC)?\s*([+-])(\d\d):?(\d\d)\s*$`)
)

// parseDate reads a Date header in UTC. ok is false when nothing sensible
// comes out, including years no one sends mail from (they would also break
// RFC 3339 output).
func parseDate(raw string) (time.Time, bool) {
	s := unfold(raw)
	t, err := mail.ParseDate(s)
	if err != nil {
		s = unfold(dateComment.ReplaceAllString(s, ""))
		s = strings.TrimSuffix(s, ".")
		s = dateZone.ReplaceAllString(s, " $1$2$3")
		for _, layout := range dateLayouts {
			if t, err = time.Parse(layout, s); err == nil {
				break
			}
		}
		if err != nil {
			if t, err = mail.ParseDate(s); err != nil {
				return time.Time{}, false
			}
		}
	}
	t = t.UTC()
	if t.Year() < 1970 || t.Year() > 9999 {
		return time.Time{}, false
	}
	return t, true
}
