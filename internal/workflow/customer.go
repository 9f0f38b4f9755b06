package workflow

import (
	"context"
	"slices"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/sla"
)

// Progress is a chain as the customer sees it: in their language, the
// steps their request went through, the one it is at and what comes
// next, and when to expect the next feedback. No names of staff, no
// notes, no results.
type Progress struct {
	Name    string         `json:"name"`
	Active  bool           `json:"active"`
	Steps   []ProgressStep `json:"steps"`
	Outcome Outcome        `json:"outcome,omitempty"`
	EndedAt *time.Time     `json:"ended_at,omitempty"`
	// NextFeedbackBy is the current stage's deadline: the shop owes the
	// customer word by then. Late is set once it has passed.
	NextFeedbackBy *time.Time `json:"next_feedback_by,omitempty"`
	Late           bool       `json:"late"`
}

// ProgressStep is one step in the customer's words.
type ProgressStep struct {
	Name  string     `json:"name"`
	Text  string     `json:"text,omitempty" doc:"What the stage does, for the current step"`
	State string     `json:"state" enum:"done,current,next"`
	At    *time.Time `json:"at,omitempty" doc:"When a done step finished, when the current one started"`
}

// CustomerProgress returns the chains on a ticket as its customer sees
// them, newest first, in lang. The caller has checked that the customer
// may see the ticket.
func (s *Service) CustomerProgress(ctx context.Context, ticketID, lang string) ([]Progress, error) {
	sys := kefu.WithActor(ctx, kefu.System)
	rows, err := queryInstances(sys, s.DB.Read, `SELECT `+instanceColumns+` FROM workflow_instances i WHERE i.ticket_id = $1 ORDER BY i.id DESC LIMIT 20`, ticketID)
	if err != nil || len(rows) == 0 {
		return []Progress{}, err
	}
	ids := make([]string, len(rows))
	var clocks []string
	for i, r := range rows {
		ids[i] = r.ID
		clocks = append(clocks, r.StageClockID)
	}
	steps, err := loadSteps(sys, s.DB.Read, ids...)
	if err != nil {
		return nil, err
	}
	views, err := s.SLA.Deadlines(sys, s.DB.Read, clocks)
	if err != nil {
		return nil, err
	}
	due := map[string]sla.DeadlineView{}
	for _, v := range views {
		due[v.ClockID] = v
	}
	now := s.Now()
	out := []Progress{}
	for _, r := range rows {
		doc, err := s.version(sys, s.DB.Read, r.DefinitionID, r.DefVersion)
		if err != nil {
			return nil, err
		}
		p := Progress{Name: doc.Name.In(lang), Active: r.active(), Outcome: r.Outcome, EndedAt: r.EndedAt, Steps: []ProgressStep{}}
		name := func(key string) string {
			if st := doc.Stage(key); st != nil {
				return st.Name.In(lang)
			}
			return key
		}
		// Every visit, in order: a return shows as going back.
		at, stage := r.CreatedAt, doc.First().Key
		for _, sp := range steps[r.ID] {
			if sp.Kind != stepDecision {
				continue
			}
			left := sp.At
			p.Steps = append(p.Steps, ProgressStep{Name: name(stage), State: "done", At: &left})
			at, stage = sp.At, sp.ToStage
		}
		if r.active() {
			started := at
			cur := doc.Stage(r.Stage)
			p.Steps = append(p.Steps, ProgressStep{Name: name(r.Stage), Text: cur.Customer.In(lang), State: "current", At: &started})
			for _, key := range mainLine(doc, r.Stage) {
				p.Steps = append(p.Steps, ProgressStep{Name: name(key), State: "next"})
			}
			if v, ok := due[r.StageClockID]; ok && v.State != sla.Met && v.State != sla.Cancelled {
				d := v.DueAt
				p.NextFeedbackBy, p.Late = &d, !now.Before(d)
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// mainLine is the stages that usually follow key: a chain lists each
// stage's usual decision first, so the line follows each stage's first
// decision (returns aside) while it leads on to a stage not yet in it.
func mainLine(doc *Document, key string) []string {
	var out []string
	seen := map[string]bool{key: true}
	for st := doc.Stage(key); st != nil; {
		i := slices.IndexFunc(st.Decisions, func(d Decision) bool { return d.Kind != Return })
		if i < 0 || st.Decisions[i].To == "" || seen[st.Decisions[i].To] {
			break
		}
		next := st.Decisions[i].To
		seen[next] = true
		out = append(out, next)
		st = doc.Stage(next)
	}
	return out
}
