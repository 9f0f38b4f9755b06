package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/jobs"
	"github.com/kefu-desk/kefu/internal/sla"
)

// SlaCmd groups the what-if tools for business calendars.
type SlaCmd struct {
	Simulate SlaSimulateCmd `cmd:"" help:"Print when a budget of business minutes starting at --start is used up (RFC 3339)."`
	Between  SlaBetweenCmd  `cmd:"" help:"Print the business minutes between --from and --to."`
}

// SlaSimulateCmd answers "if a request arrives at … with N minutes, when
// is it due?".
type SlaSimulateCmd struct {
	Calendar string  `help:"Calendar file in the JSON format of docs/calendar.md." required:"" type:"path" placeholder:"FILE"`
	Start    string  `help:"When the request arrives, RFC 3339 (2025-09-26T17:25:00+08:00)." required:""`
	Minutes  float64 `help:"The budget in business minutes." required:""`
}

// Run prints the deadline.
func (c *SlaSimulateCmd) Run() error { return c.run(os.Stdout) }

func (c *SlaSimulateCmd) run(w io.Writer) error {
	cal, err := loadCalendar(c.Calendar)
	if err != nil {
		return err
	}
	var fs kefu.Fields
	start := parseInstant(&fs, "start", c.Start)
	if c.Minutes < 0 {
		fs.Add("minutes", "must not be negative")
	}
	if err := fs.Err(); err != nil {
		return err
	}
	due := cal.Add(start, time.Duration(c.Minutes*float64(time.Minute)))
	_, err = fmt.Fprintln(w, due.Format(time.RFC3339Nano))
	return err
}

// SlaBetweenCmd measures business time between two instants.
type SlaBetweenCmd struct {
	Calendar string `help:"Calendar file in the JSON format of docs/calendar.md." required:"" type:"path" placeholder:"FILE"`
	From     string `help:"Start instant, RFC 3339." required:""`
	To       string `help:"End instant, RFC 3339." required:""`
}

// Run prints the business minutes (negative when --to is before --from).
func (c *SlaBetweenCmd) Run() error { return c.run(os.Stdout) }

func (c *SlaBetweenCmd) run(w io.Writer) error {
	cal, err := loadCalendar(c.Calendar)
	if err != nil {
		return err
	}
	var fs kefu.Fields
	from := parseInstant(&fs, "from", c.From)
	to := parseInstant(&fs, "to", c.To)
	if err := fs.Err(); err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, cal.Between(from, to).Minutes())
	return err
}

func loadCalendar(path string) (*calendar.Calendar, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cal, err := calendar.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cal, nil
}

func parseInstant(fs *kefu.Fields, field, s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		fs.Add(field, "must be an RFC 3339 instant such as 2025-09-26T17:25:00+08:00, got %q", s)
	}
	return t
}

// slaEmail sends the SLA's email notices through the job queue, in the
// transaction of the event that causes them.
func slaEmail(q *jobs.Queue) sla.Enqueuer {
	return func(ctx context.Context, tx database.Querier, kind, key string, payload []byte, runAt time.Time) error {
		_, err := q.Enqueue(ctx, tx, jobs.Job{Kind: kind, Key: key, Payload: json.RawMessage(payload), RunAt: runAt})
		return err
	}
}

// slaSweepEvery is how often the cluster looks for due SLA deadlines; a
// deadline is acted on at most this long (plus the sweep's own time) after
// it passes.
const slaSweepEvery = time.Second

// slaSweep fires SLA warnings, breaches and escalations on one instance
// of the cluster at a time, under a lease. Each sweep is one indexed
// query when nothing is due; a backlog is worked off in batches.
func (a *App) slaSweep(ctx context.Context) {
	a.Leases.Every(ctx, "sla.sweep", slaSweepEvery, func(ctx context.Context) error {
		for {
			n, err := a.SLA.Sweep(ctx)
			if err != nil || n < sla.SweepBatch {
				return err
			}
		}
	})
}

// slaRecompute runs the recomputation the SLA defers to the job queue
// after a policy or calendar edit.
func slaRecompute(s *sla.Service) jobs.Handler {
	return func(ctx context.Context, r *jobs.Record) error {
		var p struct {
			CalendarID string `json:"calendar_id"`
		}
		if err := r.Decode(&p); err != nil {
			return jobs.Permanent(err)
		}
		return s.Recompute(ctx, p.CalendarID)
	}
}
