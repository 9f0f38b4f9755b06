package ticket

import "testing"

func TestCanMove(t *testing.T) {
	tests := []struct {
		from, to Status
		ok       bool
	}{
		{New, Open, true},
		{New, Solved, true},
		{Open, PendingCustomer, true},
		{PendingCustomer, Open, true},
		{Solved, Open, true}, // reopen
		{Solved, Closed, true},
		{Open, New, false},
		{Closed, Open, false},
		{Solved, PendingCustomer, false},
		{Open, Open, true},
	}
	for _, tt := range tests {
		if ok, why := CanMove(tt.from, tt.to); ok != tt.ok {
			t.Errorf("CanMove(%s, %s) = %v (%s), want %v", tt.from, tt.to, ok, why, tt.ok)
		}
	}
}

func TestParseKey(t *testing.T) {
	for in, want := range map[string]int64{"KF-10234": 10234, "kf-7": 7, " 42 ": 42} {
		if got, ok := ParseKey(in); !ok || got != want {
			t.Errorf("ParseKey(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "KF-", "KF-x", "-3", "0"} {
		if _, ok := ParseKey(in); ok {
			t.Errorf("ParseKey(%q) accepted", in)
		}
	}
}

func TestCustomFieldCheck(t *testing.T) {
	sel := CustomField{Type: "select", Options: []string{"S", "M", "L"}}
	tests := []struct {
		f     CustomField
		in    any
		valid bool
	}{
		{CustomField{Type: "text"}, "袖长 58cm", true},
		{CustomField{Type: "text"}, 3.0, false},
		{CustomField{Type: "number"}, 3.5, true},
		{CustomField{Type: "number"}, "3", false},
		{CustomField{Type: "date"}, "2025-10-08", true},
		{CustomField{Type: "date"}, "2025-13-08", false},
		{sel, "M", true},
		{sel, "XL", false},
	}
	for _, tt := range tests {
		if _, msg := tt.f.Check(tt.in); (msg == "") != tt.valid {
			t.Errorf("%s.Check(%v) = %q, want valid=%v", tt.f.Type, tt.in, msg, tt.valid)
		}
	}
}
