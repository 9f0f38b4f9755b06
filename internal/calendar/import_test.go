package calendar

import (
	"errors"
	"io/fs"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kefu-desk/kefu"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func fieldsOf(t *testing.T, err error) []kefu.FieldError {
	t.Helper()
	var ke *kefu.Error
	if !errors.As(err, &ke) || ke.Code != kefu.Invalid {
		t.Fatalf("error = %v, want a *kefu.Error with code invalid", err)
	}
	return ke.Fields
}

func TestParseHolidayCN(t *testing.T) {
	days, err := ParseHolidayCN(readTestdata(t, "holiday-cn-2025-autumn.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Holiday{
		{Date{2025, 9, 28}, "国庆节、中秋节", false},
		{Date{2025, 10, 1}, "国庆节、中秋节", true},
		{Date{2025, 10, 2}, "国庆节、中秋节", true},
		{Date{2025, 10, 3}, "国庆节、中秋节", true},
		{Date{2025, 10, 11}, "国庆节、中秋节", false},
	}
	if diff := cmp.Diff(want, days); diff != "" {
		t.Errorf("ParseHolidayCN (-want +got):\n%s", diff)
	}

	_, err = ParseHolidayCN(readTestdata(t, "holiday-cn-bad.json"))
	want2 := []kefu.FieldError{
		{Field: "days[1].date", Message: `"2025-10-32" is not a date`},
		{Field: "days[2].isOffDay", Message: "required"},
	}
	if diff := cmp.Diff(want2, fieldsOf(t, err)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}

	for _, in := range []string{`[]`, `{"year": 2025}`, `not json`} {
		if _, err := ParseHolidayCN([]byte(in)); !kefu.IsCode(err, kefu.Invalid) {
			t.Errorf("ParseHolidayCN(%q) = %v, want invalid", in, err)
		}
	}
}

func TestImportHolidayCN(t *testing.T) {
	morning, afternoon := []string{"08:30", "12:00"}, []string{"13:30", "17:30"}
	tests := []struct {
		name   string
		weekly Week
		work   [][]string
	}{
		{"Monday's hours", weekdays(morning, afternoon), [][]string{morning, afternoon}},
		{"first weekday with hours", Week{"wed": {{"10:00", "16:00"}}, "sat": {{"09:00", "12:00"}}}, [][]string{{"10:00", "16:00"}}},
		{"no weekday hours", Week{"sat": {{"09:00", "12:00"}}}, [][]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Spec{
				Timezone:  "Asia/Shanghai",
				Weekly:    tt.weekly,
				Overrides: map[string][][]string{"2025-10-01": {{"10:00", "11:00"}}, "2025-12-25": {}},
			}
			if err := s.ImportHolidayCN(readTestdata(t, "holiday-cn-2025-autumn.json")); err != nil {
				t.Fatal(err)
			}
			want := map[string][][]string{
				"2025-09-28": tt.work,
				"2025-10-01": {}, // the import replaces the existing override
				"2025-10-02": {},
				"2025-10-03": {},
				"2025-10-11": tt.work,
				"2025-12-25": {},
			}
			if diff := cmp.Diff(want, s.Overrides); diff != "" {
				t.Errorf("Overrides (-want +got):\n%s", diff)
			}
			if _, err := New(s); err != nil {
				t.Errorf("New after import: %v", err)
			}
		})
	}
	// Editing the weekly hours later does not move imported days.
	s := Spec{Timezone: "Asia/Shanghai", Weekly: weekdays(morning)}
	if err := s.ImportHolidayCN(readTestdata(t, "holiday-cn-2025-autumn.json")); err != nil {
		t.Fatal(err)
	}
	s.Weekly["mon"][0][0] = "07:00"
	if got := s.Overrides["2025-09-28"][0][0]; got != "08:30" {
		t.Errorf("imported hours alias the weekly hours: start = %s", got)
	}
}

// Importing the holiday-cn file of a year gives the same hours as
// including cn-statutory.
func TestImportMatchesInclude(t *testing.T) {
	week := weekdays([]string{"08:30", "12:00"}, []string{"13:30", "17:30"})
	imported := Spec{Timezone: "Asia/Shanghai", Weekly: week}
	data, err := statutoryFiles.ReadFile("data/2025.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := imported.ImportHolidayCN(data); err != nil {
		t.Fatal(err)
	}
	a := mustNew(t, imported)
	b := mustNew(t, Spec{Timezone: "Asia/Shanghai", Weekly: week, Include: []string{CNStatutory}})
	for d := (Date{2025, 1, 1}); d.Year == 2025; d = d.AddDays(1) {
		if diff := cmp.Diff(b.Hours(d), a.Hours(d)); diff != "" {
			t.Errorf("%s (-include +import):\n%s", d, diff)
		}
	}
}

func TestParseICS(t *testing.T) {
	dates, err := ParseICS(readTestdata(t, "holidays.ics"), shanghai)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range dates {
		got = append(got, d.String())
	}
	want := []string{
		"2025-01-01",
		"2025-04-05",
		"2025-05-01", "2025-05-02", "2025-05-03",
		"2025-05-31",
		"2025-06-16",
		"2025-07-02",
		"2025-08-01",
		"2025-10-01", "2025-10-02", "2025-10-03", "2025-10-04", "2025-10-05", "2025-10-06", "2025-10-07", "2025-10-08",
		"2025-11-11",
		"2025-12-12",
		"2025-12-25",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseICS (-want +got):\n%s", diff)
	}
}

func TestParseICSSmall(t *testing.T) {
	tests := []struct {
		name string
		ics  string
		want []string
	}{
		{"LF line endings", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20251001\nDTEND;VALUE=DATE:20251003\nEND:VEVENT\nEND:VCALENDAR\n", []string{"2025-10-01", "2025-10-02"}},
		{"tab folding", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:2025\r\n\t1001\r\nEND:VEVENT\r\nEND:VCALENDAR", []string{"2025-10-01"}},
		{"date without VALUE", "BEGIN:VCALENDAR\nBEGIN:VEVENT\ndtstart:20251001\nEND:VEVENT\nEND:VCALENDAR", []string{"2025-10-01"}},
		{"DTEND before DTSTART is one day", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20251005\nDTEND;VALUE=DATE:20251001\nEND:VEVENT\nEND:VCALENDAR", []string{"2025-10-05"}},
		{"overnight date-time", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20251001T220000\nDTEND:20251002T020000\nEND:VEVENT\nEND:VCALENDAR", []string{"2025-10-01", "2025-10-02"}},
		{"date-time without end", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20251001T220000\nEND:VEVENT\nEND:VCALENDAR", []string{"2025-10-01"}},
		{"week duration", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20251001\nDURATION:P1W\nEND:VEVENT\nEND:VCALENDAR", []string{"2025-10-01", "2025-10-02", "2025-10-03", "2025-10-04", "2025-10-05", "2025-10-06", "2025-10-07"}},
		{"time duration", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20251001T230000\nDURATION:PT2H\nEND:VEVENT\nEND:VCALENDAR", []string{"2025-10-01", "2025-10-02"}},
		{"cut short", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20251001", []string{"2025-10-01"}},
		{"no events", "BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n", nil},
		{"garbage lines are skipped", "BEGIN:VCALENDAR\nthis is not a content line\nX-FOO;BAR:baz\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20251001\nEND:VEVENT\nEND:VCALENDAR", []string{"2025-10-01"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dates, err := ParseICS([]byte(tt.ics), shanghai)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range dates {
				got = append(got, d.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseICSErrors(t *testing.T) {
	_, err := ParseICS(readTestdata(t, "bad.ics"), shanghai)
	want := []kefu.FieldError{
		{Field: "file", Message: "line 3: event without DTSTART"},
		{Field: "file", Message: `line 7: DTSTART "2025AB01" is not a date`},
		{Field: "file", Message: "line 9: event longer than 366 days"},
		{Field: "file", Message: `line 15: DURATION "PXD" is not a duration`},
	}
	if diff := cmp.Diff(want, fieldsOf(t, err)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	_, err = ParseICS([]byte(`{"days": []}`), shanghai)
	if diff := cmp.Diff([]kefu.FieldError{{Field: "file", Message: "not an iCalendar file (no BEGIN:VCALENDAR)"}}, fieldsOf(t, err)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestImportICS(t *testing.T) {
	s := Spec{
		Timezone:  "Asia/Shanghai",
		Weekly:    weekdays([]string{"09:00", "18:00"}),
		Overrides: map[string][][]string{"2025-10-01": {{"09:00", "12:00"}}},
	}
	ics := "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20251001\nDTEND;VALUE=DATE:20251003\nEND:VEVENT\nEND:VCALENDAR"
	if err := s.ImportICS([]byte(ics)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][][]string{"2025-10-01": {}, "2025-10-02": {}}, s.Overrides); diff != "" {
		t.Errorf("Overrides (-want +got):\n%s", diff)
	}
	c := mustNew(t, s)
	if got, want := c.Add(at(shanghai, 2025, 9, 30, 17, 0, 0), 2*time.Hour), at(shanghai, 2025, 10, 3, 10, 0, 0); !got.Equal(want) {
		t.Errorf("Add over the imported closure = %v, want %v", got, want)
	}

	bad := Spec{Timezone: "Nowhere"}
	if diff := cmp.Diff("timezone", fieldsOf(t, bad.ImportICS([]byte(ics)))[0].Field); diff != "" {
		t.Errorf("field (-want +got):\n%s", diff)
	}
}

func FuzzParseICS(f *testing.F) {
	f.Add(readTestdataF(f, "holidays.ics"))
	f.Add(readTestdataF(f, "bad.ics"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dates, err := ParseICS(data, shanghai)
		if err != nil && !kefu.IsCode(err, kefu.Invalid) {
			t.Fatalf("error is not invalid: %v", err)
		}
		for i := 1; i < len(dates); i++ {
			if !dates[i-1].Before(dates[i]) {
				t.Fatalf("dates not sorted and unique: %v", dates)
			}
		}
	})
}

func readTestdataF(f *testing.F, name string) []byte {
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		f.Fatal(err)
	}
	return data
}

// The embedded statutory files parse, and the dates the seed cases rely on
// are there.
func TestStatutoryData(t *testing.T) {
	files, err := fs.Glob(statutoryFiles, "data/20*.json")
	if err != nil || len(files) != 4 {
		t.Fatalf("embedded files = %v, %v; want 2024–2027", files, err)
	}
	for _, f := range files {
		data, _ := statutoryFiles.ReadFile(f)
		if _, err := ParseHolidayCN(data); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	m := cnStatutory()
	for d, off := range map[Date]bool{
		{2024, 2, 4}: false, {2024, 10, 7}: true,
		{2025, 9, 28}: false, {2025, 10, 1}: true, {2025, 10, 8}: true, {2025, 10, 11}: false,
		{2026, 1, 4}: false, {2026, 2, 23}: true,
	} {
		if got, ok := m[d]; !ok || got != off {
			t.Errorf("cn-statutory %s = %v, %v; want %v", d, got, ok, off)
		}
	}
	if diff := cmp.Diff([]string{"cn-statutory"}, Includes()); diff != "" {
		t.Errorf("Includes (-want +got):\n%s", diff)
	}
}
