package calendar_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
)

func nanbeiSpec() calendar.Spec {
	day := [][]string{{"08:30", "12:00"}, {"13:30", "17:30"}}
	return calendar.Spec{Name: "Nanbei Chao", Timezone: "Asia/Shanghai",
		Weekly: calendar.Week{"mon": day, "tue": day, "wed": day, "thu": day, "fri": day}}
}

func fieldsOf(err error) map[string]bool {
	out := map[string]bool{}
	if e, ok := err.(*kefu.Error); ok {
		for _, f := range e.Fields {
			out[f.Field] = true
		}
	}
	return out
}

func TestServiceEditsAndImports(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		now := time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC)
		s := &calendar.Service{DB: db, Now: func() time.Time { return now }}
		ctx := kefu.WithActor(context.Background(), kefu.System)
		agent := kefu.WithActor(ctx, kefu.Actor{Kind: kefu.ActorStaff, ID: kefu.NewID(), Role: kefu.RoleAgent})
		if _, err := s.Create(agent, nanbeiSpec()); !kefu.IsCode(err, kefu.Forbidden) {
			t.Fatalf("agent creating a calendar: %v", err)
		}
		r, err := s.Create(ctx, nanbeiSpec())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(ctx, nanbeiSpec()); !fieldsOf(err)["name"] {
			t.Fatalf("duplicate name: %v", err)
		}
		before, err := s.Compiled(ctx, db.Read, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := s.Compiled(ctx, db.Read, r.ID)
		if before != again {
			t.Error("an unchanged calendar was compiled twice")
		}

		// Every problem at once, and nothing stored.
		bad := nanbeiSpec()
		bad.Timezone = "Asia/Beijing"
		bad.Weekly["mon"] = [][]string{{"08:30", "12:00"}, {"11:00", "13:00"}}
		bad.Weekly["tue"] = [][]string{{"17:30", "08:30"}}
		bad.Overrides = map[string][][]string{"2025-13-01": {}}
		_, err = s.Update(ctx, r.ID, 1, bad)
		for _, f := range []string{"timezone", "weekly.mon[1]", "weekly.tue[0]", "overrides.2025-13-01"} {
			if !fieldsOf(err)[f] {
				t.Errorf("no error for %s: %v", f, err)
			}
		}
		if _, err := s.Import(ctx, r.ID, 1, calendar.FormatHolidayCN, []byte(`{"year": 2025, "days": [{"date": "2025-10-99", "isOffDay": true}]}`)); err == nil {
			t.Error("a malformed holiday file was accepted")
		}
		if _, err := s.Import(ctx, r.ID, 1, "xls", nil); !fieldsOf(err)["format"] {
			t.Errorf("unknown format: %v", err)
		}
		got, err := s.Get(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 1 || got.Spec.Timezone != "Asia/Shanghai" || len(got.Spec.Overrides) != 0 {
			t.Fatalf("rejected edits changed the calendar: %+v", got)
		}

		data, err := os.ReadFile("testdata/holiday-cn-2025-autumn.json")
		if err != nil {
			t.Fatal(err)
		}
		got, err = s.Import(ctx, r.ID, 1, calendar.FormatHolidayCN, data)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 2 || len(got.Spec.Overrides["2025-09-28"]) != 2 || len(got.Spec.Overrides["2025-10-01"]) != 0 {
			t.Fatalf("after import: %+v", got.Spec.Overrides)
		}
		if _, err := s.Update(ctx, r.ID, 1, nanbeiSpec()); !kefu.IsCode(err, kefu.Stale) {
			t.Fatalf("stale update: %v", err)
		}
		cal, err := s.Compiled(ctx, db.Read, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cal == before {
			t.Fatal("the cache served the old version after an edit")
		}
		// Friday 17:25 + 30 minutes: Sunday the 28th is now a working day.
		due := cal.Add(time.Date(2025, 9, 26, 17, 25, 0, 0, cal.Location()), 30*time.Minute)
		if want := time.Date(2025, 9, 28, 8, 55, 0, 0, cal.Location()); !due.Equal(want) {
			t.Fatalf("due %s, want %s", due, want)
		}
		list, err := s.List(ctx)
		if err != nil || len(list) != 1 {
			t.Fatalf("list: %v %v", list, err)
		}
	})
}
