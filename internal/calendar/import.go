package calendar

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
)

// Holiday is one day of a holiday-cn file.
type Holiday struct {
	Date Date
	Name string
	// Off is true for a day off and false for an adjusted working day
	// (调休), usually a weekend day worked to bridge a holiday.
	Off bool
}

// ParseHolidayCN reads a file in the format of the NateScarlet/holiday-cn
// data set: {"year": 2025, "papers": [...], "days": [{"name": "国庆节",
// "date": "2025-10-01", "isOffDay": true}, ...]}. Field errors name paths
// such as "days[3].date".
func ParseHolidayCN(data []byte) ([]Holiday, error) {
	var f struct {
		Days *[]struct {
			Name     string `json:"name"`
			Date     string `json:"date"`
			IsOffDay *bool  `json:"isOffDay"`
		} `json:"days"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, &kefu.Error{Code: kefu.Invalid, Message: "not a holiday-cn JSON file", Err: err}
	}
	if f.Days == nil {
		return nil, kefu.Fieldf("days", "required")
	}
	var fs kefu.Fields
	out := make([]Holiday, 0, len(*f.Days))
	for i, d := range *f.Days {
		date, err := ParseDate(d.Date)
		if err != nil {
			fs.Add("days["+strconv.Itoa(i)+"].date", "%v", err)
		}
		if d.IsOffDay == nil {
			fs.Add("days["+strconv.Itoa(i)+"].isOffDay", "required")
		}
		if err == nil && d.IsOffDay != nil {
			out = append(out, Holiday{Date: date, Name: d.Name, Off: *d.IsOffDay})
		}
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// ImportHolidayCN adds the days of a holiday-cn file to s.Overrides: a day
// off becomes closed, an adjusted working day gets the normal working-day
// hours of s (Monday's, or the first of Tuesday … Friday that has hours),
// copied so that later edits of the weekly hours do not move it. Imported
// dates replace existing overrides of the same dates. Unlike including
// "cn-statutory", this works for any year the admin has a file for.
func (s *Spec) ImportHolidayCN(data []byte) error {
	days, err := ParseHolidayCN(data)
	if err != nil {
		return err
	}
	var work [][]string
	for _, wd := range weekOrder[:5] {
		if work = s.Weekly[weekdayKeys[wd]]; len(work) > 0 {
			break
		}
	}
	if s.Overrides == nil {
		s.Overrides = map[string][][]string{}
	}
	for _, d := range days {
		h := [][]string{}
		if !d.Off {
			for _, iv := range work {
				h = append(h, slices.Clone(iv))
			}
		}
		s.Overrides[d.Date.String()] = h
	}
	return nil
}

// ImportICS closes, in s.Overrides, every date an event of an iCalendar
// file covers (see ParseICS). The file's times are read in s.Timezone,
// which must be valid.
func (s *Spec) ImportICS(data []byte) error {
	loc, problem := loadZone(s.Timezone)
	if loc == nil {
		return kefu.Fieldf("timezone", "%s", problem)
	}
	dates, err := ParseICS(data, loc)
	if err != nil {
		return err
	}
	if s.Overrides == nil {
		s.Overrides = map[string][][]string{}
	}
	for _, d := range dates {
		s.Overrides[d.String()] = [][]string{}
	}
	return nil
}

// ParseICS returns, sorted, the dates on which an iCalendar (RFC 5545) file
// has events; each is a closed day. It reads the subset that holiday
// calendars use:
//   - all-day events (DTSTART;VALUE=DATE:20251001) with an exclusive DTEND,
//     a DURATION, or neither (one day);
//   - events with a date-time close every date they touch, whole: overrides
//     describe whole days, and a partial closure is rarer than a file that
//     stores holidays as midnight-to-midnight times. Times in UTC ("Z") or
//     with a known TZID are converted to loc; floating times and unknown
//     TZIDs are read as times in loc. An end at exactly midnight does not
//     touch the next date;
//   - cancelled events (STATUS:CANCELLED) are skipped, RRULE, RDATE and
//     EXDATE are ignored (only the first occurrence counts), and components
//     other than VEVENT (VTIMEZONE, VALARM …) are skipped.
//
// Folded lines are unfolded, CRLF and LF endings and a UTF-8 BOM accepted.
// Problems are reported as field "file" with the line number.
func ParseICS(data []byte, loc *time.Location) ([]Date, error) {
	var fs kefu.Fields
	closed := map[Date]bool{}
	var stack []string
	var ev *icsEvent
	sawCalendar := false
	for _, l := range unfold(data) {
		name, params, value, ok := parseContentLine(l.text)
		if !ok {
			continue
		}
		switch name {
		case "BEGIN":
			comp := strings.ToUpper(value)
			stack = append(stack, comp)
			sawCalendar = sawCalendar || comp == "VCALENDAR"
			if comp == "VEVENT" {
				ev = &icsEvent{line: l.n}
			}
		case "END":
			comp := strings.ToUpper(value)
			if i := slices.Index(stack, comp); i >= 0 {
				stack = stack[:i]
			}
			if comp == "VEVENT" && ev != nil {
				ev.dates(loc, closed, &fs)
				ev = nil
			}
		default:
			if ev == nil || len(stack) == 0 || stack[len(stack)-1] != "VEVENT" {
				continue
			}
			p := &icsProp{line: l.n, params: params, value: strings.TrimSpace(value)}
			switch name {
			case "DTSTART":
				ev.start = p
			case "DTEND":
				ev.end = p
			case "DURATION":
				ev.duration = p
			case "STATUS":
				ev.cancelled = strings.EqualFold(p.value, "CANCELLED")
			}
		}
	}
	if ev != nil {
		// A file cut short after its last event still means that event.
		ev.dates(loc, closed, &fs)
	}
	if !sawCalendar {
		return nil, kefu.Fieldf("file", "not an iCalendar file (no BEGIN:VCALENDAR)")
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	return slices.SortedFunc(maps.Keys(closed), func(a, b Date) int {
		return a.noon().Compare(b.noon())
	}), nil
}

type icsLine struct {
	n    int // first physical line, 1-based
	text string
}

// unfold joins folded lines (a line break followed by a space or a tab).
func unfold(data []byte) []icsLine {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	var out []icsLine
	var cur strings.Builder
	n := 0
	flush := func() {
		if strings.TrimSpace(cur.String()) != "" {
			out = append(out, icsLine{n: n, text: cur.String()})
		}
		cur.Reset()
	}
	for i, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSuffix(l, "\r")
		if len(l) > 0 && (l[0] == ' ' || l[0] == '\t') && n > 0 {
			cur.WriteString(l[1:])
			continue
		}
		flush()
		cur.WriteString(l)
		n = i + 1
	}
	flush()
	return out
}

// parseContentLine splits NAME;PARAM=VALUE;PARAM="QUOTED":VALUE. Parameter
// values may be quoted and then contain ':' and ';'.
func parseContentLine(s string) (name string, params map[string]string, value string, ok bool) {
	i := strings.IndexAny(s, ";:")
	if i <= 0 {
		return "", nil, "", false
	}
	name, rest := strings.ToUpper(strings.TrimSpace(s[:i])), s[i:]
	for len(rest) > 0 && rest[0] == ';' {
		rest = rest[1:]
		j := strings.IndexAny(rest, "=;:")
		if j < 0 || rest[j] != '=' {
			return "", nil, "", false
		}
		pname := strings.ToUpper(strings.TrimSpace(rest[:j]))
		rest = rest[j+1:]
		var pval string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return "", nil, "", false
			}
			pval, rest = rest[1:1+end], rest[2+end:]
		}
		// Unquoted values, and anything after a quoted one (a list), run
		// to the next ';' or ':'.
		k := strings.IndexAny(rest, ";:")
		if k < 0 {
			return "", nil, "", false
		}
		if pval == "" {
			pval = rest[:k]
		}
		rest = rest[k:]
		if params == nil {
			params = map[string]string{}
		}
		params[pname] = pval
	}
	if rest == "" || rest[0] != ':' {
		return "", nil, "", false
	}
	return name, params, rest[1:], true
}

type icsProp struct {
	line   int
	params map[string]string
	value  string
}

type icsEvent struct {
	line                 int
	start, end, duration *icsProp
	cancelled            bool
}

// wall is a wall-clock time in the calendar's zone.
type wall struct {
	d   Date
	sec int // seconds after midnight
}

// maxEventDays bounds one event so a typo in a year cannot close decades.
const maxEventDays = 366

func (ev *icsEvent) dates(loc *time.Location, closed map[Date]bool, fs *kefu.Fields) {
	if ev.cancelled {
		return
	}
	if ev.start == nil {
		fs.Add("file", "line %d: event without DTSTART", ev.line)
		return
	}
	start, allDay, err := ev.start.wall(loc)
	if err != "" {
		fs.Add("file", "line %d: DTSTART %s", ev.start.line, err)
		return
	}
	end := start
	switch {
	case ev.end != nil:
		if end, _, err = ev.end.wall(loc); err != "" {
			fs.Add("file", "line %d: DTEND %s", ev.end.line, err)
			return
		}
	case ev.duration != nil:
		days, secs, ok := parseICSDuration(ev.duration.value)
		if !ok {
			fs.Add("file", "line %d: DURATION %q is not a duration", ev.duration.line, ev.duration.value)
			return
		}
		end.sec += secs
		end.d = end.d.AddDays(days + end.sec/86400)
		end.sec %= 86400
	case allDay:
		end.d = end.d.AddDays(1)
	}
	last := end.d
	if end.sec == 0 {
		last = last.AddDays(-1)
	}
	if last.Before(start.d) {
		last = start.d
	}
	if last.noon().Sub(start.d.noon()) >= maxEventDays*24*time.Hour {
		fs.Add("file", "line %d: event longer than %d days", ev.line, maxEventDays)
		return
	}
	for d := start.d; !last.Before(d); d = d.AddDays(1) {
		closed[d] = true
	}
}

// wall reads a DATE or DATE-TIME value; allDay reports a DATE.
func (p *icsProp) wall(loc *time.Location) (w wall, allDay bool, problem string) {
	v := p.value
	if len(v) < 8 || !isDigits(v[:8]) {
		return wall{}, false, "\"" + v + "\" is not a date"
	}
	d, err := ParseDate(v[:4] + "-" + v[4:6] + "-" + v[6:8])
	if err != nil {
		return wall{}, false, "\"" + v + "\" is not a date"
	}
	if len(v) == 8 {
		return wall{d: d}, true, ""
	}
	if strings.EqualFold(p.params["VALUE"], "DATE") || len(v) < 15 || (v[8] != 'T' && v[8] != 't') || !isDigits(v[9:15]) {
		return wall{}, false, "\"" + v + "\" is not a date-time"
	}
	h, _ := strconv.Atoi(v[9:11])
	m, _ := strconv.Atoi(v[11:13])
	s, _ := strconv.Atoi(v[13:15])
	if h > 23 || m > 59 || s > 60 {
		return wall{}, false, "\"" + v + "\" is not a time of day"
	}
	var zone *time.Location
	switch suffix := v[15:]; {
	case suffix == "Z" || suffix == "z":
		zone = time.UTC
	case suffix != "":
		return wall{}, false, "\"" + v + "\" is not a date-time"
	case p.params["TZID"] != "":
		zone, _ = time.LoadLocation(p.params["TZID"])
	}
	if zone == nil {
		return wall{d: d, sec: h*3600 + m*60 + s}, false, ""
	}
	t := time.Date(d.Year, d.Month, d.Day, h, m, s, 0, zone).In(loc)
	return wall{d: DateOf(t), sec: t.Hour()*3600 + t.Minute()*60 + t.Second()}, false, ""
}

// parseICSDuration reads [+]P[nW][nD][T[nH][nM][nS]] as days and seconds.
// A negative duration is refused: an event cannot end before it starts.
func parseICSDuration(s string) (days, secs int, ok bool) {
	s = strings.TrimPrefix(strings.ToUpper(s), "+")
	if !strings.HasPrefix(s, "P") || len(s) < 3 {
		return 0, 0, false
	}
	inTime := false
	n := -1
	for _, r := range s[1:] {
		switch {
		case r >= '0' && r <= '9':
			if n < 0 {
				n = 0
			}
			if n > 1e6 {
				return 0, 0, false
			}
			n = n*10 + int(r-'0')
			continue
		case r == 'T' && !inTime && n < 0:
			inTime = true
			continue
		case n < 0:
			return 0, 0, false
		case r == 'W' && !inTime:
			days += 7 * n
		case r == 'D' && !inTime:
			days += n
		case r == 'H' && inTime:
			secs += 3600 * n
		case r == 'M' && inTime:
			secs += 60 * n
		case r == 'S' && inTime:
			secs += n
		default:
			return 0, 0, false
		}
		n = -1
	}
	return days, secs, n < 0
}
