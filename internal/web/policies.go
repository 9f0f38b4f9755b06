package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// Admin › SLA policies. The common parts of a policy (conditions, target
// minutes and units, warnings, pauses, the progress minimum) are plain
// form fields; each target's breach actions and escalation levels, a
// nested list of actions, are one labelled JSON textarea, decoded here
// and validated by the SLA service with the rest. Service errors name
// targets by their index in the list sent ("targets[1].minutes"), which
// is translated back to the form's per-kind fields ("t.solution.minutes").

// pausable are the statuses a policy may pause in.
var pausable = []ticket.Status{ticket.New, ticket.Open, ticket.PendingCustomer, ticket.PendingInternal}

// escalationDoc is the JSON of one target's textarea.
type escalationDoc struct {
	WarnNotify  []sla.Action     `json:"warn_notify,omitempty"`
	Breach      []sla.Action     `json:"breach,omitempty"`
	Escalations []sla.Escalation `json:"escalations,omitempty"`
}

func (s *Server) policyRoutes(r chi.Router) {
	r.Get("/sla", s.adminPolicies)
	r.Post("/sla", s.adminCreatePolicy)
	r.Get("/sla/{id}", s.adminPolicy)
	r.Post("/sla/{id}", s.adminUpdatePolicy)
	r.Post("/sla/{id}/move", s.adminMovePolicy)
}

func (s *Server) listPolicies(ctx context.Context, p *adminPage) error {
	var err error
	if p.Policies, err = s.SLA.Policies(ctx); err != nil {
		return err
	}
	if p.Calendars, err = s.Calendars.List(ctx); err != nil {
		return err
	}
	if p.Categories, err = s.Tickets.Categories(ctx); err != nil {
		return err
	}
	p.Departments, err = s.Team.ListDepartments(ctx)
	return err
}

func (s *Server) adminPolicies(w http.ResponseWriter, r *http.Request) {
	p, err := s.adminBase(r.Context(), "sla")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Saved = savedNotice(r)
	p.Form = policyValues(&sla.Policy{Definition: sla.Definition{PauseStatuses: sla.DefaultPauseStatuses}})
	s.show(w, r, p, nil, s.listPolicies)
}

func (s *Server) adminCreatePolicy(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := s.adminBase(ctx, "sla")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Form = mustForm(r)
	pol, kinds, err := formPolicy(p.Form)
	if err == nil {
		var ps []sla.Policy
		if ps, err = s.SLA.Policies(ctx); err == nil {
			// New policies go last: the first match wins, so a new one
			// never takes tickets from an existing one unasked.
			pol.Position = len(ps) + 1
			_, err = s.SLA.CreatePolicy(ctx, pol)
		}
	}
	if err == nil {
		http.Redirect(w, r, "/admin/sla?saved="+url.QueryEscape(pol.Name), http.StatusSeeOther)
		return
	}
	s.show(w, r, p, renameTargetFields(err, kinds), s.listPolicies)
}

func (s *Server) policyPage(ctx context.Context, id string) (*adminPage, *sla.Policy, error) {
	p, err := s.adminBase(ctx, "sla")
	if err != nil {
		return nil, nil, err
	}
	pol, err := s.SLA.Policy(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if err := s.listPolicies(ctx, p); err != nil {
		return nil, nil, err
	}
	p.Policy = pol
	p.Form = policyValues(pol)
	return p, pol, nil
}

func (s *Server) adminPolicy(w http.ResponseWriter, r *http.Request) {
	p, _, err := s.policyPage(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Saved = savedNotice(r)
	s.show(w, r, p, nil, nil)
}

func (s *Server) adminUpdatePolicy(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	p, cur, err := s.policyPage(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Form = mustForm(r)
	pol, kinds, err := formPolicy(p.Form)
	if err == nil {
		// Position and workflow stages are not on this form; keep them.
		pol.Position, pol.Stages = cur.Position, cur.Stages
		version, _ := strconv.Atoi(p.Form.Get("version"))
		_, err = s.SLA.UpdatePolicy(ctx, id, version, pol)
	}
	if err == nil {
		http.Redirect(w, r, "/admin/sla/"+id+"?saved="+url.QueryEscape(pol.Name), http.StatusSeeOther)
		return
	}
	s.show(w, r, p, renameTargetFields(err, kinds), nil)
}

// adminMovePolicy moves a policy one place up or down the match order by
// renumbering the list 1, 2, …; only policies whose position changes are
// written.
func (s *Server) adminMovePolicy(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	ps, err := s.SLA.Policies(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	i := -1
	for k := range ps {
		if ps[k].ID == id {
			i = k
		}
	}
	j := i - 1
	if r.PostFormValue("dir") == "down" {
		j = i + 1
	}
	if i < 0 || j < 0 || j >= len(ps) {
		http.Redirect(w, r, "/admin/sla", http.StatusSeeOther)
		return
	}
	ps[i], ps[j] = ps[j], ps[i]
	for k := range ps {
		if ps[k].Position == k+1 {
			continue
		}
		ps[k].Position = k + 1
		if _, err := s.SLA.UpdatePolicy(ctx, ps[k].ID, ps[k].Version, ps[k]); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	http.Redirect(w, r, "/admin/sla", http.StatusSeeOther)
}

// policyValues turns a policy into the form's values.
func policyValues(pol *sla.Policy) url.Values {
	m := pol.Match
	f := url.Values{"name": {pol.Name}, "calendar_id": {pol.CalendarID}, "version": {strconv.Itoa(pol.Version)},
		"categories": m.Categories, "priorities": strs(m.Priorities), "channels": m.Channels, "departments": m.Departments,
		"tiers": {strings.Join(m.Tiers, ", ")}, "tags": {strings.Join(m.Tags, ", ")},
		"pause_statuses": strs(pol.PauseStatuses), "min_progress_updates": {strconv.Itoa(pol.MinProgressUpdates)}}
	if pol.Disabled {
		f.Set("disabled", "1")
	}
	for _, k := range sla.TargetKinds {
		t, ok := pol.Target(k)
		p := "t." + string(k) + "."
		f.Set(p+"unit", string(sla.Business))
		if !ok {
			continue
		}
		f.Set(p+"minutes", strconv.Itoa(t.Minutes))
		f.Set(p+"unit", string(t.Unit))
		var doc escalationDoc
		if t.Warn != nil {
			if t.Warn.Percent > 0 {
				f.Set(p+"warn_percent", strconv.Itoa(t.Warn.Percent))
			}
			if t.Warn.BeforeMinutes > 0 {
				f.Set(p+"warn_before", strconv.Itoa(t.Warn.BeforeMinutes))
			}
			doc.WarnNotify = t.Warn.Notify
		}
		doc.Breach, doc.Escalations = t.Breach, t.Escalations
		if len(doc.WarnNotify)+len(doc.Breach)+len(doc.Escalations) > 0 {
			b, _ := json.MarshalIndent(doc, "", "  ")
			f.Set(p+"actions", string(b))
		}
	}
	return f
}

// formPolicy reads a policy from the form. kinds[i] is the kind of
// Targets[i], for naming the service's errors. Errors of the form itself
// (a number that is not one, JSON that does not parse) come back together.
func formPolicy(f url.Values) (sla.Policy, []sla.TargetKind, error) {
	var fs kefu.Fields
	num := func(field string) int {
		v := strings.TrimSpace(f.Get(field))
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			fs.Add(field, "must be a whole number")
		}
		return n
	}
	pol := sla.Policy{Name: f.Get("name"), CalendarID: f.Get("calendar_id"), Definition: sla.Definition{
		Disabled: f.Get("disabled") != "",
		Match: sla.Match{Categories: f["categories"], Priorities: typed[ticket.Priority](f["priorities"]), Channels: f["channels"],
			Departments: f["departments"], Tiers: commaList(f.Get("tiers")), Tags: commaList(f.Get("tags"))},
		PauseStatuses:      typed[ticket.Status](f["pause_statuses"]),
		MinProgressUpdates: num("min_progress_updates"),
	}}
	var kinds []sla.TargetKind
	for _, k := range sla.TargetKinds {
		p := "t." + string(k) + "."
		if strings.TrimSpace(f.Get(p+"minutes")) == "" {
			continue // no promise of this kind
		}
		t := sla.Target{Kind: k, Minutes: num(p + "minutes"), Unit: sla.Unit(f.Get(p + "unit"))}
		var doc escalationDoc
		if raw := strings.TrimSpace(f.Get(p + "actions")); raw != "" {
			dec := json.NewDecoder(strings.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&doc); err != nil {
				fs.Add(p+"actions", "is not valid JSON of warn_notify, breach and escalations: %v", err)
			}
		}
		if before, pct := num(p+"warn_before"), num(p+"warn_percent"); before > 0 || pct > 0 || len(doc.WarnNotify) > 0 {
			t.Warn = &sla.Warning{BeforeMinutes: before, Percent: pct, Notify: doc.WarnNotify}
		}
		t.Breach, t.Escalations = doc.Breach, doc.Escalations
		pol.Targets = append(pol.Targets, t)
		kinds = append(kinds, k)
	}
	if len(pol.Targets) == 0 {
		fs.Add("targets", "set at least one target")
	}
	return pol, kinds, fs.Err()
}

var targetIndex = regexp.MustCompile(`^targets\[(\d+)\]`)

// renameTargetFields renames the service's "targets[i]…" fields to the form's
// "t.<kind>…" and puts nested action errors under the JSON textarea.
func renameTargetFields(err error, kinds []sla.TargetKind) error {
	var e *kefu.Error
	if !errors.As(err, &e) {
		return err
	}
	c := *e
	c.Fields = make([]kefu.FieldError, len(e.Fields))
	for i, fe := range e.Fields {
		if m := targetIndex.FindStringSubmatch(fe.Field); m != nil {
			n, _ := strconv.Atoi(m[1])
			if n < len(kinds) {
				rest := fe.Field[len(m[0]):]
				switch rest {
				case ".minutes", ".unit", ".warn", ".kind":
				case ".warn.before_minutes":
					rest = ".warn_before"
				case ".warn.percent":
					rest = ".warn_percent"
				default: // inside the JSON of actions
					fe.Message = fmt.Sprintf("%s: %s", strings.TrimPrefix(rest, "."), fe.Message)
					rest = ".actions"
				}
				fe.Field = "t." + string(kinds[n]) + rest
			}
		}
		c.Fields[i] = fe
	}
	return &c
}

func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

func typed[T ~string](vs []string) []T {
	out := make([]T, len(vs))
	for i, v := range vs {
		out[i] = T(v)
	}
	return out
}

// commaList splits "a, b，c" into its non-empty items.
func commaList(s string) []string {
	var out []string
	for _, v := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '，' }) {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
