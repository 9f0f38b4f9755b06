package calendar

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kefu-desk/kefu"
)

const nanbeiJSON = `{
  "name": "Nanbei Chao",
  "timezone": "Asia/Shanghai",
  "weekly": {
    "mon": [["08:30","12:00"],["13:30","17:30"]],
    "tue": [["08:30","12:00"],["13:30","17:30"]],
    "wed": [["13:30","17:30"],["08:30","12:00"]],
    "thu": [["08:30","12:00"],["13:30","17:30"]],
    "fri": [["08:30","12:00"],["13:30","17:30"]],
    "sat": [],
    "sun": []
  },
  "overrides": {"2025-12-24": [["08:30","12:00"]], "2025-12-25": [], "2025-12-31": [["20:00","24:00"]]},
  "include": ["cn-statutory"]
}`

// canonical is nanbeiJSON as MarshalJSON writes it: days in week order,
// intervals sorted, overrides sorted by date.
const canonical = `{"name":"Nanbei Chao","timezone":"Asia/Shanghai",` +
	`"weekly":{"mon":[["08:30","12:00"],["13:30","17:30"]],"tue":[["08:30","12:00"],["13:30","17:30"]],` +
	`"wed":[["08:30","12:00"],["13:30","17:30"]],"thu":[["08:30","12:00"],["13:30","17:30"]],` +
	`"fri":[["08:30","12:00"],["13:30","17:30"]],"sat":[],"sun":[]},` +
	`"overrides":{"2025-12-24":[["08:30","12:00"]],"2025-12-25":[],"2025-12-31":[["20:00","24:00"]]},` +
	`"include":["cn-statutory"]}`

func TestRoundTrip(t *testing.T) {
	c, err := Parse([]byte(nanbeiJSON))
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != canonical {
		t.Errorf("MarshalJSON =\n%s\nwant\n%s", out, canonical)
	}
	again, err := Parse(out)
	if err != nil {
		t.Fatalf("Parse(MarshalJSON): %v", err)
	}
	if diff := cmp.Diff(c.Spec(), again.Spec()); diff != "" {
		t.Errorf("round trip changed the calendar (-first +second):\n%s", diff)
	}
	if c.Name() != "Nanbei Chao" || c.Location().String() != "Asia/Shanghai" {
		t.Errorf("Name, Location = %q, %v", c.Name(), c.Location())
	}
	// The Spec from New round-trips the same way.
	fromSpec, err := New(c.Spec())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c.Spec(), fromSpec.Spec()); diff != "" {
		t.Errorf("New(Spec()) changed the calendar (-want +got):\n%s", diff)
	}
}

func TestMinimalSpec(t *testing.T) {
	c, err := Parse([]byte(`{"timezone":"UTC","weekly":{"sat":[["00:00","24:00"]]}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"","timezone":"UTC","weekly":{"mon":[],"tue":[],"wed":[],"thu":[],"fri":[],"sat":[["00:00","24:00"]],"sun":[]},"overrides":{},"include":[]}`
	if out, _ := c.MarshalJSON(); string(out) != want {
		t.Errorf("MarshalJSON =\n%s\nwant\n%s", out, want)
	}
}

func TestWeekMarshalOrder(t *testing.T) {
	w := Week{"sun": nil, "fri": {{"09:00", "10:00"}}, "mon": {}, "zzz": {}, "aaa": {}}
	out, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"mon":[],"fri":[["09:00","10:00"]],"sun":[],"aaa":[],"zzz":[]}`
	if string(out) != want {
		t.Errorf("Week JSON = %s, want %s", out, want)
	}
}

func TestValidation(t *testing.T) {
	tests := []struct {
		name   string
		json   string
		fields []string
	}{
		{"unknown zone", `{"timezone":"Mars/Olympus","weekly":{"mon":[["09:00","17:00"]]}}`, []string{"timezone"}},
		{"missing zone", `{"weekly":{"mon":[["09:00","17:00"]]}}`, []string{"timezone"}},
		{"server-local zone", `{"timezone":"Local","weekly":{"mon":[["09:00","17:00"]]}}`, []string{"timezone"}},
		{"overlap", `{"timezone":"UTC","weekly":{"mon":[["08:00","12:00"],["11:00","13:00"]]}}`, []string{"weekly.mon[1]"}},
		{"overlap out of order", `{"timezone":"UTC","weekly":{"mon":[["11:00","13:00"],["08:00","12:00"]]}}`, []string{"weekly.mon[0]"}},
		{"overlap with a long one", `{"timezone":"UTC","weekly":{"mon":[["08:00","18:00"],["09:00","10:00"],["11:00","12:00"]]}}`, []string{"weekly.mon[1]", "weekly.mon[2]"}},
		{"same interval twice", `{"timezone":"UTC","weekly":{"mon":[["08:00","12:00"],["08:00","12:00"]]}}`, []string{"weekly.mon[1]"}},
		{"touching is fine", `{"timezone":"UTC","weekly":{"mon":[["08:00","12:00"],["12:00","13:00"]]}}`, nil},
		{"end before start", `{"timezone":"UTC","weekly":{"tue":[["12:00","08:00"]]}}`, []string{"weekly.tue[0]"}},
		{"end equals start", `{"timezone":"UTC","weekly":{"tue":[["09:00","17:00"],["12:00","12:00"]]}}`, []string{"weekly.tue[1]"}},
		{"one digit hour", `{"timezone":"UTC","weekly":{"wed":[["8:30","12:00"]]}}`, []string{"weekly.wed[0]"}},
		{"hour 25", `{"timezone":"UTC","weekly":{"wed":[["08:30","25:00"]]}}`, []string{"weekly.wed[0]"}},
		{"minute 60", `{"timezone":"UTC","weekly":{"wed":[["08:60","12:00"]]}}`, []string{"weekly.wed[0]"}},
		{"24:30", `{"timezone":"UTC","weekly":{"wed":[["08:00","24:30"]]}}`, []string{"weekly.wed[0]"}},
		{"24:00 start", `{"timezone":"UTC","weekly":{"wed":[["24:00","24:00"]]}}`, []string{"weekly.wed[0]"}},
		{"24:00 end", `{"timezone":"UTC","weekly":{"wed":[["20:00","24:00"]]}}`, nil},
		{"seconds", `{"timezone":"UTC","weekly":{"wed":[["08:00:00","12:00"]]}}`, []string{"weekly.wed[0]"}},
		{"not a pair", `{"timezone":"UTC","weekly":{"thu":[["08:00"],["09:00","10:00","11:00"]]}}`, []string{"weekly.thu[0]", "weekly.thu[1]"}},
		{"unknown weekday", `{"timezone":"UTC","weekly":{"mon":[["09:00","17:00"]],"monday":[],"Tue":[]}}`, []string{"weekly.Tue", "weekly.monday"}},
		{"month 13", `{"timezone":"UTC","weekly":{"mon":[["09:00","17:00"]]},"overrides":{"2025-13-01":[]}}`, []string{"overrides.2025-13-01"}},
		{"February 30", `{"timezone":"UTC","weekly":{"mon":[["09:00","17:00"]]},"overrides":{"2025-02-30":[]}}`, []string{"overrides.2025-02-30"}},
		{"slashes", `{"timezone":"UTC","weekly":{"mon":[["09:00","17:00"]]},"overrides":{"2025/10/01":[]}}`, []string{"overrides.2025/10/01"}},
		{"override hours", `{"timezone":"UTC","weekly":{"mon":[["09:00","17:00"]]},"overrides":{"2025-10-01":[["18:00","17:00"]]}}`, []string{"overrides.2025-10-01[0]"}},
		{"unknown include", `{"timezone":"UTC","weekly":{"mon":[["09:00","17:00"]]},"include":["us-federal"]}`, []string{"include[0]"}},
		{"include twice", `{"timezone":"UTC","weekly":{"mon":[["09:00","17:00"]]},"include":["cn-statutory","cn-statutory"]}`, []string{"include[1]"}},
		{"no hours", `{"timezone":"UTC","weekly":{"mon":[],"sun":[]}}`, []string{"weekly"}},
		{"only closed overrides", `{"timezone":"UTC","weekly":{},"overrides":{"2025-10-01":[]}}`, []string{"weekly"}},
		{"hours only in an override", `{"timezone":"UTC","overrides":{"2025-10-01":[["09:00","10:00"]]}}`, nil},
		{"unknown field", `{"timezone":"UTC","weekly":{"mon":[["09:00","17:00"]]},"overides":{}}`, []string{"overides"}},
		{"wrong type", `{"timezone":"UTC","weekly":[["09:00","17:00"]]}`, []string{"weekly"}},
		{"number for a time", `{"timezone":"UTC","weekly":{"mon":[[9,17]]}}`, []string{"weekly"}},
		{
			"everything at once",
			`{"timezone":"Nowhere/Town","weekly":{"mon":[["09:00","12:00"],["11:00","13:00"]],"fri":[["9","17"]],"xyz":[]},` +
				`"overrides":{"2025-13-01":[],"2025-10-01":[["10:00","09:00"]]},"include":["cn-statutory","nope"]}`,
			[]string{"timezone", "weekly.mon[1]", "weekly.fri[0]", "weekly.xyz", "overrides.2025-10-01[0]", "overrides.2025-13-01", "include[1]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.json))
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			var ke *kefu.Error
			if !errors.As(err, &ke) || ke.Code != kefu.Invalid {
				t.Fatalf("Parse error = %v, want a *kefu.Error with code invalid", err)
			}
			var got []string
			for _, f := range ke.Fields {
				got = append(got, f.Field)
				if f.Message == "" {
					t.Errorf("field %s has no message", f.Field)
				}
			}
			if diff := cmp.Diff(tt.fields, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

func TestParseNotJSON(t *testing.T) {
	for _, in := range []string{``, `[]`, `{"timezone":`, `{} {}`} {
		_, err := Parse([]byte(in))
		if !kefu.IsCode(err, kefu.Invalid) {
			t.Errorf("Parse(%q) = %v, want an invalid error", in, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(nanbeiJSON))
	f.Add([]byte(canonical))
	f.Add([]byte(`{"timezone":"Europe/Berlin","weekly":{"sun":[["00:00","24:00"]]},"overrides":{"2025-03-30":[["02:00","03:00"]]}}`))
	f.Add([]byte(`{"timezone":"Pacific/Apia","overrides":{"2011-12-30":[["00:00","24:00"]],"9999-12-31":[["23:00","24:00"]],"0000-01-01":[["00:00","00:01"]]}}`))
	f.Add([]byte(`{"timezone":"Nowhere","weekly":{"mon":[["x","y"]]},"overrides":{"2025-13-01":[]},"include":["?"]}`))
	f.Add([]byte(`null`))
	start := time.Date(2025, 9, 26, 17, 25, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if !kefu.IsCode(err, kefu.Invalid) {
				t.Fatalf("Parse error is not invalid: %v", err)
			}
			return
		}
		out, err := c.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(MarshalJSON()) = %v for %s", err, out)
		}
		if diff := cmp.Diff(c.Spec(), again.Spec()); diff != "" {
			t.Fatalf("round trip changed the calendar:\n%s", diff)
		}
		due := c.Add(start, 90*time.Minute)
		if !due.Equal(Never) && c.Between(start, due) != 90*time.Minute {
			t.Fatalf("Between(start, Add(start, 90m)) = %v", c.Between(start, due))
		}
	})
}
