package calendar

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/kefu-desk/kefu"
)

// Spec is a calendar in its import/export format (docs/calendar.md):
//
//	{"name": "Nanbei Chao", "timezone": "Asia/Shanghai",
//	 "weekly": {"mon": [["08:30","12:00"],["13:30","17:30"]], ..., "sun": []},
//	 "overrides": {"2025-10-01": [], "2025-09-28": [["08:30","17:30"]]},
//	 "include": ["cn-statutory"]}
//
// Its fields are the raw strings so that validation (New) can name every
// bad field at once instead of failing on the first one.
type Spec struct {
	Name      string                `json:"name"`
	Timezone  string                `json:"timezone"`
	Weekly    Week                  `json:"weekly"`
	Overrides map[string][][]string `json:"overrides"`
	Include   []string              `json:"include"`
}

// Week maps "mon" … "sun" to that day's intervals, each ["HH:MM","HH:MM"].
// A missing day is closed.
type Week map[string][][]string

// weekdayKeys is indexed by time.Weekday.
var weekdayKeys = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// weekOrder is the order days are written and validated in.
var weekOrder = [7]time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}

func weekdayOf(key string) (time.Weekday, bool) {
	i := slices.Index(weekdayKeys[:], key)
	return time.Weekday(i), i >= 0
}

// MarshalJSON writes the days Monday first, as people read a week, rather
// than in the alphabetical order encoding/json gives maps.
func (w Week) MarshalJSON() ([]byte, error) {
	var keys []string
	for _, wd := range weekOrder {
		if _, ok := w[weekdayKeys[wd]]; ok {
			keys = append(keys, weekdayKeys[wd])
		}
	}
	var unknown []string
	for k := range w {
		if _, ok := weekdayOf(k); !ok {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range append(keys, unknown...) {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		v := w[k]
		if v == nil {
			v = [][]string{}
		}
		vb, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Parse decodes and validates a calendar in the JSON format. Problems are
// reported together in a *kefu.Error with Code kefu.Invalid whose Fields
// name the paths, such as "timezone", "weekly.mon[1]",
// "overrides.2025-13-01" or "include[0]".
func Parse(data []byte) (*Calendar, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, &kefu.Error{Code: kefu.Invalid, Message: "calendar is not a JSON object", Err: err}
	}
	var s Spec
	var fs kefu.Fields
	undecodable := false
	fields := map[string]any{
		"name":      &s.Name,
		"timezone":  &s.Timezone,
		"weekly":    &s.Weekly,
		"overrides": &s.Overrides,
		"include":   &s.Include,
	}
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		dst, ok := fields[k]
		if !ok {
			fs.Add(k, "unknown field")
			continue
		}
		if err := json.Unmarshal(raw[k], dst); err != nil {
			fs.Add(k, "%s", shapes[k])
			// What was decoded before the error is not what the admin
			// wrote; do not report on it.
			switch k {
			case "weekly":
				s.Weekly, undecodable = nil, true
			case "overrides":
				s.Overrides, undecodable = nil, true
			}
		}
	}
	return s.compile(fs, undecodable)
}

var shapes = map[string]string{
	"name":      "want a string",
	"timezone":  "want an IANA zone name such as \"Asia/Shanghai\"",
	"weekly":    "want {\"mon\": [[\"HH:MM\", \"HH:MM\"], ...], ...}",
	"overrides": "want {\"YYYY-MM-DD\": [[\"HH:MM\", \"HH:MM\"], ...], ...}",
	"include":   "want a list of names such as [\"cn-statutory\"]",
}

// loadZone returns the zone named by an IANA name, or nil and what is
// wrong with the name.
// LoadZone loads an IANA zone a setting names (a shop's, a calendar's),
// or says why it cannot, in words for the user.
func LoadZone(name string) (*time.Location, string) { return loadZone(name) }

func loadZone(name string) (*time.Location, string) {
	switch name {
	case "":
		return nil, "required, e.g. \"Asia/Shanghai\""
	case "Local":
		// Local is whatever the server is set to, not a property of the shop.
		return nil, "name the zone, e.g. \"Asia/Shanghai\""
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Sprintf("unknown time zone %q", name)
	}
	return loc, ""
}

// New validates s and builds its calendar; see Parse for the errors.
func New(s Spec) (*Calendar, error) { return s.compile(nil, false) }

// compile validates s after the problems already in fs; hoursUnknown says
// that some hours could not be decoded, so "no working hours" is not known.
func (s Spec) compile(fs kefu.Fields, hoursUnknown bool) (*Calendar, error) {
	loc, problem := loadZone(s.Timezone)
	if loc == nil {
		fs.Add("timezone", "%s", problem)
	}

	hoursOK := !hoursUnknown
	var weekly [7][]Interval
	for _, wd := range weekOrder {
		k := weekdayKeys[wd]
		h, ok := parseHours("weekly."+k, s.Weekly[k], &fs)
		weekly[wd], hoursOK = h, hoursOK && ok
	}
	for _, k := range slices.Sorted(maps.Keys(s.Weekly)) {
		if _, ok := weekdayOf(k); !ok {
			fs.Add("weekly."+k, "unknown day; use mon, tue, wed, thu, fri, sat or sun")
		}
	}

	overrides := make(map[Date][]Interval, len(s.Overrides))
	open := false
	for _, k := range slices.Sorted(maps.Keys(s.Overrides)) {
		d, err := ParseDate(k)
		if err != nil {
			fs.Add("overrides."+k, "%v", err)
			continue
		}
		h, ok := parseHours("overrides."+k, s.Overrides[k], &fs)
		overrides[d], hoursOK = h, hoursOK && ok
		open = open || len(h) > 0
	}
	for _, h := range weekly {
		open = open || len(h) > 0
	}
	if hoursOK && !open {
		fs.Add("weekly", "the calendar has no working hours")
	}

	include := []string{}
	for i, name := range s.Include {
		switch {
		case includes[name] == nil:
			fs.Add(fmt.Sprintf("include[%d]", i), "unknown calendar %q; known: %v", name, Includes())
		case slices.Contains(include, name):
			fs.Add(fmt.Sprintf("include[%d]", i), "%q is listed twice", name)
		default:
			include = append(include, name)
		}
	}

	if err := fs.Err(); err != nil {
		return nil, err
	}
	return newCalendar(s.Name, loc, weekly, overrides, include), nil
}

// parseHours validates one day's intervals and returns them sorted by
// start. Touching intervals are fine; overlapping ones are not, because an
// overlap is almost always a typo and would otherwise count twice in the
// admin's head while counting once here.
func parseHours(path string, raw [][]string, fs *kefu.Fields) ([]Interval, bool) {
	type indexed struct {
		Interval
		i int
	}
	var ivs []indexed
	ok := true
	for i, pair := range raw {
		p := fmt.Sprintf("%s[%d]", path, i)
		if len(pair) != 2 {
			fs.Add(p, "want [\"HH:MM\", \"HH:MM\"]")
			ok = false
			continue
		}
		start, err1 := ParseClock(pair[0])
		end, err2 := ParseClock(pair[1])
		switch {
		case err1 != nil:
			fs.Add(p, "start: %v", err1)
		case err2 != nil:
			fs.Add(p, "end: %v", err2)
		case start == EndOfDay:
			fs.Add(p, "24:00 can only end an interval")
		case end <= start:
			fs.Add(p, "end %s is not after start %s", end, start)
		default:
			ivs = append(ivs, indexed{Interval{start, end}, i})
			continue
		}
		ok = false
	}
	sort.SliceStable(ivs, func(a, b int) bool { return ivs[a].Start < ivs[b].Start })
	var out []Interval
	reach := -1 // index in ivs of the interval reaching furthest so far
	for j, iv := range ivs {
		if reach >= 0 && iv.Start < ivs[reach].End {
			fs.Add(fmt.Sprintf("%s[%d]", path, iv.i), "overlaps %s[%d]", path, ivs[reach].i)
			ok = false
			continue
		}
		if reach < 0 || iv.End > ivs[reach].End {
			reach = j
		}
		out = append(out, iv.Interval)
	}
	return out, ok
}

// Spec returns the calendar in its import/export format: all seven days,
// intervals sorted, overrides keyed by date. Parse(MarshalJSON) gives an
// equal calendar.
func (c *Calendar) Spec() Spec {
	s := Spec{
		Name:      c.name,
		Timezone:  c.loc.String(),
		Weekly:    Week{},
		Overrides: make(map[string][][]string, len(c.overrides)),
		Include:   slices.Clone(c.include),
	}
	for wd, h := range c.weekly {
		s.Weekly[weekdayKeys[wd]] = exportHours(h)
	}
	for d, h := range c.overrides {
		s.Overrides[d.String()] = exportHours(h)
	}
	return s
}

func exportHours(h []Interval) [][]string {
	out := make([][]string, len(h))
	for i, iv := range h {
		out[i] = []string{iv.Start.String(), iv.End.String()}
	}
	return out
}

// MarshalJSON writes the calendar in the format Parse reads.
func (c *Calendar) MarshalJSON() ([]byte, error) { return json.Marshal(c.Spec()) }
